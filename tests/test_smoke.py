from conftest import CANARY, register


def test_register__prints_a_case_id_that_show_reads_back(cli):
    case_id = register(cli, child={"name": CANARY, "sex": "male", "age_estimate": 9})
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    data = shown.json()
    assert data["child"]["name"] == CANARY
    assert data["risk"] == "high"
    assert data["worker"] == "amina"


def test_cli__each_command_is_registered_by_the_module_the_lazy_map_names():
    """`cpcm COMMAND` builds only COMMAND's module: the map must match what the modules register."""
    import importlib

    import typer

    from cpcm.cli.app import MODULES, ORDER, build

    found = {}
    for name in ORDER:
        app = typer.Typer()
        importlib.import_module(f"cpcm.cli.{name}").register(app)
        for info in app.registered_commands:
            found[info.name or info.callback.__name__] = name
        for group in app.registered_groups:
            found[group.name] = name
    assert found == MODULES
    full = typer.main.get_command(build())
    assert sorted(full.commands) == sorted(MODULES)


# runs `main(argv)` in a fresh interpreter, then prints which command modules were imported
_PROBE = """
import json, sys
from cpcm.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "built": sorted(m[len("cpcm.cli."):] for m in sys.modules if m.startswith("cpcm.cli."))}))
"""


def _built(cli, *args: str) -> tuple[int, set[str]]:
    import json
    import os
    import subprocess
    import sys

    from cpcm.cli.app import ORDER

    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(args))], env={**os.environ, **cli.env},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["code"], set(found["built"]) & set(ORDER)


def test_cli__a_command_runs_with_only_its_module_built(cli):
    case_id = register(cli)
    assert _built(cli, "policy", "show", "--json") == (0, {"workflow"})
    assert _built(cli, "show", case_id, "--json") == (0, {"cases"})
    assert _built(cli, "team", "list") == (0, {"repo"})
    # the probe sees every module when every one is built: help, and a command cpcm does not know
    from cpcm.cli.app import ORDER

    assert _built(cli, "--help") == (0, set(ORDER))
    assert _built(cli, "no-such-command") == (2, set(ORDER))

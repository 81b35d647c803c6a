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


def test_cli__every_command_takes_repo_and_identity():
    """docs/README.md ("Settings that every command reads") and the CLI conventions promise `--repo`
    and `--identity` (`-i`) on every command, so that a script can give both to every call (was:
    `team list -i KEY`, `service list`, `policy show`, `form blank`, `remote list`, `outputs list
    --repo R`, `key show --repo R`... refused with exit 2). Every command of the tree, a new one
    too, takes both, `-i` being `--identity`'s short name."""
    import click
    import typer

    from cpcm.cli.app import build

    def leaves(command: click.Command, path: str):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from leaves(sub, f"{path} {name}")
        else:
            yield path, command

    missing = []
    for path, command in leaves(typer.main.get_command(build()), "cpcm"):
        options = [param.opts + param.secondary_opts for param in command.params if isinstance(param, click.Option)]
        if not any("--repo" in opts for opts in options):
            missing.append(f"{path}: --repo")
        if not any("--identity" in opts and "-i" in opts for opts in options):
            missing.append(f"{path}: --identity/-i")
    assert not missing, "commands without the options every command takes:\n" + "\n".join(missing)


def test_cli__a_command_that_needs_no_repository_or_key_takes_both_and_key_show_reads_the_team_of_repo(cli_as, repo, team, tmp_env):
    """The commands a nightly wrapper gave `-i KEY --repo R` to and that refused it: each runs (exit
    0), as it does with $CPCM_IDENTITY and $CPCM_REPO. `key show` reads --repo for the team alone (its
    signing key line names the worker there); `key new` writes the new key where -i says."""
    sup = cli_as("sup", CPCM_REPO=str(tmp_env / "nowhere"), CPCM_IDENTITY=str(tmp_env / "nokey"))
    given = ["--repo", str(repo), "-i", str(team["sup"][0])]
    for args in (["team", "list"], ["team", "signers"], ["service", "list"], ["policy", "show"], ["policy", "check"],
                 ["form", "list"], ["form", "blank", "review"], ["remote", "list"], ["outputs", "list"], ["completion", "bash"]):
        done = sup(*args, *given)
        assert done.code == 0, (args, done.stderr)
    key = team["sup"][0]
    key.with_name(key.name + ".pub").write_text(team["sup"][1] + "\n", encoding="utf-8")  # as key new writes it
    assert sup("key", "show", "--signing", *given).stdout.strip().endswith(" cpcm:sup")
    assert sup("key", "show", "--signing", "-i", str(team["sup"][0])).stdout.strip().endswith(" cpcm")  # $CPCM_REPO: no team there
    made = tmp_env / "keys" / "new.key"
    done = sup("key", "new", "--no-passphrase", "-i", str(made), "--repo", str(repo), "--json")
    assert done.code == 0 and done.json()["path"] == str(made) and made.is_file(), done.stderr

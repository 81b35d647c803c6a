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


def test_cli__a_command_runs_with_only_its_module_built(cli):
    assert cli("policy", "show", "--json").code == 0
    assert cli("no-such-command").code == 2

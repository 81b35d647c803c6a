from conftest import CANARY, register


def test_register__prints_a_case_id_that_show_reads_back(cli):
    case_id = register(cli, child={"name": CANARY, "sex": "male", "age_estimate": 9})
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    data = shown.json()
    assert data["child"]["name"] == CANARY
    assert data["risk"] == "high"
    assert data["worker"] == "amina"

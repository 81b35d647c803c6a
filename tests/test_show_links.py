"""`cpcm show CASE` tells the case's links to other cases of the same child (merge-cases:
"merged with", "alias of") and its open `check` problems (a sync's conflicts), as JSON, plain
text and a terminal's table."""
from __future__ import annotations

import pytest

from conftest import register
from test_sync import CLOSE, Laptops, merge_both, shared_case


def show_text(cli, case_id, monkeypatch, terminal: bool) -> str:
    from cpcm.cli import common

    monkeypatch.setattr(common, "stdout_is_terminal", lambda: terminal)
    monkeypatch.setenv("COLUMNS", "200")
    done = cli("show", case_id)
    assert done.code == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("terminal", [False, True])
def test_show__the_links_of_two_merged_cases(cli_as, monkeypatch, terminal):
    sup = cli_as("sup")
    keep, other = register(cli_as("amina")), register(cli_as("amina"))
    assert sup("merge-cases", keep, other).code == 0
    kept, merged = sup("show", keep, "--json").json(), sup("show", other, "--json").json()
    assert [(link["case_id"], link["relation"], link["reason"]) for link in kept["links"]] == [(other, "merged_with", "duplicate")]
    assert [(link["case_id"], link["relation"]) for link in merged["links"]] == [(keep, "alias_of")]
    assert register(cli_as("amina")) and sup("show", keep, "--json").json()["links"] == kept["links"]
    text = show_text(sup, keep, monkeypatch, terminal)
    assert f"merged with {other}" in text
    assert f"alias of {keep}" in show_text(sup, other, monkeypatch, terminal)


def test_show__a_case_without_links_or_problems_says_none(cli_as, monkeypatch):
    case_id = register(cli_as("amina"))
    shown = cli_as("amina")("show", case_id, "--json").json()
    assert shown["links"] == [] and shown["problems"] == []
    text = show_text(cli_as("amina"), case_id, monkeypatch, False)
    assert "merged with" not in text and "two-closures" not in text


@pytest.mark.parametrize("terminal", [False, True])
def test_show__the_conflicts_of_a_sync_until_settled(repo, team, tmp_env, monkeypatch, terminal):
    laptops = Laptops(repo, team, tmp_env)
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    merge_both(laptops)
    problems = sup("show", case_id, "--json").json()["problems"]
    assert "two-closures" in [p["code"] for p in problems]
    assert all(p["case_id"] == case_id for p in problems)
    assert "two-closures" in show_text(sup, case_id, monkeypatch, terminal)
    assert "two-closures" in show_text(amina, case_id, monkeypatch, terminal)
    assert sup("approve", case_id, "closure").code == 0
    assert "two-closures" not in [p["code"] for p in sup("show", case_id, "--json").json()["problems"]]
    assert "two-closures" not in show_text(sup, case_id, monkeypatch, terminal)


def test_merge_cases__a_case_merged_away_is_not_merged_again_nor_merged_into():
    from cpcm import service
    from cpcm.errors import Refused
    from cpcm.service.sync import merge_cases
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    a, b, c, d, e = (mem.register(amina) for _ in range(5))
    merge_cases(sup, a, b)  # b is an alias of a
    merge_cases(sup, a, c)  # so is c
    before = mem.commits()

    def refused(keep, other):
        with pytest.raises(Refused) as error:
            merge_cases(sup, keep, other)
        assert error.value.rule == "merge-cases-merged-away"
        return str(error.value), error.value.hint

    # the report's case: c, itself an alias of a, taking b, already merged into a
    message, hint = refused(c, b)
    assert f"{c} was merged into {a}" in message and f"{b} was merged into {a} already" in message
    assert f"Both cases already lead to {a}" in hint
    # b merged again, into a case of its own
    message, hint = refused(d, b)
    assert message.startswith(f"{b} was merged into {a} already") and f"cpcm merge-cases {d} {a}" in hint
    # a case merged into one that was merged away: pointed to the case it lives on in
    message, hint = refused(b, d)
    assert message.startswith(f"{b} was merged into {a}:") and hint == f"Merge into the case {b} lives on in: cpcm merge-cases {a} {d}"
    assert mem.commits() == before  # nothing written
    # a chain: a merged into e; b now lives on in e
    merge_cases(sup, e, a)
    message, hint = refused(b, d)
    assert f"{b} was merged into {a} (which lives on in {e})" in message and f"cpcm merge-cases {e} {d}" in hint
    merge_cases(sup, e, d)  # what the hint says works
    links = {link["relation"] for link in service.show(sup, b)["links"]}
    assert links == {"alias_of"} and len(service.show(sup, b)["links"]) == 1


def test_merge_cases__says_the_case_merged_away_is_still_open_and_how_to_close_it(cli_as):
    """A case merged away keeps its clocks (on its worker's `due`) and its place in the caseload
    until it is closed: merge-cases says so, and the way it names works."""
    sup, amina = cli_as("sup"), cli_as("amina")
    keep, other = register(amina), register(amina)
    merged = sup("merge-cases", keep, other, "--json")
    assert merged.code == 0, merged.stderr
    step = " ".join(merged.json()["next_steps"])
    command = f"cpcm close {other} --reason registered_in_error --check error_confirmed"
    assert f"{other} is still open" in step and command in step, step
    assert [i for i in amina("due", "--json").json() if i["case_id"] == other]  # its clocks run until it is closed
    closed = amina(*command.split()[1:], "--json")  # the case's worker asks; the policy asks a supervisor to approve
    assert closed.code == 0, closed.stderr
    assert sup("approve", other, "closure").code == 0
    assert sup("show", other, "--json").json()["status"] == "closed"
    assert not [i for i in amina("due", "--json").json() if i["case_id"] == other]
    again = sup("merge-cases", keep, register(amina), "--json")  # another still open: said again
    assert again.code == 0 and again.json()["next_steps"]

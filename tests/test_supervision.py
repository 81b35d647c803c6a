"""Supervision sessions through the command line: record, list, show, correct; the supervision
due item (kenya: quarterly, CTWWC) and its `check` code; a caseworker refused; bad input changes
nothing; the notes never on disk in plaintext; a worker who was not in the session cannot read it."""
from __future__ import annotations

import json

from conftest import CANARY, git, head, register, register_many
from test_privacy import files_with_marker, git_log_patch, git_objects, leaks

LATER = "2027-03-01T09:00:00+03:00"  # amina joined the kenya template's team on 2026-11-23: her first session was due 2027-02-23


def _due_titles(cli) -> list[str]:
    result = cli("due", "--json")
    assert result.code == 0, result.stderr
    return [item["title"] for item in result.json()]


def _record(cli, *args: str):
    return cli("supervision", "record", "--no-input", "--json", *args)


def test_supervision__the_whole_walk(kenya):
    sup, amina = kenya("sup", LATER), kenya("amina", LATER)
    case_id = register(kenya("amina"))
    # overdue before any session: on the supervisor's list, with the rule's code, not on the caseworker's
    assert "supervision of amina" in _due_titles(sup)
    assert "supervision of amina" not in _due_titles(amina)
    checked = sup("check", "--json")
    assert checked.code == 1
    assert any(p["code"] == "supervision-overdue" and p["worker"] == "amina" for p in checked.json())

    before = head(kenya.root)
    recorded = _record(sup, "--worker", "amina", "--kind", "clinical", "--kind", "support", "--case", case_id,
                       "--discussed", f"the plan of {CANARY}", "--decision", "visit the school", "--wellbeing", "coping",
                       "--at", "2027-02-27T10:00")
    assert recorded.code == 0, recorded.stderr
    session_id = recorded.json()["session_id"]
    assert session_id.startswith("SV-") and recorded.json()["format"] == "individual"
    assert git(kenya.root, "rev-list", "--count", f"{before}..HEAD").strip() == "1"  # one commit
    message = git(kenya.root, "log", "-1", "--format=%an %s").strip()
    assert message == f"sup supervision record {session_id} {recorded.json()['record_id']}"
    assert sorted(p.name for p in (kenya.root / "supervision" / session_id).iterdir())[-1] == "recipients"
    assert (kenya.root / "supervision" / session_id / "recipients").read_text().splitlines()[1:] == ["sup", "amina"]

    # the item goes once a session is recorded
    assert "supervision of amina" not in _due_titles(sup)
    assert not any(p["code"] == "supervision-overdue" for p in (sup("check", "--json").json() or []))

    # read back by both who took part
    listed = amina("supervision", "list", "--json")
    assert listed.code == 0, listed.stderr
    assert [s["session_id"] for s in listed.json()] == [session_id]
    shown = sup("supervision", "show", session_id, "--json")
    assert shown.code == 0, shown.stderr
    data = shown.json()
    assert data["held_by"] == "sup" and data["workers"] == ["amina"] and data["cases"] == [case_id]
    assert data["kinds"] == ["clinical", "support"] and data["at"].startswith("2027-02-27")
    assert CANARY in data["discussed"]

    # a mistyped date corrected: a new record that supersedes; the original stays in the history
    corrected = sup("supervision", "record", "--corrects", session_id, "--at", "2027-02-26T10:00", "--reason", "date mistyped",
                    "--json")
    assert corrected.code == 0, corrected.stderr
    data = sup("supervision", "show", session_id, "--json").json()
    assert data["at"].startswith("2027-02-26") and CANARY in data["discussed"]
    assert [h.get("supersedes") for h in data["history"]] == [None, recorded.json()["record_id"]]
    assert git(kenya.root, "log", "-1", "--format=%s").strip().startswith(f"supervision correct {session_id} ")

    # a month later than the cadence, it is due again, counted from the corrected date
    titles = _due_titles(kenya("sup", "2027-05-27T09:00:00+03:00"))
    assert "supervision of amina" in titles
    assert "supervision of amina" not in _due_titles(kenya("sup", "2027-04-10T09:00:00+03:00"))

    assert sup("verify").code == 0
    # the notes are nowhere on disk in plaintext, nor in git's objects, history or commit messages
    assert files_with_marker(kenya.root) == []
    assert not leaks(git_objects(kenya.root))
    assert not leaks(git_log_patch(kenya.root))
    assert not leaks(git(kenya.root, "log", "--all", "--format=%B", binary=True))


def test_supervision__a_caseworker_is_refused_and_bad_input_changes_nothing(kenya):
    sup, amina = kenya("sup"), kenya("amina")
    before = head(kenya.root)
    refused = _record(amina, "--worker", "sup", "--kind", "clinical")
    assert refused.code == 4
    assert refused.json()["rule"] == "supervision-needs-supervisor" if refused.stdout.strip() else True
    assert "only a supervisor or manager" in refused.stderr

    bad = sup("supervision", "record", "--no-input", "--worker", CANARY.split()[0].lower(), "--kind", "gossip",
              "--case", "CP-0000-0000", "--discussed", CANARY, "--at", "2030-01-01")
    assert bad.code == 4
    for field in ("--worker (workers)", "--kind (kinds)", "--case (cases)", "--at (at)"):  # a field an option gives, by the option
        assert f"- {field}:" in bad.stderr, bad.stderr
    assert not leaks(bad.stderr.encode())
    missing = sup("supervision", "record", "--no-input", "--kind", "clinical")
    assert missing.code == 4 and "- --worker (workers): is required" in missing.stderr
    assert head(kenya.root) == before
    assert not (kenya.root / "supervision").exists()
    assert sup("supervision", "show", "SV-0000-0000").code in (2, 3)


def test_supervision__a_worker_not_in_the_session_cannot_read_it(cli_as, repo, team):
    from cpcm.crypto import cipher, identity

    sup, otieno = cli_as("sup"), cli_as("otieno")
    recorded = _record(sup, "--worker", "amina", "--kind", "support", "--wellbeing", CANARY)
    assert recorded.code == 0, recorded.stderr
    session_id = recorded.json()["session_id"]
    refused = otieno("supervision", "show", session_id)
    assert refused.code == 5
    assert otieno("supervision", "list", "--json").json() == []
    record_file = next((repo / "supervision" / session_id).glob("*.yaml.age"))
    other = identity.load(team["otieno"][0], lambda: None)
    try:
        cipher.decrypt(record_file.read_bytes(), other.keys)
        raise AssertionError("otieno decrypted a session he was not in")
    except cipher.NotARecipient:
        pass
    amina = identity.load(team["amina"][0], lambda: None)
    assert leaks(cipher.decrypt(record_file.read_bytes(), amina.keys))
    # read through the store with a key it is not encrypted to: the hint names who reads a session, not a case's readers
    from cpcm import service
    from cpcm.errors import CannotDecrypt

    try:
        service.open_repo(repo, team["otieno"][0]).store.read_file(record_file, other.keys)
        raise AssertionError("the store read a session for a worker who was not in it")
    except CannotDecrypt as exc:
        assert "the supervisor who held the session and the workers supervised in it" in exc.hint, exc.hint
    # group supervision: each worker reads it
    group = _record(sup, "--worker", "amina", "--worker", "otieno", "--kind", "clinical")
    assert group.code == 0 and group.json()["format"] == "group"
    assert otieno("supervision", "show", group.json()["session_id"]).code == 0


def test_supervision__the_cadence_is_a_rule_of_the_profiles():
    from datetime import datetime, timezone

    from cpcm.domain.team import Team, Worker
    from cpcm.store.policies import load as load_profile
    from cpcm.workflow import supervision as rules

    team = Team((Worker("sup", "S", ("supervisor",), "age1x", since="2026-01-01T00:00:00+00:00"),
                 Worker("amina", "A", ("caseworker",), "age1y", since="2026-01-01T00:00:00+00:00")))
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    kenya, default = load_profile("kenya"), load_profile("inter-agency")
    items = rules.cadence_due(team, {}, kenya, now)
    assert [(i.title, i.due.date().isoformat()) for i in items] == [("supervision of amina", "2026-04-01")]
    assert rules.cadence_due(team, {}, default, now) == []  # the inter-agency guidelines give no frequency: off
    last = rules.last_sessions([(datetime(2026, 5, 1, tzinfo=timezone.utc), "SV-1", "sup", ["amina"])])
    assert rules.cadence_due(team, last, kenya, now)[0].due.date().isoformat() == "2026-08-01"
    assert rules.cadence_due(team, last, kenya, now)[0].owner == "sup"
    assert [p.code for p in rules.overdue_problems(items, now)] == ["supervision-overdue"]


def test_supervision__team_add_warns_over_the_ratio_never_refuses(cli_as, tmp_env):
    from conftest import make_identity

    sup = cli_as("sup")  # inter-agency: about 1 supervisor for 5-6 caseworkers (IAG §2 [L589]); amina and otieno already
    for n in range(4):
        added = sup("team", "add", f"cw{n}", "--role", "caseworker", "--recipient", make_identity(tmp_env / f"cw{n}.txt"))
        assert added.code == 0 and "supervision:" not in added.stderr, added.stderr
    assert not any(p["code"] == "supervisor-ratio" for p in sup("check", "--json").json())
    added = sup("team", "add", "cw4", "--role", "caseworker", "--recipient", make_identity(tmp_env / "cw4.txt"))
    assert added.code == 0, added.stderr
    assert "warning: supervision: 7 caseworkers for 1 supervisor(s) or manager(s), more than 6 each" in added.stderr
    assert [p["code"] for p in sup("check", "--json").json() if p["code"] == "supervisor-ratio"] == ["supervisor-ratio"]


def test_supervision__report_caseload_counts_sessions_never_their_content(cli_as):
    sup = cli_as("sup")
    assert _record(sup, "--worker", "amina", "--kind", "clinical", "--discussed", CANARY, "--at", "2026-11-20").code == 0
    assert _record(sup, "--worker", "amina", "--worker", "otieno", "--kind", "support", "--wellbeing", CANARY).code == 0
    made = sup("report", "caseload", "--json")
    assert made.code == 0, made.stderr
    rows = {r["worker"]: r for r in made.json()["supervision"]["rows"]}
    assert (rows["amina"]["last_session"], rows["amina"]["sessions"]) == ("2026-11-23", 2)
    assert (rows["otieno"]["sessions"], rows["sup"]["sessions_held"], rows["sup"]["last_session"]) == (1, 2, None)
    text = sup("report", "caseload")
    assert "Supervision sessions per worker" in text.stdout
    assert not leaks((made.stdout + text.stdout + text.stderr).encode())


def test_supervision__verify_reports_a_session_recorded_by_a_caseworker(cli_as, monkeypatch):
    from cpcm.workflow import supervision as rules

    # a copy whose cpcm let a caseworker record one (an older release, an edited one): its signed commit says who wrote it
    monkeypatch.setattr(rules, "may_hold", lambda worker: worker is not None)
    assert _record(cli_as("amina"), "--worker", "otieno", "--kind", "support").code == 0
    monkeypatch.undo()
    found = cli_as("sup")("verify", "--json")
    assert found.code == 1
    assert [p["code"] for p in found.json()] == ["signer-not-allowed"]


def test_supervision__a_session_is_corrected_after_its_worker_left(cli_as):
    sup = cli_as("sup")
    session_id = _record(sup, "--worker", "otieno", "--kind", "support", "--at", "2026-11-20").json()["session_id"]
    assert sup("team", "remove", "otieno").code == 0
    corrected = sup("supervision", "record", "--corrects", session_id, "--kind", "clinical", "--reason", "wrong kind", "--json")
    assert corrected.code == 0, corrected.stderr
    shown = sup("supervision", "show", session_id, "--json").json()
    assert shown["kinds"] == ["clinical"]
    assert {"discussed", "decisions", "actions", "wellbeing", "operational_issues"} <= set(shown), shown  # stable keys
    listed = sup("supervision", "list")  # the table says it was corrected, as --json does
    assert "\tcorrected" in listed.stdout and any(line.startswith(session_id) and line.endswith("\tyes")
                                                  for line in listed.stdout.splitlines()), listed.stdout
    moved = sup("supervision", "record", "--corrects", session_id, "--worker", "amina", "--reason", "wrong worker")
    assert moved.code == 4 and "- --worker (workers): cannot be changed by a correction" in moved.stderr


def test_supervision__a_new_key_reencrypts_the_sessions_its_worker_took_part_in(cli_as, repo, team):
    from cpcm.crypto import cipher, identity

    sup, amina = cli_as("sup"), cli_as("amina")
    session_id = _record(sup, "--worker", "amina", "--kind", "support").json()["session_id"]
    rotated = amina("key", "rotate", "--no-passphrase")
    assert rotated.code == 0, rotated.stderr
    assert "and 1 supervision session(s) re-encrypted" in rotated.stderr
    assert amina("supervision", "show", session_id).code == 0  # with the new key, at the same path
    record_file = next((repo / "supervision" / session_id).glob("*.yaml.age"))
    old = identity.load(next(team["amina"][0].parent.glob("amina.txt.old-*")), lambda: None)
    try:
        cipher.decrypt(record_file.read_bytes(), old.keys)
        raise AssertionError("the old key still opens the session as it stands")
    except cipher.NotARecipient:
        pass
    assert sup("verify").code == 0


def test_supervision__a_session_dated_before_its_worker_joined_is_kept_with_a_warning(kenya):
    """A session from before the worker joined the team (paper records when the agency began) is
    kept and counts for the cadence; the same date is where a year typed wrong lands (2017 for
    2027), so the write warns, naming the worker, when they joined and how to correct it."""
    sup = kenya("sup", LATER)
    typo = _record(sup, "--worker", "amina", "--kind", "support", "--at", "2017-02-27T10:00")
    assert typo.code == 0, typo.stderr
    session_id = typo.json()["session_id"]
    assert "is before amina joined the team (2026-11-23" in typo.stderr
    assert f"cpcm supervision record --corrects {session_id} --at WHEN" in typo.stderr
    assert "supervision of amina" in _due_titles(sup)  # kept as dated: the next was due in 2017
    fixed = sup("supervision", "record", "--corrects", session_id, "--at", "2027-02-27T10:00", "--reason", "year mistyped",
                "--json")
    assert fixed.code == 0, fixed.stderr
    assert "joined the team" not in fixed.stderr
    assert "supervision of amina" not in _due_titles(sup)
    again = sup("supervision", "record", "--corrects", session_id, "--at", "2026-10-01T10:00", "--reason", "paper date",
                "--json")
    assert again.code == 0 and "is before amina joined the team" in again.stderr  # the correction warns the same way
    later = _record(sup, "--worker", "amina", "--kind", "clinical", "--at", "2027-02-28T10:00")
    assert later.code == 0 and "joined the team" not in later.stderr


def test_supervision__report_caseload_counts_sessions_in_its_period(cli_as):
    sup = cli_as("sup")  # now: 2026-11-23
    assert _record(sup, "--worker", "amina", "--kind", "clinical", "--at", "2026-08-20").code == 0
    assert _record(sup, "--worker", "amina", "--kind", "support", "--at", "2026-11-20").code == 0
    made = sup("report", "caseload", "--from", "2026-08-01", "--to", "2026-08-31", "--json")
    assert made.code == 0, made.stderr
    held = made.json()["supervision"]
    assert (held["start"], held["end"]) == ("2026-08-01", "2026-08-31")
    rows = {r["worker"]: r for r in held["rows"]}
    # August's table: one session, the last by the end of August, the one sup held then
    assert (rows["amina"]["last_session"], rows["amina"]["sessions"], rows["sup"]["sessions_held"]) == ("2026-08-20", 1, 1)
    assert "not used" not in made.stderr
    assert "snapshot now: --from and --to set only the period of its supervision table" in made.stderr
    whole = sup("report", "caseload", "--json")  # without a period: the last twelve months, as before
    assert whole.json()["supervision"]["end"] == "2026-11-23"
    assert {r["worker"]: r["sessions"] for r in whole.json()["supervision"]["rows"]}["amina"] == 2
    assert "snapshot" not in whole.stderr
    # a caseworker's report (one who cannot read every case) has no supervision table: nothing in it takes the period
    register_many(cli_as("otieno"), 1)
    own = cli_as("amina")("report", "caseload", "--from", "2026-08-01", "--json")
    assert own.code == 0, own.stderr
    assert "supervision" not in own.json() and "--from and --to are not used" in own.stderr


def test_supervision__a_group_session_is_corrected_after_the_owner_of_one_of_its_actions_left(cli_as, tmp_path):
    """otieno owned an action of a group session and left the team: what was written stands, so the
    session's time and notes are corrected; an action given to him anew is refused (a new value is a member)."""
    sup = cli_as("sup")
    session = tmp_path / "session.yaml"
    session.write_text("workers: [amina, otieno]\nkinds: [clinical]\n"
                       "actions:\n  - {action: draft tracing request, owner: otieno, by: 2026-11-30}\n")
    recorded = _record(sup, "--from-file", str(session), "--at", "2026-11-20T10:00")
    assert recorded.code == 0, recorded.stderr
    session_id = recorded.json()["session_id"]
    assert sup("team", "remove", "otieno").code == 0
    timed = sup("supervision", "record", "--corrects", session_id, "--at", "2026-11-20T16:00", "--reason", "time", "--no-input")
    assert timed.code == 0, timed.stderr
    noted = sup("supervision", "record", "--corrects", session_id, "--discussed", "group review of admissions",
                "--reason", "typo", "--no-input")
    assert noted.code == 0, noted.stderr
    shown = sup("supervision", "show", session_id, "--json").json()
    assert [a["owner"] for a in shown["actions"]] == ["otieno"] and shown["discussed"] == "group review of admissions"

    more = tmp_path / "more.yaml"
    more.write_text("actions:\n  - {action: draft tracing request, owner: otieno, by: 2026-11-30}\n"
                    "  - {action: call the school, owner: otieno, by: 2026-12-02}\n")
    added = sup("supervision", "record", "--corrects", session_id, "--from-file", str(more), "--reason", "x", "--no-input")
    assert added.code == 4 and "actions[2].owner" in added.stderr and "actions[1].owner" not in added.stderr, added.stderr

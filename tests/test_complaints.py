"""Complaints (ESARO P1: child-friendly, impartial complaints mechanisms): record, list, show,
respond; read by the agency's supervisors and managers and the worker who recorded one, never by
a worker it is about (not from `complaint`, `show`, `due`, `list`, `check` or the case file);
refused with nothing written when nobody but the recorder would read it; the response due by the
policy's `complaints.respond_within`; team changes and syncs re-encrypt it, never to the worker it
is about; what it says never on disk in plaintext, in a commit message or in a message."""
from __future__ import annotations

import json

from conftest import CANARY, NOW, git, head, make_identity, register
from test_privacy import files_with_marker, git_log_patch, git_objects, leaks

LATER = "2027-01-05T09:00:00+03:00"  # more than 30 days (the inter-agency respond_within) after NOW


def _record(cli, *args: str):
    return cli("complaint", "record", "--json", *args)


def _about_otieno(amina, case_id: str, summary: str = f"slapped by the house parent, says {CANARY}"):
    recorded = _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno", "--concerns",
                       "staff_conduct", "--case", case_id, "--disability", "yes", "--summary", summary)
    assert recorded.code == 0, recorded.stderr
    return recorded.json()["complaint_id"]


def _titles(cli, *args: str) -> list[str]:
    done = cli("due", "--json", *args)
    assert done.code == 0, done.stderr
    return [item["title"] for item in done.json()]


def test_complaint__the_whole_walk_and_the_worker_it_is_about_learns_nothing(cli_as, repo):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = register(otieno)  # otieno's case: otieno reads it, and is who the complaint is about
    before = head(repo)
    complaint_id = _about_otieno(amina, case_id)
    assert complaint_id.startswith("CM-")
    assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"  # one commit
    message = git(repo, "log", "-1", "--format=%an %s").strip()
    assert message.startswith(f"amina complaint record {complaint_id} ") and len(message.split()) == 5
    assert (repo / "complaints" / complaint_id / "recipients").read_text().splitlines()[1:] == ["amina", "sup"]

    # read back by the recorder and the supervisor
    for reader in (amina, sup):
        listed = reader("complaint", "list", "--json")
        assert listed.code == 0, listed.stderr
        assert listed.json() == [{"complaint_id": complaint_id, "received": listed.json()[0]["received"], "setting": "residential",
                                  "about_staff": True, "case": case_id, "status": "open"}]
        assert CANARY not in reader("complaint", "list").stdout  # never the summary
    shown = sup("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    data = shown.json()
    assert CANARY in data["summary"] and data["about_workers"] == ["otieno"] and data["from"] == "child"
    assert data["status"] == "open" and data["disability"] == "yes" and data["recorded_by"] == "amina"

    # the case-level flag, to a reader of the complaint only
    flagged = sup("show", case_id)
    assert flagged.code == 0, flagged.stderr
    assert f"{complaint_id} (about staff, open)" in flagged.stdout
    assert sup("show", case_id, "--json").json()["complaints"] == [{"complaint_id": complaint_id, "about_staff": True,
                                                                   "status": "open"}]
    # on the supervisor's due list once the time to respond comes near, overdue after it
    late = cli_as("sup", CPCM_NOW=LATER)
    due = late("due", "--json").json()
    mine = [i for i in due if i["title"] == f"respond to complaint {complaint_id}"]
    assert len(mine) == 1 and mine[0]["state"] == "overdue", due
    assert f"respond to complaint {complaint_id}" in _titles(sup, "--within", "40")
    # and on their check, a warning: it does not change the exit code (docs/exit-codes.md: 1 for errors only), which is
    # that of the worker it is about, who reads the same case and never the complaint
    checked = late("check", "--json")
    assert [p["severity"] for p in checked.json() if p["code"] == "complaint-respond-overdue"] == ["warning"]
    assert checked.code == cli_as("otieno", CPCM_NOW=LATER)("check", "--json").code, checked.stderr

    # the worker it is about sees nothing of it, from any command
    later_otieno = cli_as("otieno", CPCM_NOW=LATER)
    for args in (("complaint", "list"), ("complaint", "list", "--json"), ("show", case_id), ("show", case_id, "--json"),
                 ("due", "--json"), ("due", "--json", "--worker", "all"), ("due", "--worker", "all"), ("list", "--json"),
                 ("check", "--json"), ("check", case_id, "--json"), ("log", case_id)):
        for cli in (otieno, later_otieno):
            seen = cli(*args)
            assert complaint_id not in seen.stdout + seen.stderr, (args, seen.stdout)
            if args[0] != "complaint" and "--json" not in args:
                assert "complaint" not in seen.stdout.lower(), (args, seen.stdout)
            else:
                assert "CM-" not in seen.stdout, (args, seen.stdout)
    assert otieno("show", case_id, "--json").json()["complaints"] == []
    refused = otieno("complaint", "show", complaint_id)
    assert refused.code == 5  # as for a supervision session they did not take part in
    assert "not among the readers" in refused.stderr and CANARY not in refused.stderr
    assert "otieno" not in (repo / "complaints" / complaint_id / "recipients").read_text()

    # a caseworker does not respond; the supervisor does, and it is resolved
    assert amina("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", "x").code == 4
    responded = sup("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", f"apology to {CANARY}",
                    "--action", "staff retrained", "--json")
    assert responded.code == 0, responded.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == f"complaint respond {complaint_id} {responded.json()['record_id']}"
    data = sup("complaint", "show", complaint_id, "--json").json()
    assert data["status"] == "resolved" and data["response"]["outcome"] == "upheld" and CANARY in data["response"]["response"]
    assert [h["kind"] for h in data["history"]] == ["complaint", "complaint_response"]
    assert f"respond to complaint {complaint_id}" not in _titles(late)
    again = sup("complaint", "respond", complaint_id, "--outcome", "not_upheld", "--response", "again")
    assert again.code == 4 and "complaint-resolved" in sup("complaint", "respond", complaint_id, "--outcome", "upheld",
                                                            "--response", "y", "--json").stdout + again.stderr

    assert sup("verify").code == 0
    assert files_with_marker(repo) == []
    assert not leaks(git_objects(repo))
    assert not leaks(git_log_patch(repo))


def test_complaint__refused_when_nobody_but_the_recorder_would_read_it(cli_as, repo):
    """The only supervisor is who it is about: no impartial route, so nothing is written, with
    what to do (a manager, or the agency's route outside the team) and the rule's code."""
    amina = cli_as("amina")
    before = head(repo)
    refused = amina("complaint", "record", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                    "--summary", CANARY)
    assert refused.code == 4, refused.stderr
    assert "nothing was written" in refused.stderr and "manager" in refused.stderr and CANARY not in refused.stderr
    as_json = amina("complaint", "record", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                    "--summary", CANARY, "--json")
    assert as_json.code == 4 and json.loads(as_json.stdout or as_json.stderr)["rule"] == "complaint-no-impartial-reader"
    assert head(repo) == before and not (repo / "complaints").exists()
    assert files_with_marker(repo) == []


def test_complaint__the_refusal_says_why_nobody_else_reads_it_the_other_supervisors_named_or_none_at_all(cli_as, repo):
    """A caseworker names the team's only supervisor: every other supervisor is named in it. The only
    supervisor records one: the team has none but her, and nobody is named in it; the refusal said
    "no supervisor or manager who is not named in it", sending her to look for a name that is not there."""
    named = cli_as("amina")("complaint", "record", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                            "--summary", "x")
    assert named.code == 4 and "every other supervisor or manager of the team is named in it" in named.stderr, named.stderr
    alone = cli_as("sup")("complaint", "record", "--from", "caregiver", "--setting", "family", "--concerns", "service",
                          "--summary", "no visit since May")
    assert alone.code == 4 and "the team has no supervisor or manager but you" in alone.stderr, alone.stderr
    assert "named" not in alone.stderr.split("\n")[0]


def test_complaint__bad_input_names_each_field_and_changes_nothing(cli_as, repo):
    amina = cli_as("amina")
    before = head(repo)
    bad = amina("complaint", "record", "--from", CANARY, "--setting", "home", "--about-worker", CANARY.split()[0].lower(),
                "--case", "CP-0000-0000", "--concerns", CANARY, "--summary", "")
    assert bad.code == 4, bad.stderr
    for name in ("from:", "setting:", "summary:", "about-worker:", "case:", "concerns:"):
        assert name in bad.stderr, (name, bad.stderr)
    assert CANARY.split()[0].lower() not in bad.stderr.lower() and CANARY.split()[1].lower() not in bad.stderr.lower()
    assert head(repo) == before
    assert amina("complaint", "show", "CM-0000-0001").code == 2  # not a complaint ID (its check character)


def test_complaint__a_manager_added_reads_it_a_worker_removed_does_not_the_one_it_is_about_never(cli_as, repo, tmp_env):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = register(otieno)
    complaint_id = _about_otieno(amina, case_id)
    recipients = repo / "complaints" / complaint_id / "recipients"
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr.txt"))
    assert added.code == 0, added.stderr
    assert recipients.read_text().splitlines()[1:] == ["amina", "sup", "mgr"]
    assert git(repo, "log", "-1", "--format=%s").strip() == "team add mgr"
    from conftest import Cli

    mgr = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "mgr.txt"), "CPCM_NOW": NOW})
    shown = mgr("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    assert CANARY in shown.json()["summary"]
    # amina (who recorded it) leaves: it is re-encrypted away from her
    removed = sup("team", "remove", "amina")
    assert removed.code == 0, removed.stderr
    assert recipients.read_text().splitlines()[1:] == ["sup", "mgr"]
    assert amina("complaint", "show", complaint_id).code in (5, 6)  # no longer a reader (nor a member)
    assert otieno("complaint", "show", complaint_id).code == 5
    assert sup("verify").code == 0


def test_complaint__team_sync_brings_it_to_a_manager_added_by_the_worker_it_is_about(cli_as, repo, tmp_env):
    """Complaint about sup (a manager reads it). sup adds another manager: sup cannot read the
    complaint, so it is left; the manager's `team sync` encrypts it to the new one."""
    amina, sup = cli_as("amina"), cli_as("sup")
    assert sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr.txt")).code == 0
    recorded = _record(amina, "--from", "caregiver", "--setting", "family", "--about-worker", "sup", "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    recipients = repo / "complaints" / complaint_id / "recipients"
    assert recipients.read_text().splitlines()[1:] == ["amina", "mgr"]
    assert sup("complaint", "show", complaint_id).code == 5
    added = sup("team", "add", "mgr2", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr2.txt"), "--json")
    assert added.code == 0, added.stderr
    assert recipients.read_text().splitlines()[1:] == ["amina", "mgr"]  # sup cannot read it: left as it is
    # ... and never told of it: neither named nor counted (it is about sup)
    assert complaint_id not in added.stdout + added.stderr and added.json()["not_reencrypted"] == []
    shown = sup("report", "complaints", "--json")
    assert shown.code == 0 and "not_readable" not in shown.json() and " of " not in shown.json()["meta"]["coverage"]
    assert not [t for t in _titles(sup, "--worker", "all") if "complaint" in t]
    from conftest import Cli

    mgr = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "mgr.txt"), "CPCM_NOW": NOW})
    # a reader is told on `due`: the complaint's readers are not those the team now asks
    assert f"complaint {complaint_id}: its readers to bring in line" in _titles(mgr)
    synced = mgr("team", "sync")
    assert synced.code == 0, synced.stderr
    assert recipients.read_text().splitlines()[1:] == ["amina", "mgr", "mgr2"]
    assert "sup" not in recipients.read_text().splitlines()[1:]
    assert not [t for t in _titles(mgr) if "its readers" in t]
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 0 cases"  # never a count of complaints: every copy reads it
    checked = sup("verify", "--json")  # mgr's commit is signed by a key the team does not record (added without one): only that
    assert {p["code"] for p in checked.json()} <= {"unknown-signer"}, checked.stdout


def test_complaint__the_time_to_respond_is_a_rule_with_its_source():
    from cpcm.store.policies import load as load_profile
    from cpcm.workflow.complaints import respond_within

    for profile in ("inter-agency", "kenya"):
        policy = load_profile(profile)
        assert respond_within(policy).words() == "30 days"
        assert "cpcm's choice" in policy.source("complaints") and "ESARO P1" in policy.source("complaints")


def test_complaint__the_report_counts_by_setting_and_staff_with_small_cells_hidden(cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    for _ in range(6):
        assert _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno", "--summary", CANARY).code == 0
    for _ in range(5):
        assert _record(amina, "--from", "caregiver", "--setting", "family", "--concerns", "service", "--summary", CANARY).code == 0
    done = sup("report", "complaints", "--from", "2026-01-01", "--to", "2026-12-31", "--json")
    assert done.code == 0, done.stderr
    received = {row[0]: row[1:] for row in done.json()["tables"][0]["rows"]}
    assert received["residential"] == [0, 6, 6] and received["family"] == [5, 0, 5] and received["total"] == [5, 6, 11]
    assert {row[0]: row[1:] for row in done.json()["tables"][1]["rows"]}["total"] == [0, 0, 0]  # none resolved yet
    # one more, about staff in the community: a count under 5, hidden, and another with it so it cannot be worked out
    assert _record(amina, "--from", "community", "--setting", "community", "--about-worker", "otieno", "--summary", CANARY).code == 0
    done = sup("report", "complaints", "--from", "2026-01-01", "--to", "2026-12-31", "--json")
    received = {row[0]: row[1:] for row in done.json()["tables"][0]["rows"]}
    assert received["community"][1] == "<5" and "x" in [cell for row in received.values() for cell in row]
    assert CANARY not in done.stdout and "CM-" not in done.stdout and "otieno" not in done.stdout
    text = sup("report", "complaints", "--from", "2026-01-01", "--to", "2026-12-31")
    assert text.code == 0 and "residential" in text.stdout, text.stderr
    md = sup("report", "complaints", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "md")
    assert md.code == 0 and "residential" in md.stdout, md.stderr


def test_complaint__readers_are_the_recorder_and_oversight_never_one_it_is_about():
    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import complaints as rules

    team = Team((Worker("sup", "S", ("supervisor",), "age1a"), Worker("mgr", "M", ("manager", "caseworker"), "age1b"),
                 Worker("amina", "A", ("caseworker",), "age1c"), Worker("otieno", "O", ("caseworker",), "age1d")))
    assert rules.readers(team, "amina", ["otieno"]) == ["amina", "sup", "mgr"]
    assert rules.readers(team, "amina", ["mgr"]) == ["amina", "sup"]  # a manager it is about, whatever their role
    assert rules.readers(team, "otieno", ["otieno"]) == ["sup", "mgr"]  # named by themselves: not a reader either
    assert not rules.impartial(rules.readers(team, "sup", ["mgr"]), "sup")  # only the recorder would read it
    assert rules.impartial(rules.readers(team, "amina", ["sup"]), "amina")
    readers = rules.readers(team, "amina", ["sup"])
    assert not rules.may_respond(team.get("sup"), readers, ["sup"]) and not rules.may_respond(team.get("amina"), readers, ["sup"])
    assert rules.may_respond(team.get("mgr"), readers, ["sup"])


# -- two laptops --------------------------------------------------------------------------------------
from test_sync import laptops  # noqa: E402,F401 - the fixture: a bare remote and a clone per worker


def _add_manager(laptops, tmp_env) -> None:
    from conftest import signing_line

    key = tmp_env / "keys" / "mgr.txt"
    public = make_identity(key)
    added = laptops.cli("sup")("team", "add", "mgr", "--role", "manager", "--recipient", public, "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    laptops.keys["mgr"] = (key, public)


def test_complaint__recorded_apart_both_kept_responded_apart_both_kept_the_later_stands(laptops, tmp_env):
    _add_manager(laptops, tmp_env)
    laptops.sync("sup")
    amina, otieno, mgr, sup = laptops.laptop("amina"), laptops.laptop("otieno"), laptops.laptop("mgr"), laptops.cli("sup")
    about_otieno = _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno", "--summary", CANARY)
    by_otieno = _record(otieno, "--from", "caregiver", "--setting", "family", "--concerns", "service", "--summary", CANARY)
    assert about_otieno.code == 0 and by_otieno.code == 0, about_otieno.stderr + by_otieno.stderr
    first, second = about_otieno.json()["complaint_id"], by_otieno.json()["complaint_id"]
    laptops.sync("amina")
    report = laptops.sync("otieno")  # a merge: both kept; what arrived about otieno is not said to him (nor counted)
    assert report["merged"] and report["complaints"] == [] and report["records"] == 0, report
    assert "amina" not in report["by"], report
    laptops.sync("sup")
    laptops.sync("mgr")
    assert sorted(c["complaint_id"] for c in sup("complaint", "list", "--json").json()) == sorted([first, second])
    assert [c["complaint_id"] for c in otieno("complaint", "list", "--json").json()] == [second]  # never the one about him
    assert otieno("complaint", "show", first).code == 5
    # a response on each of two copies apart: both kept in its history, the later one stands
    one = sup("complaint", "respond", first, "--outcome", "upheld", "--response", f"one {CANARY}", "--json")
    other = mgr("complaint", "respond", first, "--outcome", "partly_upheld", "--response", f"two {CANARY}", "--json")
    assert one.code == 0 and other.code == 0, one.stderr + other.stderr
    laptops.sync("sup")
    assert laptops.sync("mgr")["merged"]
    laptops.sync("sup")
    for cli in (sup, mgr):
        data = cli("complaint", "show", first, "--json").json()
        assert [h["kind"] for h in data["history"]] == ["complaint", "complaint_response", "complaint_response"]
        assert data["status"] == "resolved" and data["response"]["record_id"] == other.json()["record_id"]
        assert data["response"]["outcome"] == "partly_upheld"
        checked = cli("verify", "--json")
        assert checked.code == 0, checked.stdout
    for root in (laptops.repo, laptops.clones["mgr"]):
        assert "otieno" not in (root / "complaints" / first / "recipients").read_text().splitlines()[1:]
        assert files_with_marker(root) == [] and not leaks(git_log_patch(root))


def test_complaint__a_file_not_encrypted_in_its_folder_is_named_by_a_sync_to_its_readers_only(laptops):
    """amina saves a scan into the folder of a complaint about otieno and commits it with git, signed. The sync
    that brings it names it to the supervisor, who reads the complaint (by the complaint's folder, never by the
    scan's name); otieno's sync takes it in and says nothing of it: the complaint is not made known to him."""
    from conftest import signed_commit

    laptops.laptop("otieno")
    amina = laptops.laptop("amina")
    recorded = _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno", "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    root = laptops.clones["amina"]
    (root / "complaints" / complaint_id / f"{CANARY}.pdf").write_text(f"{CANARY}\n")
    commit = signed_commit(root, "amina", "scan", f"complaints/{complaint_id}/{CANARY}.pdf", key=laptops.keys["amina"][0])
    laptops.sync("amina")
    about = laptops.sync("otieno")
    assert about["plaintext_committed"] == [] and not [n for n in about["notes"] if commit[:10] in n], about
    assert complaint_id not in json.dumps(about)
    told = laptops.sync("sup")
    assert told["plaintext_committed"] == [{
        "commit": commit[:10], "worker": "amina", "folder": complaint_id,
        "file": f"a file in complaints/{complaint_id} whose name is not shown (it may name someone: git show --stat "
                f"{commit[:10]} lists it)"}], told
    assert len([n for n in told["notes"] if commit[:10] in n]) == 1 and not leaks(json.dumps(told).encode())


def test_complaint__a_manager_added_on_one_copy_reads_a_complaint_recorded_on_the_other(laptops, tmp_env):
    amina, sup = laptops.laptop("amina"), laptops.cli("sup")
    _add_manager(laptops, tmp_env)  # on sup's copy, before amina's laptop hears of it
    recorded = _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno", "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    laptops.sync("amina")
    report = laptops.sync("sup")
    assert report["merged"] and complaint_id in report["reencrypted"], report
    assert (laptops.repo / "complaints" / complaint_id / "recipients").read_text().splitlines()[1:] == ["amina", "sup", "mgr"]
    from conftest import Cli

    mgr = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(laptops.keys["mgr"][0]), "CPCM_NOW": NOW})
    shown = mgr("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    assert sup("verify").code == 0


def test_complaint__on_the_due_list_of_those_who_may_respond_never_of_a_manager_it_is_about(cli_as, tmp_env):
    """A complaint about the supervisor: on the manager's due list (overdue after 30 days), never
    on the supervisor's, whatever the worker asked for, and the case flag likewise."""
    from conftest import Cli

    amina, sup = cli_as("amina"), cli_as("sup")
    assert sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr.txt")).code == 0
    case_id = register(amina)
    recorded = _record(amina, "--from", "child", "--setting", "family", "--about-worker", "sup", "--case", case_id,
                       "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    title = f"respond to complaint {complaint_id}"
    mgr = Cli({"CPCM_REPO": str(cli_as("sup").env["CPCM_REPO"]), "CPCM_IDENTITY": str(tmp_env / "mgr.txt"), "CPCM_NOW": LATER})
    assert title in _titles(mgr) and title in _titles(mgr, "--worker", "all")
    assert title not in _titles(mgr, "--worker", "sup")  # not the one it is about, even asked for by a reader
    late_sup = cli_as("sup", CPCM_NOW=LATER)
    for args in ((), ("--worker", "all"), ("--worker", "mgr")):
        assert title not in _titles(late_sup, *args)
    assert f"{complaint_id} (about staff, open)" in mgr("show", case_id).stdout
    assert complaint_id not in late_sup("show", case_id).stdout and complaint_id not in late_sup("check", "--json").stdout


# -- in memory: the check code, and what due reads -------------------------------------------------------
def _memory_with_manager():
    """The memory repository's team (sup, amina, otieno) and a manager, mgr."""
    from pyrage import x25519

    from cpcm.crypto.identity import Identity
    from cpcm.domain.team import Team, Worker
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    mem.identities["mgr"] = Identity(keys=(x25519.Identity.generate(),), path="(in memory)")
    mem.team = Team((*mem.team.workers, Worker(id="mgr", name="mgr", roles=("manager",), recipient=mem.identities["mgr"].recipient,
                                               since="2026-01-01T00:00:00+03:00")))
    return mem


def test_complaint__check_warns_of_a_response_overdue_to_its_readers_only():
    """`cpcm check`: a complaint not responded to within `respond_within` is a warning
    (`complaint-respond-overdue`) for each worker who reads it, never for a worker it is about; a
    warning, so the exit code of check is not changed by it; gone once it is responded to."""
    from cpcm import service
    from cpcm.service import complaints

    mem = _memory_with_manager()
    amina = mem.as_("amina")
    about_otieno = complaints.record(amina, "child", "residential", f"says {CANARY}", about=["otieno"]).subject_id
    about_sup = complaints.record(amina, "caregiver", "family", f"says {CANARY}", about=["sup"]).subject_id

    def overdue(worker: str, now: str) -> dict[str, str]:
        found = [p for p in service.check(mem.as_(worker, now=now)) if p.code == "complaint-respond-overdue"]
        assert all(CANARY not in p.message and p.severity == "warning" for p in found), found
        return {next(c for c in (about_otieno, about_sup) if c in p.message): p.message for p in found}

    for worker in ("sup", "mgr", "amina", "otieno"):
        assert overdue(worker, NOW) == {}  # not due yet
    assert set(overdue("mgr", LATER)) == {about_otieno, about_sup}
    assert set(overdue("amina", LATER)) == {about_otieno, about_sup}  # who recorded them reads them
    assert set(overdue("sup", LATER)) == {about_otieno}  # never the one about sup
    assert overdue("otieno", LATER) == {}  # nor the one about otieno
    assert "overdue since 2026-12-23" in overdue("mgr", LATER)[about_otieno]
    assert f"cpcm complaint respond {about_otieno}" in overdue("mgr", LATER)[about_otieno]
    complaints.respond(mem.as_("mgr"), about_otieno, "upheld", "apology given")
    assert set(overdue("mgr", LATER)) == {about_sup}


def test_complaint__due_reads_each_complaints_readers_once():
    """The due list reads each complaint's `recipients` file once (who reads it decides both
    whether it is looked at and whether its readers are in line; its `# rekey:` lines, whether its
    records are still encrypted to an earlier key of one of them)."""
    from collections import Counter

    from cpcm.service import complaints
    from cpcm.store.layout import COMPLAINTS
    from cpcm.workflow.deadlines import soon_window

    mem = _memory_with_manager()
    ids = [complaints.record(mem.as_("amina"), "child", "residential", "x", about=["otieno"]).subject_id for _ in range(2)]
    sup = mem.as_("sup", now=LATER)
    reads: Counter = Counter()
    original, with_rekey = mem.store.recipients, mem.store.recipients_rekey

    def counted(folder_id, folder="cases"):
        if folder == COMPLAINTS:
            reads[folder_id] += 1
        return original(folder_id, folder)

    def counted_rekey(folder_id, top):  # its readers and its `# rekey:` lines, from one read of the file
        if top == COMPLAINTS:
            reads[folder_id] += 1
        return with_rekey(folder_id, top)

    mem.store.recipients, mem.store.recipients_rekey = counted, counted_rekey
    items = complaints.due_items(sup, "all", sup.now, False, soon_window(sup.policy, sup.now))
    assert sorted(i.title for i in items) == sorted(f"respond to complaint {c}" for c in ids)
    assert reads == Counter({c: 1 for c in ids}), reads

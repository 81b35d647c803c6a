"""A case transferred to another agency and back, walked through the CLI as each agency's worker
would (IAG Step 6, ESARO S6: a transfer hands full responsibility to the receiving agency).

Agency A (this test's repository: amina, sup) registers a child, assesses, plans and refers, then
transfers the case to agency B (the receiving repository: wanjiru, kim). B receives it, A takes
B's receipt in; B works on it (a follow-up, a plan revision, a correction of A's registration);
the child moves back and B transfers the case to A, which receives its own earlier case back.

At each step: each agency reads what the other wrote (show, log, the case file); what came with
the case is kept byte for byte (records, history, the correction); the case leaves A's list, due,
caseload and statistics when it goes and comes back linked to its earlier ID; wrong, repeated and
damaged files are refused with the reason and change nothing; the child's name is nowhere in
plaintext (the canary)."""
from __future__ import annotations

import json
from collections import Counter

from conftest import CANARY, CLINIC, Cli, commit_count, consent_both, git, git_status, library_session, register
from cpcm.store.layout import case_dir, case_rel
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_transfer import canary, consent, decrypt, files_with_marker, git_objects, leaks

SENT = "2026-11-24T09:00:00+03:00"  # A writes the bundle
GOT = "2026-11-25T09:00:00+03:00"  # B receives it
ACKED = "2026-11-26T09:00:00+03:00"  # A records B's receipt
WORKED = "2026-12-01T09:00:00+03:00"  # B's follow-up, plan revision and correction
BACK = "2026-12-03T09:00:00+03:00"  # B writes the bundle back to A
HOME = "2026-12-04T09:00:00+03:00"  # A receives it
TO_B = ["--to", "recv", "--reason", "the family moved to the receiving agency's area", "--reason-code", "relocation",
        "--check", "all"]
TO_A = ["--to", "test", "--reason", "the family moved back", "--reason-code", "relocation", "--check", "all"]


def at(cli: Cli, now: str) -> Cli:
    return Cli({**cli.env, "CPCM_NOW": now})


def ok(result):
    assert result.code == 0, result.stderr
    return result


def codes(cli: Cli, case_id: str) -> list[str]:
    return [i["code"] for i in ok(cli("due", "--within", "400", "--json")).json() if i["case_id"] == case_id]


def open_count(cli: Cli, worker: str) -> int:
    rows = [line.split("\t") for line in ok(cli("report", "caseload")).stdout.splitlines()]
    return int(next(row for row in rows if row[0] == worker)[1])


def counted(cli: Cli, case_id: str) -> Counter:
    """What the statistics report counts of the case (its rows, unsuppressed), by measure."""
    from cpcm import service
    from cpcm.reports.statistics import MEASURE_KEYS, case_rows
    from cpcm.workflow.fold import fold

    ctx = library_session(cli)
    case = fold(case_id, service.load_records(ctx, case_id))
    return Counter(MEASURE_KEYS[row[0]] for row in case_rows(case))


def plaintexts(root, case_id: str, key) -> dict[str, bytes]:
    return {p.name: decrypt(p.read_bytes(), key) for p in sorted(case_dir(root, case_id).glob("*.yaml.age"))}


def test_a_case_goes_to_another_agency_and_comes_back(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru, kim = receiving.as_("wanjiru"), receiving.as_("kim")
    out = tmp_env / "usb"
    out.mkdir()
    said: list[str] = []

    # -- agency A: registered, assessed, planned, referred ------------------------------------------
    ok(sup(*CLINIC))
    case_id = register(amina, **canary())
    ok(amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    ok(amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    ok(amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())))
    ok(sup("approve", case_id, "plan"))
    consent_both(amina, case_id)
    ok(amina("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all"))
    assert counted(amina, case_id)["registrations"] == 1

    # -- A transfers it to B -------------------------------------------------------------------------
    consent(amina, case_id)
    ok(amina("transfer", case_id, *TO_B))
    ok(sup("approve", case_id, "transfer"))
    bundle, receipt = out / f"{case_id}.transfer.age", out / f"{case_id}.receipt.age"
    said.append(ok(at(amina, SENT)("transfer", case_id, *TO_B, "--out", str(bundle))).stderr)
    a_sent = at(amina, SENT)
    assert a_sent("show", case_id, "--json").json()["status"] == "transferred"
    assert case_id not in [c["case_id"] for c in ok(a_sent("list", "--status", "open", "--json")).json()]
    assert codes(a_sent, case_id) == ["transfer-ack"]  # nothing else of the case is due here any more
    assert open_count(at(sup, SENT), "amina") == 0

    # refused, nothing written: a bundle for another agency, a damaged one
    before = commit_count(receiving.root)
    assert a_sent("receive", str(bundle)).code == 5  # A cannot open what it sent
    assert at(kim, GOT)("receive", str(bundle)).code == 5  # encrypted to B's caseworker only
    cut = out / "cut.age"
    cut.write_bytes(bundle.read_bytes()[:-40])
    damaged = at(wanjiru, GOT)("receive", str(cut))
    assert damaged.code == 7 and "nothing was written" in damaged.stderr, damaged.stderr
    assert commit_count(receiving.root) == before and git_status(receiving.root) == []

    # -- B receives it and reads everything A wrote ----------------------------------------------------
    b = at(wanjiru, GOT)
    got = ok(b("receive", str(bundle), "--receipt", str(receipt), "--json"))
    said.append(got.stderr)
    assert got.json()["case_id"] == case_id and got.json()["alias"] is None
    shown = ok(b("show", case_id, "--json")).json()
    assert shown["name"] == CANARY and shown["status"] == "open" and shown["worker"] == "wanjiru"
    assert shown["received"]["from"] == "TEST" and shown["received"]["alias"] is None
    assert "from TEST (Test Agency)" in ok(b("show", case_id)).stdout
    a_log = ok(a_sent("log", case_id, "--json")).json()
    b_log = ok(b("log", case_id, "--json")).json()
    assert [e["record_id"] for e in b_log[:len(a_log) - 1]] == [e["record_id"] for e in a_log[:-1]]  # all but A's transfer
    assert "### 1. Registration" in ok(b("render", "case-file", case_id)).stdout
    again = b("receive", str(bundle), "--json")
    assert again.code == 4 and again.json()["rule"] == "transfer-already-received", again.stdout
    # what B counts: only what happened since the case came (A registered, planned and referred)
    assert counted(b, case_id) == Counter(), counted(b, case_id)

    # -- A records B's receipt: the case leaves A's due ----------------------------------------------
    ok(at(amina, ACKED)("transfer-ack", str(receipt)))
    assert codes(at(amina, ACKED), case_id) == []

    # -- B works on it: a follow-up, a plan revision, a correction of A's registration ----------------
    bw = at(wanjiru, WORKED)
    ok(bw("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
          "--visited-by", "professional", "--risk-increased", "no", "--done", "A1"))
    ok(bw("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc("review"))))
    ok(at(kim, WORKED)("approve", case_id, "plan"))
    registration = next(e["record_id"] for e in b_log if e["kind"] == "registration")
    # a new worker named in a correction is still one of B's team
    refused = bw("correct", case_id, registration, "--set", "worker=otieno", "--reason", "x", "--json")
    assert refused.code == 4 and refused.json()["fields"][0]["field"] == "worker", refused.stdout
    # the registration names A's worker (amina), who is not in B's team: the correction keeps her
    fixed = bw("correct", case_id, registration, "--set", "location=Kisumu town", "--reason", "mistyped at the first agency")
    assert fixed.code == 0, fixed.stderr
    shown = ok(bw("show", case_id, "--json")).json()
    assert shown["location"] == "Kisumu town" and shown["plan"]["version"] == 2, shown
    assert counted(bw, case_id)["plans_approved"] == 1  # B's version 2, not A's version 1

    # -- the child moves back: B transfers the case to A -----------------------------------------------
    ok(kim("service", "add", "test", "--provider", "Test Agency", "--sector", "alternative_care", "--offers", "case management",
           "--recipient", sending.keys["amina"][1]))
    consent(bw, case_id, "test")
    ok(bw("transfer", case_id, *TO_A))
    ok(at(kim, WORKED)("approve", case_id, "transfer"))
    home, home_receipt = out / f"{case_id}.back.age", out / f"{case_id}.back-receipt.age"
    said.append(ok(at(wanjiru, BACK)("transfer", case_id, *TO_A, "--out", str(home))).stderr)
    assert case_id not in [c["case_id"] for c in ok(at(wanjiru, BACK)("list", "--status", "open", "--json")).json()]

    # -- A receives its own earlier case back ---------------------------------------------------------
    a = at(amina, HOME)
    back = ok(a("receive", str(home), "--receipt", str(home_receipt), "--json"))
    said.append(back.stderr)
    new_id = back.json()["case_id"]
    assert new_id != case_id and back.json()["alias"] == case_id  # the ID is taken here: a new one, linked
    assert any(f"cpcm show {new_id}" in s for s in back.json()["next_steps"])
    shown = ok(a("show", new_id, "--json")).json()
    assert shown["received"]["from"] == "RECV" and shown["received"]["alias"] == case_id, shown["received"]
    assert f"cpcm show {case_id}" in ok(a("show", new_id)).stdout  # the link to the earlier case, on screen
    assert shown["status"] == "open" and shown["worker"] == "amina" and shown["location"] == "Kisumu town"
    assert shown["plan"]["version"] == 2
    # one readable history: A's records, B's, B's correction, both receipts
    log = ok(a("log", new_id, "--json")).json()
    by = {e["record_id"]: e["by"] for e in log}
    assert by[registration] == "amina" and [e["by"] for e in log if e["kind"] == "followup"] == ["wanjiru"]
    assert [e["kind"] for e in log].count("transfer_in") == 2
    assert any(e["kind"] == "registration" and e["record_id"] != registration for e in log)  # the correction
    rendered = ok(a("render", "case-file", new_id)).stdout
    assert "Kisumu town" in rendered and "Corrected by record" in rendered
    # byte for byte what B stored, but for the case line
    mine = plaintexts(sending.root, new_id, sending.keys["amina"][0])
    theirs = plaintexts(receiving.root, case_id, receiving.keys["wanjiru"][0])
    for name, text in theirs.items():
        if name in mine:
            assert mine[name] == text.replace(f"case: {case_id}\n".encode(), f"case: {new_id}\n".encode()), name
    assert len([n for n in theirs if n not in mine]) == 1  # B's transfer record stays with B

    # back on A's lists: the new case open, the earlier one still transferred
    assert new_id in [c["case_id"] for c in ok(a("list", "--status", "open", "--json")).json()]
    earlier = a("show", case_id, "--json").json()
    assert earlier["status"] == "transferred"
    # the earlier case names the new one, in the receive's one commit: the child looked up by the old ID is found
    assert [(link["case_id"], link["relation"]) for link in earlier["links"]] == [(new_id, "returned_as")]
    assert f"came back as {new_id}" in ok(a("show", case_id)).stdout
    assert [e["what"] for e in ok(a("log", case_id, "--json")).json() if e["kind"] == "case_link"] == [f"came back as {new_id}"]
    assert git(sending.root, "log", "-1", "--format=%s", "--", case_rel(case_id)).strip().startswith(f"receive {new_id} ")
    assert ok(a("verify")).code == 0
    # A's referral and B's plan run on here; consent to registration is asked again (what A was told before it sent
    # the case does not carry over: consent-missing, until the answers are recorded here)
    assert codes(a, new_id) == ["consent-missing", "referral-feedback", "plan-action", "review"]
    assert open_count(at(sup, HOME), "amina") == 1
    # counted once: the registration and A's plan under the earlier ID, nothing of B's work again here
    assert counted(a, case_id)["registrations"] == 1 and counted(a, new_id) == Counter(), counted(a, new_id)
    refused = a("receive", str(home), "--json")
    assert refused.code == 4 and refused.json()["rule"] == "transfer-already-received", refused.stdout

    # -- B takes A's receipt in ------------------------------------------------------------------------
    ok(at(wanjiru, HOME)("transfer-ack", str(home_receipt)))
    assert codes(at(wanjiru, HOME), case_id) == []

    # -- no name in plaintext: files, file names, repositories, commit messages, messages --------------
    for path in out.iterdir():
        assert CANARY.split()[0].lower() not in path.name.lower()
        assert path.name == "cut.age" or not leaks(path.read_bytes())
    for root in (sending.root, receiving.root):
        assert not leaks(git_objects(root)) and files_with_marker(root) == []
    assert files_with_marker(tmp_env / "tmp") == []
    assert not any(leaks(s.encode()) for s in said)


def test_correct__a_record_naming_a_worker_who_has_left_the_team_keeps_that_worker(cli_as):
    """The registration names the worker assigned then; once she has left the team (or the case came
    from another agency, above), a correction of another field keeps her name as written."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    registration = ok(amina("log", case_id, "--json")).json()[0]["record_id"]
    ok(sup("assign", case_id, "--worker", "otieno"))
    ok(sup("team", "remove", "amina"))
    fixed = sup("correct", case_id, registration, "--set", "location=Ward 8", "--reason", "mistyped", "--json")
    assert fixed.code == 0, fixed.stderr
    assert ok(sup("show", case_id, "--json")).json()["location"] == "Ward 8"

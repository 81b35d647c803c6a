"""Inter-agency transfer: a case handed from one casefile repository to another as one bundle
encrypted to the receiving agency only, verified, imported, and acknowledged back."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyrage import x25519

from conftest import CANARY, commit_count, git, git_status, last_commit, register
from cpcm import service
from cpcm.errors import InvalidInput, Refused, UsageError
from cpcm.store.layout import case_dir
from memory_repo import MemoryRepo

MARKERS = tuple(part.lower().encode() for part in CANARY.split())
REASON = ["--to", "recv", "--reason", "the family moved to the receiving agency's area", "--reason-code", "relocation"]
INITIAL = ["--type", "initial", "--risk", "high", "--set", "safe=yes", "--set", "basic_needs.food=no", "--set",
           "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no", "--outcome", "proceed"]


def leaks(data: bytes) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in MARKERS)


def files_with_marker(folder: Path) -> list[str]:
    return [str(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and leaks(p.read_bytes())]


def git_objects(root: Path) -> bytes:
    return git(root, "cat-file", "--batch-all-objects", "--batch", binary=True)


def keys_of(path: Path):
    from cpcm.crypto import identity

    return identity.load(path, lambda: None).keys


def decrypt(data: bytes, key_path: Path) -> bytes:
    from cpcm.crypto import cipher

    return cipher.decrypt(data, keys_of(key_path))


def consent(cli, case_id, agency="recv"):
    for giver in ("child", "caregiver"):
        result = cli("consent", case_id, "--purpose", "transfer", "--agency", agency, "--status", "given", "--explained", "all",
                     "--by", giver)
        assert result.code == 0, result.stderr


def approved_case(amina, sup, **registration) -> str:
    """A registered case with consent to transfer to 'recv' and an approved transfer request."""
    case_id = register(amina, **registration)
    consent(amina, case_id)
    requested = amina("transfer", case_id, *REASON, "--check", "all", "--json")
    assert requested.code == 0 and requested.json()["kind"] == "transfer_request", requested.stderr
    assert sup("approve", case_id, "transfer").code == 0
    return case_id


def canary(**extra) -> dict:
    return {"child": {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
            "location": f"{CANARY} village", "caregiver": {"name": f"{CANARY} senior", "relationship": "grandmother"}, **extra}


def test_request__by_the_only_supervisor_is_warned_that_nobody_may_approve_it(sending, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    consent(amina, case_id)
    asked = sup("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_env / "b.age"), "--json")
    assert asked.code == 0 and asked.json()["kind"] == "transfer_request", asked.stderr
    warned = [w for w in asked.json()["warnings"] if "nobody in the team may approve the transfer request" in w]
    assert warned and "transfer_approval.self_approval" in warned[0] and f"cpcm transfer {case_id} --withdraw" in warned[0], asked.json()
    # a caseworker's request has a supervisor to decide it: no such warning
    other = register(amina)
    consent(amina, other)
    plain = amina("transfer", other, *REASON, "--check", "all", "--out", str(tmp_env / "c.age"), "--json")
    assert plain.code == 0 and not any("nobody in the team" in w for w in plain.json()["warnings"]), plain.json()


def test_withdraw__the_one_who_asked_takes_a_waiting_request_back_and_may_ask_again(sending, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    consent(amina, case_id)
    asked = sup("transfer", case_id, *REASON, "--check", "all", "--json")  # nobody else may approve it
    assert asked.code == 0 and asked.json()["kind"] == "transfer_request", asked.stderr
    stage = amina("show", case_id, "--json").json()["stage"]
    commits = commit_count(sending.root)

    # refused, nothing written: no reason; someone else's request; other options beside --withdraw
    no_reason = sup("transfer", case_id, "--withdraw", "--reason", " ", "--json")
    assert no_reason.code == 4 and no_reason.json()["fields"][0]["field"] == "reason", no_reason.stdout
    not_hers = amina("transfer", case_id, "--withdraw", "--reason", "not needed", "--json")
    assert not_hers.code == 4 and not_hers.json()["rule"] == "withdraw-own-only", not_hers.stdout
    assert "cpcm approve|reject" in not_hers.json()["hint"]
    mixed = sup("transfer", case_id, "--withdraw", "--reason", "x", "--to", "recv", "--check", "all")
    assert mixed.code == 2 and "--to, --check" in mixed.stderr, mixed.stderr
    assert commit_count(sending.root) == commits

    taken = sup("transfer", case_id, "--withdraw", "--reason", "the family decided to stay", "--json")
    assert taken.code == 0 and taken.json()["kind"] == "withdrawal", taken.stderr
    assert commit_count(sending.root) == commits + 1 and git_status(sending.root) == []
    shown = amina("show", case_id, "--json").json()
    assert shown["stage"] == stage and shown["status"] == "open", shown
    assert any(h["kind"] == "withdrawal" for h in shown["history"]), shown["history"]
    # nothing waits any more: a supervisor has nothing to decide, a second withdrawal nothing to take back
    assert sup("approve", case_id, "transfer", "--json").json()["rule"] == "nothing-to-approve"
    again = sup("transfer", case_id, "--withdraw", "--reason", "twice", "--json")
    assert again.code == 4 and again.json()["rule"] == "nothing-to-approve", again.stdout
    # a new request may be made, and is a request (not the withdrawn one's decision)
    anew = amina("transfer", case_id, *REASON, "--check", "all", "--json")
    assert anew.code == 0 and anew.json()["kind"] == "transfer_request", anew.stderr
    assert not any("rejected" in w for w in anew.json()["warnings"]), anew.json()


def test_approved_transfer__is_on_the_case_workers_due_list_until_its_bundle_is_written_or_it_is_taken_back(sending, cli_as, tmp_env):
    """An approved transfer whose bundle nobody wrote left the child handed to no one, on nobody's
    due list: now it is the case's worker's (here the one the case was reassigned to when the one
    who asked left), overdue in cpcm check after the approval_response limit, and that worker may
    take it back."""
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = approved_case(amina, sup)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("team", "remove", "amina").code == 0

    later = cli_as("otieno", CPCM_NOW="2026-12-05T09:00:00+03:00")
    due = later("due", "--json").json()
    items = [i for i in due if i["case_id"] == case_id and i["code"] == "approved-transfer"]
    assert len(items) == 1 and items[0]["owner"] == "otieno" and items[0]["state"] == "overdue", due
    assert f"cpcm transfer {case_id} --withdraw" in items[0]["why"] and "--out FILE" in items[0]["why"], items[0]
    assert "recv" not in items[0]["why"]  # the agency as typed is not repeated
    checked = later("check", case_id, "--json").json()
    assert any(p["code"] == "approved-transfer-overdue" and p["worker"] == "otieno" for p in checked), checked
    assert not [i for i in cli_as("sup", CPCM_NOW="2026-12-05T09:00:00+03:00")("due", "--json").json()
                if i["code"] == "approved-transfer"]  # the worker's, not the supervisors'

    taken = otieno("transfer", case_id, "--withdraw", "--reason", "the family decided to stay", "--json")
    assert taken.code == 0 and taken.json()["kind"] == "withdrawal", taken.stderr
    assert not [i for i in later("due", "--json").json() if i["code"] == "approved-transfer"]
    assert later("transfer", case_id, "--withdraw", "--reason", "twice", "--json").json()["rule"] == "nothing-to-approve"
    assert otieno("show", case_id, "--json").json()["status"] == "open"


def test_approved_transfer__the_approval_says_who_writes_the_bundle_and_the_item_ends_when_it_is_written(sending, cli_as, tmp_env):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = register(amina)
    consent(amina, case_id)
    assert amina("transfer", case_id, *REASON, "--check", "all").code == 0
    approved = sup("approve", case_id, "transfer")
    assert approved.code == 0, approved.stderr
    assert f"next: the case's worker (amina) writes the bundle with the command that asked for it: cpcm transfer {case_id}" \
        in approved.stderr, approved.stderr
    assert [i["code"] for i in amina("due", "--json").json() if i["code"] == "approved-transfer"] == ["approved-transfer"]
    # someone who is neither the one who asked, nor the case's worker, nor a supervisor may not take it back
    refused = otieno("transfer", case_id, "--withdraw", "--reason", "x", "--json")
    assert refused.code in (4, 5), refused.stdout
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_env / "b.age")).code == 0
    assert not [i for i in amina("due", "--json").json() if i["case_id"] == case_id]  # transferred: nothing is due here
    # reopened: the request the bundle was written for asks nothing any more
    assert amina("reopen", case_id, "--reason", "the family came back").code == 0
    assert not [i for i in amina("due", "--json").json() if i["code"] == "approved-transfer"]


def test_withdraw__needs_a_case_and_to_is_needed_otherwise(sending, cli_as):
    amina = cli_as("amina")
    assert amina("transfer", "--withdraw", "--reason", "x").code == 2
    no_to = amina("transfer", register(amina), "--reason", "moved")
    assert no_to.code == 2 and "--to is needed" in no_to.stderr, no_to.stderr


# -- the round trip -------------------------------------------------------------------------------
def test_round_trip__requested_approved_sent_received_read_and_acknowledged(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru, kim = receiving.as_("wanjiru"), receiving.as_("kim")
    bundle, receipt = tmp_env / "out" / "bundle.age", tmp_env / "out" / "receipt.age"
    bundle.parent.mkdir()
    stderr = []
    case_id = register(amina, **canary())
    consent(amina, case_id)

    first = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    stderr.append(first.stderr)
    assert first.code == 0, first.stderr
    assert first.json()["kind"] == "transfer_request" and first.json()["bundle_written"] is False
    assert any(f"cpcm approve {case_id} transfer" in s for s in first.json()["next_steps"])
    assert not bundle.exists()
    assert last_commit(sending.root)["message"] == f"transfer {case_id} {first.json()['record_id']}"
    waiting = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert waiting.code == 4 and waiting.json()["rule"] == "transfer-approval-pending"
    assert sup("approve", case_id, "transfer").code == 0

    sent = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    stderr.append(sent.stderr)
    assert sent.code == 0, sent.stderr
    assert sent.json()["kind"] == "transfer" and sent.json()["bundle_written"] and bundle.is_file()
    assert sent.json()["warnings"] == []  # first transfer of this child
    assert bundle.stat().st_mode & 0o777 == 0o600  # as a rendered --out file: the user's only (was 644)
    assert last_commit(sending.root)["message"] == f"transfer {case_id} {sent.json()['record_id']}"
    assert amina("show", case_id, "--json").json()["status"] == "transferred"
    sender_log = amina("log", case_id, "--json").json()

    # the bundle opens for the receiving agency only
    from cpcm.crypto import cipher

    for worker in ("amina", "sup"):
        with pytest.raises(cipher.NotARecipient):
            decrypt(bundle.read_bytes(), sending.keys[worker][0])
    assert amina("receive", str(bundle)).code == 5
    assert kim("receive", str(bundle)).code == 5  # the bundle went to the receiving caseworker's key only

    got = wanjiru("receive", str(bundle), "--receipt", str(receipt), "--json")
    stderr.append(got.stderr)
    assert got.code == 0, got.stderr
    assert got.json()["case_id"] == case_id and got.json()["alias"] is None and got.json()["worker"] == "wanjiru"
    assert receipt.stat().st_mode & 0o777 == 0o600  # the receipt too (was 644)
    assert got.json()["records"] == len(sender_log) - 1  # every record but the transfer itself
    assert last_commit(receiving.root)["message"] == f"receive {case_id} {got.json()['record_id']}"
    assert git_status(receiving.root) == []

    shown = wanjiru("show", case_id, "--json").json()
    assert shown["name"] == CANARY and shown["status"] == "open" and shown["worker"] == "wanjiru"
    assert shown["stage"] == "registered"  # the stage it had at the sending agency
    assert kim("show", case_id, "--json").code == 0  # the receiving team's supervisor reads it too
    kinds = [e["kind"] for e in wanjiru("log", case_id, "--json").json()]
    assert kinds[-2:] == ["transfer_in", "assignment"]
    # the same plaintext bytes as stored at the sending agency, in new ciphertext
    for entry in sender_log[:-1]:
        name = f"{entry['record_id']}.{entry['kind']}.yaml.age"
        here = (case_dir(receiving.root, case_id) / name).read_bytes()
        there = (case_dir(sending.root, case_id) / name).read_bytes()
        assert here != there
        assert decrypt(here, receiving.keys["wanjiru"][0]) == decrypt(there, sending.keys["amina"][0])

    again = wanjiru("receive", str(bundle), "--json")
    assert again.code == 4 and again.json()["rule"] == "transfer-already-received"

    # the receipt closes the loop in the sender's log
    assert CANARY.split()[0].lower().encode() not in decrypt(receipt.read_bytes(), sending.keys["amina"][0]).lower()
    acked = amina("transfer-ack", str(receipt), "--json")
    stderr.append(acked.stderr)
    assert acked.code == 0, acked.stderr
    log = amina("log", case_id, "--json").json()
    assert log[-1]["kind"] == "transfer_ack"
    assert last_commit(sending.root)["message"] == f"transfer-ack {case_id} {log[-1]['record_id']}"
    assert amina("transfer-ack", str(receipt), "--json").json()["rule"] == "transfer-already-acknowledged"

    # the name is nowhere in plaintext: bundle, receipt, both repositories, temp files, messages
    assert not leaks(bundle.read_bytes()) and not leaks(receipt.read_bytes())
    for root in (sending.root, receiving.root):
        assert not leaks(git_objects(root))
        assert files_with_marker(root) == []
    assert files_with_marker(tmp_env / "tmp") == []
    assert not any(leaks(s.encode()) for s in stderr)


def test_received_case__a_referral_letter_is_signed_by_the_worker_of_the_agency_that_renders_it(sending, receiving, cli_as,
                                                                                                  tmp_env):
    """A referral made at the sending agency, its letter rendered at the receiving agency: signed by
    the receiving worker who renders it with the receiving agency's name, never by the sending
    agency's worker under the receiving agency's name."""
    from conftest import CLINIC, consent_both

    amina, sup = cli_as("amina"), cli_as("sup")
    assert sup(*CLINIC).code == 0
    case_id = register(amina)
    consent_both(amina, case_id)
    assert amina("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all").code == 0
    assert amina("render", "referral-letter", case_id, "R1").stdout.rstrip().endswith("amina, Test Agency")
    consent(amina, case_id)
    assert amina("transfer", case_id, *REASON, "--check", "all").code == 0
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "bundle.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    assert receiving.as_("wanjiru")("receive", str(bundle)).code == 0
    for worker in ("wanjiru", "kim"):
        for fmt in ("md", "html"):
            letter = receiving.as_(worker)("render", "referral-letter", case_id, "R1", "--format", fmt)
            assert letter.code == 0, letter.stderr
            assert f"{worker}, Receiving Agency" in letter.stdout, (worker, fmt)
            assert "amina" not in letter.stdout, (worker, fmt)


def test_receive__says_the_records_the_bundle_carried_and_those_the_case_holds_here_as_show_counts_them(
        sending, receiving, cli_as, tmp_env):
    """A case with a correction (its original still counted, as `show` and `log` count it) and an
    approved request: the bundle carries every record the sender held but the transfer itself;
    the receiving agency adds the record of its arrival (transfer_in) and the assignment. `receive` says both
    counts, and the one of the case here is the one `show` gives."""
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru = receiving.as_("wanjiru")
    case_id = register(amina, **canary())
    assert amina("correct", case_id, "registration", "--set", "contact=0700 000 001", "--reason", "mistyped").code == 0
    consent(amina, case_id)
    assert amina("transfer", case_id, *REASON, "--check", "all").code == 0
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "bundle.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    sent = amina("show", case_id, "--json").json()
    got = wanjiru("receive", str(bundle))
    assert got.code == 0, got.stderr
    shown = wanjiru("show", case_id, "--json").json()
    carried, total = sent["records_total"] - 1, shown["records_total"]  # all but the transfer; here, with two more
    assert total == carried + 2 and shown["records_corrected"] == 1
    assert f"{carried} record(s) carried in the bundle" in got.stderr, got.stderr
    assert f"the case holds {total} records here" in got.stderr, got.stderr
    # the two added here are named as records, not as the --receipt file (which was not asked for)
    assert "with the record of its arrival (transfer_in) and the assignment" in got.stderr, got.stderr
    assert "receipt" not in got.stderr, got.stderr
    wanjiru_show = wanjiru("show", case_id)
    assert f"{total} records" in wanjiru_show.stdout + wanjiru_show.stderr
    assert CANARY not in got.stderr


def test_receive__a_bundle_made_for_a_key_replaced_since_opens_with_the_earlier_identity_kept(
        sending, receiving, cli_as, tmp_env):
    """The receiving caseworker replaces her key (cpcm key rotate) while the bundle, made for the earlier one,
    travels: the earlier identity kept beside the new one opens it, read without being named or given with
    --identity, for that file only: the case is written to the current key, by it. An earlier key given whose
    current identity is not beside it is refused, saying so."""
    import shutil

    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru = receiving.as_("wanjiru")
    bundle, receipt = tmp_env / "bundle.age", tmp_env / "receipt.age"
    case_id = approved_case(amina, sup)
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    assert wanjiru("key", "rotate", "--no-passphrase").code == 0
    wanjiru_key = receiving.keys["wanjiru"][0]
    earlier = next(wanjiru_key.parent.glob(f"{wanjiru_key.name}.old-*"))
    elsewhere = tmp_env / "elsewhere.key"
    shutil.copy(earlier, elsewhere)
    given = wanjiru("receive", str(bundle), "--identity", str(elsewhere))
    assert given.code == 5 and "your current identity is not where cpcm key rotate put it" in given.stderr, given.stderr
    assert str(elsewhere) not in given.stderr

    got = wanjiru("receive", str(bundle), "--receipt", str(receipt), "--identity", str(earlier), "--json")
    assert got.code == 0, got.stderr
    assert got.json()["worker"] == "wanjiru"
    records = sorted(case_dir(receiving.root, case_id).glob("*.yaml.age"))
    assert records and all(decrypt(p.read_bytes(), wanjiru_key) for p in records)
    from cpcm.crypto import cipher

    with pytest.raises(cipher.NotARecipient):
        decrypt(records[-1].read_bytes(), earlier)
    assert wanjiru("show", case_id).code == 0 and receiving.as_("kim")("verify").code == 0
    # the same bundle, without naming the earlier key: it opens (and is known as received)
    again = wanjiru("receive", str(bundle), "--json")
    assert again.code == 4 and again.json()["rule"] == "transfer-already-received", again.stderr


def test_transfer_ack__a_receipt_opens_for_the_case_readers_when_it_was_sent_a_key_replaced_since_too(
        sending, receiving, cli_as, tmp_env):
    """The receipt goes back to the keys of the sending worker and of the case's readers then (its supervisor): the
    supervisor records it, though they replaced their key (cpcm key rotate) before it came back, with the earlier
    identity kept beside the new one (which keeps its own passphrase). A refusal says whose keys open it."""
    import pyrage

    amina, sup = cli_as("amina"), cli_as("sup")
    bundle, receipt = tmp_env / "bundle.age", tmp_env / "receipt.age"
    case_id = approved_case(amina, sup)
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    assert receiving.as_("wanjiru")("receive", str(bundle), "--receipt", str(receipt)).code == 0
    refused = cli_as("otieno")("transfer-ack", str(receipt))  # not a reader of the case
    assert refused.code == 5 and "the receipt is not encrypted to your key" in refused.stderr, refused.stderr
    assert "the sending worker and of the case's readers when it was sent" in refused.stderr, refused.stderr

    assert sup("key", "rotate", "--no-passphrase").code == 0
    sup_key = sending.keys["sup"][0]
    earlier = next(sup_key.parent.glob(f"{sup_key.name}.old-*"))
    earlier.write_bytes(pyrage.passphrase.encrypt(earlier.read_bytes(), "earlier passphrase"))
    secret = tmp_env / "secret"
    secret.write_text("earlier passphrase\n")
    secret.chmod(0o600)
    shut = sup("transfer-ack", str(receipt))  # no terminal, no passphrase file: the earlier identity stays shut
    assert shut.code == 5 and "1 earlier identity(ies) kept beside yours could not be opened" in shut.stderr, shut.stderr

    acked = sup("transfer-ack", str(receipt), "--json", env={"CPCM_PASSPHRASE_FILE": str(secret)})
    assert acked.code == 0, acked.stderr
    assert last_commit(sending.root)["message"] == f"transfer-ack {case_id} {acked.json()['record_id']}"
    ack_file = next(case_dir(sending.root, case_id).glob(f"{acked.json()['record_id']}.*"))
    assert decrypt(ack_file.read_bytes(), sup_key)
    assert amina("show", case_id, "--json").json()["history"][-1]["kind"] == "transfer_ack"
    assert sup("verify").code == 0


def test_receive__a_case_id_already_used_here_gets_a_new_one_with_the_old_as_alias(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru, kim = receiving.as_("wanjiru"), receiving.as_("kim")
    case_id = approved_case(amina, sup, **canary())
    there = tmp_env / "there.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(there)).code == 0
    assert wanjiru("receive", str(there)).code == 0

    # the receiving agency sends the child back: the ID is taken at the first agency
    assert kim("service", "add", "test", "--provider", "Test Agency", "--sector", "alternative_care", "--offers", "case management",
               "--recipient", sending.keys["amina"][1]).code == 0
    consent(wanjiru, case_id, "test")
    back = ["--to", "test", "--reason", "the family returned", "--reason-code", "relocation", "--check", "all"]
    assert wanjiru("transfer", case_id, *back).code == 0
    assert kim("approve", case_id, "transfer").code == 0
    home, receipt = tmp_env / "back.age", tmp_env / "back-receipt.age"
    sent = wanjiru("transfer", case_id, *back, "--out", str(home), "--json")
    assert sent.code == 0, sent.stderr
    assert any("transferred 1 time(s) before" in w for w in sent.json()["warnings"])

    got = amina("receive", str(home), "--receipt", str(receipt), "--json")
    assert got.code == 0, got.stderr
    new_id = got.json()["case_id"]
    assert new_id != case_id and got.json()["alias"] == case_id
    assert amina("show", new_id, "--json").json()["name"] == CANARY  # every record's case field matches its folder
    assert amina("show", case_id, "--json").json()["status"] == "transferred"  # the old case is untouched
    from cpcm import service

    ctx = service.open_repo(sending.root, sending.keys["amina"][0])
    records = service.load_records(ctx, new_id)
    transfer_in = [r for r in records if r.kind == "transfer_in"][-1]
    assert transfer_in.body["alias"] == case_id and transfer_in.body["case_rewritten"] is True
    assert "reserialised" not in transfer_in.body  # only the case line changed in each record
    for record in records:
        if record.id >= transfer_in.id:
            continue
        mine = decrypt((case_dir(sending.root, new_id) / f"{record.id}.{record.kind}.yaml.age").read_bytes(), sending.keys["amina"][0])
        theirs = decrypt((case_dir(receiving.root, case_id) / f"{record.id}.{record.kind}.yaml.age").read_bytes(),
                         receiving.keys["wanjiru"][0])
        assert mine == theirs.replace(f"case: {case_id}\n".encode(), f"case: {new_id}\n".encode())
    assert wanjiru("transfer-ack", str(receipt)).code == 0


def test_receive__a_child_whose_cases_here_were_merged_is_said_a_possible_duplicate_of_the_case_the_work_goes_on_in(
        sending, receiving, cli_as, tmp_env):
    """The child registered twice at the receiving agency and the second merged into the first (merge-cases KEEP OTHER):
    receiving the child's case warns of KEEP, once, with OTHER merged into it; never OTHER (as at cpcm register)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru, kim = receiving.as_("wanjiru"), receiving.as_("kim")
    keep, other = register(wanjiru, **canary()), register(wanjiru, **canary())
    assert kim("merge-cases", keep, other).code == 0
    case_id = approved_case(amina, sup, **canary())
    there = tmp_env / "there.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(there)).code == 0
    got = wanjiru("receive", str(there), "--json")
    assert got.code == 0, got.stderr
    warned = [w for w in got.json()["warnings"] if w.startswith("possible duplicate")]
    assert warned == [f"possible duplicate: {keep} (same or similar name and the same birth year; {other} was merged "
                      "into it)"], warned



@pytest.mark.parametrize("index", ["the split index", "no split index"])
def test_receive__checks_for_duplicates_without_loading_every_case(sending, receiving, cli_as, tmp_env, monkeypatch, index):
    """A case received is checked against the cases here through the split index a registration reads (service/lookup.py):
    no table of every case is loaded (at 100,000 cases every folded case was about 1.1 GB); without the index (a
    repository in memory, an index that cannot serve), against every case's index entry, with the same warning."""
    from cpcm.service import lookup
    from cpcm.store import cache as cache_mod

    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru = receiving.as_("wanjiru")
    here = register(wanjiru, **canary())
    case_id = approved_case(amina, sup, **canary())
    there = tmp_env / "there.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(there)).code == 0
    if index == "no split index":
        monkeypatch.setattr(lookup, "usable", lambda ctx: False)
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    got = wanjiru("receive", str(there), "--json")
    assert got.code == 0, got.stderr
    warned = [w for w in got.json()["warnings"] if w.startswith("possible duplicate")]
    assert warned == [f"possible duplicate: {here} (same or similar name and the same birth year)"], warned
    if index == "the split index":
        assert loaded == [], loaded

# -- a bundle that is not what was sent --------------------------------------------------------------
def _refused_and_nothing_written(receiving, data: bytes, tmp_env, *reason: str) -> None:
    wanjiru = receiving.as_("wanjiru")
    path, receipt = tmp_env / "suspect.age", tmp_env / "suspect-receipt.age"
    path.write_bytes(data)
    before = commit_count(receiving.root)
    result = wanjiru("receive", str(path), "--receipt", str(receipt))
    assert result.code == 7, result.stderr
    assert all(r in result.stderr for r in reason), result.stderr
    assert "nothing was written" in result.stderr
    assert commit_count(receiving.root) == before and git_status(receiving.root) == []
    assert [p.name for p in (receiving.root / "cases").glob("*/*") if p.is_dir()] == []
    assert not receipt.exists()
    assert not leaks(result.stderr.encode())


def test_receive__a_tampered_or_truncated_bundle_is_refused_with_the_reason(sending, receiving, cli_as, tmp_env):
    from cpcm.crypto import cipher

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = approved_case(amina, sup, **canary())
    bundle = tmp_env / "bundle.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    data = bundle.read_bytes()
    plain = decrypt(data, receiving.keys["wanjiru"][0])
    to = [receiving.keys["wanjiru"][1]]

    def flipped(at: int) -> bytes:
        changed = bytearray(plain)
        changed[at] ^= 0x01
        return cipher.encrypt(bytes(changed), to)

    _refused_and_nothing_written(receiving, flipped(plain.index(b"kind: registration\nschema: 1") + 3), tmp_env,
                                 "records/", "does not match its SHA-256")
    _refused_and_nothing_written(receiving, flipped(plain.index(b'"case_id"') + 2), tmp_env, "manifest does not match its checksum")
    _refused_and_nothing_written(receiving, flipped(len(plain) - 1), tmp_env, "altered")  # tar padding at the very end
    _refused_and_nothing_written(receiving, data[: len(data) // 2], tmp_env, "damaged or truncated")
    _refused_and_nothing_written(receiving, cipher.encrypt(plain[: len(plain) - 11000], to), tmp_env, "bundle was refused")
    assert receiving.as_("wanjiru")("receive", str(bundle)).code == 0  # the original still goes in


def test_bundle__a_flipped_byte_anywhere_in_the_container_is_refused():
    from cpcm.store import bundle as transfer
    from cpcm.domain.records import Record
    from cpcm.store import codec

    from cpcm.domain.ids import new_case_id

    at, case_id = "2026-11-23T09:00:00+03:00", new_case_id()
    records = []
    for n, kind in enumerate(("registration", "consent", "note")):
        record = Record(kind, 1, f"01JD{n:022d}", case_id, at, at, "amina", {"text": "x" * (300 * n)})
        records.append((record, codec.dumps(record.to_dict())))
    container, digest = transfer.build_bundle(case_id, records, {"case_id": case_id},
                                              {"to_agency": "recv", "from_agency": {"code": "TEST"}, "transfer_record": "01JD" + "9" * 22})
    opened = transfer.open_bundle(container)
    assert opened.manifest_sha256 == digest and [data for _, data in opened.records] == [data for _, data in records]
    for position in range(0, len(container), 97):
        changed = bytearray(container)
        changed[position] ^= 0x20
        with pytest.raises(transfer.BundleError):
            transfer.open_bundle(bytes(changed))
    for length in (0, 512, len(container) // 2, len(container) - 512):
        with pytest.raises(transfer.BundleError):
            transfer.open_bundle(container[:length])


def test_rewrite_case__changes_only_the_case_line_or_says_it_wrote_the_record_again():
    from cpcm.store import bundle as transfer
    from cpcm.store import codec

    stored = b"kind: note\nschema: 1\nid: 01JD0000000000000000000000\ncase: CP-AAAA-AAAA\nat: x\ntext: |\n  case: CP-AAAA-AAAA\n"
    rewritten, in_place = transfer.rewrite_case(stored, "CP-AAAA-AAAA", "CP-BBBB-BBBB")
    assert in_place and rewritten == stored.replace(b"\ncase: CP-AAAA-AAAA\n", b"\ncase: CP-BBBB-BBBB\n", 1)
    assert codec.loads(rewritten)["text"] == "case: CP-AAAA-AAAA\n"
    flow = b"{kind: note, case: CP-AAAA-AAAA, id: x}\n"
    again, in_place = transfer.rewrite_case(flow, "CP-AAAA-AAAA", "CP-BBBB-BBBB")
    assert not in_place and codec.loads(again)["case"] == "CP-BBBB-BBBB"


# -- what the policy refuses, at the service level over a repository in memory ----------------------------
RECV_KEY = str(x25519.Identity.generate().to_public())  # the receiving caseworker's key (the bundle is never made here)
RECV_ENTRY = {"id": "recv", "provider": "Receiving Agency", "sector": "alternative_care", "services": ["case management"],
              "recipient": RECV_KEY}
EXPLAINED = {"information": True, "use": True, "sharing": True, "confidentiality_limits": True}
WHY = "the family moved to the receiving agency's area"


@pytest.fixture
def mem() -> MemoryRepo:
    """The sending agency in memory, with the receiving agency (and its key) in its service directory."""
    repo = MemoryRepo()
    service.service_add(repo.as_("sup"), RECV_ENTRY)
    return repo


def consented_in(ctx, case_id: str, agency: str = "recv") -> None:
    for giver in ("child", "caregiver"):
        service.consent(ctx, case_id, {"purpose": "transfer", "agency": agency, "given_by": giver, "status": "given",
                                       "explained": EXPLAINED})


def transfer_in(ctx, case_id: str, to: str = "recv", reason_code: str = "relocation", checks=("all",), **options):
    return service.transfer(ctx, case_id, to, WHY, reason_code, checks, **options)


def test_transfer__refused_when_the_only_reason_is_that_the_case_is_difficult(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        transfer_in(amina, case_id, reason_code="difficult_case")
    assert refused.value.rule == "transfer-reason-refused" and "better service" in refused.value.hint
    assert mem.commits() == before


def test_transfer__refused_without_consent_for_that_agency_and_allowed_with_a_supervisors_override(mem):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    consented_in(amina, case_id, agency="recv")
    with pytest.raises(Refused) as other:
        transfer_in(amina, case_id, to="elsewhere")
    assert other.value.rule == "consent-required"
    case_id = mem.register(amina)
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        transfer_in(amina, case_id)
    assert refused.value.rule == "consent-required"
    assert mem.commits() == before
    service.consent_override(sup, case_id, "transfer", "best_interests", "the child is safer with the receiving agency", "recv")
    assert transfer_in(amina, case_id).kind == "transfer_request"


def test_transfer__at_is_judged_on_the_consent_as_it_stood_then(mem):
    """`cpcm transfer --at`: a consent recorded after that time was not given yet (as `cpcm refer
    --at` judges it, referrals.check_consent)."""
    from datetime import timedelta

    amina = mem.as_("amina")
    case_id = mem.register(amina)
    later = mem.as_("amina", now=mem.now + timedelta(days=3))
    consented_in(later, case_id)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        transfer_in(later, case_id, at=mem.now + timedelta(days=1))
    assert [e.rule for e in refused.value.errors][:1] == ["consent-required"], refused.value
    assert mem.commits() == before
    assert transfer_in(later, case_id, at=mem.now + timedelta(days=3)).kind == "transfer_request"


def test_transfer__the_consent_refusal_repeats_no_agency_typed_outside_the_directory(mem):
    """--to may hold a name typed by mistake: the refusal names 'the receiving agency (--to)',
    as consent --agency repeats none; a service id of the directory is named."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    with pytest.raises(Refused) as typed:
        transfer_in(amina, case_id, to="JohnOtieno")
    assert typed.value.rule == "consent-required"
    assert "johnotieno" not in str(typed.value).lower() + str(typed.value.hint).lower()
    assert "no valid consent for transfer to the receiving agency (--to): no child consent for transfer for the receiving " \
           "agency (--to) is recorded" in str(typed.value)
    with pytest.raises(Refused) as listed:
        transfer_in(amina, case_id)
    assert "no valid consent for transfer to recv:" in str(listed.value)


def test_transfer__refused_without_the_whole_checklist(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        transfer_in(amina, case_id, checks=("file_complete", "consent_recorded"))
    assert {e.field for e in refused.value.errors} == {"check.handover_plan_agreed", "check.child_and_family_told",
                                                         "check.receiving_worker_named"}
    assert mem.commits() == before


def test_transfer__refused_before_approval_a_request_is_recorded_decided_by_someone_else(mem):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    requested = transfer_in(amina, case_id)
    assert requested.kind == "transfer_request" and requested.extra["bundle_written"] is False
    assert any(f"cpcm approve {case_id} transfer" in s for s in requested.next_steps)
    assert service.load_records(amina, case_id)[-1].kind == "transfer_request"
    assert any(d.code == "transfer-approval" for d in service.due(sup, worker="all"))
    with pytest.raises(Refused) as waiting:
        transfer_in(amina, case_id)
    assert waiting.value.rule == "transfer-approval-pending"
    with pytest.raises(Refused):  # not by the one who asked
        service.approve(amina, case_id, "transfer")
    service.reject(sup, case_id, "transfer", note="agree a handover plan first")
    again = transfer_in(amina, case_id)
    assert again.kind == "transfer_request" and "rejected" in again.warnings[0]
    service.approve(sup, case_id, "transfer")
    before = mem.commits()
    with pytest.raises(UsageError) as no_file:  # approved: this run would write the bundle, and needs where
        transfer_in(amina, case_id)
    assert "--out" in no_file.value.message
    assert mem.commits() == before


def consent_problems(ctx, case_id: str) -> list:
    return [p for p in service.check(ctx, case_id) if p.code == "transfer-consent-corrected"]


def caregivers_consent(ctx, case_id: str) -> str:
    return [r["record_id"] for r in service.show(ctx, case_id)["consents"] if r["given_by"] == "caregiver"][-1]


def test_correct__a_consent_a_transfer_request_relied_on_corrected_to_refused_warns_until_withdrawn_or_overridden(mem, tmp_path):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    # waiting for a decision: the correction warns, check and show give the error until the request is withdrawn
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    asked = transfer_in(amina, case_id)
    assert asked.kind == "transfer_request" and consent_problems(amina, case_id) == []
    consent_id = caregivers_consent(amina, case_id)
    corrected = service.correct(amina, case_id, consent_id, {"status": "refused", "reason": "no"}, "the caregiver had in fact refused")
    assert len(corrected.warnings) == 1, corrected.warnings
    warned = corrected.warnings[0]
    assert warned.startswith(f"transfer request {asked.record_id} was made on the caregiver's consent {consent_id}, and correction "
                             f"{corrected.record_id} says it was 'refused'"), warned
    assert f"cpcm transfer {case_id} --withdraw" in warned and "--override --purpose transfer" in warned
    problems = consent_problems(amina, case_id)
    assert [(p.severity, p.rule, p.message) for p in problems] == [("error", "consent", warned)]
    shown = [p for p in service.show(amina, case_id)["problems"] if p["code"] == "transfer-consent-corrected"]
    assert shown == [p.to_json() for p in problems]
    service.transfer_withdraw(amina, case_id, "the caregiver refused")
    assert consent_problems(amina, case_id) == []
    # a rejected request asks for nothing any more
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    transfer_in(amina, case_id)
    service.correct(amina, case_id, caregivers_consent(amina, case_id), {"status": "not_possible", "reason": "away"}, "the caregiver was away")
    assert len(consent_problems(amina, case_id)) == 1
    service.reject(sup, case_id, "transfer", note="no consent")
    assert consent_problems(amina, case_id) == []
    # approved, not carried out: the error stays until a supervisor's override for transfer to that agency stands in; the
    # override is left for the transfer, which is then carried out on it
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    transfer_in(amina, case_id)
    service.approve(sup, case_id, "transfer")
    consent_id = caregivers_consent(amina, case_id)
    assert service.correct(amina, case_id, consent_id, {"agency": "elsewhere"}, "it was for another agency").warnings
    assert ["it was not consent to a transfer to that agency" in p.message for p in consent_problems(amina, case_id)] == [True]
    service.consent_override(sup, case_id, "transfer", "best_interests", "the child is safer with the receiving agency", "elsewhere")
    assert len(consent_problems(amina, case_id)) == 1  # an override for another agency does not stand in
    service.consent_override(sup, case_id, "transfer", "best_interests", "the child is safer with the receiving agency", "recv")
    assert consent_problems(amina, case_id) == []
    sent = transfer_in(amina, case_id, out=tmp_path / "b.age")
    assert sent.kind == "transfer" and consent_problems(amina, case_id) == []
    overrides = [r for r in service.show(amina, case_id)["consents"] if r["kind"] == "consent_override" and r["agency"] == "recv"]
    assert [r["state"] for r in overrides] == ["used"]
    assert service.load_records(amina, case_id)[-1].body["consent_override"] == overrides[0]["record_id"]


def test_correct__a_consent_no_open_transfer_request_relies_on_raises_nothing(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    transfer_in(amina, case_id)
    service.transfer_withdraw(amina, case_id, "the family stays")
    done = service.correct(amina, case_id, caregivers_consent(amina, case_id), {"status": "refused", "reason": "no"}, "refused after all")
    assert done.warnings == () and consent_problems(amina, case_id) == []
    back = service.correct(amina, case_id, done.record_id, {"status": "given"}, "it was given")
    assert back.warnings == ()
    asked = transfer_in(amina, case_id)  # a new request on the consent corrected back, then one-off: still the transfer's
    assert asked.kind == "transfer_request" and consent_problems(amina, case_id) == []


def test_transfer__the_lone_supervisors_warning_names_only_what_bars_a_transfer(mem):
    """A transfer is barred to the one who asked only (a closure to the case's worker too): the
    warning on the only supervisor's request of her own case said 'and it is your case'."""
    sup = mem.as_("sup")
    case_id = mem.register(sup)
    consented_in(sup, case_id)
    planned = transfer_in(sup, case_id)
    warned = [w for w in planned.warnings if "nobody in the team may approve" in w]
    assert warned and "you asked for it, and no other supervisor or manager is active" in warned[0], warned
    assert "your case" not in warned[0]
    assert not [s for s in planned.next_steps if "cpcm approve" in s], planned.next_steps  # nobody may run it


def test_transfer__the_bundle_is_never_for_the_senders_own_key(mem):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    consented_in(amina, case_id)
    transfer_in(amina, case_id)
    service.approve(sup, case_id, "transfer")
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        transfer_in(amina, case_id, recipients=[mem.identities["amina"].recipient])
    assert refused.value.rule == "transfer-recipient-not-receiving"
    assert mem.commits() == before


# -- the same end to end: exit codes, --json, one commit per command, the bundle file -------------------
def test_cli__request_approve_send_exit_codes_json_and_one_commit_each(sending, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    consent(amina, case_id)
    bundle = tmp_env / "b.age"
    difficult = amina("transfer", case_id, "--to", "recv", "--reason", "too many problems", "--reason-code", "difficult_case",
                      "--check", "all", "--out", str(bundle), "--json")
    assert difficult.code == 4 and difficult.json()["rule"] == "transfer-reason-refused"
    partial = amina("transfer", case_id, *REASON, "--check", "file_complete")
    assert partial.code == 4 and "check.receiving_worker_named" in partial.stderr and "check.file_complete" not in partial.stderr
    before = commit_count(sending.root)
    typo = amina("transfer", case_id, *REASON, "--check", "all", "--check", "file_complet", "--out", str(bundle), "--json")
    assert typo.code == 4 and [f["field"] for f in typo.json()["fields"]] == ["check"]  # checked beside 'all' too
    assert "did you mean 'file_complete'?" in typo.json()["fields"][0]["reason"]
    assert commit_count(sending.root) == before and not bundle.exists()
    requested = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert requested.code == 0 and requested.json()["kind"] == "transfer_request" and not bundle.exists()
    assert set(requested.json()) >= {"case_id", "record_id", "kind", "warnings", "next_steps", "bundle_written"}
    assert commit_count(sending.root) == before + 1
    assert amina("approve", case_id, "transfer").code == 4  # not by the one who asked
    assert sup("approve", case_id, "transfer").code == 0
    assert commit_count(sending.root) == before + 2
    done = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert done.code == 0 and done.json()["kind"] == "transfer" and bundle.is_file()
    assert commit_count(sending.root) == before + 3
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_env / "c.age")).code == 4  # transferred already
    assert commit_count(sending.root) == before + 3


def test_transfer__to_an_agency_code_outside_the_directory_with_an_override_and_its_key(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert sup("consent", case_id, "--override", "--purpose", "transfer", "--agency", "RECV", "--basis", "best_interests",
               "--reason", "the county office takes over every case in the area").code == 0
    args = ["--to", "RECV", "--reason", "the county office takes over", "--reason-code", "agency_exit", "--check", "all"]
    asked = amina("transfer", case_id, *args)
    assert asked.code == 0 and "to the receiving agency (--to) requested" in asked.stderr + asked.stdout, asked.stderr
    assert "RECV" not in asked.stderr + asked.stdout  # a code typed outside the directory is not repeated (a name may be)
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "b.age"
    missing = amina("transfer", case_id, *args, "--out", str(bundle))
    assert missing.code == 2 and "--recipient" in missing.stderr  # not in the directory: its key must be given
    inside = amina("transfer", case_id, *args, "--recipient", receiving.keys["wanjiru"][1], "--out", str(sending.root / "b.age"))
    assert inside.code == 2 and "--out is inside the casefile repository" in inside.stderr  # git would not track it
    assert not (sending.root / "b.age").exists()
    done = amina("transfer", case_id, *args, "--recipient", receiving.keys["wanjiru"][1], "--out", str(bundle), "--json")
    assert done.code == 0, done.stderr
    assert any("consent overridden" in w for w in done.json()["warnings"])
    assert receiving.as_("wanjiru")("receive", str(bundle)).code == 0


def test_transferred_case__refuses_an_assessment_but_takes_a_note_or_reopening(sending, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = approved_case(amina, sup)
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_env / "b.age")).code == 0
    assessed = amina("assess", case_id, *INITIAL, "--json")
    assert assessed.code == 4 and assessed.json()["rule"] == "transition-not-allowed"
    assert amina("note", case_id, "--text", "the receiving agency called").code == 0
    reopened = amina("reopen", case_id, "--reason", "the family came back", "--json")
    assert reopened.code == 0, reopened.stderr
    assert amina("show", case_id, "--json").json()["stage"] == "reopened"


# -- an agency leaving an area ------------------------------------------------------------------------------
def test_transfer_batch__transfers_the_allowed_requests_approval_and_reports_the_rest_in_one_commit(sending, receiving, cli_as,
                                                                                                    tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    ready = approved_case(amina, sup, **canary())
    no_consent = register(amina)
    unasked = register(amina)
    consent(amina, unasked)
    out = tmp_env / "handover"
    before = commit_count(sending.root)
    result = amina("transfer", "--batch", "--to", "recv", "--recipient", receiving.keys["wanjiru"][1], "--out-dir", str(out),
                   "--reason", "the programme is closing in this area", "--reason-code", "agency_exit", "--check", "all", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert [d["case_id"] for d in report["transferred"]] == [ready]
    assert [d["case_id"] for d in report["requested"]] == [unasked]
    assert [(d["case_id"], d["rule"]) for d in report["not_transferred"]] == [(no_consent, "consent-required")]
    assert commit_count(sending.root) == before + 1
    assert last_commit(sending.root)["message"] == "transfer batch 2 cases"
    assert sorted(p.name for p in out.iterdir()) == [f"{ready}.transfer.age"]
    assert files_with_marker(out) == []
    assert amina("show", ready, "--json").json()["status"] == "transferred"
    got = receiving.as_("wanjiru")("receive", str(out / f"{ready}.transfer.age"), "--json")
    assert got.code == 0 and got.json()["case_id"] == ready
    summary_reason = json.dumps(got.json())
    assert not leaks(summary_reason.encode())


def test_receive__a_high_risk_case_for_a_volunteer_is_refused_and_one_received_by_a_volunteer_is_escalated(
        sending, receiving, cli_as, tmp_env):
    """`receive` checks the worker who takes the case as every assignment does (`context.assignment_checks`):
    --worker naming a volunteer for a high-risk child is refused, nothing written; the volunteer who receives
    it without naming a worker holds it (as at `register`), warned, and it is on due as cadre-escalation."""
    amina, sup = cli_as("amina"), cli_as("sup")
    wanjiru, kim = receiving.as_("wanjiru"), receiving.as_("kim")
    case_id = approved_case(amina, sup, **canary())  # high risk
    bundle = tmp_env / "bundle.age"
    assert amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle)).code == 0
    assert kim("team", "cadre", "wanjiru", "volunteer").code == 0
    before = commit_count(receiving.root)
    refused = wanjiru("receive", str(bundle), "--worker", "wanjiru")  # named, as `assign --worker` names one
    assert refused.code == 4, (refused.code, refused.stderr)
    assert "volunteer" in refused.stderr and "cadre" in refused.stderr and not leaks(refused.stderr.encode())
    assert commit_count(receiving.root) == before
    got = wanjiru("receive", str(bundle), "--json")
    assert got.code == 0, got.stderr
    assert any(w.startswith("cadre:") and "escalate" in w for w in got.json()["warnings"]), got.json()["warnings"]
    due = kim("due", "--json")
    assert any(i["code"] == "cadre-escalation" and i["case_id"] == got.json()["case_id"] for i in due.json())

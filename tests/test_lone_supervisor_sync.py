"""A team with one supervisor: a plan version the supervisor wrote waits for a decision nobody in
the team may make (nobody approves their own plan). When two plan versions written apart meet at
a sync and the latest is the supervisor's, `cpcm check`'s `plans-concurrent` names the way out
this team has (the case's worker writes the next version from it, or self-approval is allowed:
plan_approval.self_approval), not "approve or reject the latest", which the supervisor cannot do."""
from __future__ import annotations

from conftest import CANARY
from test_conference import planned_case
from test_sync import check_codes, laptops, merge_both  # noqa: F401 (laptops: a fixture)

LATER = "2026-11-30T12:00:00+03:00"


def plans_concurrent(cli, case_id: str) -> str:
    import json

    found = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "plans-concurrent"]
    assert len(found) == 1, found
    return found[0]["message"]


def test_plans_concurrent__the_latest_is_the_lone_supervisors_own__check_names_the_workers_next_version(laptops):
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, CANARY)
    laptops.sync("amina")
    laptops.sync("sup")
    assert amina("plan", case_id, "--from-current", "--reason", "correction").code == 0  # on her laptop
    sup_later = laptops.cli("sup", CPCM_NOW=LATER)
    written = sup_later("plan", case_id, "--from-current", "--reason", "correction", "--json")  # at the office, later
    assert written.code == 0, written.stderr
    merge_both(laptops)
    refused = sup_later("approve", case_id, "plan")
    assert refused.code == 4, refused.stderr  # self-approval: the rule the message must not send them to
    message = plans_concurrent(sup_later, case_id)
    assert "approve or reject the latest (cpcm approve" not in message, message
    assert "nobody in the team may approve or reject the latest" in message, message
    assert f"cpcm plan {case_id} --from-current" in message and "plan_approval.self_approval" in message, message
    assert CANARY not in message
    # the due item of the version nobody may decide, on the case's worker's list, names the same way out
    due = laptops.cli("amina", CPCM_NOW=LATER)("due", "--within", "30")
    assert "nobody in the team may decide it" in due.stdout and f"cpcm plan {case_id} --from-current" in due.stdout, due.stdout
    # the way out named works: the case's worker's next version settles it, and the supervisor may approve that
    amina_later = laptops.cli("amina", CPCM_NOW=LATER)
    laptops.sync("sup")
    laptops.sync("amina")
    nxt = amina_later("plan", case_id, "--from-current", "--reason", "correction", "--json")
    assert nxt.code == 0, nxt.stderr
    assert "plans-concurrent" not in check_codes(amina_later, case_id)
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup_later("approve", case_id, "plan").code == 0


def test_plans_concurrent__someone_may_decide_the_latest__the_advice_stays_approve_or_reject(laptops):
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Qvchild Second")
    laptops.sync("amina")
    laptops.sync("sup")
    assert laptops.cli("sup")("plan", case_id, "--from-current", "--reason", "correction").code == 0
    later = laptops.cli("amina", CPCM_NOW=LATER)
    assert later("plan", case_id, "--from-current", "--reason", "correction").code == 0  # the latest: amina's
    merge_both(laptops)
    message = plans_concurrent(laptops.cli("sup", CPCM_NOW=LATER), case_id)
    assert f"approve or reject the latest (cpcm approve|reject {case_id} plan)" in message, message

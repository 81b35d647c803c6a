"""Who the child lives with, said the same everywhere once a placement is recorded: a child
registered as living in an institution and reunified (`cpcm placement --care-type family
--cci-exit ...`) lives with their family on `cpcm show` (the row and --json), in the case file
and in an export, beside the new caregiver and address; what was registered stays readable
(`show CASE registration`, and the row says it). An update of `lives_with` dated after the
placement stands over it, one dated before it does not, and `cpcm update` says which. The
readiness check "still in residential care" reads the same rule. Pure rules, then the CLI."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from conftest import NOW, register
from test_placements import BID, KENYA

from cpcm.domain.records import Record
from cpcm.workflow import placements as rules
from cpcm.workflow.fold import fold

T0 = datetime.fromisoformat(NOW)
HOME = {"care_type": "family", "caregiver": {"name": "Grace Achieng", "relationship": "mother"},
        "address": "Nyakach, Kisumu", "contact": "0700 000 111", "cci_exit": "family_reintegration"}


def rec(kind: str, days: float, **body) -> Record:
    from cpcm.domain.ids import RecordIds

    when = T0 + timedelta(days=days)
    return Record(kind=kind, schema=1, id=RecordIds().new(int(when.timestamp() * 1000)), case="CP-TEST-0001",
                  at=when.isoformat(), recorded_at=when.isoformat(), by="amina", body=body)


def registered(lives_with: str = "institution") -> Record:
    return rec("registration", 0, child={"name": "x"}, risk="high", worker="amina", lives_with=lives_with)


def home(days: float = 10) -> Record:
    return rec("placement", days, care_type="family", setting="family", reunification=True, cci_exit="family_reintegration")


def update(days: float, **changes) -> Record:
    return rec("update", days, changes=changes, previous={}, reason="r")


# -- the rule (pure) -------------------------------------------------------------------------------
def test_lives_with_now__the_registration_until_a_placement_then_its_care_type():
    alone = fold("CP-TEST-0001", [registered()])
    assert rules.lives_with_now(alone) == {"value": "institution", "source": "registration", "registered": "institution",
                                           "placement": None}
    assert rules.in_residential_care(alone, KENYA)
    placed = fold("CP-TEST-0001", [registered(), home()])
    now = rules.lives_with_now(placed)
    assert (now["value"], now["source"], now["registered"]) == ("family", "placement", "institution")
    assert now["placement"]["record_id"] == placed.placement["record_id"]
    assert not rules.in_residential_care(placed, KENYA)


def test_lives_with_now__an_update_of_lives_with_after_the_placement_by_its_date_stands_one_before_does_not():
    later = fold("CP-TEST-0001", [registered(), home(10), update(12, lives_with="relatives")])
    assert (rules.lives_with_now(later)["value"], rules.lives_with_now(later)["source"]) == ("relatives", "registration")
    backdated = fold("CP-TEST-0001", [registered(), home(10), update(5, lives_with="relatives")])
    assert rules.lives_with_now(backdated)["value"] == "family" and rules.lives_with_now(backdated)["registered"] == "relatives"
    # an update of where the child lives (not who with) leaves who with to the placement, as the contact alone leaves the address
    moved = fold("CP-TEST-0001", [registered(), home(10), update(12, location="elsewhere")])
    assert rules.lives_with_now(moved)["value"] == "family"
    # back into an institution by a later update: residential care again, for the readiness check too
    back = fold("CP-TEST-0001", [registered("relatives"), home(10), update(12, lives_with="institution")])
    assert rules.in_residential_care(back, KENYA)


# -- the command line ------------------------------------------------------------------------------
def rows(text: str) -> dict[str, str]:
    """The `field<TAB>value` rows of the case table of a piped `cpcm show` (the first table)."""
    return dict(line.split("\t", 1) for line in text.split("\n\n")[0].splitlines()[1:])


def reunified(kenya) -> tuple[object, str]:
    """A child registered as living in an institution, the admission recorded as a placement (as
    `cpcm placement` asks before a CCI exit), then placed home with the mother, leaving the CCI
    (a best-interests record first)."""
    amina = kenya("amina")
    case_id = register(amina, lives_with="institution", location="Tumaini Children's Home")
    admitted = kenya("sup")("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home",
                            "--override-reason", "court committal")
    assert admitted.code == 0, admitted.stderr
    amina = kenya("amina", now="2026-11-25T09:00:00+03:00")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    placed = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(HOME))
    assert placed.code == 0, placed.stderr
    return amina, case_id


def test_cli__after_reunification_show_case_file_and_export_say_the_child_lives_with_the_family(kenya, tmp_path):
    amina, case_id = reunified(kenya)
    placement_id = amina("show", case_id, "placement", "--json").json()["record_id"]  # the latest placement: home

    shown = rows(amina("show", case_id).stdout)
    assert shown["lives with"] == "family (the care type of the placement of 2026-11-25; registered: institution)"
    assert shown["caregiver"] == "Grace Achieng (mother)" and shown["location"] == "Nyakach, Kisumu"
    data = amina("show", case_id, "--json").json()
    assert (data["lives_with"], data["lives_with_source"], data["lives_with_registered"]) == ("family", "placement", "institution")
    assert (data["location"], data["caregiver_name"], data["contact"]) == ("Nyakach, Kisumu", "Grace Achieng", "0700 000 111")
    assert data["placement"]["record_id"] == placement_id
    # what was registered stays readable as registered
    answers = {a["field"]: a["value"] for a in amina("show", case_id, "registration", "--json").json()["answers"]}
    assert answers["lives_with"] == "institution"

    for fmt, line in (("md", "- **Lives with:** family"), ("html", "<tr><th>Lives with</th><td>family</td></tr>")):
        rendered = amina("render", "case-file", case_id, "--format", fmt)
        assert rendered.code == 0, rendered.stderr
        assert line in rendered.stdout and "Nyakach, Kisumu" in rendered.stdout and "Grace Achieng" in rendered.stdout
    swahili = amina("render", "case-file", case_id, "--lang", "sw")
    assert swahili.code == 0 and "- **Anaishi na:** familia" in swahili.stdout, swahili.stdout

    sup = kenya("sup")
    assert sup("service", "add", "county", "--provider", "County Children's Office", "--sector", "social_protection",
               "--offers", "case records").code == 0
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "sharing", "--agency", "county", "--by", giver, "--status", "given",
                     "--explained", "all").code == 0
    out = tmp_path / "cases.csv"
    exported = amina("export", "--format", "csv", "--fields", "case_id,location,caregiver_name,contact", "--agency", "county",
                     "--plaintext", "--out", str(out))
    assert exported.code == 0, exported.stderr
    row = next(r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))) if r["case_id"] == case_id)
    assert (row["location"], row["caregiver_name"], row["contact"]) == ("Nyakach, Kisumu", "Grace Achieng", "0700 000 111")


def test_cli__without_a_placement_show_says_what_was_registered(kenya):
    amina = kenya("amina")
    case_id = register(amina, lives_with="both_parents")
    assert rows(amina("show", case_id).stdout)["lives with"] == "both parents"
    data = amina("show", case_id, "--json").json()
    assert (data["lives_with"], data["lives_with_source"], data["lives_with_registered"]) == ("both_parents", "registration",
                                                                                              "both_parents")


def test_cli__update_lives_with_after_a_placement_says_which_stands(kenya):
    amina, case_id = reunified(kenya)
    placement_id = amina("show", case_id, "placement", "--json").json()["record_id"]  # the latest placement: home
    backdated = amina("update", case_id, "--lives-with", "relatives", "--reason", "registered wrongly", "--at", "2026-11-24",
                      "--json")
    assert backdated.code == 0, backdated.stderr
    assert backdated.json()["next_steps"] == [
        f"the placement of 2026-11-25 ({placement_id}) is later by its date: who the child lives with now stays its care type; "
        f"this update changes what the registration says (to record a move: cpcm placement {case_id} --care-type ...)"]
    data = amina("show", case_id, "--json").json()
    assert (data["lives_with"], data["lives_with_registered"]) == ("family", "relatives")

    later = kenya("amina", now="2026-12-01T09:00:00+03:00")
    moved = later("update", case_id, "--lives-with", "mother", "--reason", "the father left", "--json")
    assert moved.code == 0, moved.stderr
    assert moved.json()["next_steps"] == [
        f"who the child lives with now is this update's, not the care type of the placement of 2026-11-25 ({placement_id}); "
        f"a move into or out of care is recorded as a placement: cpcm placement {case_id} --care-type ..."]
    assert rows(later("show", case_id).stdout)["lives with"] == (
        "mother (the registration as updated after the placement of 2026-11-25)")
    data = later("show", case_id, "--json").json()
    assert (data["lives_with"], data["lives_with_source"]) == ("mother", "registration")
    assert data["caregiver_name"] == "Grace Achieng"  # who cares for the child is still the placement's

"""The Child Status Index (CSI) in the kenya profile (cpcm/forms/csi.yaml), as the national CPIMS
encodes the form Revised: Oct 6th 2016 (kenya-forms-facts §2): 13 items, each rated 1 Very bad,
2 Bad, 3 Fair, 4 Good (or VBAD, GBAD, FAIR, GOOD), with the CPIMS codes; optional priorities and
services grids. `cpcm readiness CASE --form csi` records it as a record of kind csi; show, --json,
the case file and the child's own file give the ratings, the items rated 1 or 2 (needs
attention) and the change since the previous CSI; `cpcm report readiness` counts children by
rating. No total is made of the ratings: the source has none."""
from __future__ import annotations

import json
import subprocess

from conftest import CANARY, commit_count, register

from cpcm.store import codec, forms
from cpcm.workflow import csi

FORM = "csi"
DEFINITION = codec.loads((forms.HERE / f"{FORM}.yaml").read_bytes())
TABLE = DEFINITION["ratings"]
# kenya-forms-facts §2: the sub-domains as the Kenya form lays them out, with the domain_id codes
REFERENCE = [("food_security", "CS1A"), ("nutrition_growth", "CS1B"), ("wellness", "CS4A"), ("healthcare_services", "CS4B"),
             ("shelter", "CS2A"), ("care", "CS2B"), ("abuse_exploitation", "CS3A"), ("legal_protection", "CS3B"),
             ("emotional_health", "CS5A"), ("social_behaviour", "CS5B"), ("performance", "CS6A"),
             ("education_work", "CS6B"), ("household_strengthening", "")]


def body(**ratings) -> dict:
    """Every item rated 3 (Fair), except those given."""
    given = {key: 3 for key, _ in REFERENCE}
    given.update(ratings)
    return {"occasion": "review", "ratings": given}


def record(cli, case_id: str, data: dict, *extra: str):
    return cli("readiness", case_id, "--form", FORM, "--from-file", "-", *extra, input=json.dumps(data))


def test_form__thirteen_items_their_codes_and_the_scale():
    form = forms.load(FORM)
    assert form.kind == "csi" and "Oct 6th 2016" in DEFINITION["source"] and form.title["sw"]
    assert [(i["key"], i["code"]) for i in TABLE["items"]] == REFERENCE
    assert [(s["value"], s["code"], s["label"]["en"]) for s in TABLE["scale"]] == [
        (1, "VBAD", "Very bad"), (2, "GBAD", "Bad"), (3, "FAIR", "Fair"), (4, "GOOD", "Good")]
    for key, _ in REFERENCE:
        field = form.field(f"ratings.{key}")
        assert field.required and field.choices == ("1", "2", "3", "4") and field.label["sw"], key
    assert not form.field("priorities").required and not form.field("services").required
    assert "scoring" not in DEFINITION  # no rule turns the ratings into a total


def test_changes__up_down_same_and_not_rated_before():
    before = csi.rated(TABLE, {"ratings": {"food_security": "2", "shelter": "4", "care": "3"}})
    after = csi.rated(TABLE, {"ratings": {"food_security": "3", "shelter": "1", "care": "3", "wellness": "2"}})
    moved = {c["key"]: c["change"] for c in csi.changes(before, after)}
    assert (moved["food_security"], moved["shelter"], moved["care"], moved["wellness"]) == ("up", "down", "same", None)


def test_csi__recorded_and_read_back_with_labels_and_needs_attention(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    done = record(amina, case_id, body(shelter="VBAD", performance=2, care="GOOD"), "--json")
    assert done.code == 0, done.stderr
    summary = done.json()["csi"]
    rated = {r["key"]: (r["rating"], r["rating_label"]) for r in summary["ratings"]}
    assert rated["shelter"] == (1, "Very bad") and rated["performance"] == (2, "Bad") and rated["care"] == (4, "Good")
    assert [r["key"] for r in summary["needs_attention"]] == ["shelter", "performance"]
    assert summary["changes"] is None
    shown = amina("show", case_id, "--json").json()
    assert shown["csi"]["record_id"] == done.json()["record_id"] and shown["csi"]["needs_attention"] == summary["needs_attention"]
    assert shown["readiness"] is None and shown["graduation"] is None  # no readiness or graduation record
    fields = amina("show", case_id, done.json()["record_id"], "--json").json()
    assert fields["fields"]["ratings"]["shelter"] == "1" and fields["labels"]["ratings.shelter"]["en"].endswith("(CS2A)")
    line = next(line for line in amina("show", case_id).stdout.splitlines() if "child status index" in line)
    assert "CS2A 1" in line and "needs attention: Shelter (1 very bad); Performance (2 bad)" in line
    for fmt in ("md", "html"):
        rendered = amina("render", "case-file", case_id, "--format", fmt)
        assert rendered.code == 0, rendered.stderr
        assert "Needs attention (rated 1 or 2):" in rendered.stdout and "Shelter (1 Very bad)" in rendered.stdout
        assert "1 Very bad" in rendered.stdout and "Child Status Index (CSI)" in rendered.stdout


def test_csi__a_second_csi_shows_the_change_since_the_previous(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    assert record(kenya("amina", now="2026-08-03T09:00:00+03:00"), case_id, body(shelter=1, care=4)).code == 0
    done = record(amina, case_id, body(shelter=3, care=2), "--json")
    assert done.code == 0, done.stderr
    moved = {c["key"]: (c["before"], c["after"], c["change"]) for c in done.json()["csi"]["changes"]}
    assert moved["shelter"] == (1, 3, "up") and moved["care"] == (4, 2, "down") and moved["wellness"] == (3, 3, "same")
    shown = amina("show", case_id, "--json").json()["csi"]
    assert {c["key"]: c["change"] for c in shown["changes"]}["care"] == "down"
    text = amina("show", case_id).stdout
    assert "Shelter 1->3 (up)" in text and "Care 4->2 (down)" in text
    rendered = amina("render", "case-file", case_id, "--format", "md")
    assert rendered.code == 0 and "Change since the previous Child Status Index:" in rendered.stdout
    assert "Shelter 1 → 3 (up)" in rendered.stdout and "Care 4 → 2 (down)" in rendered.stdout


def test_csi__a_bad_or_missing_rating_is_refused_naming_the_field_and_nothing_is_written(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    commits = commit_count(kenya.root)
    bad = body(shelter=5)
    refused = record(amina, case_id, bad, "--json")
    assert refused.code == 4, refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["ratings.shelter"]
    missing = body()
    del missing["ratings"]["legal_protection"]
    refused = record(amina, case_id, missing)
    assert refused.code == 4 and "ratings.legal_protection" in refused.stderr and "required" in refused.stderr
    assert record(amina, case_id, body(care="EXCELLENT")).code == 4
    assert commit_count(kenya.root) == commits
    assert amina("show", case_id, "--json").json()["csi"] is None


def test_csi__the_childs_name_is_in_no_output_but_show_and_on_no_disk(kenya):
    amina = kenya("amina")
    case_id = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    data = body(shelter=1)
    data["priorities"] = [{"domain": "shelter_care", "needs": f"a roof for {CANARY}", "actions": "refer"}]
    done = record(amina, case_id, data)
    assert done.code == 0, done.stderr
    assert CANARY not in done.stdout + done.stderr
    data["ratings"]["care"] = CANARY
    refused = record(amina, case_id, data, "--json")
    assert refused.code == 4 and CANARY not in refused.stdout + refused.stderr
    report = amina("report", "readiness", "--json")
    assert report.code == 0 and CANARY not in report.stdout + report.stderr
    for path in kenya.root.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    messages = subprocess.run(["git", "-C", str(kenya.root), "log", "--format=%B"], capture_output=True, text=True).stdout
    assert CANARY not in messages and f"csi {case_id}" in messages


def test_csi__in_the_childs_own_file_without_the_household_item(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    assert record(amina, case_id, body(shelter=2, household_strengthening=1)).code == 0
    own = amina("render", "child-file", case_id)
    assert own.code == 0, own.stderr
    assert "Shelter (2 Bad)" in own.stdout and "Household economic strengthening" not in own.stdout
    assert "Household economic strengthening (1 Very bad)" in amina("render", "case-file", case_id).stdout


def test_csi__offered_by_the_kenya_profile_only(cli, kenya):
    case_id = register(cli)  # the inter-agency profile: its guidelines have no Child Status Index
    refused = record(cli, case_id, body())
    assert refused.code == 2 and "--form names a readiness form" in refused.stderr and "csi" not in refused.stderr
    amina = kenya("amina")
    refused = amina("readiness", register(amina), "--form", "no-such-form", "--from-file", "-", input=json.dumps(body()))
    assert refused.code == 2 and "csi" in refused.stderr


def test_report_readiness__children_by_rating_of_each_item_in_their_latest_csi(kenya):
    amina = kenya("amina")
    first, second, third, none = (register(amina) for _ in range(4))
    early = "2025-06-02T09:00:00+03:00"  # before the default period (from 2025-12-01): not counted
    assert record(kenya("amina", now=early), first, body(shelter=4)).code == 0
    assert record(amina, first, body(shelter=1, care=2)).code == 0  # the latest in the period is the one counted
    assert record(amina, second, body(shelter=1, care=4)).code == 0
    assert record(amina, third, body(shelter="GOOD", care=4)).code == 0
    assert record(kenya("amina", now=early), none, body()).code == 0
    done = amina("report", "readiness", "--json")
    assert done.code == 0, done.stderr
    counted = done.json()["csi"]
    assert (counted["assessed"], counted["not_assessed"]) == (3, 1)
    items = {i["key"]: i for i in counted["items"]}
    assert items["shelter"]["by_rating"] == {"1": 2, "2": 0, "3": 0, "4": 1} and items["shelter"]["not_rated"] == 0
    assert items["care"]["by_rating"] == {"1": 0, "2": 1, "3": 0, "4": 2}
    assert items["wellness"]["by_rating"] == {"1": 0, "2": 0, "3": 3, "4": 0}
    text = amina("report", "readiness", "--format", "md")
    assert text.code == 0 and "Child Status Index: children by rating" in text.stdout


def test_report_readiness__no_csi_count_where_the_profile_offers_no_csi(cli):
    done = cli("report", "readiness", "--json")
    assert done.code == 0 and "csi" not in done.json()
    assert all(t["id"] != "csi_by_rating" for t in done.json()["tables"])


def test_csi__a_paper_csi_entered_late_goes_where_it_was_made_and_a_future_date_is_refused(kenya):
    """CSIs entered out of order (a paper one typed in later): the latest is the latest by its own
    date, and each change is counted from the CSI made before it, in show, the record's own view and
    the report alike; a CSI dated in the future is refused, nothing written."""
    amina = kenya("amina")
    case_id = register(amina, "--at", "2026-05-01")
    assert record(amina, case_id, dict(body(shelter=1), date="2026-11-22")).code == 0
    late = record(amina, case_id, dict(body(shelter=4), date="2026-06-01"), "--json")
    assert late.code == 0, late.stderr
    assert late.json()["csi"]["changes"] is None  # made first: nothing before it
    shown = amina("show", case_id, "--json").json()["csi"]
    assert shown["date"] == "2026-11-22"
    assert {c["key"]: (c["before"], c["after"], c["change"]) for c in shown["changes"]}["shelter"] == (4, 1, "down")
    own_view = amina("show", case_id, late.json()["record_id"], "--json").json()
    assert own_view["csi"]["changes"] is None
    before = commit_count(kenya.root)
    future = record(amina, case_id, dict(body(), date="2031-01-01"))
    assert future.code == 4 and "date" in future.stderr and commit_count(kenya.root) == before


def test_csi__the_households_economy_in_the_grids_is_left_out_of_the_childs_own_file(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    grids = dict(body(), services=[{"domain": "household_economic", "services": "cash transfer", "provider": f"{CANARY} SACCO"},
                                   {"domain": "education", "services": "school bursary", "provider": "Ward office"}])
    assert record(amina, case_id, grids).code == 0
    own = amina("render", "child-file", case_id)
    assert own.code == 0, own.stderr
    assert "SACCO" not in own.stdout and "cash transfer" not in own.stdout and "school bursary" in own.stdout
    assert "SACCO" in amina("render", "case-file", case_id).stdout


def test_show_record__a_rating_in_words_is_not_followed_by_its_number_again(kenya):
    """`cpcm show CASE csi` printed "2 Bad (2)": the code beside a choice's words is left out
    where the words begin with it."""
    amina = kenya("amina")
    case_id = register(amina)
    assert record(amina, case_id, body(shelter=2)).code == 0
    shown = amina("show", case_id, "csi").stdout
    line = next(line for line in shown.splitlines() if "Shelter (CS2A)" in line)
    assert line.endswith(": 2 Bad"), line


def test_show__the_uncoded_household_item_by_the_forms_label_in_the_repositorys_language(kenya):
    """The household economic strengthening item has no CPIMS code: `show` names it by the form's
    label (cpcm/forms/csi.yaml), in the repository's language, never an abbreviation of its own."""
    amina = kenya("amina")
    case_id = register(amina)
    assert record(amina, case_id, body(household_strengthening=4, shelter=2)).code == 0
    line = next(line for line in amina("show", case_id).stdout.splitlines() if "child status index" in line)
    assert "CS6B 3, Household economic strengthening 4;" in line and "HES" not in line, line
    assert kenya("sup")("config", "set", "language", "sw").code == 0
    line = next(line for line in amina("show", case_id).stdout.splitlines() if "child status index" in line)
    assert "CS6B 3, Kuimarisha uchumi wa kaya 4;" in line and "Makazi (2 mbaya)" in line, line

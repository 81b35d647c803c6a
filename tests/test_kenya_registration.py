"""Registration in the kenya profile: the national case categories (DCS CPIMS case_category_id,
43, as list data with its source) are validated at register and at update, and the place of
registration (IAG Step 1) is recorded; the inter-agency profile does not take them."""
from __future__ import annotations

import csv
import html
import io
import json
from datetime import datetime

from conftest import registration

from cpcm.store import codec, forms, policies

T0 = datetime.fromisoformat("2026-11-23T09:00:00+03:00")

# kenya-forms-facts §5.2: the 43 codes, in the sheet's order
CODES = ("CDIS CDSA CLAB CORP COSR CTRF CCCM SCCI CSAB CSAD CSHV CSDQ CCCT CSCL CCIP CCCP CCDF CSCT CSDS CCEA CSCS CSCU "
         "CSDF CSDP CFGM CHCP CSIC CIDC CLFC CSNG CPCA CPAV CSRC CSRG CSSA CSSO CSTC CSUC CCOA CCMO CLCM CCDT CSSM").split()
DEFINITION = codec.loads((forms.HERE / "registration-kenya.yaml").read_bytes())


def test_the_national_list_is_the_facts_sheets_43_codes_with_a_label_each_and_its_source():
    keys = DEFINITION["lists"]["case_category"]
    codes = DEFINITION["codes"]["case_category"]
    assert [codes[k] for k in keys] == CODES and len(set(keys)) == 43
    labels = forms.choice_labels("registration-kenya")["case_category"]
    assert all(labels[k]["en"] and labels[k]["sw"] for k in keys)
    assert (labels["abandoned"]["en"], codes["abandoned"]) == ("Abandoned", "CDIS")  # codes do not spell their labels
    assert codes["internally_displaced"] == "CFGM" and codes["smuggling"] == "CSSM"
    assert "case_category_id" in DEFINITION["source"] and "cpims-dcs-3.0" in DEFINITION["source"]


def test_the_kenya_form_is_the_registration_form_and_the_categories():
    base, kenya_form = forms.load("registration"), forms.load("registration-kenya")
    added = ["case_categories", "event_date", "event_place", "case_nature", "perpetrator_status", "perpetrator_relationship"]
    assert [f.key for f in kenya_form.fields if f.key not in added] == [f.key for f in base.fields]
    keys = [f.key for f in kenya_form.fields]
    assert keys[keys.index("concerns_other") + 1:][:len(added)] == added  # the national part, after the concerns
    assert kenya_form.rules[: len(base.rules)] == base.rules
    assert policies.load("kenya").get("forms", "registration") == "registration-kenya"
    assert policies.load("inter-agency").get("forms", "registration") == "registration"


def test_register__a_national_category_is_accepted_and_a_wrong_one_refused_without_echo(kenya):
    amina = kenya("amina")
    doc = registration(case_categories=["abandoned", "children_on_the_streets"], registration_place="Tumaini CCI office, Kisumu")
    done = amina("register", "--from-file", "-", "--json", input=json.dumps(doc))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    shown = amina("show", case_id, "registration", "--json").json()
    assert shown["fields"]["case_categories"] == ["abandoned", "children_on_the_streets"]
    assert shown["fields"]["registration_place"] == "Tumaini CCI office, Kisumu"
    assert shown["form"] == "registration-kenya"
    assert any(a["field"] == "case_categories" and a["label"].startswith("Case categories") for a in shown["answers"])
    typed = "Zqxvw-Secret"
    refused = amina("register", "--from-file", "-", "--json", input=json.dumps(registration(case_categories=["neglect", typed])))
    assert refused.code == 4
    assert [f["field"] for f in refused.json()["fields"]] == ["case_categories"]
    assert typed.lower() not in (refused.stdout + refused.stderr).lower()
    flags = amina("register", "--no-input", "--sex", "male", "--age", "12", "--location", "Kisumu", "--lives-with", "street",
                  "--identified-by", "volunteer", "--concern", "neglect", "--risk", "high", "--child-consent", "given",
                  "--caregiver-consent", "not_possible", "--case-category", "children on the streets",
                  "--registration-place", "Kisumu police station", "--json")
    assert flags.code == 0, flags.stderr
    assert amina("show", flags.json()["case_id"], "registration", "--json").json()["fields"]["case_categories"] == ["children_on_the_streets"]


def test_update__the_categories_are_validated_against_the_national_list(kenya):
    amina = kenya("amina")
    case_id = amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).json()["case_id"]
    bad = amina("update", case_id, "--set", "case_categories=neglect,not_a_category", "--reason", "intake review", "--json")
    assert bad.code == 4 and [f["field"] for f in bad.json()["fields"]] == ["case_categories"]
    assert "not_a_category" not in bad.stdout + bad.stderr
    good = amina("update", case_id, "--set", "case_categories=neglect,child_labour", "--reason", "intake review", "--json")
    assert good.code == 0, good.stderr
    assert amina("show", case_id, "--json").json()["case_categories"] == ["neglect", "child_labour"]  # as updated
    latest = amina("show", case_id, "update", "--json").json()
    assert latest["fields"]["changes"]["case_categories"] == ["neglect", "child_labour"]


def test_show__the_case_has_a_row_and_a_key_for_the_national_categories(kenya):
    """cpcm show CASE has a row for every registration field given, the national categories too."""
    amina = kenya("amina")
    doc = registration(case_categories=["neglect", "child_labour"])
    case_id = amina("register", "--from-file", "-", "--json", input=json.dumps(doc)).json()["case_id"]
    assert amina("show", case_id, "--json").json()["case_categories"] == ["neglect", "child_labour"]
    shown = amina("show", case_id)
    assert shown.code == 0, shown.stderr
    assert "case categories\tneglect, child_labour" in shown.stdout
    bare = amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).json()["case_id"]
    assert amina("show", bare, "--json").json()["case_categories"] == []
    assert "case categories" not in amina("show", bare).stdout  # no row for a field not given


def test_inter_agency__the_national_categories_are_not_a_field(cli):
    refused = cli("register", "--from-file", "-", "--json", input=json.dumps(registration(case_categories=["abandoned"])))
    assert refused.code == 4 and "is not a field of the registration form" in refused.stdout


def test_case_file__prints_the_national_categories_in_words_with_their_cpims_code(kenya):
    """render case-file prints each national case category as the form names it, in the
    document's language, with its CPIMS code in brackets; never the bare key; the update
    that changes them too, before and after."""
    amina = kenya("amina")
    doc = registration(case_categories=["abandoned", "children_on_the_streets"], registration_place="Tumaini CCI office")
    case_id = amina("register", "--from-file", "-", "--json", input=json.dumps(doc)).json()["case_id"]
    assert amina("update", case_id, "--set", "case_categories=child_labour", "--reason", "intake review").code == 0
    labels = forms.choice_labels("registration-kenya")["case_category"]
    codes = forms.codes("registration-kenya")["case_category"]
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            done = amina("render", "case-file", case_id, "--lang", lang, "--format", fmt)
            assert done.code == 0, done.stderr
            text = html.unescape(done.stdout)
            for key in ("abandoned", "children_on_the_streets", "child_labour"):
                assert f"{labels[key][lang]} ({codes[key]})" in text, (lang, fmt, key)
                assert key not in text and key.replace("_", " ") not in text, (lang, fmt, key)


def test_register__the_case_record_sheets_case_history_as_codes_read_back_exported_and_kept_from_the_childs_file(kenya, tmp_path):
    """The Case Record Sheet's case history (kenya-forms-facts §5.1, §5.4-5.5): the event's date
    and place, the case's nature, the alleged perpetrator's status and relationship, as codes;
    `show` reads them back in words, `export --cpims` writes CPIMS's codes, and the child's own
    file leaves the alleged perpetrator out; a value not of the list is refused."""
    amina = kenya("amina")
    history = {"event_date": "2026-11-20", "event_place": "school", "case_nature": "one_off",
               "perpetrator_status": "known", "perpetrator_relationship": "teacher"}
    done = amina("register", "--from-file", "-", "--json", input=json.dumps(registration(**history)))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    assert {k: amina("show", case_id, "registration", "--json").json()["fields"][k] for k in history} == history
    shown = amina("show", case_id, "registration").stdout
    assert "School or educational setting" in shown and "One-off event" in shown and "Teacher" in shown
    out = tmp_path / "cpims.csv"
    assert amina("export", "--format", "csv", "--cpims", "--plaintext", "--out", str(out)).code == 0
    plain = next(r for r in csv.DictReader(io.StringIO(out.read_text())) if r["case_id"] == case_id)
    assert not {"date_of_event", "event_place_id", "perpetrator_id", "perpetrator_status_id"} & set(plain)  # not asked for
    asked = amina("export", "--format", "csv", "--cpims", "--plaintext", "--out", str(out), "--fields",
                  "case_id,event_date,event_place,case_nature,perpetrator_status,perpetrator_relationship")
    assert asked.code == 2 and "perpetrator_relationship" in asked.stderr and "--agency" in asked.stderr  # as for a name
    from cpcm.domain.case import Case
    from cpcm.reports import export as export_mod

    folded = Case(id=case_id, registration=history)
    row = export_mod.cpims_row(folded, export_mod.row(folded, ["case_id", *history], T0), {}, forms.codes("registration-kenya"))
    assert (row["date_of_event"], row["event_place_id"], row["case_nature_id"], row["perpetrator_status_id"],
            row["perpetrator_id"]) == ("2026-11-20", "PESE", "OOEV", "PKNW", "RCTC")
    own = amina("render", "child-file", case_id).stdout
    assert "Teacher" not in own and "who may have hurt you" in own
    refused = amina("register", "--from-file", "-", "--json", input=json.dumps(registration(event_place="in the bush")))
    assert refused.code == 4 and [f["field"] for f in refused.json()["fields"]] == ["event_place"]

"""A consent refused on one copy while a referral was sent on it on another (offline, then
synced): after the merge `cpcm check` reports the referral, as on one copy where the answer
came after it (workflow/consent.py `withdrawn_after`)."""
from __future__ import annotations

import json

from conftest import NOW, Cli
from test_referrals import CLINIC, CONSENT
from test_sync import laptops, merge_both, shared_case  # noqa: F401 (laptops: a fixture)


def test_a_consent_refused_on_one_copy_while_the_other_referred_on_it_is_reported_after_the_merge(laptops, team):
    assert laptops.cli("sup")(*CLINIC).code == 0
    laptops.sync("sup")
    amina, sup, case_id = shared_case(laptops)
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, *CONSENT, "--by", giver).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    # apart: at the office the caregiver's refusal is recorded; on her laptop amina refers on the consent she holds
    office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    refused = office("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--status", "refused",
                     "--reason", "the caregiver changed her mind", "--explained", "all", "--by", "caregiver", "--json")
    assert refused.code == 0 and not refused.json().get("warnings"), refused.stdout  # nothing was referred on this copy
    assert amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    merge_both(laptops)
    for cli in (amina, sup):
        found = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "referral-consent-withdrawn"]
        assert len(found) == 1 and found[0]["severity"] == "error", found
        assert f"answer since ({refused.json()['record_id']}) is 'refused'" in found[0]["message"]
        assert f"cpcm referral {case_id} R1 --status closed" in found[0]["message"]
    assert amina("referral", case_id, "R1", "--status", "closed").code == 0
    assert not [p for p in json.loads(amina("check", case_id, "--json").stdout) if p["code"] == "referral-consent-withdrawn"]

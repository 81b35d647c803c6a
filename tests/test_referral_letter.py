"""The referral letter holds the fields the policy's sharing rule allows, and no others."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from conftest import CANARY, make_identity, register

GOLDEN = Path(__file__).parent / "golden" / "referral-letter.en.md"


def referred(cli, tmp_env, sector="health", recipient=None):
    add = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", sector, "--offers", "child health",
           "--contact", "Nurse in charge"]
    if recipient:
        add += ["--recipient", recipient]
    assert cli(*add).code == 0
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
                       notes=f"{CANARY} private family matter", concerns=["sexual_abuse"], contact="0700 111222")
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
                   "--explained", "all").code == 0
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment for malnutrition", "--check", "all").code == 0
    return case_id


def test_referral_letter__matches_the_golden_file(cli, tmp_env):
    case_id = referred(cli, tmp_env)
    result = cli("render", "referral-letter", case_id, "R1")
    assert result.code == 0, result.stderr
    text = result.stdout.replace(case_id, "CP-XXXX-XXXX")
    if os.environ.get("CPCM_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    for field in ("sexual_abuse", "private family matter", "2015-04-01", "neglect"):
        assert field not in result.stdout  # never in a letter: not in any sharing group


def test_referral_letter__a_group_outside_the_rule_never_appears(cli, repo, tmp_env):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  sharing:\n    by_sector:\n      health: [need, urgency]\n")
    case_id = referred(cli, tmp_env)
    text = cli("render", "referral-letter", case_id, "R1", "--lang", "sw").stdout
    assert "treatment for malnutrition" in text
    assert CANARY.split()[0] not in text and "0700 111222" not in text and "Test Caregiver" not in text
    assert not re.search(r"Jina|Mlezi", text)


def test_referral_letter__out_is_encrypted_to_the_provider_by_default(cli, tmp_env):
    provider_key = tmp_env / "keys" / "provider.txt"
    case_id = referred(cli, tmp_env, recipient=make_identity(provider_key))
    out = tmp_env / "letter.md.age"
    assert cli("render", "referral-letter", case_id, "R1", "--out", str(out)).code == 0
    data = out.read_bytes()
    assert CANARY.encode() not in data
    from cpcm.crypto import cipher, identity

    provider = identity.load(provider_key, lambda: None)
    assert CANARY in cipher.decrypt(data, provider.keys).decode()
    assert cli("render", "referral-letter", case_id, "R7").code == 3

"""The form records are read to is versioned: the local cache's record table keeps each record as
read (`plain(codec.loads(text))`), keyed by `codec.PARSED_FORM` and the YAML library's version,
not by cpcm's code, so a new release that reads every text the same keeps the table and the next
command does not decrypt every case again. This test holds texts and what they read to
(tests/golden/codec-parsed-form.txt): a change that reads any of them otherwise fails here until
`codec.PARSED_FORM` is raised (and the tables of the earlier form are then dropped).

After a deliberate change: raise `PARSED_FORM`, run with CPCM_UPDATE_GOLDEN=1, and add the new
form's digest (printed by the failing test) to `FORMS`."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

from cpcm.domain.records import plain
from cpcm.store import cache, codec
from test_codec_quick import EDGES
from test_roundtrip import TRICKY

GOLDEN = Path(__file__).parent / "golden" / "codec-parsed-form.txt"
UPDATE = os.environ.get("CPCM_UPDATE_GOLDEN") == "1"
FORMS = {1: "e3701c97af6cf0c5"}  # PARSED_FORM -> digest of what the texts read to (a refusal as the word "refused")


def bodies() -> list[dict]:
    header = {"kind": "assessment", "schema": 1, "id": "01M84N0603RNRR0YKKTW6RR3CG", "case": "CP-4F7K-9X2M",
              "at": "2026-11-23T09:00:00+03:00", "recorded_at": "2026-11-23T09:00:00+03:00", "by": "amina"}
    return [
        {**header, "words": TRICKY, "notes": "line one\n\n  line two\n", "tab": "a\tb", "quotes": "'q' and \"d\"",
         "separators": "a\u2028b\x85c", "unicode": "Wanjiku \u00e9\u00e8 \U0001F600", "long": "x" * 5000},
        {**header, "n": [0, -1, 2**63, 1.5, -0.0, True, False, None], "nested": {"a": [{"b": {"c": []}}], "d": {}},
         "when": date(2026, 1, 2), "moment": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
         1: "a number key", "yes": "yes"},
    ]


def texts() -> list[str]:
    return list(EDGES) + [codec.dumps(body).decode("utf-8") for body in bodies()]


def read(text: str) -> str:
    try:
        return repr(plain(codec.loads(text.encode("utf-8", "surrogatepass"))))
    except codec.BadYaml:
        return "refused"  # that it is refused, not the words saying why: a refused text is never kept in the table


def lines() -> str:
    return "".join(f"{json.dumps(text)}\t{read(text)}\n" for text in texts())


def test_texts_read_as_the_parsed_form_says():
    made = lines()
    if UPDATE:
        GOLDEN.write_text(made, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    digest = hashlib.sha256(made.encode()).hexdigest()[:16]
    assert made == expected, ("texts read otherwise than tests/golden/codec-parsed-form.txt says: raise "
                              "codec.PARSED_FORM, run with CPCM_UPDATE_GOLDEN=1, add the digest to FORMS")
    assert FORMS.get(codec.PARSED_FORM) == digest, (
        f"parsed form {codec.PARSED_FORM} was {FORMS.get(codec.PARSED_FORM)}, the texts now read to {digest}: "
        f"raise codec.PARSED_FORM and add {{{codec.PARSED_FORM + 1}: {digest!r}}} to FORMS")


def test_the_record_table_is_kept_across_releases_that_read_alike(monkeypatch, tmp_path):
    """The key depends on the parsed form and the YAML library only, not on codec.py's bytes."""
    before = cache.codec_fingerprint()
    moved = tmp_path / "codec.py"
    moved.write_text(Path(codec.__file__).read_text(encoding="utf-8") + "\n# a release that reads alike\n")
    monkeypatch.setattr(codec, "__file__", str(moved))
    assert cache.codec_fingerprint() == before
    monkeypatch.setattr(codec, "PARSED_FORM", codec.PARSED_FORM + 1)
    assert cache.codec_fingerprint() != before

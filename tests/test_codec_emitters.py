"""Records are written with ruamel's C emitter when it is installed (a quarter of the pure
emitter's time) and the pure one otherwise: both must write text that reads back as the same
record, whatever a person typed."""
from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from ruamel.yaml.emitter import Emitter

from cpcm.store import codec
from test_roundtrip import TRICKY, records

PURE = codec._yaml(pure=True)
PURE.representer.add_representer(str, codec._str)


def pure_dumps(data) -> bytes:
    stream = io.StringIO()
    PURE.dump(data, stream)
    return stream.getvalue().encode("utf-8")


def test_records_are_written_by_the_c_emitter_when_installed():
    assert codec._DUMPER.Emitter is not Emitter  # the C extension is a dependency's wheel on every platform we ship to


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # test_roundtrip runs 100 more through codec.dumps
@given(records())
def test_both_emitters_write_what_reads_back_as_the_record(record):
    data = record.to_dict()
    assert codec.loads(codec.dumps(data)) == data
    assert codec.loads(pure_dumps(data)) == data


def test_text_a_person_types_reads_back_from_either_emitter():
    body = {"tricky": TRICKY, "long": "x" * 5000, "quotes": "'q' and \"dq\"", "separators": "a\u2028b\x85c",
            "lines": "one\n\n  two\n", "tab": "a\tb"}
    assert codec.loads(codec.dumps(body)) == body
    assert codec.loads(pure_dumps(body)) == body

"""The three-way merge of a casefile repository's own files (store/merge.py): pure, bytes in and out."""
from __future__ import annotations

import pytest

from cpcm.store import codec
from cpcm.store.merge import MergeRefused, merge_file, merge_lines, merge_services, merge_settings, merge_team


def team(*workers: dict) -> bytes:
    return codec.dump_text({"workers": list(workers)}).encode()


def worker(id_: str, since: str = "2026-01-01", **extra) -> dict:
    return {"id": id_, "name": id_, "roles": ["caseworker"], "recipient": f"age1{id_}", "since": since, **extra}


def ids(data: bytes) -> list[str]:
    return [w["id"] for w in codec.loads(data)["workers"]]


def test_team__workers_added_on_both_copies_are_all_kept_in_the_same_order_on_every_copy():
    base = team(worker("sup"))
    ours = team(worker("sup"), worker("njeri", "2026-03-02"))
    theirs = team(worker("sup"), worker("baraka", "2026-03-01"))
    one, _ = merge_team(base, ours, theirs)
    other, _ = merge_team(base, theirs, ours)
    assert ids(one) == ["sup", "baraka", "njeri"] and one == other


def test_team__a_removal_on_either_copy_stands_and_the_earlier_date_wins():
    base = team(worker("sup"), worker("otieno"))
    ours = team(worker("sup"), worker("otieno", removed="2026-05-02"))
    theirs = team(worker("sup"), worker("otieno", removed="2026-05-01"))
    merged, _ = merge_team(base, ours, theirs)
    assert codec.loads(merged)["workers"][1]["removed"] == "2026-05-01"
    only_one, _ = merge_team(base, ours, team(worker("sup"), worker("otieno"), worker("x")))
    assert codec.loads(only_one)["workers"][1]["removed"] == "2026-05-02"


def test_team__one_id_with_two_keys_keeps_one_on_every_copy_and_says_so():
    base = team(worker("sup"))
    ours = team(worker("sup"), dict(worker("njeri"), recipient="age1aaa"))
    theirs = team(worker("sup"), dict(worker("njeri"), recipient="age1bbb"))
    one, notes = merge_team(base, ours, theirs)
    other, _ = merge_team(base, theirs, ours)
    assert one == other and notes and "njeri" in notes[0] and "recipient" in notes[0]


def test_services__field_by_field_by_id():
    def services(*entries):
        return codec.dump_text({"services": list(entries)}).encode()
    base = services({"id": "clinic", "phone": "1", "sector": "health"})
    ours = services({"id": "clinic", "phone": "2", "sector": "health"}, {"id": "school", "sector": "education"})
    theirs = services({"id": "clinic", "phone": "1", "sector": "health care"})
    merged, notes = merge_services(base, ours, theirs)
    assert codec.loads(merged)["services"] == [{"id": "clinic", "phone": "2", "sector": "health care"},
                                              {"id": "school", "sector": "education"}]
    assert notes == []


def test_settings__merged_key_by_key_and_a_key_changed_two_ways_is_refused():
    base = b"caseload:\n  cap: 20\n  warn_from: 15\n"
    ours = b"caseload:\n  cap: 25\n  warn_from: 15\n"
    theirs = b"caseload:\n  cap: 20\n  warn_from: 18\n"
    assert codec.loads(merge_settings(".cpcm/policy.yaml", base, ours, theirs)) == {"caseload": {"cap": 25, "warn_from": 18}}
    with pytest.raises(MergeRefused) as refused:
        merge_settings(".cpcm/policy.yaml", base, ours, b"caseload:\n  cap: 30\n  warn_from: 15\n")
    assert "caseload.cap" in refused.value.message and refused.value.rule == "sync-settings-conflict"


def test_lines_and_unknown_files():
    assert merge_lines(b"a\n", b"a\nb\n", b"a\nc\n") == b"a\nb\nc\n"
    with pytest.raises(MergeRefused):
        merge_file(".cpcm/templates/letter.html", b"x", b"y", b"z")


def test_a_conflict_hint_names_the_command_that_sets_the_file_never_an_edit_by_hand():
    def hint(rel: str, base: bytes, ours: bytes, theirs: bytes) -> str:
        with pytest.raises(MergeRefused) as refused:
            merge_file(rel, base, ours, theirs)
        assert "edit" not in refused.value.hint
        return refused.value.hint

    config = ".cpcm/config.yaml"
    assert "cpcm config set language VALUE" in hint(config, b"language: en\n", b"language: sw\n", b"language: fr\n")
    assert "cpcm config set agency.name VALUE" in hint(config, b"agency:\n  name: A\n", b"agency:\n  name: B\n",
                                                      b"agency:\n  name: C\n")
    assert "no cpcm command changes it" in hint(config, b"agency:\n  code: A\n", b"agency:\n  code: B\n", b"agency:\n  code: C\n")
    assert "cpcm policy set FILE" in hint(".cpcm/policy.yaml", b"a: 1\n", b"a: 2\n", b"a: 3\n")
    assert "cpcm form set FILE --kind registration" in hint(".cpcm/forms/registration.yaml", b"a", b"b", b"c")
    assert "No cpcm command writes" in hint(".cpcm/templates/letter.html", b"x", b"y", b"z")


def test_settings__the_same_profile_set_on_both_copies_took_effect_at_the_earlier_time():
    """`cpcm config set policy kenya` on two copies apart: the same profile, two times it took effect
    (`policy_since`): the earlier stands on both, rather than a conflict no command could settle
    (the profile is set already on each); two profiles are refused, with the command that sets one."""
    config = ".cpcm/config.yaml"
    base = b"policy: inter-agency\npolicy_since: '2025-11-23T09:00:00+03:00'\n"
    ours = b"policy: kenya\npolicy_since: '2026-11-24T05:30:00+00:00'\n"
    theirs = b"policy: kenya\npolicy_since: '2026-11-24T08:00:00+03:00'\n"  # half an hour before ours, in another zone
    merged = codec.loads(merge_file(config, base, ours, theirs)[0])
    assert merged == {"policy": "kenya", "policy_since": "2026-11-24T08:00:00+03:00"}
    assert codec.loads(merge_file(config, base, theirs, ours)[0]) == merged  # the same on every copy
    with pytest.raises(MergeRefused) as refused:
        merge_file(config, base, b"policy: kenya\npolicy_since: '2026-11-24T09:00:00+03:00'\n",
                   b"policy: other\npolicy_since: '2026-11-23T09:00:00+03:00'\n")
    assert "cpcm config set policy VALUE" in refused.value.hint

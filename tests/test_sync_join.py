"""A worker who copied the repository before a supervisor added them (docs/team.md, 'A worker
who copied the repository before being added').

Their copy's team does not list their key, so every command refuses them (exit 5). `cpcm sync`
(and `cpcm bundle apply`) is the way in: once the supervisor has added them and synced, it takes
in the history that adds them, a fast-forward of their copy, each commit verified as any sync
verifies it; before that, and for a team that lists them only in a commit that does not verify,
it refuses and changes nothing."""
from __future__ import annotations

import pytest

from conftest import NOW, Cli, git, head, make_identity, register, signing_line
from test_signing import codes, hand_commit, push
from test_sync import Laptops, tree_state


@pytest.fixture
def laptops(repo, team, tmp_env):
    return Laptops(repo, team, tmp_env)


@pytest.fixture
def njeri(laptops, tmp_env) -> Cli:
    """A new worker's key, and her copy of the repository, cloned from the shared place before
    anyone added her to the team."""
    path = tmp_env / "keys" / "njeri.txt"
    laptops.keys["njeri"] = (path, make_identity(path))
    return laptops.laptop("njeri")


def add_njeri(cli: Cli, laptops: Laptops) -> None:
    path, recipient = laptops.keys["njeri"]
    done = cli("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient, "--signing-key", signing_line(path))
    assert done.code == 0, done.stderr


def refused_as_not_yet_added(njeri: Cli, root, *argv: str) -> None:
    """`argv` (a sync or a bundle apply) is refused with exit 5, says what to do, and changes nothing."""
    before = tree_state(root)
    refused = njeri(*argv)
    assert refused.code == 5, (refused.stdout, refused.stderr)
    assert "not on this team yet" in refused.stderr and "cpcm team add njeri" not in refused.stderr
    assert "cpcm team add" in refused.stderr and "cpcm sync" in refused.stderr, refused.stderr
    assert "nothing was changed" in refused.stderr
    assert tree_state(root) == before


def test_a_worker_added_after_copying_the_repository_syncs_and_then_works(laptops, njeri):
    sup = laptops.cli("sup")
    assert njeri("list").code == 5  # not on this copy's team
    add_njeri(sup, laptops)
    case_id = register(sup, "--worker", "njeri")
    laptops.sync("sup")
    root = laptops.clones["njeri"]
    got = njeri("sync", "--json")
    assert got.code == 0, got.stderr
    report = got.json()
    assert report["fast_forward"] and not report["merged"] and not report["pushed"]
    assert "team add njeri" in report["team_changes"] and report["cases"] == [case_id]
    assert head(root) == head(laptops.repo)
    # from here on she is a member like any other: she reads her case, writes, and her work reaches the team
    listed = njeri("list", "--json")
    assert listed.code == 0 and [c["case_id"] for c in listed.json()] == [case_id], listed.stderr
    assert njeri("show", case_id).code == 0
    mine = register(njeri)
    sent = laptops.sync("njeri")
    assert sent["pushed"]
    assert mine in laptops.sync("sup")["cases"]
    assert sup("verify").code == 0, sup("verify").stdout
    assert njeri("verify").code == 0, njeri("verify").stdout


def test_before_being_added_sync_refuses_and_changes_nothing(laptops, njeri):
    sup = laptops.cli("sup")
    root = laptops.clones["njeri"]
    # nothing new on the shared place
    refused_as_not_yet_added(njeri, root, "sync")
    # commits arrived there, but none adds her
    register(sup)
    laptops.sync("sup")
    refused_as_not_yet_added(njeri, root, "sync", "--json")
    assert head(root) != head(laptops.repo)
    assert njeri("list").code == 5
    # the supervisor adds her but has not synced yet: the shared place still does not list her
    add_njeri(sup, laptops)
    refused_as_not_yet_added(njeri, root, "sync")
    laptops.sync("sup")
    assert njeri("sync").code == 0


def test_a_copy_ahead_of_the_shared_place_is_not_moved_and_its_own_work_is_not_given_up(laptops, njeri):
    """A key this copy does not know, on a copy holding a commit the shared place lacks (work made
    there with an earlier key of the same person): refused, nothing changed, and told to sync that
    work with the earlier key before starting the copy again, which would lose it."""
    root = laptops.clones["njeri"]
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "only here")
    add_njeri(laptops.cli("sup"), laptops)
    laptops.sync("sup")
    before = tree_state(root)
    refused = njeri("sync")
    assert refused.code == 5 and "holds commits the other copy does not" in refused.stderr, refused.stderr
    assert "earlier key" in refused.stderr and "CPCM_IDENTITY=EARLIER-KEY-FILE cpcm sync" in refused.stderr
    assert tree_state(root) == before


def test_a_worker_removed_from_this_copys_team_is_not_taken_for_a_new_one(laptops):
    """The way in is for a key this copy's team has never known: a worker removed here keeps the
    refusal they had."""
    otieno = laptops.laptop("otieno")
    sup_there = Cli({**otieno.env, "CPCM_IDENTITY": str(laptops.keys["sup"][0])})
    assert sup_there("team", "remove", "otieno").code == 0
    refused = otieno("sync")
    assert refused.code == 5 and "not on this team yet" not in refused.stderr
    assert "not a member of this team" in refused.stderr


@pytest.mark.parametrize("signer", ["amina", "njeri", None])
def test_a_team_that_lists_her_only_in_a_commit_that_does_not_verify_is_refused(laptops, njeri, tmp_env, signer):
    """The team file of the shared place lists her, but the commit that added her was not made by
    a supervisor of the team: a caseworker's (signer-not-allowed), her own (unknown-signer) or
    none (unsigned-commit). Her sync verifies it as any sync does, and takes nothing in."""
    code = {"amina": "signer-not-allowed", "njeri": "unknown-signer", None: "unsigned-commit"}[signer]
    # the team file a supervisor's `team add` makes, put on a caseworker's copy by hand
    laptops.keys["scratch"] = laptops.keys["sup"]
    add_njeri(laptops.laptop("scratch"), laptops)  # on a second copy of the supervisor's, never synced
    team_file = (laptops.clones["scratch"] / ".cpcm" / "team.yaml").read_bytes()
    laptops.laptop("amina")
    forged = laptops.clones["amina"]
    (forged / ".cpcm" / "team.yaml").write_bytes(team_file)
    sha = hand_commit(forged, signer or "amina", "team add njeri", [".cpcm/team.yaml"],
                      laptops.keys[signer][0] if signer else None)
    push(forged)
    root = laptops.clones["njeri"]
    before = tree_state(root)
    refused = njeri("sync")
    assert refused.code == 4, refused.stderr
    assert f"{sha[:10]} {code}" in refused.stderr and "nothing was merged" in refused.stderr
    assert tree_state(root) == before
    assert njeri("list").code == 5
    # the same forged history as a bundle (encrypted to her by the forged copy's team), made as a forger would, from
    # git's own bundle (cpcm bundle create holds back an unsigned commit: own-commits-unverified)
    from cpcm.crypto import cipher
    from cpcm.store import remote
    from cpcm.store.git import Git

    bundle = tmp_env / "forged.bundle"
    bundle.write_bytes(cipher.encrypt(remote.bundle_create(Git(forged), None), [laptops.keys["njeri"][1]]))
    refused = njeri("bundle", "apply", str(bundle))
    assert refused.code == 4 and f"{sha[:10]} {code}" in refused.stderr, refused.stderr
    assert tree_state(root) == before


def test_a_bundle_from_a_supervisor_who_added_her_brings_her_in(laptops, njeri, tmp_env):
    """The laptop that meets the team only through bundles: a bundle made before she was added is
    not encrypted to her; one made after brings her in, as a sync does."""
    sup = laptops.cli("sup")
    root = laptops.clones["njeri"]
    early = tmp_env / "early.bundle"
    assert sup("bundle", "create", str(early)).code == 0
    before = tree_state(root)
    refused = njeri("bundle", "apply", str(early))
    assert refused.code in (4, 5) and tree_state(root) == before, refused.stderr
    add_njeri(sup, laptops)
    case_id = register(sup, "--worker", "njeri")
    bundle = tmp_env / "office.bundle"
    assert sup("bundle", "create", str(bundle)).code == 0
    applied = njeri("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["fast_forward"] and "team add njeri" in applied.json()["team_changes"]
    assert head(root) == head(laptops.repo)
    assert njeri("show", case_id).code == 0
    assert njeri("verify").code == 0, njeri("verify").stdout


def test_a_remote_that_moves_back_after_the_first_look_brings_no_one_in(laptops, njeri):
    """The sync looks at what the remote brings before its write begins, then fetches again under
    its transaction: what it takes in is checked again there. Stopped between the two, the shared
    place is put back to before the supervisor added her: nothing comes in, nothing is changed."""
    from test_races import finish, paused

    sup = laptops.cli("sup")
    root = laptops.clones["njeri"]
    before_add = head(laptops.bare)
    add_njeri(sup, laptops)
    laptops.sync("sup")
    before = tree_state(root)
    held = paused(njeri, ["sync"])
    git(laptops.bare, "update-ref", "refs/heads/main", before_add)
    code, _, err = finish(held)
    assert code == 5 and "not on this team yet" in err, err
    assert tree_state(root) == before


def keyless_njeri(laptops: Laptops, njeri: Cli) -> Cli:
    """njeri added without --signing-key, the supervisor synced, and her first sync (which brings
    her in, and pushes nothing) done: it tells her to publish her key."""
    sup = laptops.cli("sup")
    _, recipient = laptops.keys["njeri"]
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    laptops.sync("sup")
    joined = njeri("sync")
    assert joined.code == 0, joined.stderr
    assert "cpcm key publish" in joined.stderr and "unknown-signer" in joined.stderr, joined.stderr
    return sup


def test_a_worker_added_without_a_signing_key_does_not_push_what_the_team_would_refuse(laptops, njeri):
    """Added without --signing-key, she signs her commits with a key the team does not hold, and
    every other copy's sync would refuse them (unknown-signer), and with them everything the shared
    place holds from then on. Her sync takes in what arrived but does not push them
    (signing-key-unpublished, exit 4), saying what to do; the colleagues' syncs go on; once she
    has published her key, her sync pushes them and everyone takes them in."""
    sup = keyless_njeri(laptops, njeri)
    amina = laptops.laptop("amina")
    root = laptops.clones["njeri"]
    mine = register(njeri)
    shared = head(laptops.bare)
    refused = njeri("sync", "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["rule"] == "signing-key-unpublished" and refused.json()["sync"]["pushed"] is False
    assert "unknown-signer" in refused.stderr and "nothing is lost" in refused.stderr, refused.stderr
    assert "cpcm key publish, then cpcm sync origin" in refused.stderr
    assert "cpcm key publish --worker njeri --signing-key LINE" in refused.stderr
    assert head(laptops.bare) == shared  # the shared place did not take them
    assert njeri("show", mine).code == 0  # they stay in her copy
    assert mine not in refused.stderr
    # the colleagues' syncs are not refused: what they write flows between them
    theirs = register(amina, "--worker", "amina")
    assert laptops.sync("amina")["pushed"]
    assert theirs in laptops.sync("sup")["cases"]
    # her sync takes in what arrived (a merge in her copy), says so, and still does not push
    again = njeri("sync")
    assert again.code == 4, again.stderr
    assert "sync origin: 1 record(s) in 1 case(s) arrived (1 from amina)" in again.stderr, again.stderr
    assert "not pushed to origin" in again.stderr and "cpcm key publish" in again.stderr
    assert git(root, "merge-base", "--is-ancestor", head(laptops.bare), "HEAD") == ""
    assert head(laptops.bare) != head(root)
    assert laptops.sync("sup")["commits"] == 0  # nothing of hers reached the shared place
    # publish, sync: everything flows
    assert njeri("key", "publish").code == 0
    published = njeri("sync", "--json")
    assert published.code == 0 and published.json()["pushed"], published.stderr
    assert published.json()["notes"] == [], published.stdout
    assert head(laptops.bare) == head(root)
    assert mine in laptops.sync("sup")["cases"]
    assert mine in laptops.sync("amina")["cases"]
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_key_a_supervisor_records_for_her_lets_her_next_sync_push(laptops, njeri):
    """The other way out: a supervisor records her key (`key publish --worker`) and syncs; her next
    sync brings it in, and pushes what it held back."""
    sup = keyless_njeri(laptops, njeri)
    mine = register(njeri)
    assert njeri("sync").code == 4
    path, _ = laptops.keys["njeri"]
    assert sup("key", "publish", "--worker", "njeri", "--signing-key", signing_line(path)).code == 0
    laptops.sync("sup")
    sent = njeri("sync", "--json")
    assert sent.code == 0 and sent.json()["pushed"], sent.stderr
    assert mine in laptops.sync("sup")["cases"]
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_bundle_does_not_carry_what_the_team_would_refuse(laptops, njeri, tmp_env):
    """`bundle create` by her, before she publishes her key: the bundle would carry commits every
    other copy's `bundle apply` refuses (unknown-signer, as a sync does), so none is written; after
    `cpcm key publish` it is, and the supervisor's apply takes them in."""
    sup = keyless_njeri(laptops, njeri)
    mine = register(njeri)
    bundle = tmp_env / "njeri.bundle"
    refused = njeri("bundle", "create", str(bundle), "--json")
    assert refused.code == 4 and refused.json()["rule"] == "signing-key-unpublished", refused.stderr
    assert "cpcm key publish, then cpcm bundle create FILE" in refused.stderr and "no bundle was written" in refused.stderr
    assert not bundle.exists()
    since = njeri("bundle", "create", str(bundle), "--since", head(laptops.bare))
    assert since.code == 4 and not bundle.exists(), since.stderr
    assert njeri("key", "publish").code == 0
    made = njeri("bundle", "create", str(bundle))
    assert made.code == 0, made.stderr
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0 and mine in applied.json()["cases"], applied.stderr
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_team_that_records_no_signing_key_holds_a_push_until_the_key_is_recorded(tmp_env, team):
    """A repository made before cpcm signed commits, whose members have recorded no signing key yet: each sync
    pushed its signed commits, and the next copy's sync refused them (unknown-signer) and everything after them. A
    sync now sends nothing of a worker whose key is not recorded (signing-key-unpublished, naming cpcm key publish);
    once each has published it, their syncs send, and the other copies take it in."""
    import subprocess

    from cpcm import clock, service

    root = tmp_env / "old"
    service.init(root, "TEST", "T", "sup", "", ["supervisor"], team["sup"][1], clock.now(), timezone="UTC")
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert sup("team", "add", "amina", "--role", "caseworker", "--recipient", team["amina"][1]).code == 0
    bare = tmp_env / "remote.git"
    assert sup("remote", "add", "origin", str(bare), "--create").code == 0
    first = sup("sync", "--json")  # the team add is signed by sup's key, which the team does not record
    assert first.code == 4 and first.json()["rule"] == "signing-key-unpublished", first.stdout
    assert sup("key", "publish").code == 0 and sup("sync").code == 0
    subprocess.run(["git", "clone", "-q", str(bare), str(tmp_env / "amina")], check=True, capture_output=True)
    amina = Cli({"CPCM_REPO": str(tmp_env / "amina"), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    register(amina)
    before = head(bare)
    held = amina("sync", "--json")
    assert held.code == 4 and held.json()["rule"] == "signing-key-unpublished", held.stdout
    assert "cpcm key publish" in held.json()["hint"] and head(bare) == before
    assert amina("key", "publish").code == 0
    sent = amina("sync", "--json")
    assert sent.code == 0 and sent.json()["pushed"], sent.stderr
    assert head(bare) == head(tmp_env / "amina")
    assert sup("sync").code == 0 and head(root) == head(bare)


def test_a_worker_added_without_a_signing_key_is_told_at_bundle_apply_too(laptops, njeri, tmp_env):
    """The laptop that meets the team only through bundles hears it as a syncing one does."""
    sup = laptops.cli("sup")
    path, recipient = laptops.keys["njeri"]
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    bundle = tmp_env / "after.bundle"
    assert sup("bundle", "create", str(bundle)).code == 0
    applied = njeri("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert any("cpcm key publish" in note for note in applied.json()["notes"]), applied.stdout


def test_the_sync_that_brings_her_in_tells_her_she_is_a_member_now(laptops, njeri):
    """The report of the sync (and of the bundle apply) that brings a new worker in says that she
    is on the team now, with her role, and what to run next; a member's ordinary sync does not."""
    sup = laptops.cli("sup")
    add_njeri(sup, laptops)
    laptops.sync("sup")
    joined = njeri("sync")
    assert joined.code == 0, joined.stderr
    assert "you are a member of the team now (caseworker)" in joined.stderr, joined.stderr
    assert "cpcm list" in joined.stderr and "cpcm due" in joined.stderr
    register(sup)
    laptops.sync("sup")
    again = njeri("sync", "--json")
    assert again.code == 0 and again.json()["joined"] is False and again.json()["roles"] == [], again.stdout
    assert "member of the team now" not in njeri("sync").stderr


def test_the_json_of_the_sync_and_of_the_bundle_that_bring_her_in_says_joined(laptops, njeri, tmp_env):
    sup = laptops.cli("sup")
    add_njeri(sup, laptops)
    bundle = tmp_env / "office.bundle"
    assert sup("bundle", "create", str(bundle)).code == 0
    applied = njeri("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["joined"] is True and applied.json()["roles"] == ["caseworker"], applied.stdout
    # a second laptop of hers, brought in by a sync
    laptops.sync("sup")
    laptops.keys["njeri2"] = laptops.keys["njeri"]
    second = laptops.laptop("njeri2")
    git(laptops.clones["njeri2"], "reset", "-q", "--hard", "HEAD~1")  # a copy made before she was added
    git(laptops.clones["njeri2"], "update-ref", "refs/remotes/origin/main", "HEAD")
    got = second("sync", "--json")
    assert got.code == 0 and got.json()["joined"] is True and got.json()["roles"] == ["caseworker"], got.stderr


def test_a_bundle_made_before_she_joined_is_refused_saying_what_to_do(laptops, njeri, tmp_env):
    """`bundle-not-for-you`, for apply and for clone: the refusal says to ask a supervisor for a new
    bundle once their copy lists her, and what to run with it."""
    sup = laptops.cli("sup")
    early = tmp_env / "early.bundle"
    assert sup("bundle", "create", str(early)).code == 0
    applied = njeri("bundle", "apply", str(early))
    assert applied.code == 4 and "not encrypted to your key" in applied.stderr, applied.stderr
    assert "cpcm bundle create FILE" in applied.stderr and "cpcm bundle apply FILE with the new one" in applied.stderr
    assert str(early) not in applied.stderr
    cloned = njeri("bundle", "clone", str(early), str(tmp_env / "njeri-copy"))
    assert cloned.code == 4 and "not encrypted to your key" in cloned.stderr, cloned.stderr
    assert "cpcm bundle create FILE" in cloned.stderr and "cpcm bundle clone FILE PATH with the new one" in cloned.stderr
    assert not (tmp_env / "njeri-copy").exists()


def test_the_supervisor_refused_her_unsigned_for_commits_is_told_the_cure(laptops, njeri):
    """Added without --signing-key, what she wrote reaches the shared place anyway (her cpcm sync
    does not push it: pushed with git itself, or by an earlier cpcm); the supervisor's sync refuses
    it (unknown-signer) and names what to do: she publishes her key (or the supervisor records it),
    or, if she did not make those commits, they are not taken in."""
    sup = laptops.cli("sup")
    _, recipient = laptops.keys["njeri"]
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    laptops.sync("sup")
    assert njeri("sync").code == 0
    register(njeri)
    push(laptops.clones["njeri"])
    refused = sup("sync")
    assert refused.code == 4 and "unknown-signer" in refused.stderr, refused.stderr
    assert "made as njeri, for whom the team records no signing key" in refused.stderr, refused.stderr
    assert "njeri runs cpcm key publish" in refused.stderr
    assert "cpcm key publish --worker njeri --signing-key" in refused.stderr
    assert "If njeri did not make them" in refused.stderr
    # a caseworker's copy refuses the same, and is told a supervisor records the key
    amina = laptops.laptop("amina")
    git(laptops.clones["amina"], "reset", "-q", "--hard", head(laptops.repo))
    refused = amina("sync")
    assert refused.code == 4 and "njeri runs cpcm key publish" in refused.stderr, refused.stderr
    assert "or a supervisor records it" in refused.stderr


def test_a_commit_made_in_a_members_name_with_a_key_nobody_has_gets_no_publish_advice(laptops, njeri, tmp_env):
    """A member whose signing key the team records: a commit in her name signed by another key is
    not hers to publish, and the refusal keeps to 'do not take it in'."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    register(amina)
    stray = tmp_env / "keys" / "stray.txt"
    make_identity(stray)
    root = laptops.clones["amina"]
    (root / "stray-note").write_text("x")
    hand_commit(root, "amina", "note", ["stray-note"], stray)
    push(root)
    refused = sup("sync")
    assert refused.code == 4 and "unknown-signer" in refused.stderr, refused.stderr
    assert "Do not take it in" in refused.stderr and "key publish" not in refused.stderr, refused.stderr


def test_a_team_that_gives_a_supervisor_a_strangers_key_brings_nobody_in(laptops, njeri, tmp_env):
    """The commit that adds her is signed, as `sup`, by a key nobody's team recorded, which the
    commit's own team file gives `sup` besides his own. A key counts for a member only as the team
    the commit was made on records it (or their own rotation in that commit): her sync, and any
    member's, refuses it (unknown-signer), and `verify` of a copy that has it names it."""
    import io

    from ruamel.yaml import YAML  # a dependency of cpcm's own, where PyYAML is not

    yaml = YAML(typ="safe", pure=True)
    mallory = tmp_env / "keys" / "mallory.txt"
    make_identity(mallory)
    otieno = laptops.laptop("otieno")  # a member's copy, made before the forged commit
    laptops.laptop("amina")
    forged = laptops.clones["amina"]
    team_path = forged / ".cpcm" / "team.yaml"
    data = yaml.load(team_path.read_text())
    sup = next(w for w in data["workers"] if w["id"] == "sup")
    sup["signing_keys"].append({"key": signing_line(mallory), "since": sup["since"]})
    path, recipient = laptops.keys["njeri"]
    data["workers"].append({"id": "njeri", "name": "njeri", "roles": ["caseworker"], "recipient": recipient,
                            "since": sup["since"], "signing_keys": [{"key": signing_line(path), "since": sup["since"]}]})
    out = io.StringIO()
    yaml.dump(data, out)
    team_path.write_text(out.getvalue())
    sha = hand_commit(forged, "sup", "team add njeri", [".cpcm/team.yaml"], mallory)
    push(forged)
    root = laptops.clones["njeri"]
    before = tree_state(root)
    refused = njeri("sync")
    assert refused.code == 4 and f"{sha[:10]} unknown-signer" in refused.stderr, refused.stderr
    assert tree_state(root) == before and njeri("list").code == 5
    refused = otieno("sync")
    assert refused.code == 4 and f"{sha[:10]} unknown-signer" in refused.stderr, refused.stderr
    assert "unknown-signer" in codes(laptops.cli("amina"))

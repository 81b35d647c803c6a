"""Signed history: every commit cpcm makes is signed with the worker's key (derived from their age
identity), git itself accepts the signatures, and verify and sync refuse what a team member could
not have signed: a forged approval, an unsigned commit, a revoked key, a record by someone else.

The forged commits are built by hand here, as an attacker would build them: git objects with the
caseworker's own (good) key, or none."""
from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import NOW, Cli, git, head, make_identity, register, signing_line
from test_sync import Laptops, tree_state
from cpcm.store.layout import case_dir, case_rel

PAST = "2020-01-06T09:00:00+03:00"  # a clock before any real commit date (git checks a key's valid-after)
needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) is not installed")


def key_of(path: Path):
    from cpcm.crypto import identity, signing

    return signing.for_identity(identity.load(path, lambda: None))


def hand_commit(root: Path, worker: str, message: str, paths: list[str], key_path: Path | None, when: int | None = None,
                merging: str | None = None) -> str:
    """A commit made without cpcm: staged with git, its object written by hand (signed with the key
    of `key_path`, or unsigned), at `when` (unix seconds; default now), on top of HEAD (and of
    `merging`, a second parent: a merge, of the tree git's index holds)."""
    from cpcm.crypto import signing

    git(root, "add", "-A", "--", *paths)
    tree = git(root, "write-tree").strip()
    parent = head(root)
    parents = "".join(f"parent {sha}\n" for sha in [parent, *([merging] if merging else [])])
    stamp = f"{worker} <{worker}@test.cpcm.invalid> {when or int(time.time())} +0000"
    payload = f"tree {tree}\n{parents}author {stamp}\ncommitter {stamp}\n\n{message}\n".encode()
    if key_path is not None:
        payload = signing.commit_with_signature(payload, key_of(key_path).sign(payload))
    done = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=root, input=payload,
                          capture_output=True, check=True)
    sha = done.stdout.decode().strip()
    git(root, "update-ref", "HEAD", sha, parent)
    return sha


def forge_record(root: Path, case_id: str, kind: str, by: str, body: dict, record_id: str | None = None,
                 named: str | None = None) -> str:
    """A valid record file of `kind` claiming to be by `by`, encrypted to the case's readers; not committed. Its ID is
    a new one, or `record_id`; its file is named as a record of `kind`, or of `named`."""
    from cpcm.crypto import cipher
    from cpcm.domain.ids import RecordIds
    from cpcm.domain.records import Record
    from cpcm.store import codec
    from cpcm.store.config import load_team

    folder = case_dir(root, case_id)
    last = sorted(folder.glob("*.yaml.age"))[-1].name.split(".")[0]
    readers = [r for r in (folder / "recipients").read_text().splitlines() if r and not r.startswith("#")]
    record_id = record_id or RecordIds().new(int(time.time() * 1000), after=last)
    record = Record(kind=kind, schema=1, id=record_id, case=case_id, at=NOW, recorded_at=NOW, by=by, body=body)
    rel = f"{case_rel(case_id)}/{record_id}.{named or kind}.yaml.age"
    (root / rel).write_bytes(cipher.encrypt(codec.dumps(record.to_dict()), load_team(root).recipients_of(readers)))
    return rel


def codes(cli: Cli) -> set[str]:
    result = cli("verify", "--json")
    return {p["code"] for p in result.json() if p["severity"] != "note"}


def push(root: Path) -> None:
    git(root, "push", "-q", "origin", "HEAD:main")


# -- the key ---------------------------------------------------------------------------------------
def test_the_signing_key_is_derived_from_the_identity(tmp_path):
    from cpcm.crypto import signing

    path = tmp_path / "id.txt"
    make_identity(path)
    first, again = key_of(path), key_of(path)
    assert first.line() == again.line() and first.line().startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
    other = tmp_path / "other.txt"
    make_identity(other)
    assert key_of(other).line() != first.line()
    # HKDF-SHA256 as RFC 5869 defines it (its test case 3: no salt, no info)
    okm = signing.hkdf_sha256(bytes.fromhex("0b" * 22), b"", 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                         "9d201395faa4b61a96c8")
    signature = first.sign(b"data")
    assert signing.verify(signature, b"data") == first.public
    with pytest.raises(signing.BadSignature):
        signing.verify(signature, b"other data")
    with pytest.raises(signing.BadSignature):
        signing.verify(first.sign(b"data", namespace="file"), b"data")


def test_key_show_prints_the_signing_key(tmp_env, team):
    cli = Cli({"CPCM_IDENTITY": str(team["amina"][0])})
    shown = cli("key", "show", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["signing_key"].startswith(signing_line(team["amina"][0]) + " cpcm")
    assert cli("key", "show").stdout == team["amina"][1] + "\n"  # one line: a script takes it whole
    assert cli("key", "show", "--signing").stdout == shown.json()["signing_key"] + "\n"


@needs_ssh_keygen
def test_signatures_are_byte_for_byte_what_ssh_keygen_makes(tmp_path):
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "id.txt"
    make_identity(path)
    key = key_of(path)
    private = tmp_path / "ssh" / "key"
    private.parent.mkdir(mode=0o700)
    private.write_bytes(key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                  serialization.NoEncryption()))
    private.chmod(0o600)
    message = tmp_path / "payload"
    message.write_bytes(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nhello\n")
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(private), "-n", "git", str(message)], check=True,
                   capture_output=True)
    assert (tmp_path / "payload.sig").read_text() == key.sign(message.read_bytes())


@needs_ssh_keygen
def test_git_itself_accepts_every_commit_cpcm_signs(tmp_env, team):
    root = tmp_env / "past"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": PAST})
    assert sup("init", "--agency", "TEST", "--name", "T", "--worker", "sup", "--role", "supervisor",
               "--timezone", "Africa/Nairobi").code == 0
    assert sup("team", "add", "amina", "--role", "caseworker", "--recipient", team["amina"][1],
               "--signing-key", signing_line(team["amina"][0])).code == 0
    amina = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": PAST})
    case_id = register(amina)
    assert amina("note", case_id, "--text", "visited").code == 0
    signers = tmp_env / "allowed_signers"
    signers.write_text(sup("team", "signers").stdout)
    commits = git(root, "rev-list", "HEAD").split()
    assert len(commits) == 4
    for sha in commits:
        done = subprocess.run(["git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}",
                               "verify-commit", sha], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "Good \"git\" signature" in done.stderr
    assert "amina@test.cpcm.invalid" in subprocess.run(
        ["git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", commits[0]],
        cwd=root, capture_output=True, text=True).stderr
    # a commit changed after signing is refused by git too
    raw = subprocess.run(["git", "cat-file", "commit", commits[0]], cwd=root, capture_output=True, check=True).stdout
    tampered = raw.replace(b"\n\nnote ", b"\n\nnotE ")
    bad = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=root, input=tampered,
                         capture_output=True, check=True).stdout.decode().strip()
    assert subprocess.run(["git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", bad],
                          cwd=root, capture_output=True).returncode != 0


def test_every_commit_of_a_repository_is_signed_and_verify_is_clean(cli, cli_as, repo):
    case_id = register(cli)
    assert cli("note", case_id, "--text", "seen").code == 0
    for sha in git(repo, "rev-list", "HEAD").split():
        assert "gpgsig -----BEGIN SSH SIGNATURE-----" in git(repo, "cat-file", "commit", sha)
    result = cli_as("sup")("verify", "--json")
    assert result.code == 0 and result.json() == [], result.stdout
    listed = cli_as("sup")("team", "list", "--json").json()
    assert all(w["signing_keys"][0]["key"].startswith("ssh-ed25519 ") for w in listed)


# -- what verify and sync refuse -------------------------------------------------------------------
@pytest.fixture
def laptops(repo, team, tmp_env):
    return Laptops(repo, team, tmp_env)


def refused_by_sync(laptops: Laptops, sha: str, code: str) -> None:
    """The supervisor's sync refuses the pushed commit `sha`, names it and its code, and changes nothing."""
    sup = laptops.cli("sup")
    before = tree_state(laptops.repo)
    done = sup("sync", "--json")
    assert done.code == 4, (done.stdout, done.stderr)
    assert f"{sha[:10]} {code}" in done.stderr
    assert tree_state(laptops.repo) == before
    assert sup("verify", "--json").code == 0


def forged_approval(laptops: Laptops, team, message: str) -> tuple[set, str]:
    """amina (a caseworker) commits, signed with her key, an approval made to look like sup's on
    a case of hers, with the commit message `message` (CASE and RECORD filled in), and pushes it:
    (what her own `verify` finds, the commit)."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    rel = forge_record(root, case_id, "approval", "sup", {"subject": "closure", "decision": "approved"})
    sha = hand_commit(root, "amina", message.format(case=case_id, record=Path(rel).name.split(".")[0]), [rel], team["amina"][0])
    found = codes(amina)
    push(root)
    return found, sha


def test_a_caseworkers_forged_approval(laptops, team):
    found, sha = forged_approval(laptops, team, "approve {case} {record}")
    assert {"signer-not-allowed", "by-not-signer"} <= found, found
    refused_by_sync(laptops, sha, "signer-not-allowed")


def test_a_caseworkers_forged_approval_dressed_as_a_receive(laptops, team):
    """What `receive` brings into the new folder it makes was decided at the other agency, so its
    approvals are not checked against the receiver's role; a commit that only says `receive` and
    adds an approval to a case that was here already is checked as any other."""
    found, sha = forged_approval(laptops, team, "receive {case} " + "7" + "Z" * 25)
    assert "signer-not-allowed" in found, found
    refused_by_sync(laptops, sha, "signer-not-allowed")


def _supervisors_note(laptops: Laptops) -> tuple[str, Path, str]:
    """sup's note on a case of amina's, synced, and amina's laptop: (case, amina's clone, the note's path)."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    assert sup("note", case_id, "--text", "seen at the office").code == 0
    laptops.sync("sup")
    laptops.laptop("amina")
    root = laptops.clones["amina"]
    [note] = [p for p in git(root, "ls-files").split() if p.endswith(".note.yaml.age")]
    return case_id, root, note


@pytest.mark.parametrize("how", ["deleted", "rewritten"])
def test_a_members_signed_commit_that_deletes_or_rewrites_a_record_is_refused_by_sync(laptops, team, how):
    """Records are append-only: a commit signed by a member that deletes someone else's record, or
    puts other words in it, is refused by the others' sync as `cpcm verify` reports it (it was taken
    in without a word: a supervisor's rejection could be made to vanish)."""
    case_id, root, note = _supervisors_note(laptops)
    if how == "deleted":
        (root / note).unlink()
    else:
        forged = forge_record(root, case_id, "note", "sup", {"text": "nothing to worry about"})
        (root / note).write_bytes((root / forged).read_bytes())
        (root / forged).unlink()
    sha = hand_commit(root, "amina", f"note {case_id} {Path(note).name.split('.')[0]}", [note], team["amina"][0])
    assert f"record-{how}" in codes(laptops.cli("amina"))
    push(root)
    refused_by_sync(laptops, sha, f"record-{how}")
    # the supervisor is told how the team goes on while the shared place holds it
    said = laptops.cli("sup")("sync").stderr
    assert "cpcm remote add NEW PATH --create" in said and "cpcm remote remove origin" in said, said


def _forged_over(root: Path, case_id: str, note: str) -> None:
    """The record file `note` holds other words (a valid note of the case, claiming to be sup's)."""
    forged = forge_record(root, case_id, "note", "sup", {"text": "nothing to worry about"})
    (root / note).write_bytes((root / forged).read_bytes())
    (root / forged).unlink()


def _merging(laptops: Laptops) -> tuple[str, Path, str, str]:
    """sup's note on a case of amina's, synced; a note of each written apart, and amina's merge of sup's, begun with git
    (not committed): (the case, amina's clone, sup's first note, the commit merged)."""
    case_id, root, note = _supervisors_note(laptops)
    sup, amina = laptops.cli("sup"), laptops.cli("amina")
    assert sup("note", case_id, "--text", "phoned the school").code == 0
    laptops.sync("sup")
    assert amina("note", case_id, "--text", "visited").code == 0
    git(root, "fetch", "-q", "origin")
    theirs = git(root, "rev-parse", "origin/main").strip()
    git(root, "-c", "user.name=amina", "-c", "user.email=amina@test.cpcm.invalid", "merge", "-q", "--no-commit",
        "--no-ff", theirs)
    return case_id, root, note, theirs


def _merged_by_hand(team, root: Path, theirs: str, paths: list[str], message: str | None = None) -> str:
    """amina's merge begun by `_merging`, with `paths` as they are now, committed (signed with her key) as a sync's
    merge, or with `message`, and pushed: the merge."""
    sha = hand_commit(root, "amina", message or f"sync merge {theirs[:10]}", paths, team["amina"][0], merging=theirs)
    git(root, "merge", "--quit")
    push(root)
    return sha


@pytest.mark.parametrize("kind", ["sync_conflict", "case_link"])
def test_a_record_a_sync_merge_adds_itself_is_the_kind_its_file_name_says(laptops, team, kind):
    """A sync's merge may add the records a sync writes (`sync_conflict`, `case_link`: told by their file names, as
    every check of a commit is). A merge made by hand with that message whose file so named holds a caseworker's
    approval (which no commit of hers may add): every command reads it as damaged (its kind is not its name's), and
    `cpcm verify` reports it (record-unreadable), as a record holding another record's ID or case; before, it counted
    as the approval it holds."""
    case_id, root, _, theirs = _merging(laptops)
    forged = forge_record(root, case_id, "approval", "amina", {"subject": "closure", "decision": "approved"}, named=kind)
    _merged_by_hand(team, root, theirs, [forged])
    amina = laptops.cli("amina")
    assert "record-unreadable" in codes(amina)
    shown = amina("show", case_id, "--json")
    assert shown.code == 7 and Path(forged).name in shown.stderr, (shown.code, shown.stderr)
    assert laptops.cli("sup")("sync").code == 0  # taken in, as a damaged record of a signed commit is: the sync reads none


def test_a_record_a_sync_merge_adds_under_the_name_of_one_left_where_it_was_is_the_merges(laptops, team):
    """A sync's merge moves a case's records to a new folder under their own file names, so `cpcm verify` takes a record
    a merge adds under the name of an earlier one as that one, added by whoever added it. A merge made by hand that
    copies the name of sup's case_link (left where it was) for a link of its own in sup's name, whose case was merged
    into another: verify compares its writer with the merge's signer (by-not-signer), as for a record added by a
    commit; before, with sup, who added the record of that name."""
    sup = laptops.cli("sup")
    first, second = register(sup, "--worker", "amina"), register(sup, "--worker", "amina")
    assert sup("link", first, second, "--sibling").code == 0
    [link] = [p for p in git(laptops.repo, "ls-files", case_rel(first)).split() if p.endswith(".case_link.yaml.age")]
    case_id, root, _, theirs = _merging(laptops)
    forged = forge_record(root, case_id, "case_link", "sup", {"merged_into": first, "reason": "duplicate"},
                          record_id=Path(link).name.split(".")[0])
    sha = _merged_by_hand(team, root, theirs, [forged])
    found = [p for p in laptops.cli("amina")("verify", "--json").json() if p["code"] == "by-not-signer"]
    assert len(found) == 1 and sha[:10] in found[0]["message"] and found[0]["case_id"] == case_id, found


@pytest.mark.parametrize("how", ["dropped", "left-out", "rewritten", "rewritten-unlabelled", "added", "added-unlabelled"])
def test_a_members_signed_merge_that_drops_or_rewrites_a_record_is_refused_by_sync(laptops, team, how):
    """A merge made by hand with git, signed as cpcm signs and labelled as a sync's merge, whose tree leaves out a
    record both sides hold (dropped), or one only the other side holds (left-out: git shows no change of the merge
    itself), or puts other words in one (rewritten; or so, not labelled as a sync's merge, which may re-encrypt), or
    holds a record neither side does (added: a caseworker's approval, which no commit of hers could add): the
    others' sync took it in (a merge was left to its parents, each checked); it refuses it as it does such a commit,
    checked against each parent."""
    case_id, root, note, theirs = _merging(laptops)
    arrived = git(root, "diff", "--name-only", "--diff-filter=A", "HEAD", theirs).split()
    [only_theirs] = [p for p in arrived if p.endswith(".note.yaml.age")]
    target = only_theirs if how == "left-out" else note
    if how.startswith("rewritten"):
        _forged_over(root, case_id, note)
    elif how.startswith("added"):
        target = forge_record(root, case_id, "approval", "sup", {"of": "plan", "decision": "approved"})
    else:
        (root / target).unlink()
    sha = _merged_by_hand(team, root, theirs, [target], "merge" if how.endswith("-unlabelled") else None)
    code = "record-deleted" if how in ("dropped", "left-out") else "record-rewritten"
    refused_by_sync(laptops, sha, code)
    assert laptops.cli("sup")("sync").stderr.count(f"{sha[:10]} {code}") == 1  # a record both sides hold: named once
    if how != "rewritten":  # verify does not open a sync merge's re-encryptions (docs/security.md)
        assert code in codes(laptops.cli("amina"))  # and verify, on the copy that holds it, says so too


def _identity(key_path: Path):
    from pyrage import x25519

    return x25519.Identity.from_str(next(line for line in key_path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")))


def _encrypted_again(root: Path, case_id: str, rel: str, key_path: Path) -> None:
    """The record file `rel` encrypted again to the case's readers, holding what it held (a re-encryption)."""
    from cpcm.crypto import cipher
    from cpcm.store.config import load_team

    held = cipher.decrypt((root / rel).read_bytes(), [_identity(key_path)])
    readers = [r for r in (case_dir(root, case_id) / "recipients").read_text().splitlines() if r and not r.startswith("#")]
    (root / rel).write_bytes(cipher.encrypt(held, load_team(root).recipients_of(readers)))


@pytest.mark.parametrize("at_once", [None, 1])  # 1: each record read and opened apart, on every core
def test_a_rewrite_labelled_as_a_reencryption_is_refused_by_the_sync_of_a_copy_that_reads_it(laptops, team, monkeypatch,
                                                                                              at_once):
    """A commit that says it re-encrypts (`team sync N cases`) may change a record's bytes, never what it holds: the
    sync of a copy whose key opens both versions compares them, and refuses one that puts other words in it
    (record-rewritten), here after a record it re-encrypts as it should. A copy whose key does not open both cannot
    tell, and takes it in as before (docs/security.md)."""
    from cpcm.store import audit

    if at_once:
        monkeypatch.setattr(audit, "OPENED_AT_ONCE", at_once)
    case_id, root, note = _supervisors_note(laptops)
    otieno = laptops.laptop("otieno")  # no reader of amina's case
    [registration] = [p for p in git(root, "ls-files").split() if p.endswith(".registration.yaml.age")]
    assert registration < note  # compared first: the rewrite is found in the later piece
    _encrypted_again(root, case_id, registration, team["sup"][0])
    _forged_over(root, case_id, note)
    sha = hand_commit(root, "amina", "team sync 1 cases", [registration, note], team["amina"][0])
    [commit] = audit.history(root, "", [sha, f"^{sha}^"])  # the record it names is the one rewritten, in whichever piece
    changed = [(commit, path, old, new) for status, old, new, path in commit.changes if status == "M"]
    assert audit._not_reencrypted(root, changed, [_identity(team["sup"][0])]) == [(commit, note)]
    push(root)
    refused_by_sync(laptops, sha, "record-rewritten")
    assert otieno("sync").code == 0


def _reworded_move(root: Path, rel: str, to: str, key_path: Path, change) -> str:
    """The record file `rel` moved to the case folder `to` (a path, its file name kept), holding `change(its
    fields)`, encrypted to that folder's readers: what a merge made by hand may hold in place of a sync's move."""
    from cpcm.crypto import cipher
    from cpcm.store import codec
    from cpcm.store.config import load_team

    fields = codec.loads(cipher.decrypt((root / rel).read_bytes(), [_identity(key_path)]))
    readers = [r for r in (root / to / "recipients").read_text().splitlines() if r and not r.startswith("#")]
    moved = f"{to}/{Path(rel).name}"
    (root / rel).unlink()
    (root / moved).write_bytes(cipher.encrypt(codec.dumps(change(fields)), load_team(root).recipients_of(readers)))
    return moved


@pytest.mark.parametrize("how", ["reworded", "into-another-case"])
def test_a_merge_that_says_it_moves_a_case_to_a_new_id_moves_its_records_as_they_were(laptops, team, monkeypatch, how):
    """Two cases registered under one ID: a sync's merge moves one to a new ID (its records, with that ID in them,
    and a case_link). A merge made by hand with that message, signed with a member's key, that puts other words in a
    moved record (reworded: the child's name), or moves them into a case that was there already (into-another-case:
    out of their own case, into another child's) is refused by the sync of a copy that reads them, as a rewrite or
    a deletion is, and the move into another case is reported by verify; before, a moved record was not compared
    with the one it was moved from, nor its new folder looked at."""
    from test_sync import same_id_on_two_copies

    amina, sup, mine, theirs = same_id_on_two_copies(laptops, monkeypatch)
    other = register(sup, "--worker", "amina")
    laptops.sync("sup")
    root = laptops.clones["amina"]
    ours = head(root)
    scratch = laptops.tmp / "scratch.git"  # the merge amina's sync makes, pushed where nobody else looks
    shutil.copytree(laptops.bare, scratch)
    assert amina("remote", "add", "scratch", str(scratch)).code == 0
    [moved] = laptops.cli("amina")("sync", "scratch", "--json").json()["reidentified"]
    merge, theirs_sha = head(root), git(root, "rev-parse", "HEAD^2").strip()
    git(root, "reset", "-q", "--soft", ours)
    new = case_rel(moved["new"])
    [registration] = [p for p in git(root, "ls-files", new).split() if p.endswith(".registration.yaml.age")]
    key = team["amina"][0]
    if how == "reworded":
        paths = [registration, _reworded_move(root, registration, new, key, lambda f: {
            **f, "case": moved["new"], "child": {**f["child"], "name": "Another Name"}})]
    else:
        paths = [new, case_rel(other)] + [_reworded_move(root, p, case_rel(other), key, lambda f: {**f, "case": other})
                                          for p in git(root, "ls-files", new).split() if p.endswith(".yaml.age")]
    sha = hand_commit(root, "amina", git(root, "log", "-1", "--format=%s", merge).strip(), paths, key, merging=theirs_sha)
    push(root)
    refused_by_sync(laptops, sha, "record-rewritten" if how == "reworded" else "record-deleted")
    if how == "into-another-case":  # verify, on the copy that holds it, says so too (it opens no moved record)
        assert "record-deleted" in codes(amina)


def test_a_merge_that_leaves_out_a_record_held_under_its_name_in_another_childs_case_is_reported(laptops, team):
    """A sync's merge takes a case's move to a new ID from the parent whose line made it. A merge made by hand with a
    sync's message, signed by a member, that leaves out amina's note of one child's case, its other parent a commit of
    hers that put that note (its case ID changed) under its file name in another child's case, one both parents hold,
    is reported by verify and refused by the supervisor's sync (record-deleted), as a move into that case is. Before,
    the sync took it as taken from that parent, and verify as still there (a record of its name anywhere)."""
    sup, amina = laptops.cli("sup"), laptops.laptop("amina")
    case_id, other = register(sup, "--worker", "amina"), register(sup, "--worker", "amina")
    laptops.sync("sup")
    laptops.sync("amina")
    root, key = laptops.clones["amina"], team["amina"][0]
    assert amina("note", case_id, "--text", "visited").code == 0
    [note] = [p for p in git(root, "ls-files", case_rel(case_id)).split() if p.endswith(".note.yaml.age")]
    base, message = head(root), git(root, "log", "-1", "--format=%s").strip().replace(case_id, other)
    copied = _reworded_move(root, note, case_rel(other), key, lambda f: {**f, "case": other})
    git(root, "checkout", "-q", "--", note)
    theirs = hand_commit(root, "amina", message, [copied], key)
    git(root, "reset", "-q", "--hard", base)
    assert amina("note", case_id, "--text", "phoned").code == 0
    git(root, "-c", "user.name=amina", "-c", "user.email=amina@test.cpcm.invalid", "merge", "-q", "--no-commit",
        "--no-ff", theirs)
    (root / note).unlink()
    sha = hand_commit(root, "amina", f"sync merge {theirs[:10]}", [note], key, merging=theirs)
    git(root, "merge", "--quit")
    assert "record-deleted" in codes(amina)
    push(root)
    refused_by_sync(laptops, sha, "record-deleted")


@pytest.mark.parametrize("at_once", [None, 1])  # 1: each record read and opened apart, on every core
def test_the_merges_and_reencryptions_cpcm_makes_are_taken_in(laptops, team, tmp_env, monkeypatch, at_once):
    """What the checks above refuse, cpcm's own commits never do: a supervisor added (every case re-encrypted, `team
    add`), a note written apart on another copy meanwhile, its sync's merge (which encrypts that note again, to the new
    reader), and the syncs that take them: each copy opens both versions of every record changed, and takes them in."""
    from cpcm.store import audit

    if at_once:
        monkeypatch.setattr(audit, "OPENED_AT_ONCE", at_once)
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    assert amina("note", case_id, "--text", "visited").code == 0
    recipient = make_identity(tmp_env / "keys" / "sup2.txt")
    assert sup("team", "add", "sup2", "--role", "supervisor", "--recipient", recipient).code == 0
    assert sup("note", case_id, "--text", "phoned").code == 0
    laptops.sync("sup")
    merged = laptops.sync("amina")
    assert merged["merged"] and git(laptops.clones["amina"], "log", "-1", "--format=%s").startswith("sync merge")
    laptops.sync("sup")
    assert sup("verify").code == 0 and amina("verify").code == 0
    assert [e["kind"] for e in sup("log", case_id, "--json").json()].count("note") == 2


def test_an_approval_by_a_supervisor_is_accepted(laptops, team):
    """The same hand-made commit, signed by the supervisor: nothing to report (so the test above
    fails for the caseworker's role, not for the way the commit is built)."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    otieno = laptops.laptop("otieno")
    root = laptops.clones["otieno"]
    rel = forge_record(root, case_id, "approval", "sup", {"subject": "closure", "decision": "approved"})
    hand_commit(root, "sup", f"approve {case_id} {Path(rel).name.split('.')[0]}", [rel], team["sup"][0])
    assert codes(otieno) == set()
    push(root)
    assert sup("sync").code == 0


def test_an_unsigned_commit(laptops, team):
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    rel = forge_record(root, case_id, "note", "amina", {"text": "seen"})
    sha = hand_commit(root, "amina", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], None)
    assert "unsigned-commit" in codes(amina)
    # the log shows who signed each record's commit, and that this one is not signed
    entries = {e["record_id"]: e for e in amina("log", case_id, "--json").json()}
    forged = entries.pop(Path(rel).name.split(".")[0])
    assert (forged["signed_by"], forged["signature"]) == (None, "unsigned-commit")
    assert [(e["signed_by"], e["signature"]) for e in entries.values()] == [("sup", "good")]
    table = amina("log", case_id).stdout
    assert "sup, good" in table and "unsigned-commit" in table
    push(root)
    refused_by_sync(laptops, sha, "unsigned-commit")


def test_a_commit_made_with_git_itself_is_not_pushed_and_the_team_goes_on_syncing(laptops, team):
    """amina commits a file with git itself (unsigned). Her sync pushed it without a word, and every other copy's sync
    was refused from then on (unsigned-commit): one `git commit` stopped the whole team. Her sync now takes in what
    arrived and sends nothing (own-commits-unverified, exit 4, naming the commit, never the file), and says how to undo
    it; undone, her next sync sends her work and the supervisor's sync goes on."""
    from conftest import CANARY

    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    assert amina("note", case_id, "--text", "visited the school").code == 0
    listed = f"{case_rel(case_id)}/{CANARY}.txt"
    (root / listed).write_text("call list\n")
    sha = hand_commit(root, "amina", "call list", [listed], None)
    remote_before = git(laptops.bare, "rev-parse", "main").strip()
    held = amina("sync", "--json")
    assert held.code == 4, held.stdout
    assert held.json()["rule"] == "own-commits-unverified" and f"{sha[:10]} unsigned-commit" in held.json()["message"]
    assert "git reset --soft HEAD~1" in held.json()["hint"] and CANARY not in held.stdout + held.stderr
    assert git(laptops.bare, "rev-parse", "main").strip() == remote_before  # nothing sent
    assert sup("sync").code == 0                                                # and the team syncs on
    git(root, "reset", "-q", "--soft", "HEAD~1")                               # undone as the hint says
    git(root, "restore", "--staged", "--", listed)
    (root / listed).unlink()
    assert amina("sync").code == 0
    assert sup("sync").code == 0 and sup("verify").code == 0
    assert [e["kind"] for e in sup("log", case_id, "--json").json()].count("note") == 1  # amina's note arrived
    (root / listed).write_text("call list\n")                                 # again, and a merge comes on top of it
    again = hand_commit(root, "amina", "call list", [listed], None)
    assert sup("note", case_id, "--text", "phoned").code == 0 and sup("sync").code == 0
    held = amina("sync", "--json")
    assert held.code == 4 and held.json()["rule"] == "own-commits-unverified", held.stdout
    assert f"1 commit(s) of this copy not pushed to origin: {again[:10]} unsigned-commit" in held.json()["message"]
    assert "Ask a supervisor: it lies under later commits" in held.json()["hint"] and "reset" not in held.json()["hint"]


def test_a_commit_signed_by_a_stranger(laptops, team, tmp_env):
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    stranger = tmp_env / "keys" / "mallory.txt"
    make_identity(stranger)
    rel = forge_record(root, case_id, "note", "amina", {"text": "seen"})
    sha = hand_commit(root, "amina", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], stranger)
    assert "unknown-signer" in codes(amina)
    push(root)
    refused_by_sync(laptops, sha, "unknown-signer")


def test_a_record_whose_by_is_someone_else(laptops, team):
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    rel = forge_record(root, case_id, "note", "otieno", {"text": "seen"})
    hand_commit(root, "amina", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], team["amina"][0])
    problems = [p for p in amina("verify", "--json").json() if p["code"] == "by-not-signer"]
    assert len(problems) == 1 and problems[0]["case_id"] == case_id
    assert "otieno" in problems[0]["message"] and "amina" in problems[0]["message"]
    # a commit whose author address is not its signer: refused by sync too (no need to read the record)
    rel = forge_record(root, case_id, "note", "otieno", {"text": "seen"})
    sha = hand_commit(root, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], team["amina"][0])
    push(root)
    refused_by_sync(laptops, sha, "by-not-signer")


def test_a_revoked_key(laptops, team, tmp_env):
    """otieno's laptop is lost: the supervisor revokes his key from a date. The thief, on the lost
    laptop (which never saw the revocation, where otieno is still a member), writes a commit
    signed with his key after that date and hands it over as a bundle: refused; and verify
    reports it in a copy that took it in by plain git."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    laptops.laptop("otieno")
    root = laptops.clones["otieno"]
    later = Cli({**sup.env, "CPCM_NOW": "2099-01-01T09:00:00+03:00"})
    done = later("team", "revoke", "otieno", "--lost", "--from", "2098-06-01", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["revoked_from"].startswith("2098-06-01")
    listed = {w["id"]: w for w in later("team", "list", "--all", "--json").json()}
    assert listed["otieno"]["removed"] and listed["otieno"]["signing_keys"][0]["revoked"].startswith("2098-06-01")
    assert 'valid-before="20980531210000Z"' in later("team", "signers").stdout
    assert later("verify", "--json").code == 0  # his commits before the date still stand
    # the thief writes after the revocation date, on the copy that never saw it
    rel = forge_record(root, case_id, "note", "otieno", {"text": "seen"})
    when = int(datetime.fromisoformat("2098-07-01T00:00:00+00:00").timestamp())
    sha = hand_commit(root, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], team["otieno"][0], when)
    bundle = tmp_env / "stolen.bundle"
    assert laptops.cli("otieno")("bundle", "create", str(bundle)).code == 0
    before = tree_state(laptops.repo)
    done = sup("bundle", "apply", str(bundle))
    assert done.code == 4 and f"{sha[:10]} revoked-key" in done.stderr, done.stderr
    assert case_id not in done.stderr
    assert "Ask a supervisor" not in done.stderr and "docs/exit-codes.md" in done.stderr  # the supervisor is not sent to one
    assert tree_state(laptops.repo) == before
    # the same commit taken in by plain git: verify reports it
    git(laptops.repo, "fetch", "-q", str(root), "main")
    git(laptops.repo, "-c", "user.name=x", "-c", "user.email=x@x", "merge", "-q", "--no-edit", "FETCH_HEAD")
    assert "revoked-key" in codes(sup)
    # and no sync pushes it: the supervisor is told how the copy goes on, not sent to a supervisor (was: 'Ask a
    # supervisor: it lies under later commits', pointing to the section on a file committed by hand)
    held = sup("sync")
    assert held.code == 4 and f"{sha[:10]} revoked-key" in held.stderr, held.stderr
    assert "Ask a supervisor" not in held.stderr and "a-file-committed-by-hand" not in held.stderr, held.stderr
    assert "git clone PATH FOLDER" in held.stderr and "docs/security.md#a-lost-laptop-team-revoke" in held.stderr


def test_commits_are_dated_by_cpcm_now_as_the_records_are(tmp_env, team, repo, cli_as):
    """CPCM_NOW dates cpcm's commits (author and committer, in the agency's zone) as it dates the
    records and the team file: `init`'s and `team add`'s (the test repository's), a write's, and a
    sync's merge; a CPCM_NOW without an offset is read in the agency's zone. The signature covers
    the date, and verify finds it good. Without CPCM_NOW, the computer's clock dates them; a
    CPCM_NOW earlier than the last commit dates a commit before its parent, which is taken too."""
    def dates(root: Path, *revs: str) -> set[str]:
        return set(git(root, "log", "--format=%aI %cI", *revs).split())

    assert dates(repo) == {NOW}  # init and team add, made at NOW
    amina = cli_as("amina", CPCM_NOW="2026-11-25T10:30")  # no offset: the agency's zone (Africa/Nairobi)
    case_id = register(amina)
    assert dates(repo, "-1") == {"2026-11-25T10:30:00+03:00"}
    entry = amina("log", case_id, "--json").json()[0]  # the record and its commit: one time
    assert datetime.fromisoformat(entry["recorded_at"]) == datetime.fromisoformat(entry["committed_at"])
    assert entry["recorded_at"].startswith("2026-11-25T10:30:00") and entry["signed_by"] == "amina"
    # a sync's merge commit, made on two copies that each wrote
    laptops = Laptops(repo, team, tmp_env)
    otieno = laptops.laptop("otieno")
    assert register(laptops.cli("sup", CPCM_NOW="2026-11-26T08:00:00+03:00"))
    laptops.sync("sup")
    register(otieno)
    done = laptops.cli("otieno", CPCM_NOW="2026-11-27T16:45:00+01:00")("sync", "--json")
    assert done.code == 0 and done.json()["merged"], done.stderr
    assert git(laptops.clones["otieno"], "log", "-1", "--format=%s %aI %cI").split()[-2:] == ["2026-11-27T18:45:00+03:00"] * 2
    assert cli_as("sup")("verify", "--json").json() == []
    # the computer's clock, without CPCM_NOW
    before = int(time.time())
    assert Cli({k: v for k, v in cli_as("amina").env.items() if k != "CPCM_NOW"})("note", case_id, "--text", "seen").code == 0
    assert before <= int(git(repo, "log", "-1", "--format=%ct")) <= time.time() + 1
    # CPCM_NOW before the last commit: a commit dated before the one it follows, which git and verify take
    assert cli_as("amina")("note", case_id, "--text", "seen again").code == 0
    assert dates(repo, "-1") == {NOW} and cli_as("sup")("verify", "--json").json() == []


def test_a_walk_dated_by_cpcm_now_names_no_commit_after_a_removal_or_revocation_it_made_later(laptops, team, tmp_env):
    """A walk through the days with CPCM_NOW (days before the computer's clock): amina and otieno
    write on their laptops and sync; two days on, the supervisor hands their cases over, removes
    amina and revokes otieno's key from that day (a lost laptop). What they wrote is dated before
    both: verify names nothing, and the supervisor's other copy, last synced before all of it, takes
    it in (was: each commit dated by the computer's clock, so after the removal and the revocation:
    signed-after-removal, and revoked-key refusing the sync)."""
    day1, day2, day3 = (f"2026-11-{d}T09:00:00+03:00" for d in (24, 25, 26))
    spare = tmp_env / "sup-spare"  # the supervisor's second laptop, a copy from before the walk
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(spare)], check=True, capture_output=True)
    laptops.laptop("amina")
    laptops.laptop("otieno")
    cases = {w: register(laptops.cli(w, CPCM_NOW=day1)) for w in ("amina", "otieno")}
    for worker in ("amina", "otieno"):
        assert laptops.cli(worker, CPCM_NOW=day1)("sync").code == 0
    office = laptops.cli("sup", CPCM_NOW=day2)
    assert office("sync").code == 0
    for case_id in cases.values():
        assert office("assign", case_id, "--worker", "sup").code == 0
    assert office("team", "remove", "amina").code == 0
    revoked = office("team", "revoke", "otieno", "--lost", "--from", day2)
    # a lost key still reads what git history holds: said as team remove says it
    assert revoked.code == 0 and "git history stay readable with the removed worker's key" in revoked.stderr, revoked.stderr
    assert office("sync").code == 0
    assert laptops.cli("sup", CPCM_NOW=day3)("verify", "--json").json() == []
    done = Cli({**laptops.cli("sup").env, "CPCM_REPO": str(spare), "CPCM_NOW": day3})("sync", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["after_removal"] == [] and "revoked" not in done.stderr


def test_a_revocation_dated_before_work_this_copy_took_in_is_refused_and_the_team_moves_to_a_new_place(
        laptops, team, tmp_env):
    """otieno registers a child on his laptop in the morning and syncs; the office takes it in (it
    verifies) and hands his case over; in the afternoon his laptop is lost and the supervisor revokes his
    key from that day. His commit, dated after midnight, is history this copy took in before the
    revocation: revoked from then, the office's own history would fail verify and no shared place, not even
    a new one, would take it (was: the revocation was made; verify exit 1, revoked-key, and `sync NEW`
    pushed nothing, own-commits-unverified). It is refused, naming the commit and the moment after it; from
    then it is made, verify is clean, the team moves to a new shared place, and what the lost laptop signs
    later is refused. A date from before his key was recorded names no commit of his: refused too."""
    morning, afternoon = "2026-11-25T10:00:00+03:00", "2026-11-25T15:00:00+03:00"
    laptops.laptop("otieno")
    on_laptop = laptops.cli("otieno", CPCM_NOW=morning)
    case_id = register(on_laptop)
    assert on_laptop("sync").code == 0
    office = laptops.cli("sup", CPCM_NOW=afternoon)
    assert office("sync").code == 0
    assert office("assign", case_id, "--worker", "sup").code == 0
    sha = git(laptops.repo, "log", "-1", "--format=%H", "--author=otieno@").strip()
    before = tree_state(laptops.repo)
    refused = office("team", "revoke", "otieno", "--lost", "--from", "2026-11-25", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "revoke-before-held", refused.stdout
    assert f"{sha[:10]} ({morning})" in refused.json()["message"]
    assert "--from 2026-11-25T10:00:01+03:00" in refused.json()["hint"] and case_id not in refused.stdout
    assert "docs/security.md#a-lost-laptop-team-revoke" in refused.json()["hint"]
    early = office("team", "revoke", "otieno", "--lost", "--from", "2020-01-01")
    assert early.code != 0 and f"must not be earlier than {NOW}" in early.stderr, early.stderr
    assert tree_state(laptops.repo) == before
    # as the refusal says
    done = office("team", "revoke", "otieno", "--lost", "--from", "2026-11-25T10:00:01", "--json")
    assert done.code == 0 and done.json()["revoked_from"] == "2026-11-25T10:00:01+03:00", done.stderr
    assert office("verify", "--json").json() == []
    fresh = tmp_env / "fresh.git"
    assert office("remote", "add", "fresh", str(fresh), "--create").code == 0
    moved = office("sync", "fresh")
    assert moved.code == 0 and git(fresh, "rev-parse", "main").strip() == head(laptops.repo), moved.stderr
    # the lost laptop's key signs a commit after that, pushed to the old place: refused
    root = laptops.clones["otieno"]
    rel = forge_record(root, case_id, "note", "otieno", {"text": "seen"})
    when = int(datetime.fromisoformat("2026-11-25T12:00:00+03:00").timestamp())
    forged = hand_commit(root, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], team["otieno"][0], when)
    push(root)
    taken = office("sync", "origin")
    assert taken.code == 4 and f"{forged[:10]} revoked-key" in taken.stderr, taken.stderr


def test_a_revocation_from_before_the_workers_key_was_recorded_is_refused(cli_as, repo):
    """A --from years before amina's key was recorded (a mistyped year) names no commit of hers: refused, saying
    from when it may count, and nothing is written (was: revoked from 2020 for a key recorded in 2026)."""
    sup = cli_as("sup")
    before = head(repo)
    early = sup("team", "revoke", "amina", "--lost", "--from", "2020-01-01")
    assert early.code != 0 and f"must not be earlier than {NOW}" in early.stderr and head(repo) == before, early.stderr
    assert "  - --from: must not be earlier than" in early.stderr, early.stderr  # the option, as typed
    assert sup("team", "revoke", "amina", "--lost", "--from", NOW).code == 0


def test_revoking_the_key_of_a_worker_removed_already_says_the_key_is_revoked_not_that_they_were_removed(cli_as, repo):
    """otieno left (`team remove`, on 2026-11-23); later his laptop is lost and his key is revoked: the revocation says
    that it revoked the key, and that the removal was an earlier one (was: `'otieno' removed; ...` a second time, as
    though this command had removed him). amina, on the team until now, is said to be removed by hers."""
    sup = cli_as("sup")
    assert sup("team", "remove", "otieno").code == 0
    later = cli_as("sup", CPCM_NOW="2026-12-01T09:00:00+03:00")
    done = later("team", "revoke", "otieno", "--lost")
    assert done.code == 0, done.stderr
    assert done.stderr.startswith("'otieno' was removed from the team already (2026-11-23); their signing key is "
                                  "revoked from 2026-12-01T09:00:00+03:00\n"), done.stderr
    assert "'otieno' removed" not in done.stdout + done.stderr
    now = later("team", "revoke", "amina", "--lost", "--json")
    assert now.code == 0 and now.json()["removed_now"] and now.json()["removed"].startswith("2026-12-01"), now.stdout
    assert later("team", "revoke", "amina", "--lost", "--from", "2026-11-30").stderr.startswith(
        "'amina' was removed from the team already (2026-12-01)")


def test_a_revocation_from_now_counts_from_after_a_commit_this_copy_holds_dated_as_late(cli_as, repo):
    """otieno's commit and the supervisor's revocation of his key (no --from: now) in the same second (or
    his laptop's clock ahead of the office's): the revocation counts from the second after his commit, so
    this copy's history still verifies (was: from now, and verify reported his commit: revoked-key)."""
    case_id = register(cli_as("otieno"))
    sup = cli_as("sup")
    assert sup("assign", "--from-worker", "otieno", "--worker", "sup").code == 0
    done = sup("team", "revoke", "otieno", "--lost", "--json")
    assert done.code == 0, done.stderr
    assert datetime.fromisoformat(done.json()["revoked_from"]) > datetime.fromisoformat(NOW)
    assert sup("verify", "--json").json() == [] and case_id
    assert "ahead of now" not in done.stderr  # the same second: nothing to say


def test_a_revocation_from_now_after_a_commit_dated_months_ahead_says_the_key_still_signs_until_then(cli_as, repo):
    """otieno's laptop clock set nine months ahead, his commit taken in: a revocation from now counts from
    after it, so this copy's history verifies, and the supervisor is told that until then what the key
    signs is still taken in (was: said nothing, the revocation doing nothing for nine months)."""
    ahead = cli_as("otieno", CPCM_NOW="2027-09-01T09:00:00+03:00")
    register(ahead)
    sup = cli_as("sup")
    assert sup("assign", "--from-worker", "otieno", "--worker", "sup").code == 0
    done = sup("team", "revoke", "otieno", "--lost", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["revoked_from"].startswith("2027-09-01"), done.json()
    assert "revoked only from 2027-09-01" in done.stderr and "still taken in" in done.stderr, done.stderr
    again = sup("team", "revoke", "otieno", "--lost", "--json")  # revoked already: said so (was: exit 6, nothing to commit)
    assert again.code == 4 and again.json()["rule"] == "already-revoked" and "2027-09-01" in again.json()["message"], again.stdout


def test_a_worker_records_their_own_key_once(tmp_env, team, repo, cli_as):
    sup = cli_as("sup")
    path = tmp_env / "keys" / "njeri.txt"
    recipient = make_identity(path)
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    njeri = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW})
    amina = cli_as("amina")
    assert amina("key", "publish", "--worker", "njeri", "--signing-key", signing_line(path)).code == 4  # not a supervisor
    done = njeri("key", "publish", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["signing_key"] == signing_line(path)
    assert njeri("key", "publish").code == 4  # once
    other = tmp_env / "keys" / "other.txt"
    make_identity(other)
    assert sup("key", "publish", "--worker", "njeri", "--signing-key", signing_line(other)).code == 4  # recorded already
    case_id = register(njeri)
    assert njeri("note", case_id, "--text", "seen").code == 0
    result = sup("verify", "--json")
    assert result.code == 0 and result.json() == [], result.stdout
    # a caseworker who changes anything else in the team is refused by verify's role check
    from cpcm.store.config import load_team
    from cpcm.store.layout import TEAM

    text = (repo / TEAM).read_text().replace("- caseworker\n  recipient: " + recipient, "- supervisor\n  recipient: " + recipient)
    assert "supervisor\n  recipient: " + recipient in text
    (repo / TEAM).write_text(text)
    assert load_team(repo).get("njeri").has_role("supervisor")
    hand_commit(repo, "njeri", "team add njeri", [TEAM], path)
    assert "signer-not-allowed" in codes(sup)


def test_history_before_signing_is_one_note(tmp_env, team):
    """A repository made before cpcm signed: its old commits are a note, not problems; once the
    founder records their key every new commit is checked."""
    from cpcm import clock, service

    root = tmp_env / "old"
    service.init(root, "TEST", "T", "sup", "", ["supervisor"], team["sup"][1], clock.now(), timezone="UTC")
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert "unsigned-commit" not in codes(sup)
    assert sup("key", "publish").code == 0
    register(sup)
    result = sup("verify", "--json")
    assert result.code == 0, result.stdout
    assert [(p["code"], p["severity"]) for p in result.json()] == [("history-before-signing", "note")]
    assert "1 commit" in result.json()[0]["message"]
    # an unsigned commit after signing began is a problem, and so is one made on a branch from
    # the old history (it is no ancestor of the first signed commit)
    first = git(root, "rev-list", "--max-parents=0", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "side", first)
    (root / "cases" / ".keep").write_text("x")
    side = hand_commit(root, "sup", "repair", ["cases/.keep"], None)
    git(root, "checkout", "-q", "main")
    git(root, "-c", "user.name=x", "-c", "user.email=x@x", "merge", "-q", "--no-edit", "side")
    messages = [p["message"] for p in sup("verify", "--json").json() if p["code"] == "unsigned-commit"]
    assert any(side[:10] in m for m in messages) and len(messages) == 2  # the side commit and git's merge


def test_two_copies_that_changed_one_workers_signing_keys_merge_to_both():
    """A key added on one copy and the same worker's key revoked on the other: the merge keeps
    every key and the revocation, whichever side is whose."""
    from cpcm.domain.team import SigningKey, Team, Worker
    from cpcm.store.audit import team_from
    from cpcm.store.config import team_bytes
    from cpcm.store.merge import merge_team

    base = Worker("amina", "Amina", ("caseworker",), "age1x", "2026-01-01T00:00:00+00:00",
                  signing_keys=(SigningKey("ssh-ed25519 AAAA1", "2026-01-01T00:00:00+00:00"),))
    revoked = base.revoke_signing_keys("2026-03-01T00:00:00+03:00")
    grown = base.with_signing_key("ssh-ed25519 AAAA2", "2026-02-01T00:00:00+00:00")
    for ours, theirs in ((revoked, grown), (grown, revoked)):
        data, _ = merge_team(team_bytes(Team((base,))), team_bytes(Team((ours,))), team_bytes(Team((theirs,))))
        keys = team_from(data).get("amina").signing_keys
        # the key published apart was not known to the revocation: it stays as published
        assert [(k.key, k.revoked) for k in keys] == [("ssh-ed25519 AAAA1", "2026-03-01T00:00:00+03:00"),
                                                      ("ssh-ed25519 AAAA2", "")]


LATER = {"CPCM_NOW": "2099-01-01T09:00:00+03:00"}


def _pushed_after_revocation(laptops, team) -> tuple[str, str]:
    """amina's and otieno's laptops cloned; otieno's key revoked at the office (not synced yet) from
    2098-06-01; a commit signed with it, dated after that, pushed to the shared folder with plain git
    from his lost laptop. The case's ID and the commit's."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    laptops.laptop("amina")
    laptops.laptop("otieno")
    root = laptops.clones["otieno"]
    assert laptops.cli("sup", **LATER)("team", "revoke", "otieno", "--lost", "--from", "2098-06-01").code == 0
    rel = forge_record(root, case_id, "note", "otieno", {"text": "seen"})
    when = int(datetime.fromisoformat("2098-07-01T00:00:00+00:00").timestamp())
    sha = hand_commit(root, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", [rel], team["otieno"][0], when)
    git(root, "push", "-q", str(laptops.bare), "HEAD:main")
    return case_id, sha


def test_a_shared_remote_a_revoked_key_pushed_to_is_left_for_a_new_one_as_the_refusal_says(laptops, team, tmp_env):
    """otieno's laptop is lost and his key revoked at the office; before the office syncs, the thief
    pushes a commit signed with his key, dated after the revocation, to the shared folder with plain
    git. Every sync of the office with that folder is now refused (nothing taken in). The supervisor
    is told how the team goes on: a new shared place; following it, the office and amina's laptop
    (which has not synced since) sync again through it, and the revocation reaches amina. (A copy
    that took the commit in before it knew of the revocation: docs/security.md.)"""
    case_id, _ = _pushed_after_revocation(laptops, team)
    later = LATER
    office = laptops.cli("sup", **later)
    before = tree_state(laptops.repo)
    refused = office("sync")
    assert refused.code == 4 and "revoked-key" in refused.stderr, refused.stderr
    assert tree_state(laptops.repo) == before
    assert "cpcm remote add NEW PATH --create" in refused.stderr and "cpcm remote remove origin" in refused.stderr, refused.stderr
    assert case_id not in refused.stderr
    # as the refusal says
    fresh = tmp_env / "fresh.git"
    assert office("remote", "add", "fresh", str(fresh), "--create").code == 0
    assert office("sync", "fresh").code == 0
    assert office("remote", "remove", "origin").code == 0
    on_laptop = laptops.cli("amina", **later)
    assert on_laptop("remote", "add", "fresh", str(fresh)).code == 0
    assert on_laptop("note", case_id, "--text", "home visit done").code == 0
    done = on_laptop("sync", "fresh")
    assert done.code == 0, done.stderr
    assert office("sync", "fresh").code == 0
    revoked = {w["id"]: w for w in on_laptop("team", "list", "--all", "--json").json()}["otieno"]
    assert revoked["signing_keys"][0]["revoked"].startswith("2098-06-01")
    notes = [e for e in office("show", case_id, "--json").json()["history"] if e["kind"] == "note"]
    assert [e["by"] for e in notes] == ["amina"]  # the thief's note is not in; amina's is
    assert office("verify", "--json").code == 0


def test_a_copy_that_took_in_a_revoked_keys_commit_before_it_knew_does_not_carry_it_to_the_new_shared_place(
        laptops, team, tmp_env):
    """As above, but amina's laptop synced with the old shared folder after the thief's push and
    before the revocation reached it: her copy took the commit in (it could not know). When she
    syncs with the team's new shared place, which brings the revocation, nothing is merged or
    pushed: the new place stays clean and the office keeps syncing through it. The refusal says how
    she goes on: a new copy from the new place, where she writes again what she wrote since."""
    case_id, sha = _pushed_after_revocation(laptops, team)
    later = LATER
    office = laptops.cli("sup", **later)
    amina = laptops.cli("amina", **later)
    assert amina("sync").code == 0  # taken in: this copy does not know of the revocation yet
    assert amina("note", case_id, "--text", "home visit done").code == 0
    fresh = tmp_env / "fresh.git"
    assert office("remote", "add", "fresh", str(fresh), "--create").code == 0
    assert office("sync", "fresh").code == 0
    assert amina("remote", "add", "fresh", str(fresh)).code == 0
    shared, before = git(fresh, "rev-parse", "main").strip(), tree_state(laptops.clones["amina"])
    refused = amina("sync", "fresh")
    assert refused.code == 4 and f"{sha[:10]} revoked-key" in refused.stderr, refused.stderr
    assert "nothing was merged or pushed" in refused.stderr and "git clone PATH FOLDER" in refused.stderr, refused.stderr
    assert case_id not in refused.stderr
    assert git(fresh, "rev-parse", "main").strip() == shared and tree_state(laptops.clones["amina"]) == before
    assert office("sync", "fresh").code == 0  # the new place is clean
    # as the refusal says: a new copy from the new place, the note written again there
    subprocess.run(["git", "clone", "-q", str(fresh), str(tmp_env / "amina-again")], check=True, capture_output=True)
    again = Cli({**amina.env, "CPCM_REPO": str(tmp_env / "amina-again")})
    assert again("note", case_id, "--text", "home visit done").code == 0
    assert again("sync").code == 0 and office("sync", "fresh").code == 0
    notes = [e["by"] for e in office("show", case_id, "--json").json()["history"] if e["kind"] == "note"]
    assert notes == ["amina"] and office("verify", "--json").code == 0
    # the old copy keeps what it held: the note is still readable there
    assert [e["by"] for e in amina("show", case_id, "--json").json()["history"] if e["kind"] == "note"] == ["otieno", "amina"]


def test_the_command_the_signing_key_option_and_its_refusal_name_prints_the_line_it_takes(tmp_env, team, repo, cli_as):
    """`cpcm key publish --signing-key`: the command its help names, and the one its refusal of
    another line names, print the line a supervisor gives it (`cpcm key show` alone prints the
    age recipient, which it refuses)."""
    import re

    from typer.main import get_command

    from cpcm.cli.app import build

    publish = get_command(build("key")).commands["key"].commands["publish"]
    option = next(p for p in publish.params if "--signing-key" in getattr(p, "opts", ()))
    path = tmp_env / "keys" / "njeri.txt"
    sup = cli_as("sup")
    recipient = make_identity(path)
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    refused = sup("key", "publish", "--worker", "njeri", "--signing-key", recipient)
    assert refused.code == 4, refused.stderr
    for named in (re.search(r"'cpcm ([^']+)'", option.help).group(1), re.search(r"as cpcm (.+?) prints it", refused.stderr).group(1)):
        shown = Cli({"CPCM_IDENTITY": str(path)})(*named.split())
        assert shown.code == 0, shown.stderr
        assert shown.stdout.strip().split()[:2] == signing_line(path).split()[:2], (named, shown.stdout)
    done = sup("key", "publish", "--worker", "njeri", "--signing-key", shown.stdout.strip(), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["signing_key"] == signing_line(path)


def test_a_syncs_own_reads_of_a_merge_take_a_record_whose_file_name_is_not_its_own_as_damaged(cli, repo):
    """Every reader takes a record file holding another kind than its name's as damaged (`layout.named_as`); the
    sync's merge-time reads did not (the records its conflict checks fold, and those a repair may supersede):
    an approval in a file named as a note counted there as the approval it holds."""
    from conftest import library_session
    from cpcm.service import apart, sync
    from cpcm.store.remote import Entry, Tree

    case_id = register(cli)
    honest = [p for p in git(repo, "ls-files", case_rel(case_id)).split() if p.endswith(".yaml.age")]
    forged = forge_record(repo, case_id, "approval", "amina", {"subject": "closure", "decision": "approved"}, named="note")
    entries = Tree({p: Entry("100644", git(repo, "hash-object", "-w", p).strip()) for p in [*honest, forged]})
    ctx = library_session(cli)
    assert [r.kind for r in sync._decrypted(ctx, entries, honest)] == ["registration"]
    assert sync._decrypted(ctx, entries, [*honest, forged]) is None
    folder = forged.rpartition("/")[0]
    names = [p.rpartition("/")[2] for p in entries]
    seen = apart.Apart(sync._git(ctx), ctx.keys, folder, Tree(), entries, entries)
    assert set(seen.bodies(names, 0)) == {name.split(".")[0] for name in names if name != forged.rpartition("/")[2]}

"""git objects read from the repository's files, loose or packed (`cpcm.store.objects`), are what
git gives (`cat-file`) for every object, through chains of deltas of both kinds; a damaged pack
gives nothing (git answers instead), never other bytes; and the commit's folders are read without
a git process once its objects are packed."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest
from conftest import git

from cpcm.store import objects
from cpcm.store.layout import case_dir
from cpcm.store.git import Git


@pytest.fixture(autouse=True)
def _forget():
    objects._RECENT.clear()
    objects._PACKS.clear()
    yield
    objects._RECENT.clear()
    objects._PACKS.clear()


def _history(root, commits: int = 40) -> None:
    """A repository whose trees and files change a little from commit to commit, as a casefile
    repository's do: packed, most of them are deltas of another."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for n in range(commits):
        folder = case_dir(root, f"CP-{n % 7:04d}-0000")  # cases/00/CP-...
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:04d}.note.yaml.age").write_bytes(b"line of a record\n" * (50 + n) + bytes([n]))
        (root / "cases" / "list.txt").write_text("".join(f"entry {i}\n" for i in range(300 + n)))
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"note {n}")


def _all_objects(root) -> list[str]:
    return sorted({line.split()[0] for line in git(root, "rev-list", "--objects", "--all").splitlines() if line})


def _cat(root, sha: str) -> tuple[bytes, bytes]:
    kind = git(root, "cat-file", "-t", sha).strip().encode()
    body = subprocess.run(["git", "-C", str(root), "cat-file", kind.decode(), sha], capture_output=True, check=True).stdout
    return kind, body


def _only_packed(root) -> None:
    for folder in glob.glob(str(root / ".git" / "objects" / "??")):
        shutil.rmtree(folder)


def _git_dir(root, packed: bool) -> str:
    """The repository's git folder, its objects packed (and only packed) when `packed`."""
    if packed:
        git(root, "gc", "-q")
        _only_packed(root)
    return str(root / ".git")


def test_every_object_of_a_packed_repository_reads_as_git_gives_it(tmp_path):
    root = tmp_path / "repo"
    _history(root)
    git(root, "gc", "-q", "--aggressive")  # offset deltas, chains of them
    _only_packed(root)
    assert _stored_kinds(root).count(6) > 10
    git_dir = str(root / ".git")
    for sha in _all_objects(root):
        assert objects.read(git_dir, sha) == _cat(root, sha), sha



def test_the_pages_of_a_pack_handed_back_are_read_again_as_git_gives_them(tmp_path):
    """`objects.let_go` hands back the pages of the packs' maps a read touched (at 100,000 cases the trees of `cases/`
    touched about 130 MB of a pack): the maps stay, and every object reads as before, from the system's file cache."""
    root = tmp_path / "repo"
    _history(root)
    git(root, "gc", "-q", "--aggressive")
    _only_packed(root)
    git_dir = str(root / ".git")
    shas = _all_objects(root)
    first = [objects.read(git_dir, sha) for sha in shas]
    maps = [(pack.idx, pack.pack) for pack in objects._PACKS[os.path.join(git_dir, "objects")][1]]
    objects.let_go(git_dir)
    objects._RECENT.clear()
    assert [(pack.idx, pack.pack) for pack in objects._packs(os.path.join(git_dir, "objects"))] == maps  # the same maps, not opened again
    assert [objects.read(git_dir, sha) for sha in shas] == first == [_cat(root, sha) for sha in shas]
    objects.let_go(str(tmp_path / "not-a-repository"))  # nothing read there: nothing to hand back

def _stored_kinds(root) -> list[int]:
    """The kind each object of the repository's packs is stored as (6: a delta whose base is
    named by its offset, 7: by its id)."""
    kinds = []
    for idx in glob.glob(str(root / ".git" / "objects" / "pack" / "*.idx")):
        pack = objects._Pack(idx, idx[:-4] + ".pack")
        for n in range(pack.count):
            at = pack.shas + 20 * n
            kinds.append((pack.pack[pack.offset(bytes(pack.idx[at:at + 20]))] >> 4) & 7)
    return kinds


def test_deltas_that_name_their_base_by_id_read_as_git_gives_them(tmp_path):
    root = tmp_path / "repo"
    _history(root)
    shas = _all_objects(root)
    pack_dir = root / ".git" / "objects" / "pack"
    # without --delta-base-offset, git names each delta's base by its id (as packs sent by
    # older gits do)
    subprocess.run(["git", "-C", str(root), "pack-objects", "-q", "--window=50", "--depth=50", str(pack_dir / "pack")],
                   input="".join(f"{sha}\n" for sha in shas).encode(), check=True, capture_output=True)
    _only_packed(root)
    assert _stored_kinds(root).count(7) > 10
    git_dir = str(root / ".git")
    for sha in shas:
        assert objects.read(git_dir, sha) == _cat(root, sha), sha


def test_a_damaged_pack_gives_nothing_rather_than_other_bytes(tmp_path):
    root = tmp_path / "repo"
    _history(root, commits=12)
    git(root, "gc", "-q")
    _only_packed(root)
    git_dir = str(root / ".git")
    expected = {sha: _cat(root, sha) for sha in _all_objects(root)}
    [pack] = glob.glob(str(root / ".git" / "objects" / "pack" / "*.pack"))
    data = open(pack, "rb").read()
    read = 0
    for at in range(12, len(data) - 20, max(1, len(data) // 60)):
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        os.chmod(pack, 0o644)
        with open(pack, "wb") as handle:
            handle.write(damaged)
        objects._RECENT.clear()
        objects._PACKS.clear()
        for sha, object_ in expected.items():
            found = objects.read(git_dir, sha)
            assert found is None or found == object_, sha
            read += found is not None
    assert read  # (most objects are untouched by each change: they still read)
    with open(pack, "wb") as handle:
        handle.write(data)
    # an index that sends each object's id to another's place in the pack
    [idx] = glob.glob(str(root / ".git" / "objects" / "pack" / "*.idx"))
    table = objects._Pack(idx, pack)
    raw = bytearray(open(idx, "rb").read())
    offsets = raw[table.offsets:table.large]
    raw[table.offsets:table.large] = offsets[4:] + offsets[:4]
    os.chmod(idx, 0o644)
    with open(idx, "wb") as handle:
        handle.write(raw)
    objects._PACKS.clear()
    objects._RECENT.clear()
    assert all(objects.read(git_dir, sha) in (None, object_) for sha, object_ in expected.items())
    assert objects.read(git_dir, "0" * 40) is None
    assert objects.read(git_dir, "not an id") is None


def test_folders_of_a_packed_commit_are_read_without_git_and_as_git_lists_them(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    _history(root)
    # a folder whose name holds another's entry, as a name made by hand could
    tricky = root / "cases" / "00" / "CP-00x 40000 CP-0001-0000"
    tricky.mkdir()
    (tricky / "f").write_text("not a case\n")
    alone = root / "cases" / "00" / "CP-00y 40000 CP-9999-0000"
    alone.mkdir()
    (alone / "g").write_text("not a case either\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "by hand")
    git(root, "gc", "-q")
    _only_packed(root)
    expected = {}
    for folder in ["cases", "cases/00", "cases/00/CP-0001-0000", "cases/00/CP-0003-0000", "cases/00/CP-00x 40000 CP-0001-0000",
                   "cases/00/CP-9999-0000"]:
        listed = git(root, "ls-tree", "-z", f"HEAD:{folder}") if folder != "cases/00/CP-9999-0000" else ""
        expected[folder] = {line.partition("\t")[2]: line.split()[2] for line in listed.split("\0") if line and " blob " in line}
    store = Git(root)

    def no_git(*args, **kwargs):
        raise AssertionError("a git process was run")
    monkeypatch.setattr(store, "run", no_git)
    assert store.head() == git(root, "rev-parse", "HEAD").strip()
    assert store.tree_id("cases") == git(root, "rev-parse", "HEAD:cases").strip()
    for folder, files in expected.items():
        assert store.file_ids(folder) == files, folder
    assert set(store.tree_ids("cases")) == {f"CP-{n:04d}-0000" for n in range(7)} | {tricky.name, alone.name}


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_objects_named_as_cat_file_names_them_read_as_git_gives_them_and_the_batches_start_no_git(tmp_path, monkeypatch, packed):
    """What a sync and the history checks read in a batch (`git cat-file --batch` names: an id, or
    COMMIT:PATH and TREE:PATH) is read from git's files as git gives it; a path not there is missing as git
    says; the names it cannot read (HEAD, a path through a file, a link to a repository) are left to
    git. `remote._batch` and `audit.read_blobs` then start no git process for the names it reads."""
    from cpcm.store import audit, remote
    from cpcm.store.git import named_ids, read_named
    root = tmp_path / "repo"
    _history(root, commits=12)
    (root / "link").symlink_to("cases")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a link")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{git(root, 'rev-parse', 'HEAD').strip()},module")
    git(root, "commit", "-q", "-m", "a repository inside")
    _git_dir(root, packed)
    commits = git(root, "rev-list", "HEAD").split()
    tree = git(root, "rev-parse", "HEAD^{tree}").strip()
    paths = ["", "cases", "cases/00", "cases/00/CP-0001-0000", "cases/00/CP-0001-0000/0001.note.yaml.age", "cases/list.txt",
             "link", "nothing", "cases/nothing", "cases/list.txt/under-a-file", "module", "module/inside"]
    names = [f"{rev}:{path}" for rev in (*commits[:3], commits[-1], tree) for path in paths]
    names += commits + [tree, "HEAD:cases", "HEAD", "0" * 40]
    out = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], input="".join(f"{n}\n" for n in names).encode(),
                         capture_output=True, check=True).stdout
    given, pos = {}, 0
    for name in names:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3:
            given[name] = (header[1], out[pos:pos + int(header[2])])
            pos += int(header[2]) + 1
        else:
            given[name] = None
    objects._RECENT.clear()
    read = read_named(str(root / ".git"), names)
    for name, found in read.items():
        assert found == given[name], name
    left = set(names) - set(read)
    assert left == {n for n in names if n.startswith("HEAD") or n.endswith("under-a-file")} | {"0" * 40} | \
        {f"{rev}:{path}" for rev in (commits[0], tree) for path in ("module", "module/inside")}
    assert {name: entry for name, entry in named_ids(str(root / ".git"), names).items() if entry} == \
        {name: (git(root, "rev-parse", name).strip(), found[0]) for name, found in read.items() if found}

    def no_git(*args, **kwargs):
        raise AssertionError("a git process was run")
    monkeypatch.setattr(subprocess, "run", no_git)
    readable = [name for name in read if read[name] is not None]
    assert remote._batch(Git(root), readable + [f"{tree}:nothing"]) == {name: given[name][1] for name in readable}
    blobs = [sha for name, (kind, _) in ((n, read[n]) for n in readable) if kind == b"blob" for sha in [named_ids(str(root / ".git"), [name])[name][0]]]
    assert audit.read_blobs(root, blobs) == {sha: objects.read(str(root / ".git"), sha)[1] for sha in blobs}
    assert audit.team_at(root, commits[0]) is None  # no team file: read as missing, no git


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_ancestry_and_refs_read_from_the_files_are_what_git_answers(tmp_path, packed):
    """`ancestry_read` answers as `git merge-base --is-ancestor` for every pair of commits of a history with
    branches and merges, or not at all (past its limit, a shallow copy); `read_ref` gives what a branch names,
    loose or packed, and nothing for a symbolic ref; `ref_packed` says whether packed-refs may hold a ref."""
    from cpcm.store.git import ancestry_read, read_ref, ref_packed
    root = tmp_path / "repo"
    _history(root, commits=4)
    git(root, "checkout", "-q", "-b", "side")
    for n in range(3):
        (root / f"side{n}").write_text(f"{n}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"side {n}")
    git(root, "checkout", "-q", "main")
    (root / "main-only").write_text("x\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main")
    git(root, "merge", "-q", "--no-edit", "side")
    git(root, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    git_dir = _git_dir(root, packed)
    commits = git(root, "rev-list", "--all").split()
    asked = 0
    for older in commits + [git(root, "rev-parse", "HEAD^{tree}").strip(), "1" * 40]:
        for newer in commits:
            answer = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", older, newer]).returncode == 0
            assert ancestry_read(git_dir, older, newer) == answer, (older, newer)
            asked += answer
    assert 0 < asked < len(commits) ** 2
    head = git(root, "rev-parse", "HEAD").strip()
    assert ancestry_read(git_dir, commits[-1], head, limit=2) is None
    assert ancestry_read(git_dir, "HEAD", head) is None
    assert read_ref(git_dir, "refs/heads/main") == head
    assert read_ref(git_dir, "refs/heads/side") == git(root, "rev-parse", "side").strip()
    assert read_ref(git_dir, "refs/heads/alias") is None and read_ref(git_dir, "refs/heads/none") is None
    assert ref_packed(git_dir, "refs/heads/side") is packed and ref_packed(git_dir, "refs/heads/none") is False
    (root / ".git" / "shallow").write_text(commits[-1] + "\n")
    assert ancestry_read(git_dir, commits[-1], head) is None


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_trees_compared_and_files_listed_from_the_files_are_what_git_gives(tmp_path, packed):
    """`tree_diff` of any two commits is `git diff-tree -r --no-renames` (the same files, entries and order),
    or nothing where git must answer (a folder that became a file); `files_at` is `git ls-tree -r --full-tree`."""
    from cpcm.store.git import files_at, tree_diff
    root = tmp_path / "repo"
    _history(root, commits=10)
    (root / "cases" / "00" / "CP-0000-0000" / "0000.note.yaml.age").unlink()  # a file deleted
    (root / "a.b").write_text("sorted before the folder a\n")
    (root / "a").mkdir()
    (root / "a" / "x").write_text("x\n")
    (root / "team.yaml").write_text("team\n")
    (root / "run").write_text("#!/bin/sh\n")
    (root / "run").chmod(0o755)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "files at the top")
    (root / "run").chmod(0o644)  # a mode changed only
    shutil.rmtree(root / "a")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a folder removed")
    (root / "a").write_text("now a file\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a file where the folder was")
    git_dir = _git_dir(root, packed)
    commits = git(root, "rev-list", "HEAD").split()
    compared = 0
    for old in commits:
        for new in commits:
            listed = git(root, "diff-tree", "-r", "-z", "--no-renames", old, new).split("\0")
            expected = {path: tuple(None if sha.strip("0") == "" else (mode, sha) for mode, sha in ((a, c), (b, d)))
                        for (a, b, c, d), path in ((meta.lstrip(":").split()[:4], path) for meta, path in zip(listed[0::2], listed[1::2]))}
            found = tree_diff(git_dir, old, new)
            if found is None:
                assert {old, new} & {commits[0]} and {old, new} & set(commits[1:3]), (old, new)  # only where "a" changes kind
                continue
            compared += 1
            assert list(found.items()) == list(expected.items()), (old, new)
    assert compared > len(commits) ** 2 - 6
    for commit in commits:
        paths = ["team.yaml", "a", "cases/00", "nothing", "cases/list.txt"]
        listed = git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths).split("\0")
        assert files_at(git_dir, commit, paths) == [(meta.split()[0], path, meta.split()[2]) for meta, _, path in
                                                    (item.partition("\t") for item in listed if item)], commit


def test_the_remotes_are_read_from_the_config_file_again_only_when_it_changed(tmp_path, monkeypatch):
    """`remote.remotes` reads the repository's config file as git lists it (once), then nothing more until the
    file changes; a config file that includes another is left to git, which follows the include."""
    from cpcm.store import git as gitfiles
    from cpcm.store import remote
    root = tmp_path / "repo"
    _history(root, commits=1)
    git(root, "remote", "add", "usb", "/media/USB STICK/casefiles.git")
    git(root, "remote", "add", "Office", "ssh://office/casefiles.git")
    started = []  # each read of the file
    read = gitfiles._plain_settings
    monkeypatch.setattr(gitfiles, "_plain_settings", lambda data: started.append("read") or read(data))
    store = Git(root)
    expected = {"usb": "/media/USB STICK/casefiles.git", "Office": "ssh://office/casefiles.git"}
    assert remote.remotes(store) == expected and len(started) == 1
    assert remote.remotes(store) == expected and len(started) == 1
    subprocess.run(["git", "-C", str(root), "remote", "set-url", "usb", "/media/other/casefiles.git"], check=True)
    assert remote.remotes(store) == {**expected, "usb": "/media/other/casefiles.git"} and len(started) == 2
    (tmp_path / "more").write_text('[remote "laptop"]\n\turl = /home/amina/casefiles\n')
    subprocess.run(["git", "-C", str(root), "config", "include.path", str(tmp_path / "more")], check=True)
    assert remote.remotes(store) == {**expected, "usb": "/media/other/casefiles.git", "laptop": "/home/amina/casefiles"}


def _listed_by_git(path) -> dict[str, str] | None:
    done = subprocess.run(["git", "config", "--file", str(path), "-z", "--list"], capture_output=True)
    if done.returncode != 0:
        return None
    return {key: value for key, _, value in (item.decode("utf-8", "replace").partition("\n")
                                             for item in done.stdout.split(b"\0")) if key}


def test_a_config_file_as_git_and_cpcm_write_it_is_read_without_git_and_as_git_lists_it(tmp_path, monkeypatch):
    """`file_settings` reads a repository's config file itself when it is written plainly (git init, remote add,
    cpcm's settings and sync marks, a URL with spaces): the same keys, values and order as `git config --list`."""
    from cpcm.store import git as gitfiles
    from cpcm.store import remote
    root = tmp_path / "repo"
    _history(root, commits=1)
    git(root, "remote", "add", "usb", "/media/USB STICK/casefiles.git")
    git(root, "remote", "add", "Office", "ssh://office/casefiles.git")
    git(root, "config", "remote.Office.cpcm-synced", "0" * 40)
    git(root, "config", "gc.auto", "0")
    git(root, "config", "--add", "remote.usb.fetch", "+refs/tags/*:refs/tags/*")
    path = root / ".git" / "config"
    started = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, *a, **k: started.append(args[1]) or real(args, *a, **k))
    settings = gitfiles.file_settings(str(path))
    assert started == [] and settings is not None
    assert list(settings.items()) == list(_listed_by_git(path).items())
    assert remote.remotes(Git(root)) == {"usb": "/media/USB STICK/casefiles.git", "Office": "ssh://office/casefiles.git"}


PLAIN = ["[core]", "[remote \"origin\"]", "[Remote \"Office\"]", "[branch \"main\"]", "\tbare = false", "url = /a b/c.git",
         "\tfetch = +refs/heads/*:refs/remotes/origin/*", "Url=/x", "cpcm-synced = 0123abc", "filemode", "empty =",
         "", "# a comment", "\t; another", "value = a  b", "k = é ü", "x = a=b"]
UNUSUAL = ["[a.b]", "[core] bare = true", "[remote  \"x\"]", "[remote \"a\\\"b\"]", "[]", "[ core ]", "key = \"quoted\"",
           "key = a # comment", "key = a ; comment", "key = a\\", "key = a\\tb", "key = a\tb", "1key = x", "-key = x",
           "ke_y = x", "key = \"a\" b", "[include]", "\tpath = other", "key = a\r", "key"]


@pytest.mark.parametrize("seed", range(3))
def test_a_config_file_read_without_git_reads_as_git_reads_it_or_is_left_to_git(tmp_path, seed):
    """Any config file: `_plain_settings` gives exactly what `git config --list` gives, or None (git reads it).
    Lines written as git writes them, and lines git reads in its own ways (quotes, escapes, a comment after a value,
    a tab inside one, the old subsection syntax, a setting on a section's line, a carriage return, bytes not UTF-8)."""
    import random

    from cpcm.store.git import _plain_settings
    rng = random.Random(seed)
    read_here = 0
    for n in range(120):
        lines = [rng.choice(PLAIN if rng.random() < 0.85 else UNUSUAL) for _ in range(rng.randint(0, 12))]
        lines[:0] = [rng.choice(PLAIN[:4])] if rng.random() < 0.9 else []  # a setting before any section: git refuses
        data = "\n".join(lines).encode()
        data = rng.choice([data, data + b"\n", b"\xef\xbb\xbf" + data, data.replace(b"\n", b"\r\n"), data + b"\n\xff"]
                          if rng.random() < 0.1 else [data + b"\n"])
        path = tmp_path / f"config{n}"
        path.write_bytes(data)
        mine = _plain_settings(data)
        if mine is not None:
            read_here += 1
            assert list(mine.items()) == list(_listed_by_git(path).items()), data
    assert read_here > 40  # most files are plain: the comparison is not empty


def test_the_synced_mark_is_read_with_the_remotes_from_the_config_file(tmp_path, monkeypatch):
    """`remote.synced` reads cpcm's mark of the last sync from the config file `remote.remotes` read (no git process
    more), the remote's name as written (git keeps its case); a config file that includes another is left to git."""
    from cpcm.store import remote
    root = tmp_path / "repo"
    _history(root, commits=2)
    first, second = git(root, "rev-list", "HEAD").split()[::-1]
    git(root, "remote", "add", "Office", "ssh://office/casefiles.git")
    store = Git(root)
    remote.set_ref(store, "refs/remotes/Office/main", second)
    git(root, "config", f"remote.Office.{remote.SYNCED_KEY}", first)
    assert remote.remotes(store) == {"Office": "ssh://office/casefiles.git"}
    started = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, *a, **k: started.append(args[1:3]) or real(args, *a, **k))
    assert remote.synced(store, "Office") == (first, None) and started == []
    assert remote.synced(store, "office") == (None, None)  # another remote: never synced, its branch unknown
    (tmp_path / "more").write_text(f'[remote "Office"]\n\t{remote.SYNCED_KEY} = {second}\n')
    real(["git", "-C", str(root), "config", "include.path", str(tmp_path / "more")], check=True)
    assert remote.synced(store, "Office") == (second, None)  # the included file's, the later: as git reads it


def test_a_ref_and_the_synced_mark_already_right_are_not_written_again(tmp_path, monkeypatch):
    """The end of a sync that brought nothing: the remote's branch and the synced mark already name the commit,
    so no git process writes them (git would write no reflog line either); a new commit is written by git."""
    from cpcm.store import remote
    root = tmp_path / "repo"
    _history(root, commits=2)
    first, second = git(root, "rev-list", "HEAD").split()[::-1]
    store = Git(root)
    remote.set_ref(store, "refs/remotes/usb/main", first)
    remote.mark_synced(store, "usb", first)
    started = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, *a, **k: started.append(
        " ".join(word for word in args[1:] if not word.startswith(("--git-dir", "--work-tree", "-c", "core.")))[:17])
        or real(args, *a, **k))
    remote.set_ref(store, "refs/remotes/usb/main", first)
    remote.mark_synced(store, "usb", first)
    assert started == []  # the config file read by cpcm, nothing written
    remote.set_ref(store, "refs/remotes/usb/main", second)
    remote.mark_synced(store, "usb", second)
    assert [args.split()[0] for args in started] == ["update-ref", "config"]
    assert git(root, "rev-parse", "refs/remotes/usb/main").strip() == second
    assert git(root, "config", "remote.usb.cpcm-synced").strip() == second
    assert len(git(root, "reflog", "refs/remotes/usb/main").splitlines()) == 2

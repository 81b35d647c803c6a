"""git objects read from the repository's own files, loose or in a pack, without a git process.

A read of the last commit (its tree, a case's folder) is a git process of some milliseconds when
its objects are packed (`git gc`, and cpcm's own `pack_when_due`); `show` needs two of them.
This module reads a loose object file or finds the object in a pack through the pack's index
(version 2, as git has written since 2007), following its chain of deltas. The object read is
checked against its id (SHA-1 of git's header and body) when it comes from a pack, so anything
this reader gets wrong there is never taken for the object: `read` returns None and git answers, as for anything unusual (an
object in an alternate store, a multi-pack index alone, an index of version 1, a damaged pack).
Nothing here writes."""

from __future__ import annotations

import hashlib
import mmap
import os
import zlib

KINDS = {1: b"commit", 2: b"tree", 3: b"blob", 4: b"tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
_IDX_MAGIC = b"\377tOc\x00\x00\x00\x02"  # a pack index of version 2
_MAX_CHAIN = 1000  # deltas followed at most (git's own packs go to 50; --aggressive to 250)
_CHUNK = 1 << 16


class _Pack:
    """One pack and its index, mapped into memory."""

    def __init__(self, idx_path: str, pack_path: str):
        with open(idx_path, "rb") as handle:
            self.idx = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        with open(pack_path, "rb") as handle:
            self.pack = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self.idx[:8] != _IDX_MAGIC or self.pack[:4] != b"PACK":
            raise ValueError("not a pack of version 2")
        self.count = int.from_bytes(self.idx[8 + 255 * 4:8 + 256 * 4], "big")
        self.shas = 8 + 1024
        self.offsets = self.shas + 24 * self.count  # after the ids and their CRCs
        self.large = self.offsets + 4 * self.count

    def offset(self, sha: bytes) -> int | None:
        """Where the object `sha` (20 bytes) starts in the pack; None when it is not in it."""
        idx, first = self.idx, sha[0]
        low = int.from_bytes(idx[8 + 4 * (first - 1):8 + 4 * first], "big") if first else 0
        high = int.from_bytes(idx[8 + 4 * first:12 + 4 * first], "big")
        while low < high:
            middle = (low + high) // 2
            at = self.shas + 20 * middle
            found = idx[at:at + 20]
            if found == sha:
                offset = int.from_bytes(idx[self.offsets + 4 * middle:self.offsets + 4 * middle + 4], "big")
                if offset & 0x80000000:  # in the table of offsets beyond 2 GiB
                    at = self.large + 8 * (offset & 0x7FFFFFFF)
                    offset = int.from_bytes(idx[at:at + 8], "big")
                return offset
            if found < sha:
                low = middle + 1
            else:
                high = middle
        return None


# the objects read last, by repository and id (an object's id names its content for good; the
# repository, that it holds it): an unlock agent reads the same root and `cases` trees for every
# command until a commit changes them
_RECENT: dict[tuple[str, bytes], tuple[bytes, bytes]] = {}
_RECENT_MAX = 8

# each repository's packs, kept while the folder of packs is as it was (an unlock agent lives on)
_PACKS: dict[str, tuple[tuple, list[_Pack]]] = {}


def _packs(store: str) -> list[_Pack] | None:
    """The packs of the object folder `store` (None when they cannot all be read plainly: git answers)."""
    folder = os.path.join(store, "pack")
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(".idx"))
        key = tuple((name, os.stat(os.path.join(folder, name)).st_mtime_ns) for name in names)
    except FileNotFoundError:
        return []
    except OSError:
        return None
    known = _PACKS.get(store)
    if known is not None and known[0] == key:
        return known[1]
    packs = []
    try:
        for name in names:
            packs.append(_Pack(os.path.join(folder, name), os.path.join(folder, name[:-4] + ".pack")))
    except (OSError, ValueError):
        return None
    _PACKS[store] = (key, packs)
    return packs


def let_go(git_dir: str) -> None:
    """Hand back the pages of the packs' maps that reads touched (they stay in the system's file cache, and a
    read maps them again): reading the 1,025 trees of `cases/` at 100,000 cases touched about 130 MB of a pack,
    which counted in the process's memory (and its fill's workers', forked after) for the rest of the command."""
    known = _PACKS.get(os.path.join(git_dir, "objects"))
    advise = getattr(mmap, "MADV_DONTNEED", None)
    for pack in known[1] if known is not None else ():
        for mapped in (pack.idx, pack.pack):
            try:
                if advise is not None:
                    mapped.madvise(advise)
            except (OSError, ValueError):
                pass  # only memory: the pages stay until the command ends


def read(git_dir: str, sha: str) -> tuple[bytes, bytes] | None:
    """(kind, body) of the object `sha` (40 hex digits): b"commit", b"tree", b"blob" or b"tag" and
    its content, from its loose file or a pack; None when it is in neither as this module reads
    them, or what was read is not that object (git answers then)."""
    try:
        raw = bytes.fromhex(sha)
    except ValueError:
        return None
    if len(raw) != 20:
        return None
    store = os.path.join(git_dir, "objects")
    found = _RECENT.get((store, raw))
    if found is not None:
        return found
    found = _loose(store, sha)
    if found is None:
        found = _packed(store, raw, 0)
        if found is None or hashlib.sha1(b"%s %d\0%s" % (found[0], len(found[1]), found[1])).digest() != raw:
            return None
    if len(_RECENT) >= _RECENT_MAX:
        try:
            del _RECENT[next(iter(_RECENT))]
        except (KeyError, RuntimeError, StopIteration):
            pass  # another thread of the unlock agent took it meanwhile
    _RECENT[(store, raw)] = found
    return found


def read_loose(store: str, sha: str) -> tuple[bytes, bytes] | None:
    """(kind, body) of the object `sha` from its loose file in the object folder `store` (a quarantine
    folder, whose packs are never mapped here: they are moved next); None when it is not there."""
    return _loose(store, sha) if len(sha) == 40 and all(c in "0123456789abcdef" for c in sha) else None


def _loose(store: str, sha: str) -> tuple[bytes, bytes] | None:
    try:
        with open(os.path.join(store, sha[:2], sha[2:]), "rb") as handle:
            data = zlib.decompress(handle.read())
    except (OSError, zlib.error):
        return None
    header, _, body = data.partition(b"\0")
    kind, _, size = header.partition(b" ")
    if kind not in KINDS.values() or size != str(len(body)).encode():
        return None
    return kind, body


def _packed(store: str, sha: bytes, depth: int) -> tuple[bytes, bytes] | None:
    packs = _packs(store)
    for pack in packs or ():
        offset = pack.offset(sha)
        if offset is not None:
            try:
                return _unpack(store, pack, offset, depth)
            except (ValueError, IndexError, zlib.error):
                return None
    return None


def _unpack(store: str, pack: _Pack, offset: int, depth: int) -> tuple[bytes, bytes] | None:
    """The object at `offset`, its deltas applied in turn to their base."""
    deltas = []
    while True:
        if depth + len(deltas) > _MAX_CHAIN:
            return None
        data = pack.pack
        byte = data[offset]
        kind, size, shift, at = (byte >> 4) & 7, byte & 15, 4, offset + 1
        while byte & 0x80:
            byte = data[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        if kind in KINDS:
            body = _inflate(data, at, size)
            base_kind = KINDS[kind]
            break
        if kind == _OFS_DELTA:
            byte = data[at]
            at += 1
            back = byte & 0x7F
            while byte & 0x80:
                byte = data[at]
                at += 1
                back = ((back + 1) << 7) | (byte & 0x7F)
            deltas.append(_inflate(data, at, size))
            if not 0 < back <= offset:
                return None
            offset -= back
        elif kind == _REF_DELTA:
            base = bytes(data[at:at + 20])
            deltas.append(_inflate(data, at + 20, size))
            found = _loose(store, base.hex()) or _packed(store, base, depth + len(deltas))
            if found is None:
                return None
            base_kind, body = found
            break
        else:
            return None
    for delta in reversed(deltas):
        body = _apply(body, delta)
    return base_kind, body


def _inflate(data: mmap.mmap, at: int, size: int) -> bytes:
    """`size` bytes inflated from the zlib stream that starts at `at`."""
    stream = zlib.decompressobj()
    parts, have = [], 0
    while not stream.eof:
        if at >= len(data):
            raise ValueError("the pack ends inside an object")
        chunk = stream.decompress(data[at:at + _CHUNK])
        at += _CHUNK
        parts.append(chunk)
        have += len(chunk)
        if have > size:
            raise ValueError("an object larger than its header says")
    body = b"".join(parts)
    if len(body) != size:
        raise ValueError("an object of another size than its header says")
    return body


def _size(delta: bytes, at: int) -> tuple[int, int]:
    size = shift = 0
    while True:
        byte = delta[at]
        at += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return size, at


def _apply(base: bytes, delta: bytes) -> bytes:
    """`base` changed by git's delta `delta`: copies from the base and bytes of its own."""
    source, at = _size(delta, 0)
    target, at = _size(delta, at)
    if source != len(base):
        raise ValueError("a delta for another base")
    out = bytearray()
    end = len(delta)
    while at < end:
        op = delta[at]
        at += 1
        if op & 0x80:
            start = length = 0
            for bit in range(4):
                if op & (1 << bit):
                    start |= delta[at] << (8 * bit)
                    at += 1
            for bit in range(3):
                if op & (0x10 << bit):
                    length |= delta[at] << (8 * bit)
                    at += 1
            length = length or 0x10000
            if start + length > source:
                raise ValueError("a copy beyond the base")
            out += base[start:start + length]
        elif op:
            if at + op > end:
                raise ValueError("a delta cut short")
            out += delta[at:at + op]
            at += op
        else:
            raise ValueError("a delta's reserved instruction")
    if len(out) != target:
        raise ValueError("a delta of another size than it says")
    return bytes(out)

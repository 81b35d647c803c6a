"""What two copies wrote to one case apart, and the sync conflicts it makes (docs/team.md).

A sync's merge is a union of record files; what it cannot see from the files alone is two
copies that each went on as if the other had not: two closures, a plan version and a decision of
the one before, a placement and an update of where the child lives. `Apart` holds the records
each copy wrote apart (on one side only), reads those it needs (each decrypted once), and each of
its `conflicts` methods finds one kind of clash as (code, record IDs[, what it is about]). What
this worker cannot read is named rather than compared, for someone who reads it all to check.
`service/sync.py` makes a `sync_conflict` record of each; the fold settles them (fold.SETTLES) and
`cpcm check` reports them (rules.CONFLICT_PROBLEMS)."""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from cpcm.crypto import cipher
from cpcm.domain.records import Record, utc
from cpcm.store import codec, remote
from cpcm.store.layout import RECORD_FILE, holds_own
from cpcm.store.remote import Tree
from cpcm.workflow import mandatory_report as mandatory_rules
from cpcm.workflow import plan_actions
from cpcm.workflow import placements as placement_rules
from cpcm.workflow.approvals import REQUEST_KINDS
from cpcm.workflow import transfers as transfer_rules
from cpcm.workflow.fold import MISFILABLE, MISFILED, REFERRAL_UPDATES_CONCURRENT, RISK_CONCURRENT, fold, standing_closures, standing_transfers

TWO_CLOSURES, AFTER_CLOSURE, TWO_PLANS, TWO_ASSIGNMENTS = "two-closures", "record-after-closure", "plans-concurrent", "two-assignments"
TWO_CORRECTIONS, TWO_UPDATES, TWO_COVERS = "corrections-concurrent", "updates-concurrent", "covers-concurrent"
TWO_TRANSFERS, TWO_DECISIONS = "two-transfers", "decisions-concurrent"
CORRECTED_APPROVED = "correction-approved-concurrent"
TWO_PLACEMENTS, PLACEMENT_UPDATE = "placements-concurrent", "placement-update-concurrent"
MANDATORY_REPORTS = mandatory_rules.MANDATORY_REPORTS_CONCURRENT
TWO_KEYWORKERS = "keyworkers-concurrent"
# kinds a closed case takes without contradiction (on the other copy, alongside a closure)
_QUIET = ("closure", "approval", "rejection", "note", "sharing", "child_file_release", "sync_conflict", "repair", "case_link")

Found = tuple  # (code, record IDs) or (code, record IDs, what the conflict is about besides its records)


def record_kind(name: str) -> str:
    """The kind of a record file's name ('' for another file)."""
    match = RECORD_FILE.match(name)
    return match["kind"] if match else ""


def record_names(tree: Tree, folder: str) -> set[str]:
    """The record file names in a folder."""
    return {n for n in tree.names(folder) if RECORD_FILE.match(n)}


def at(record: dict) -> str | None:
    """A record's date (UTC), or None when it is not one."""
    try:
        return utc(str(record.get("at")))
    except (TypeError, ValueError):
        return None


def ids(names_: Iterable[str], kinds: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """The record IDs of the file names `names_` (of `kinds`, when given; not of `exclude`)."""
    return [n.split(".", 1)[0] for n in names_ if (kinds is None or record_kind(n) in kinds) and record_kind(n) not in exclude]


def latest(read: dict[str, dict]) -> dict:
    """The latest of `read` by its date (the record ID orders two of the same time), as the fold orders placements."""
    def when(item: tuple[str, dict]) -> tuple[str, str]:
        return at(item[1]) or "", item[0]
    return max(read.items(), key=when)[1]


class Apart:
    """The records two copies (`ours`, `theirs`) wrote to the case folder `folder` since `base`,
    each on one side only (a record both copies hold came to both, by a bundle and a remote, say)."""

    def __init__(self, git, keys, folder: str, base: Tree, ours: Tree, theirs: Tree,
                 decided: Callable[[str, dict, dict], list[str]] | None = None):
        self.git, self.keys, self.folder = git, keys, folder
        # the fields of a request of a kind (plan, closure) a decision stands on that differ between two bodies
        # (context.decided_changes); None: every field does
        self.decided = decided
        self.case_id = folder.rsplit("/", 1)[-1]  # a folder's last name is its ID, in every format (layout.folder_rel)
        self.trees = (ours, theirs)
        mine, other, before = record_names(ours, folder), record_names(theirs, folder), record_names(base, folder)
        self.sides = (sorted(mine - other - before), sorted(other - mine - before))
        self.both_kinds = {record_kind(n) for n in self.sides[0]} & {record_kind(n) for n in self.sides[1]}
        self._read: dict[str, Any] = {}  # blob -> its data (None: not readable here), each decrypted once
        self._apart: dict[str, tuple[list[dict[str, dict]], bool]] = {}

    def conflicts(self) -> list[Found]:
        """Every clash of the records written apart, in the order the merge records them."""
        if not self.sides[0] or not self.sides[1]:
            return []
        return [*self.closures(), *self.transfers(), *self.decisions(), *self.corrected_approved(), *self.plans(),
                *self.assignments(), *self.corrections(), *self.updates_and_covers(), *self.placements(),
                *self.placement_updates(), *self.referral_updates(), *self.risk(), *self.mandatory_reports(), *self.keyworkers()]

    # -- reading ---------------------------------------------------------------------------------
    def bodies(self, names_: list[str], side: int) -> dict[str, dict]:
        """The records of `names_` on copy `side` (0 ours, 1 theirs) this worker can read: {record ID: its data}."""
        tree = self.trees[side]
        blobs = {name: tree[f"{self.folder}/{name}"].blob for name in names_}
        wanted = [blob for blob in dict.fromkeys(blobs.values()) if blob not in self._read]
        contents = remote.read_blobs(self.git, wanted) if wanted else {}
        for blob in wanted:
            try:
                self._read[blob] = codec.loads(cipher.decrypt(contents[blob], self.keys))
            except (cipher.NotARecipient, cipher.Damaged, codec.BadYaml):
                self._read[blob] = None
        return {name.split(".", 1)[0]: self._read[blob] for name, blob in blobs.items() if self._holds_own(name, self._read[blob])}

    def _holds_own(self, name: str, data) -> bool:
        """Whether `data` (a record file's parsed YAML) is the record the file's `name` says, in this folder
        (`layout.holds_own`): one under another record's name is damaged, as every reader has it."""
        try:
            return isinstance(data, dict) and holds_own(f"{self.folder}/{name}", Record.from_dict(data))
        except (AttributeError, KeyError, TypeError, ValueError):
            return False

    def written_apart(self, kind_: str) -> tuple[list[dict[str, dict]], bool]:
        """The records of `kind_` each side wrote apart that this worker can read ({record ID: its
        data}, per side), and whether some could not be read (the case was given to other readers
        on the other copy, say): then whoever merges cannot tell whether they clash."""
        if kind_ not in self._apart:
            read = [self.bodies([n for n in side if record_kind(n) == kind_], i) for i, side in enumerate(self.sides)]
            self._apart[kind_] = read, any(len(found) < len(ids(side, [kind_])) for found, side in zip(read, self.sides))
        return self._apart[kind_]

    def standing(self, side: int, subject: str = "closure") -> set[str] | None:
        """The closure records (`subject` closure) or transfer requests (transfer) that still stand
        on copy `side` once its own records apply (its fold: waiting for a decision, or approved,
        and a transfer request not carried out): a request withdrawn or rejected there before the
        sync, or a closure ended by a reopening, is none. None when this worker cannot read every
        record of the case there, nor so tell."""
        if not ids(self.sides[side], ["closure", "approval"] if subject == "closure" else ["transfer_request"]):
            return set()
        every = sorted(record_names(self.trees[side], self.folder))
        read = self.bodies(every, side)
        if len(read) < len(every):
            return None
        try:
            records = [Record.from_dict(data) for data in read.values()]
            case = fold(self.case_id, records)
            if subject == "closure":
                return standing_closures(case.closure)
            # a request its bundle was written for stands no more: it was carried out
            return standing_transfers(case.transfer_request) if transfer_rules.current_request(case, records) else set()
        except (AttributeError, KeyError, TypeError, ValueError):  # a damaged record: cpcm verify names it; here, nothing is told
            return None

    # -- the conflicts -----------------------------------------------------------------------------
    def closures(self) -> list[Found]:
        """Two closures: each copy's own still stands after that copy's records (one withdrawn or
        rejected on its copy before the sync leaves one closure: nothing to settle), with the
        approvals of them (settled, it answers them all: rules.check_case). Else records written on
        one copy while the case was closed on the other."""
        stands = [self.standing(0), self.standing(1)]
        closed = [self._closing(i, stands[i]) for i in (0, 1)]
        requested = [ids(side, ["closure"]) for side in self.sides]
        standing_apart = [[c for c in requested[i] if stands[i] is None or c in stands[i]] for i in (0, 1)]
        if standing_apart[0] and standing_apart[1]:
            return [(TWO_CLOSURES, closed[0] + closed[1])]
        found = []
        for closes, other in ((closed[0], 1), (closed[1], 0)):
            later = ids(self.sides[other], exclude=_QUIET)
            if closes and later:
                later = [record_id for record_id in later if record_id not in self._own_withdrawals(other)]
            if closes and later:
                found.append((AFTER_CLOSURE, closes + later))
        return found

    def _closing(self, side: int, stands: set[str] | None) -> list[str]:
        """The closures that still stand on that copy (`stands`; every one when that is not known),
        and the approvals of a closure that stands there (when this worker can read them)."""
        names_ = self.sides[side]
        found = [c for c in ids(names_, ["closure"]) if stands is None or c in stands]
        approvals = self.bodies([n for n in names_ if record_kind(n) == "approval"], side)
        return found + [record_id for record_id, body in approvals.items() if body.get("subject") == "closure"
                        and (stands is None or (body.get("target") in stands if body.get("target") else bool(stands)))]

    def _own_withdrawals(self, side: int) -> set[str]:
        """The withdrawals of copy `side` that take back a closure requested on the same copy apart:
        part of that copy's own closure, not a record written while the other copy closed the case."""
        names_ = self.sides[side]
        own = set(ids(names_, ["closure"]))
        read = self.bodies([n for n in names_ if record_kind(n) == "withdrawal"], side) if own else {}
        return {record_id for record_id, body in read.items() if body.get("subject") == "closure" and body.get("target") in own}

    def transfers(self) -> list[Found]:
        """Two transfer requests: each copy's own still stands after that copy's records (waiting, or
        approved and not carried out), with the approvals of them: a decision on one would be read as
        of the other."""
        transfers = [ids(side, ["transfer_request"]) for side in self.sides]
        if not (transfers[0] and transfers[1]):
            return []
        held = [self.standing(0, "transfer"), self.standing(1, "transfer")]
        apart = [[t for t in transfers[i] if held[i] is None or t in held[i]] for i in (0, 1)]
        if not (apart[0] and apart[1]):
            return []
        decided = []
        for side in (0, 1):
            read = self.bodies([n for n in self.sides[side] if record_kind(n) == "approval"], side)
            decided += [record_id for record_id, body in read.items()
                        if body.get("subject") == "transfer" and body.get("target") in apart[side]]
        return [(TWO_TRANSFERS, apart[0] + apart[1] + decided)]

    def decisions(self) -> list[Found]:
        """One request (a closure, a transfer, a plan version) approved on one copy and rejected on the
        other: the first in the records' order stands, the other decides nothing (fold._closure_decided,
        _transfer_decided, _decision). A plan version approved on one copy and withdrawn by its author
        on the other is the same: its author was told no plan is in force, the supervisor that it is
        (a closure so decided is `record-after-closure` already). Only decisions that name their
        request (`target`) are matched."""
        deciding = ("approval", "rejection", "withdrawal")
        if not (set(deciding) & {record_kind(n) for n in self.sides[0]} and set(deciding) & {record_kind(n) for n in self.sides[1]}):
            return []
        decisions = [self._deciding(0), self._deciding(1)]

        def approved(key: tuple[str, str], side: int) -> set[bool]:
            return {kind == "approval" for kind in decisions[side][key].values()}
        return [(TWO_DECISIONS, list(decisions[0][key]) + list(decisions[1][key]), {"subject": key[0]})  # what was decided
                for key in sorted(decisions[0].keys() & decisions[1].keys())
                if approved(key, 0) != approved(key, 1)]

    def _deciding(self, side: int) -> dict[tuple[str, str], dict[str, str]]:
        """{(subject, the request it names): {decision's record ID: its kind}} for the approvals and
        rejections of copy `side` this worker can read that name their request (`target`), and the
        withdrawals of a plan version."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        decided = [n for n in self.sides[side] if record_kind(n) in ("approval", "rejection", "withdrawal")]
        kinds = {n.split(".", 1)[0]: record_kind(n) for n in decided}
        for record_id, body in self.bodies(decided, side).items():
            subject = str(body.get("subject") or "plan")
            if kinds[record_id] == "withdrawal" and subject != "plan":
                continue
            if isinstance(body.get("target"), str):
                found.setdefault((subject, body["target"]), {})[record_id] = kinds[record_id]
        return found

    def plans(self) -> list[Found]:
        """Two plan versions; or a version written on one copy while the other decided the one before
        (that decision decides the version it names where it still waited: fold._decision)."""
        versions = [ids(side, ["plan"]) for side in self.sides]
        if versions[0] and versions[1]:
            # a version corrected on one copy while the other wrote the next from it as it was: the next lacks the correction
            read = [self.written_apart("plan")[0][i] for i in (0, 1)]
            corrected = [[i for i, body in read[side].items() if isinstance(body.get("supersedes"), str)] for side in (0, 1)]
            written = [[i for i, body in read[side].items() if not isinstance(body.get("supersedes"), str)] for side in (0, 1)]
            lacking = sorted((corrected[0] if written[1] else []) + (corrected[1] if written[0] else []))
            about = {**({"corrected": lacking} if lacking else {}), **self._clashed_actions(versions, read)}
            return [(TWO_PLANS, versions[0] + versions[1], about)] if about else [(TWO_PLANS, versions[0] + versions[1])]
        found = []
        for written, other in ((0, 1), (1, 0)):
            if not versions[written]:
                continue
            decided = self.bodies([n for n in self.sides[other] if record_kind(n) in ("approval", "rejection")], other)
            decisions = sorted(i for i, body in decided.items() if body.get("subject") == "plan")
            read = self.written_apart("plan")[0][written] if decisions else {}
            # a correction is no new version: one the other copy approved is corrected_approved's; one it rejected stays
            # rejected. A version this worker cannot read may be either: named
            if decisions and len(read) == len(versions[written]) and all(isinstance(b.get("supersedes"), str) for b in read.values()):
                continue
            if decisions:
                found.append((TWO_PLANS, versions[written] + decisions))
        return found

    def _clashed_actions(self, versions: list[list[str]], read: list[dict[str, dict]]) -> dict[str, list[str]]:
        """{'actions': IDs} of the action IDs the two copies each gave to a different new action
        (`plan_actions.clashes`: numbered from the versions both held, each copy's next took the
        same number), for the fold to count no mark of them made apart; {} when there is none, or
        this worker cannot read every version (then it cannot tell)."""
        if any(len(read[side]) < len(versions[side]) for side in (0, 1)):
            return {}
        shared = sorted(n for n in record_names(self.trees[0], self.folder) & record_names(self.trees[1], self.folder)
                        if record_kind(n) == "plan")
        before = self.bodies(shared, 0)
        if len(before) < len(shared):
            return {}
        found = plan_actions.clashes([before[i] for i in sorted(before)], ([read[0][i] for i in sorted(read[0])],
                                                                           [read[1][i] for i in sorted(read[1])]))
        return {plan_actions.CLASHED: found} if found else {}

    def corrected_approved(self) -> list[Found]:
        """A plan version or a closure request corrected on one copy while a supervisor approved it on
        the other (`cpcm correct` allows its worker a correction while it waits): the case would read
        the approval as covering the correction, which nobody who decides saw. Named with the
        approval and the corrections (`corrected`), for a supervisor to check. A correction the other
        copy rejected is none: the rejection stands, and the next version or request is decided anew."""
        found = []
        for correcting, deciding in ((0, 1), (1, 0)):
            kinds = [k for k in (REQUEST_KINDS["plan"], REQUEST_KINDS["closure"]) if ids(self.sides[correcting], [k])]
            if not kinds or not ids(self.sides[deciding], ["approval"]):
                continue
            corrections = {i: body for i, body in self.bodies([n for n in self.sides[correcting] if record_kind(n) in kinds],
                                                               correcting).items() if isinstance(body.get("supersedes"), str)}
            approvals = self.bodies([n for n in self.sides[deciding] if record_kind(n) == "approval"], deciding)
            for approval_id, body in sorted(approvals.items()):
                subject = str(body.get("subject") or "plan")
                if subject not in ("plan", "closure") or not isinstance(body.get("target"), str):
                    continue
                hit = sorted(i for i, c in corrections.items() if c.get("kind") == REQUEST_KINDS[subject]
                             and self._origin(correcting, i) == body["target"] and self._changes_decided(correcting, c))
                if hit:
                    found.append((CORRECTED_APPROVED, sorted(hit + [approval_id]), {"corrected": hit}))
        return found

    def _changes_decided(self, side: int, correction: dict) -> bool:
        """Whether a correction on copy `side` changes what a decision of its request stands on (its
        form's `decided` fields) against the record it supersedes: a mended summary or note, which a
        worker may correct after the decision too, is no clash. True where that is not known here."""
        named = self._named(side)
        before = self.bodies([named[correction["supersedes"]]], side).get(correction["supersedes"]) \
            if correction["supersedes"] in named else None
        if before is None or self.decided is None:
            return True
        return bool(self.decided(str(correction.get("kind")), before, correction))

    def _named(self, side: int) -> dict[str, str]:
        """{record ID: its file name} of every record in the case folder on copy `side`."""
        return {n.split(".", 1)[0]: n for n in record_names(self.trees[side], self.folder)}

    def _origin(self, side: int, record_id: str) -> str | None:
        """The record a correction corrects in the end, on copy `side`: the first of its chain of
        corrections (each `supersedes` the one before). None where a link cannot be read here."""
        named = self._named(side)
        seen: set[str] = set()
        while record_id in named and record_id not in seen:
            seen.add(record_id)
            body = self.bodies([named[record_id]], side).get(record_id)
            if body is None:
                return None
            if not isinstance(body.get("supersedes"), str):
                return record_id
            record_id = body["supersedes"]
        return None

    def assignments(self) -> list[Found]:
        assigned = [ids(side, ["assignment"]) for side in self.sides]
        return [(TWO_ASSIGNMENTS, assigned[0] + assigned[1])] if assigned[0] and assigned[1] else []

    def keyworkers(self) -> list[Found]:
        """A keyworker nominated on both copies apart (`cpcm assign CASE --keyworker ...`), each
        copy's latest naming another: the later in the records stands, its worker not knowing of
        the other (a relationship broken down on one copy, say). The same keyworker named on both
        is none. Some of them unreadable here: every nomination written apart named. (A correction
        of one nomination on both copies is corrections-concurrent.)"""
        if "keyworker" not in self.both_kinds:
            return []
        read, unread = self.written_apart("keyworker")
        named = ids(self.sides[0], ["keyworker"]) + ids(self.sides[1], ["keyworker"])
        if unread:
            return [(TWO_KEYWORKERS, named)]
        fresh = [{i: body for i, body in side.items() if not isinstance(body.get("supersedes"), str)} for side in read]
        if not (fresh[0] and fresh[1]):
            return []
        latest_named = [_keyworker_named(side[max(side)]) for side in fresh]
        return [(TWO_KEYWORKERS, sorted(set(fresh[0]) | set(fresh[1])))] if latest_named[0] != latest_named[1] else []

    def corrections(self) -> list[Found]:
        """One record corrected (or repaired, or marked as written in the wrong case) on both copies."""
        moved: dict[str, dict] = {}  # a mark that moved the record to another case -> where it went (moved_to)
        corrected = [self._correcting(0, moved), self._correcting(1, moved)]
        found = []
        for record_id in sorted(corrected[0].keys() & corrected[1].keys()):
            named = corrected[0][record_id] + corrected[1][record_id]
            # each mark's copy in another case: marked on both copies, two cases may hold the content
            moves = [dict(moved[r], mark=r) for r in sorted(named) if r in moved]
            found.append((TWO_CORRECTIONS, named, {"moved_to": moves}) if moves else (TWO_CORRECTIONS, named))
        return found

    def _correcting(self, side: int, moved: dict[str, dict] | None = None) -> dict[str, list[str]]:
        """{a record superseded (a correction or a repair of it): the records of copy `side` that
        supersede it}, read from the records of kinds both copies wrote (a correction is of its
        record's kind), and from the marks of a record written in the wrong case (`misfiled`: one
        copy may have marked the record the other corrected). A mark that moved the record to another
        case is added to `moved` ({the mark: its moved_to, {case, record}})."""
        found: dict[str, list[str]] = {}
        marking = any(record_kind(n) == MISFILED for n in self.sides[0] + self.sides[1])
        kinds = self.both_kinds | ({MISFILED, *MISFILABLE} if marking else set())
        wanted = [n for n in self.sides[side] if record_kind(n) in kinds]
        for record_id, body in self.bodies(wanted, side).items():
            if isinstance(body.get("supersedes"), str):
                found.setdefault(body["supersedes"], []).append(record_id)
                went = body.get("moved_to")
                if moved is not None and body.get("kind") == MISFILED and isinstance(went, dict) and went.get("case"):
                    moved[record_id] = {"case": str(went["case"]), "record": str(went.get("record") or "")}
        return found

    def updates_and_covers(self) -> list[Found]:
        """One field of the registration changed to two values apart; one colleague's cover given or
        changed on both copies to different ends. Some of them unreadable here: every one written
        apart is named, for someone who reads them all to check (rather than a clash left unsaid)."""
        found = []
        for kind_, code, compared in (("update", TWO_UPDATES, _changing), ("cover", TWO_COVERS, lambda read: _by(read, "worker", "until"))):
            if kind_ not in self.both_kinds:
                continue
            read, unread = self.written_apart(kind_)
            if unread:
                found.append((code, ids(self.sides[0], [kind_]) + ids(self.sides[1], [kind_])))
                continue
            mapped = [compared(read[0]), compared(read[1])]
            clashing = [key for key in sorted(mapped[0].keys() & mapped[1].keys())
                        if set(mapped[0][key].values()) != set(mapped[1][key].values())]
            if clashing:
                named = sorted({record_id for key in clashing for side in mapped for record_id in side[key]})
                if code == TWO_UPDATES:  # the fields and what each update gave them (kept encrypted in the case; check shows them)
                    values = {key: {record_id: json.loads(side[key][record_id]) for side in mapped for record_id in side[key]}
                              for key in clashing}
                    found.append((code, named, {"fields": clashing, "values": values}))
                else:
                    found.append((code, named))
        return found

    def placements(self) -> list[Found]:
        """Where and with whom the child lives, recorded on both copies apart: the later placement in
        the records would stand as where the child lives, its worker not knowing of the other. Each
        copy's latest (by its date) compared: the same placement recorded on both is none. Some of
        them unreadable here: named all."""
        if "placement" not in self.both_kinds:
            return []
        read, unread = self.written_apart("placement")
        if unread or len({placement_rules.where_and_with_whom(latest(side)) for side in read}) > 1:
            return [(TWO_PLACEMENTS, ids(self.sides[0], ["placement"]) + ids(self.sides[1], ["placement"]))]
        return []

    def placement_updates(self) -> list[Found]:
        """Where or with whom the child lives placed on one copy and changed by an update of the
        registration (its location, its caregiver's name) on the other: the later by its date would
        stand as where the child lives (lives_now), its worker not knowing of the other. Each placing
        copy's latest placement (by its date) against each field the other copy's updates changed
        (the latest update of the field, in the records' order), where the placement says it. Some
        of them unreadable here: every placement and update written apart on the two copies named."""
        moved: set[str] = set()
        fields: set[str] = set()  # the fields they disagree on (none known when some could not be read)
        unknown = False
        for placing, updating in ((0, 1), (1, 0)):
            if not ids(self.sides[placing], ["placement"]) or not ids(self.sides[updating], ["update"]):
                continue
            placed, unread_placed = self.written_apart("placement")
            updates, unread_updates = self.written_apart("update")
            if unread_placed or unread_updates:
                moved |= set(ids(self.sides[placing], ["placement"]) + ids(self.sides[updating], ["update"]))
                unknown = True
                continue
            # an update before that copy's own latest placement written apart (by date) no longer says where the child lives there
            own = at(latest(placed[updating])) if placed[updating] else None
            said = {record_id: placement_rules.whereabouts_changed(body.get("changes"))
                    for record_id, body in updates[updating].items()
                    if own is None or placement_rules.update_stands(at(body), {"at": own})}
            said = {record_id: changed for record_id, changed in said.items() if changed}
            latest_said: dict[str, object] = {}
            for record_id in sorted(said):
                latest_said.update(said[record_id])
            differ = placement_rules.disagrees(latest(placed[placing]), latest_said) if said else []
            if differ:
                moved |= set(placed[placing]) | set(said)
                fields.update(differ)
        return [(PLACEMENT_UPDATE, sorted(moved), {} if unknown else {"fields": sorted(fields)})] if moved else []

    def referral_updates(self) -> list[Found]:
        """One referral updated on both copies apart, each copy's latest update of it giving another
        status: the later in the records stands, its worker not knowing of the other (accepted on one,
        declined on the other). One conflict per referral, naming it. Some of them unreadable here:
        every update written apart named, the referral not known."""
        if "referral_update" not in self.both_kinds:
            return []
        read, unread = self.written_apart("referral_update")
        if unread:
            return [(REFERRAL_UPDATES_CONCURRENT, ids(self.sides[0], ["referral_update"]) + ids(self.sides[1], ["referral_update"]))]
        updated = [_by(side, "referral", "status") for side in read]
        found = []
        for referral in sorted(updated[0].keys() & updated[1].keys()):
            latest_status = [side[referral][max(side[referral])] for side in updated]
            if latest_status[0] != latest_status[1]:
                found.append((REFERRAL_UPDATES_CONCURRENT, list(updated[0][referral]) + list(updated[1][referral]),
                              {"referral": referral}))
        return found

    def risk(self) -> list[Found]:
        """The risk found increased on one copy while the other rated it (or found it increased too)
        apart: the rating, later in the records, would answer an increase its worker never saw. Some
        of them unreadable here: named all."""
        risky = [[n for n in side if record_kind(n) in ("followup", "assessment")] for side in self.sides]
        if not (risky[0] and risky[1]):
            return []
        read = [self.bodies(risky[0], 0), self.bodies(risky[1], 1)]
        if any(len(found_here) < len(side) for found_here, side in zip(read, risky)):
            return [(RISK_CONCURRENT, ids(risky[0]) + ids(risky[1]))]
        raised = [{i for i, body in side.items() if body.get("risk_increased") == "yes"} for side in read]
        rated = [{i: body["risk"] for i, body in side.items() if body.get("risk")} for side in read]
        levels = [side[max(side)] for side in rated if side]  # each copy's latest rating
        if (raised[0] and (raised[1] or rated[1])) or (raised[1] and rated[0]) or (len(levels) == 2 and levels[0] != levels[1]):
            return [(RISK_CONCURRENT, sorted(raised[0] | rated[0].keys() | raised[1] | rated[1].keys()))]
        return []

    def mandatory_reports(self) -> list[Found]:
        """Decisions on the mandatory report recorded on both copies apart that clash: one reported
        the concern while the other decided not to (each copy's latest), or both reported it to one
        authority, not under one reference (mandatory_report.clash). A correction stands in the place
        of the decision it corrects; one of a decision both copies had is no decision of either (two
        corrections of it are corrections-concurrent). Some of them unreadable here: every decision
        written apart named, for someone who reads them all to check."""
        if "mandatory_report" not in self.both_kinds:
            return []
        read, unread = self.written_apart("mandatory_report")
        if unread:
            return [(MANDATORY_REPORTS, ids(self.sides[0], ["mandatory_report"]) + ids(self.sides[1], ["mandatory_report"]))]
        found, about = mandatory_rules.clash(_in_place(read[0]), _in_place(read[1]))
        return [(MANDATORY_REPORTS, found, about)] if found else []


def _in_place(read: dict[str, dict]) -> dict[str, dict]:
    """The records of `read` (one copy's, written apart) with each correction in the place of the
    record it corrects, under that record's ID; a correction of a record not in `read` (written
    before the copies parted) left out."""
    found: dict[str, dict] = {}
    origin: dict[str, str] = {}
    for record_id in sorted(read):
        body = read[record_id]
        corrects = body.get("supersedes")
        if not isinstance(corrects, str):
            found[record_id], origin[record_id] = body, record_id
        elif corrects in origin:
            found[origin[corrects]], origin[record_id] = body, origin[corrects]
    return found


def _keyworker_named(body: dict) -> tuple:
    """Who a keyworker nomination names, to compare two: a team worker, or someone outside the team."""
    return tuple(str(body.get(key) or "").strip() for key in ("worker", "name", "role", "contact"))


def _changing(read: dict[str, dict]) -> dict[str, dict[str, str]]:
    """{a registration field the updates of `read` changed: {update's record ID: the value it gave, as JSON}}."""
    found: dict[str, dict[str, str]] = {}
    for record_id, body in read.items():
        changes = body.get("changes")
        for path, value in (changes.items() if isinstance(changes, dict) else ()):
            found.setdefault(str(path), {})[record_id] = json.dumps(value, sort_keys=True, default=str)
    return found


def _by(read: dict[str, dict], subject: str, value: str) -> dict[str, dict[str, str]]:
    """{what the records of `read` name in `subject` (a cover's colleague, a referral update's
    referral): {record ID: what it gave in `value` (the cover's end, the update's status)}}."""
    found: dict[str, dict[str, str]] = {}
    for record_id, body in read.items():
        if isinstance(body.get(subject), str):
            found.setdefault(body[subject], {})[record_id] = str(body.get(value))
    return found

"""A cold fill writes the same bytes as the code before it: the fold (stage kept aside while the
records apply, one new Case per registration, no second sort when nothing is superseded), the
table writers (the key quoted without `json.dumps`, once for every table of a case) and the
worker processes (a pipe each, read by the caller's thread, in place of a `multiprocessing.Pool`).

The code before is kept here as it was (`old_fold` and what it called, `Appender.add` with
`json.dumps`, the chunks read in this process) and run against the new on the same cases: every
table's entries (decrypted), `cpcm list`, `cpcm due` and `cpcm report statistics` are compared
as text. Names in the records are synthetic."""
from __future__ import annotations

import json
import pathlib
import random
from dataclasses import replace
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from conftest import register_many
from test_fill_rows_same import shapes

from cpcm.crypto import cipher, identity
from cpcm.domain.case import Case, Entry
from cpcm.domain.records import Record, utc
from cpcm.service import context, fill
from cpcm.store import cache as cache_mod
from cpcm.store import parallel
from cpcm.workflow import fold as fold_module
from cpcm.workflow import approvals, placements, plan_actions, transitions
from cpcm.workflow import consent as consent_rules


# -- the fold as it was ---------------------------------------------------------------------------
def _old_effective(records):
    ordered = sorted(records, key=lambda r: r.id)
    ids = {r.id for r in ordered}
    original: dict[str, str] = {}
    replaced_by: dict[str, str] = {}

    def follow(record_id, links):
        while record_id in links:
            record_id = links[record_id]
        return record_id

    for record in ordered:
        target = record.body.get("supersedes")
        if isinstance(target, str) and target in ids and target < record.id:
            original[record.id] = target
            replaced_by[follow(target, replaced_by)] = record.id
    out = []
    for record in ordered:
        if record.id in replaced_by:
            continue
        key = fold_module.REFERENCES.get(record.kind)
        if key and record.body.get(key) in replaced_by:
            record = replace(record, body={**record.body, key: follow(record.body[key], replaced_by)})
        out.append(record)
    return sorted(out, key=lambda r: (follow(r.id, original), r.id))


def _old_from_registration(case, body, at):
    # a change of rule made since, applied here too: when each concern was recorded (the registration's, or the
    # update's that added it)
    concerns = tuple(body.get("concerns") or ())
    since = {c: case.concerns_since[c] if c in case.concerns_since and c in case.concerns else at for c in concerns}
    return replace(case, registration=dict(body), child=dict(body.get("child") or {}), location=body.get("location"),
                   caregiver_name=(body.get("caregiver") or {}).get("name"), contact=body.get("contact"),
                   concerns=concerns, concerns_since=since)


def _old_registration(case, record):
    body = record.body
    # and since: when the estimated age was given (Case.age_given_at): the registration's time, with an estimate
    given = record.at if (body.get("child") or {}).get("age_estimate") is not None else None
    case = replace(case, risk=body.get("risk"), worker=body.get("worker") or record.by, registered_at=record.at,
                   concerns=(), concerns_since={}, age_given_at=given)
    return _old_from_registration(case, {k: v for k, v in body.items() if k not in ("supersedes", "correction_reason")},
                                  utc(record.at))


def _old_update(case, record):
    changes = record.body.get("changes") or {}
    case = _old_from_registration(case, fold_module.apply_update(case.registration or {}, changes), utc(record.at))
    if "child" in changes or "child.age_estimate" in changes:  # and since: an age given by an update is the age on its day
        case = replace(case, age_given_at=record.at if case.child.get("age_estimate") is not None else None)
    return case


OLD_REDUCERS = {**fold_module.REDUCERS, "registration": _old_registration, "update": _old_update}


def old_fold(case_id, records):
    records = list(records)
    case = Case(id=case_id, stage=None)
    history, anomalies = [], []
    events: dict[str, list[str]] = {}
    unanswered = None
    requested_from = None  # a change of rule made since, applied here too: a closure refused or withdrawn returns to the stage before
    with_child: set[str] = set()  # the plan versions made with the child (the generated cases hold no conference)
    sent = ""  # a change of rule made since, applied here too: the latest transfer, whose approved request was carried out
    home_versions, set_aside = {}, []  # and since: the plans for reunification_done, those rejected or withdrawn (fold)
    leveled = None  # and since: when the risk came to its current level (Case.risk_since)
    for record in _old_effective(records):
        risk_was = case.risk
        command = transitions.command_of(record.kind, dict(record.body))
        after = transitions.next_stage(case.stage, command, requested_from)
        if after == "closure_requested" and case.stage != "closure_requested":
            requested_from = case.stage
        if after is None and command in transitions.COMMANDS:
            anomalies.append(record.id)
        # a change of rule made since, applied here too: where the child lives last updated decides what settles a placement conflict
        case = fold_module.settle_conflicts(case, record, max(events.get("residence_updated", ()), default=None))
        reducer = OLD_REDUCERS.get(record.kind)
        # changes of rule made since, applied here too: a closure asked for apart while the case was closed (or
        # transferred) leaves the case's closure as it was; a transfer request made over one approved and not
        # carried out (no transfer since) keeps it under it (fold._transfer_request)
        if record.kind == "closure" and after is None and case.status != "open":
            reducer = None
        if record.kind in ("transfer", "transfer_in"):
            sent = max(sent, record.id)
        if record.kind == "transfer_request":
            reducer = lambda case, record, sent=sent: fold_module._transfer_request(case, record, sent)  # noqa: E731
        decided = []  # a change of rule made since, applied here too: a plan version's approval or rejection (fold.PLAN_APPROVED)
        if reducer is not None:
            before = case
            waiting = approvals.waiting_version(case.plan)
            case = reducer(case, record)
            # a change of rule made since, applied here too: a decision or withdrawal of a transfer request that changes
            # none (none waits, or not the one it names: fold._TRANSFER_DECIDING) decides nothing and is out of order
            if command in ("approval.transfer", "rejection.transfer", "withdrawal.transfer") and after is not None \
                    and case.transfer_request is before.transfer_request:
                anomalies.append(record.id)
            # and since: a plan version decided the other way, or withdrawn, is decided by nothing, out of order
            if command in ("approval.plan", "rejection.plan") and after is not None and fold_module._decided_again(before.plan, record):
                anomalies.append(record.id)
            if record.kind in ("approval", "rejection") and waiting and case.plan is not before.plan:
                decided = ["plan_approved" if record.kind == "approval" else "plan_rejected"]
                if decided[0] == "plan_approved" and case.plan["record_id"] in with_child:
                    decided.append("plan_with_child_approved")
        if case.plan and record.kind in ("followup", "review", "withdrawal"):
            tracked = plan_actions.track(case.plan, record)
            if tracked.get("withdrawn_at") and not case.plan.get("withdrawn_at") and tracked["record_id"] in home_versions:
                set_aside.append(home_versions[tracked["record_id"]])  # and since: a return home its author took back
            case = replace(case, plan=tracked)
        if after is not None:
            case = replace(case, stage=after, status=transitions.status_of(after))
        derived = fold_module.derived_events(record, command)
        for event in [command, *derived]:
            events.setdefault(event, []).append(utc(record.at))
        if record.kind == "conference" and record.body.get("date"):  # and since: when a conference met (fold.CONFERENCE_MET)
            met = str(record.body["date"])
            events.setdefault("conference.met", []).append(min(utc(record.at), utc(met if "T" in met else f"{met[:10]}T00:00:00+00:00")))
        if command == "plan" and record.body.get("reason") == "reunification_done":
            home_versions[record.id] = utc(record.at)
        for event in decided:
            events.setdefault(event, []).append(utc(record.at))
        if decided and decided[0] == "plan_rejected" and case.plan["record_id"] in home_versions:
            set_aside.append(home_versions[case.plan["record_id"]])  # and since: a return home a supervisor turned down
        if "plan_with_child" in derived:
            with_child.add(record.id)
        if case.risk != risk_was:  # and since: the risk came to another level, or none (Case.risk_since)
            leveled = utc(record.at) if case.risk else None
        # a change of rule made since, applied here too: the latest risk increase no re-rating recorded
        # after it followed, in the records' order (fold.RISK_UNANSWERED)
        if "risk_increased" in derived:
            unanswered = utc(record.at)
        elif "risk_checked" in derived:
            unanswered = None
        if command == "closure.immediate":  # and since: its own reason, also out of order (the case's closure stays another)
            events.setdefault(f"closed.{record.body.get('reason')}", []).append(utc(record.at))
        elif command == "approval.closure" and case.closure:
            events.setdefault(f"closed.{case.closure.get('reason')}", []).append(utc(record.at))
        history.append(Entry(record.id, record.kind, record.at, record.recorded_at, record.by))
    # a change of rule made since, applied here too: the reunifications are decided once, from the
    # placements and the plans for reunification_done (placements.reunifications)
    # and since: less the plans rejected or withdrawn (fold)
    reunified = placements.reunifications(case.placements, placements.standing(events.get("reunification_done", ()), set_aside))
    if reunified:
        events["reunification"] = list(reunified)
    if unanswered is not None:
        events[fold_module.RISK_UNANSWERED] = [unanswered]
    # and since: an admission to residential care recorded by a placement (placements.admissions)
    admitted = placements.admissions(case.placements)
    if admitted:
        events["admission"] = [p["at"] for p in admitted]
    if set_aside:
        events[placements.HOME_SET_ASIDE] = set_aside
    if anomalies:  # a change of rule made since, applied here too: those a note answered are left out (fold.answered)
        anomalies = [a for a in anomalies if a not in fold_module.answered(anomalies, records, case.conflicts)]
    # and since: what the one consent rule reads, kept for `due` (consent.kept)
    kept = [r for r in records if r.kind in consent_rules.KEPT_KINDS]
    if kept:
        used = consent_rules.used_ids(records)
        case = replace(case, consents=tuple(consent_rules.kept(r, r.id in used) for r in kept))
    return replace(case, history=tuple(history), events={k: tuple(v) for k, v in events.items()},
                   anomalies=tuple(anomalies), stage=case.stage or "registered", risk_since=leveled)


def _old_add(self, key, value_json):
    part = json.dumps(key) + ":" + value_json
    self.parts.append(part)
    self.size += len(part)
    if self.size >= self.limit:
        self.flush()


def _old_store(item, tree, writers, direct, shards):
    """`fill._store` as it was: each table's entry added with its key (`Appender.add`), each record on its own."""
    tree_json = json.dumps(tree)
    for table in fill.TABLES:
        text = "null" if item.values is None else item.values[table.name]
        if table.name in direct:
            direct[table.name].set(item.case_id, {"tree": tree, table.field: json.loads(text)})
        elif table.name in writers:
            writers[table.name].add(item.case_id, '{"tree":%s,"%s":%s}' % (tree_json, table.field, text))
    if shards is not None:
        for case_id, blob, text in item.records:
            shards.add(case_id, blob, text)


def _corrected(records: list[Record], rng: random.Random) -> list[Record]:
    """The records with corrections added: of the registration (twice, sometimes), of a referral
    that a later update names, of an approval; some naming a record the case does not have."""
    out = list(records)
    last = max(int(r.id) for r in records)
    by_kind = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    targets = [records[0]] + [rng.choice(v) for k, v in by_kind.items() if k in ("referral", "approval", "assessment")]
    for target in targets:
        for _ in range(rng.choice((1, 1, 2))):
            last += 1
            body = {**target.body, "supersedes": target.id, "correction_reason": "a mistake"}
            if target.kind == "registration":
                body["risk"] = rng.choice(("high", "low"))
                body["child"] = {**(target.body.get("child") or {}), "sex": rng.choice(("female", "male"))}
            out.append(replace(target, id=f"{last:04d}", body=body))
    if rng.random() < 0.3:
        last += 1
        out.append(replace(records[0], id=f"{last:04d}", kind="note", body={"supersedes": "9999"}))
    if rng.random() < 0.3:
        last += 1
        out.append(replace(records[0], id=f"{last:04d}", kind="sync_conflict", body={"code": "two-closures", "records": ["0001"]}))
        last += 1
        out.append(replace(records[0], id=f"{last:04d}", kind="note", body={}))
    rng.shuffle(out)
    return out


def _cases() -> list[tuple[str, list[Record]]]:
    rng = random.Random(1201)
    plain = shapes(300, 20261202)
    return plain + [(case_id + "-C", _corrected(records, rng)) for case_id, records in plain]


def test_the_fold_makes_the_same_case_and_the_same_table_values_as_before():
    # the table makers of the summary, index and rows read nothing of the session but the agency's zone (the rows' times)
    ctx = SimpleNamespace(zone=ZoneInfo("Africa/Nairobi"))
    for case_id, records in _cases():
        new, old = fold_module.fold(case_id, records), old_fold(case_id, records)
        assert vars(new) == vars(old) and list(vars(new)) == list(vars(old))
        assert all(type(vars(new)[k]) is type(vars(old)[k]) for k in vars(old))
        for table in fill.TABLES:
            assert fill.dumps(table.make(ctx, new)) == fill.dumps(table.make(ctx, old)), (case_id, table.name)


def test_the_fold_leaves_the_records_as_they_were():
    for case_id, records in _cases()[:200]:
        before = json.dumps([(r.id, r.kind, r.body) for r in records])
        fold_module.fold(case_id, records)
        assert json.dumps([(r.id, r.kind, r.body) for r in records]) == before


def test_the_key_is_quoted_as_json_dumps_quotes_it():
    for key in ("CP-4F7K-9X2M", "ab12cd", "", 'a "quoted" \\ key', "é\u2028\n\t", "\udc80"):
        assert cache_mod.quoted(key) == json.dumps(key)


# -- a cold fill, old and new -----------------------------------------------------------------------
def _cache(cli) -> pathlib.Path:
    return pathlib.Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache"


def _tables(cli) -> dict[str, dict[str, str]]:
    """Every table of the cache, decrypted: its folder -> key -> the entry's compact JSON text (the
    newest segment's, as a reader takes it); the tag (which names the code's digest) left out."""
    keys = identity.load(pathlib.Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    found: dict[str, dict[str, str]] = {}
    for path in sorted(_cache(cli).rglob("*.age"), key=lambda p: (str(p.parent), p.name)):
        payload = json.loads(cipher.decrypt(path.read_bytes(), keys))
        folder = str(path.parent.relative_to(_cache(cli)))
        for key, entry in payload.get("entries", {}).items():
            found.setdefault(folder, {})[key] = json.dumps(entry, separators=(",", ":"))
    return found


def _outputs(cli) -> list[str]:
    return [cli(*args).stdout for args in (("list",), ("list", "--json"), ("due", "--worker", "all"),
                                           ("due", "--worker", "all", "--json"), ("report", "statistics"))]


def _filled(cli) -> tuple[list[str], dict[str, dict[str, str]], list[str]]:
    """A cold `cpcm list`: its output, the tables it wrote, then the outputs of the commands reading them."""
    import shutil

    shutil.rmtree(_cache(cli), ignore_errors=True)
    listed = [cli("list").stdout]
    return listed, _tables(cli), _outputs(cli)


def _repository(cli) -> None:
    risks = ("high", "medium", "low", "immediate")
    ids = []
    for n in range(12):
        child = {"name": f"Test Child {n}", "sex": ("female", "male")[n % 2]}
        if n % 3:
            child["date_of_birth"] = f"201{n % 10}-0{1 + n % 9}-1{n % 10}"
        else:
            child["age_estimate"] = n
        ids += register_many(cli, 1, child=child, risk=risks[n % 4])
    assert cli("assess", ids[0], "--type", "initial", "--risk", "high", "--set", "safe=yes", "--set", "basic_needs.food=no",
               "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no",
               "--outcome", "proceed").code == 0
    assert cli("note", ids[1], "--text", "visited").code == 0
    assert cli("update", ids[2], "--set", "child.date_of_birth=2011-06-06", "--reason", "birth certificate seen").code == 0
    assert cli("update", ids[3], "--location", "Kondele, Kisumu", "--reason", "moved").code == 0


def test_a_cold_fill_on_worker_processes_writes_the_tables_and_prints_what_the_code_before_did(cli, few, monkeypatch):
    _repository(cli)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    new = _filled(cli)
    with monkeypatch.context() as before:
        before.setattr(fill, "fold", old_fold)
        before.setattr(context, "fold", old_fold, raising=False)
        before.setattr(cache_mod.Appender, "add", _old_add)
        before.setattr(fill, "_store", _old_store)  # each entry made with the key quoted for each table
        before.setattr(parallel, "workers", lambda: 1)  # the chunks read here in turn: no worker processes
        old = _filled(cli)
    assert new[0] == old[0] and new[0][0].count("\n") >= 12
    assert set(new[1]) == set(old[1]) and {"amina/summary", "amina/index", "amina/rows", "amina/due", "amina/statistics"} <= set(new[1])
    for folder in old[1]:
        assert new[1][folder] == old[1][folder], folder
    assert new[2] == old[2]
    again = _filled(cli)  # and the new code again, on worker processes: the same
    assert again == new

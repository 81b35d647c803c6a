"""The keyworker of a case: the child's and family's main point of contact (IAG Step 3, L864).
Pure: no I/O.

Usually the caseworker; it may be someone else with a better relationship with the child, who
then stays in close contact with the caseworker. A `keyworker` record nominates one, with the
reason for the change (IAG S3-Step3 L864-866: "a caseworker and keyworker, with a change
history and reason for each change"): either a worker of the team (`worker`, their id) or
someone outside it (`name`, `role`, and how to reach them, `contact`). The latest nomination in
the records' order stands; without one, the case's caseworker is its keyworker.

The name and contact of someone outside the team are personal data: they live in the encrypted
record only, never in a message, the log or a commit (the log says `outside the team (teacher)`).
"""
from __future__ import annotations

from typing import Any, Container, Iterable, Mapping

KIND = "keyworker"
# who someone outside the team is to the child (a code of this fixed list, so that the log and a
# message may name it; the person's name stays in the record)
ROLES = ("teacher", "community_volunteer", "relative", "faith_leader", "health_worker", "other_agency_worker",
         "foster_carer", "other")
NAME_MAX, CONTACT_MAX, REASON_MAX = 200, 200, 2000
# the fields of a nomination (a correction lays its fields over these)
FIELDS = ("worker", "name", "role", "contact", "reason")
# the option each field is typed with, for messages
OPTIONS = {"worker": "keyworker", "name": "keyworker_name", "role": "keyworker_role", "contact": "keyworker_contact",
           "reason": "reason"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def body_of(worker: str | None = None, name: str | None = None, role: str | None = None, contact: str | None = None,
            reason: str | None = None) -> dict[str, Any]:
    """A nomination's body from what was typed: the fields given, stripped (an empty one left out)."""
    given = {"worker": worker, "name": name, "role": role, "contact": contact, "reason": reason}
    return {key: _text(value) for key, value in given.items() if _text(value)}


def problems(body: Mapping[str, Any], active: Iterable[str], correcting: bool = False) -> list[tuple[str, str]]:
    """What is wrong with a nomination's body: (field, why) pairs, each field named as its option
    (OPTIONS), or with `correcting` as the record's field a correction's --set gives (FIELDS), and
    the other fields named the same way. `active`: the ids of the team's active workers. A value
    typed is never repeated (a worker id that is no worker may be a name typed in the wrong option)."""
    out: list[tuple[str, str]] = []
    field = {k: k for k in FIELDS} if correcting else OPTIONS
    # how a field is given: a correction's --set, or `cpcm assign`'s options
    name_opt, role_opt = ("--set name=", "--set role=") if correcting else ("--keyworker-name", "--keyworker-role")
    give = ({"worker": "--set worker=WORKER", "name": "--set name=NAME", "role": "--set role=ROLE"} if correcting else
            {"worker": "--keyworker WORKER", "name": "--keyworker-name NAME", "role": "--keyworker-role ROLE"})
    worker, name, role, contact = (_text(body.get(k)) for k in ("worker", "name", "role", "contact"))
    if worker and (name or role):
        out.append((field["worker"], f"is a worker of the team: give it alone, or someone outside the team with "
                                     f"{name_opt} and {role_opt}, not both"))
    elif not worker and not name:
        out.append((field["worker"], f"is required: a worker of the team ({give['worker']}), or someone outside it "
                                     f"({give['name']} {give['role']})"))
    if worker and worker not in set(active):
        out.append((field["worker"], f"is no active worker of the team (cpcm team list); someone outside the team is "
                                     f"given with {name_opt} and {role_opt}"))
    if name and len(name) > NAME_MAX:
        out.append((field["name"], f"is longer than {NAME_MAX} characters"))
    if not worker and name and not role:
        out.append((field["role"], f"is required with {name_opt}: who they are to the child, one of " + ", ".join(ROLES)))
    if role and not worker and role not in ROLES:
        out.append((field["role"], "is not one of " + ", ".join(ROLES)))
    if role and not name and not worker:
        out.append((field["name"], f"is required with {role_opt}: the name of the person outside the team"))
    if contact and len(contact) > CONTACT_MAX:
        out.append((field["contact"], f"is longer than {CONTACT_MAX} characters"))
    if contact and not name:
        out.append((field["contact"], f"goes with {name_opt}: how to reach someone outside the team"))
    reason = _text(body.get("reason"))
    if not reason:
        out.append((field["reason"], "is required: why this keyworker (for example, the child trusts them more, "
                                     "the relationship broke down, the child needs a female worker)"))
    elif len(reason) > REASON_MAX:
        out.append((field["reason"], f"is longer than {REASON_MAX} characters"))
    return out


def nominations(records: Iterable[Any]) -> list[Any]:
    """The keyworker records of `records` (the effective ones: a correction in its original's
    place), in the records' order."""
    return [r for r in records if r.kind == KIND]


def who(body: Mapping[str, Any] | None, case_worker: str | None) -> dict[str, Any]:
    """A keyworker as data: `worker` (a team worker's id) or `name`, `role`, `contact` (someone
    outside the team), and `is_caseworker` (the case's caseworker now)."""
    if not body:
        return {"worker": case_worker, "name": None, "role": None, "contact": None, "outside": False,
                "is_caseworker": True}
    worker = _text(body.get("worker")) or None
    return {"worker": worker, "name": None if worker else _text(body.get("name")) or None,
            "role": None if worker else _text(body.get("role")) or None,
            "contact": None if worker else _text(body.get("contact")) or None, "outside": worker is None,
            "is_caseworker": worker is not None and worker == case_worker}


def current(records: Iterable[Any], case_worker: str | None, gone: Container[str] = ()) -> dict[str, Any]:
    """The case's keyworker now (`who`), with `nominated` False and no record where none was
    nominated (then the caseworker is the keyworker), else the latest nomination's record,
    when, by whom and its reason. `off_team`: a colleague nominated who has left the team since
    (in `gone`: removed or revoked, rules.off_team) is no one's point of contact now."""
    found = nominations(records)
    if not found:
        return dict(who(None, case_worker), nominated=False, record_id=None, at=None, by=None, reason=None, off_team=False)
    latest = found[-1]
    now = who(latest.body, case_worker)
    return dict(now, nominated=True, record_id=latest.id, at=latest.at, by=latest.by,
                reason=_text(latest.body.get("reason")) or None,
                off_team=not now["outside"] and now["worker"] is not None and now["worker"] in gone)


def history(records: Iterable[Any], case_worker: str | None) -> list[dict[str, Any]]:
    """Every nomination in the records' order, each with who (`who`; `is_caseworker`: the
    caseworker then, `case_worker`), its reason, record, when and by whom, and the record it
    corrects (a correction stands in its original's place)."""
    out = []
    for r in nominations(records):
        then = _text(r.body.get("case_worker")) or case_worker
        out.append(dict(who(r.body, then), case_worker=then, record_id=r.id, at=r.at, by=r.by,
                        reason=_text(r.body.get("reason")) or None, corrects=r.body.get("supersedes")))
    return out


def same(body: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether a nomination names the keyworker the case has now (`current`): the same team
    worker, or the same person outside it (name, role and contact)."""
    worker = _text(body.get("worker")) or None
    if worker is not None:
        return not now.get("outside") and now.get("worker") == worker
    return bool(now.get("outside")) and all((_text(body.get(k)) or None) == now.get(k) for k in ("name", "role", "contact"))


def described(body: Mapping[str, Any]) -> str:
    """A nomination in a few words, codes and worker ids only (the log, a message): never the
    name or contact of someone outside the team."""
    worker = _text(body.get("worker"))
    if worker:
        return f"{worker} (of the team)"
    role = _text(body.get("role"))  # a code of ROLES; anything else (a record written by hand) is not repeated
    return f"outside the team ({role.replace('_', ' ')})" if role in ROLES else "outside the team"

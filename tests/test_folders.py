"""What the folders of their own share (service/folders.py): an ID read from the command line, and
the due list's filter of what falls due of them (a supervision session, a complaint's response, a
strictly confidential entry whose readers lag the team). No disk: the filter reads the team and
the time of the session only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from cpcm.domain.ids import normalise_complaint_id
from cpcm.domain.team import Team, Worker
from cpcm.errors import UsageError
from cpcm.service.folders import Folders, due_filter
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import Deadline

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
SOON = timedelta(days=7)
HORIZON = NOW + timedelta(days=14)
TEAM = Team((Worker("amina", "Amina", ("caseworker",), "age1amina"), Worker("sup", "Sup", ("supervisor",), "age1sup"),
             Worker("mgr", "Mgr", ("manager",), "age1mgr")))
CTX = SimpleNamespace(team=TEAM, now=NOW)


def _item(owner: str, due: datetime) -> Deadline:
    return Deadline("CM-4F7K-9X2N", "complaint-respond", "respond", due, None, owner, "complaints.respond_within", "why", "src")


OVERDUE = _item(SUPERVISORS, NOW - timedelta(days=1))
DUE_SOON = _item(SUPERVISORS, NOW + timedelta(days=3))
LATER = _item(SUPERVISORS, HORIZON + timedelta(days=1))
AMINAS = _item("amina", NOW + timedelta(days=3))


@pytest.mark.parametrize("whose, overdue_only, item, readers, kept", [
    ("all", False, DUE_SOON, None, True),
    ("all", False, DUE_SOON, ["mgr"], True),  # every one you read: its readers are not asked
    ("all", False, LATER, None, False),  # after the horizon
    ("all", True, LATER, None, False),
    ("all", True, OVERDUE, None, True),  # overdue: on the list whatever the horizon
    ("all", True, DUE_SOON, None, False),  # --overdue: the overdue ones only
    ("sup", False, DUE_SOON, None, True),  # a supervisor acts on what a supervisor or manager may
    ("sup", False, DUE_SOON, ["amina", "sup"], True),
    ("sup", False, DUE_SOON, ["amina", "mgr"], False),  # not among its readers: not theirs, whatever their role
    ("amina", False, DUE_SOON, None, False),  # a caseworker does not act for the supervisors
    ("amina", False, AMINAS, ["amina", "sup"], True),
    ("sup", False, AMINAS, ["amina", "sup"], False),  # another's item
    ("nobody", False, DUE_SOON, None, False),  # no such worker: nothing of the supervisors'
])
def test_due_filter__whose_list_and_when(whose, overdue_only, item, readers, kept):
    assert due_filter(CTX, whose, HORIZON, overdue_only, SOON)(item, readers) is kept


FOLDERS = Folders("complaints", lambda folder_id, records: None, "complaint", normalise_complaint_id,
                  invalid="the complaint ID given is not a valid complaint ID", id_hint="Complaint IDs look like CM-4F7K-9X2N.",
                  missing="complaint", listed_by="cpcm complaint list", not_reader="you ({worker}) are not among the readers of {id}",
                  readers_hint="Who reads them.")


def test_parse_id__written_as_the_ids_are():
    assert FOLDERS.parse_id(" cm-4f7k-9x2n ") == normalise_complaint_id("CM-4F7K-9X2N") == "CM-4F7K-9X2N"


def test_parse_id__not_an_id_is_a_usage_error_with_its_hint():
    with pytest.raises(UsageError) as error:
        FOLDERS.parse_id("Grace Wanjiru")
    assert str(error.value) == "the complaint ID given is not a valid complaint ID"
    assert error.value.hint == "Complaint IDs look like CM-4F7K-9X2N."

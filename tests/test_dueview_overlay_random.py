"""`due` over a due view kept as it is (service/dueview.py `_overlaid`, forced here for small
views): random sequences of writes (the case workflow in order, notes, follow-ups, covers either
way, reassignments away and back, new cases, a colleague writing on a case they cover), after
each every form of `due` for the worker, a colleague and the supervisor, at other times too,
compared with what it prints without views; and no view holds anything of a case its worker
does not read."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import register_many
from cpcm.crypto import cipher
from cpcm.service import dueview, views
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_dueview_splice import _due_overlaid
from test_dueview_stream import _keys
from test_followup_close import GOALS_MET
from test_sync import VISIT

AMINA = [("due", "--worker", "all"), ("due",), ("due", "--worker", "all", "--json"), ("due", "--overdue"),
         ("due", "--worker", "all", "--within", "400"), ("due", "--worker", "otieno"), ("due", "--json"),
         ("due", "--within", "30")]
OTHER = [("due",), ("due", "--json"), ("due", "--worker", "all"), ("due", "--within", "60")]
STEPS = 16  # (the review that brought this test ran 8 seeds of 20 to 30 steps)
NOWS = ["2026-11-24T08:00:00+03:00", "2027-01-15T10:00:00+03:00", "2026-12-03T23:30:00+00:00"]


def same(who, without_views, commands, env=None, label=""):
    for args in commands:
        kept, computed = who(*args, env=env), without_views(who, *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), (label, args, env)


def view_text(cli, worker):
    path = Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / worker / views.FOLDER / "due.view"
    return cipher.decrypt(path.read_bytes(), _keys(cli)) if path.exists() else b""


@pytest.mark.parametrize("seed", [1, 2])
def test_due_over_the_view_as_it_is_prints_what_it_prints_without_views(cli, cli_as, without_views, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    overlays = _due_overlaid(monkeypatch)
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    ids = []
    for at in ("2026-11-20T14:37:00+03:00", "2026-11-22T23:05:00+03:00", "2026-11-23T08:00:00+03:00"):
        ids += register_many(cli_as("amina", CPCM_NOW=at), 2)
    ids += register_many(cli_as("otieno", CPCM_NOW="2026-11-22T10:20:00+03:00"), 2)
    workers = {"amina": amina, "otieno": otieno, "sup": sup}
    for w in workers.values():
        assert w("due", "--worker", "all").code == 0
    log = []

    stage = {}
    FLOW = ["initial", "comprehensive", "plan", "approve", "followup", "close", "approve-closure"]

    def owner_of(c):
        rows = {r["case_id"]: r for r in without_views(sup, "list", "--json").json()}
        return workers.get(rows.get(c, {}).get("worker"), amina)

    def write():
        c = rng.choice(ids)
        me = owner_of(c)
        if rng.random() < 0.5 and stage.get(c, 0) < len(FLOW):
            kind = FLOW[stage.get(c, 0)]
        else:
            kind = rng.choice(["note", "followup", "cover", "reassign", "back", "register", "otieno-note", "initial"])
        log.append((kind, c))
        if kind == "note":
            return me("note", c, "--text", "visited")
        if kind == "otieno-note":
            return otieno("note", c, "--text", "covering")
        if kind == "followup":
            return me("followup", c, *VISIT)
        if kind == "initial":
            done = me("assess", c, "--type", "initial", "--risk", rng.choice(["high", "low", "medium"]), *INITIAL)
        elif kind == "comprehensive":
            done = me("assess", c, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
        elif kind == "plan":
            done = me("plan", c, "--from-file", "-", input=json.dumps(plan_doc()))
        elif kind == "approve":
            done = sup("approve", c, "plan")
        elif kind == "approve-closure":
            done = sup("approve", c, "closure")
        elif kind == "close":
            done = me("close", c, "--reason", "goals_met", *GOALS_MET, "--explain-open", "none")
        elif kind == "cover":
            return me("assign", c, "--cover", rng.choice(["otieno", "amina"]), "--until", "2026-12-31")
        elif kind == "reassign":
            return sup("assign", c, "--worker", rng.choice(["otieno", "amina"]))
        elif kind == "back":
            return sup("assign", c, "--worker", "amina")
        elif kind == "register":
            ids.extend(register_many(rng.choice([amina, otieno]), 1))
            return None
        if done.code == 0 and kind in FLOW:
            stage[c] = max(stage.get(c, 0), FLOW.index(kind) + 1)
        return done

    for step in range(STEPS):
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            done = write()
            log[-1] = (*log[-1], None if done is None else done.code)
        label = (seed, step, log[-3:])
        same(amina, without_views, AMINA, label=label)
        same(otieno, without_views, OTHER, label=label)
        same(sup, without_views, OTHER, label=label)
        now = rng.choice(NOWS)
        same(rng.choice([amina, otieno, sup]), without_views, OTHER[:3], env={"CPCM_NOW": now}, label=label)
        for name, w in workers.items():  # nothing of a case the worker does not read in its view
            readable = {row["case_id"] for row in without_views(w, "list", "--json").json()}
            text = view_text(w, name)
            assert not [c for c in ids if c not in readable and c.encode() in text], (label, name)
    assert any(overlays) and not all(overlays)  # both ways taken: over the view as it is, and spliced

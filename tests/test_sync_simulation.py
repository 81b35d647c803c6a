"""A small team working offline for days, syncing in random pairs through a bare remote and
through bundles: at the end every copy is identical after a full round, every record written on
any copy is in every copy, verify is clean, and every conflict a merge found is a `check` problem.

The larger version, with five workers and sixty days, is bench/sync.py (`--simulate`)."""
from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

from conftest import NOW, Cli, git_status, head, make_identity, signing_line
from test_assess_plan import plan_doc

DAYS = 8
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no")
CLOSE = ("--reason", "registered_in_error", "--check", "error_confirmed")
REGISTRATION = {"child": {"name": "Sim Child", "sex": "female", "age_estimate": 9, "disability": "no"}, "location": "Kisumu",
                "lives_with": "relatives", "caregiver": {"name": "Sim Carer", "relationship": "aunt"},
                "identified_by": "community_member", "concerns": ["neglect"], "risk": "medium",
                "consent": {"child": "given", "caregiver": "given", "explained": True}}


def record_names(root: Path) -> set[str]:
    return {p.name for p in (root / "cases").glob("*/*/*.yaml.age")}


def readable_cases(cli: Cli, everyone: bool) -> list[str]:
    done = cli("list", "--worker", "all", "--json") if everyone else cli("list", "--json")
    assert done.code == 0, done.stderr
    return sorted(c["case_id"] for c in done.json())


def act(rng: random.Random, cli: Cli, worker: str, workers: list[str]) -> None:
    """One random piece of a day's work; refused is fine (the stage did not allow it), failing is not."""
    cases = readable_cases(cli, worker == workers[0])
    choice = rng.choice(["register", "visit", "note", "plan", "close", "decide", "assign"] if cases else ["register"])
    case_id = rng.choice(cases) if cases else None
    if choice == "register":
        extra = ["--worker", rng.choice(workers[1:])] if worker == workers[0] else []
        done = cli("register", "--from-file", "-", *extra, input=json.dumps(REGISTRATION))
    elif choice == "visit":
        done = cli("followup", case_id, *VISIT)
    elif choice == "note":
        done = cli("note", case_id, "--text", "visited")
    elif choice == "plan":
        done = cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
    elif choice == "close":
        done = cli("close", case_id, *CLOSE)
    elif choice == "decide":
        done = cli("approve", case_id, rng.choice(["plan", "closure"]))
    else:
        done = cli("assign", case_id, "--worker", rng.choice(workers[1:]))
    assert done.code in (0, 4), f"{choice}: {done.stderr}"


def simulate(repo: Path, keys: dict, tmp: Path, workers: list[str], days: int, seed: int) -> dict:
    """`workers[0]` (a supervisor, who made `repo`) and the caseworkers after it, each on a clone,
    `days` of random work apart, syncing in random pairs through a bare remote and bundles, then
    a full round of syncs. Asserts what must hold at the end; returns counts."""
    rng = random.Random(seed)
    boss = workers[0]
    bare = tmp / "remote.git"
    clones = {boss: repo}

    def cli(worker: str) -> Cli:
        return Cli({"CPCM_REPO": str(clones[worker]), "CPCM_IDENTITY": str(keys[worker][0]), "CPCM_NOW": NOW})

    assert cli(boss)("remote", "add", "origin", str(bare), "--create").code == 0
    assert cli(boss)("sync").code == 0
    for worker in workers[1:]:
        clones[worker] = tmp / f"laptop-{worker}"
        subprocess.run(["git", "clone", "-q", str(bare), str(clones[worker])], check=True)
    acknowledged: set[str] = set()
    conflicts: list[dict] = []
    syncs = bundles = 0

    def sync(worker: str) -> None:
        nonlocal syncs
        done = cli(worker)("sync", "--json")
        assert done.code == 0, done.stderr
        conflicts.extend(done.json()["conflicts"])
        syncs += 1

    for day in range(days):
        for worker in workers:
            for _ in range(rng.randint(1, 2)):
                act(rng, cli(worker), worker, workers)
            acknowledged |= record_names(clones[worker])
        if day == 2:  # the team grows while everyone is apart
            key = make_identity(tmp / "keys" / "newcomer.txt")
            assert cli(boss)("team", "add", "newcomer", "--role", "caseworker", "--recipient", key,
                             "--signing-key", signing_line(tmp / "keys" / "newcomer.txt")).code == 0
        if day == 4:  # the supervisor and a caseworker both write a plan for one of the caseworker's open cases, apart
            sync(workers[1])
            sync(boss)
            listed = cli(workers[1])("list", "--json").json()
            open_cases = sorted(c["case_id"] for c in listed if c["status"] == "open" and c["stage"] != "closure_requested")
            if open_cases:
                for worker in (boss, workers[1]):
                    done = cli(worker)("plan", open_cases[0], "--from-file", "-", input=json.dumps(plan_doc()))
                    assert done.code == 0, done.stderr
                acknowledged |= record_names(clones[boss]) | record_names(clones[workers[1]])
        one, other = rng.sample(workers, 2)
        if rng.random() < 0.5:
            sync(one)
            sync(other)
        else:  # a USB stick between two laptops
            bundle = tmp / f"day{day}.bundle"
            assert cli(one)("bundle", "create", str(bundle), "--force").code == 0
            applied = cli(other)("bundle", "apply", str(bundle), "--json")
            assert applied.code == 0, applied.stderr
            conflicts.extend(applied.json()["conflicts"])
            bundles += 1
    # a full round: everyone syncs, then everyone but the last again
    for worker in workers + workers[:-1]:
        sync(worker)
    heads = {head(root) for root in clones.values()}
    assert len(heads) == 1
    for worker, root in clones.items():
        assert git_status(root) == []
        assert acknowledged <= record_names(root), f"{worker} lacks records written elsewhere"
        verified = cli(worker)("verify")
        assert verified.code == 0, verified.stdout
    from cpcm import service

    ctx = service.open_repo(repo, keys[boss][0])
    for conflict in conflicts:
        case = service.load_case(ctx, conflict["case"])
        assert conflict["code"] in {c["code"] for c in case.conflicts}
    return {"records": len(acknowledged), "conflicts": len(conflicts), "syncs": syncs, "bundles": bundles,
            "cases": len(list((repo / "cases").glob("*/CP-*")))}


def test_a_team_offline_for_days_converges(repo, team, tmp_env):
    stats = simulate(repo, team, tmp_env, ["sup", "amina", "otieno"], DAYS, int(os.environ.get("CPCM_SIM_SEED", "20261130")))
    assert stats["conflicts"], "the plans written apart on day 4 are a conflict"

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

from conftest import NOW, Cli, git_status, head, make_identity
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
    return {p.name for p in (root / "cases").glob("*/*.yaml.age")}


def readable_cases(cli: Cli, worker: str) -> list[str]:
    done = cli("list", "--worker", "all", "--json") if worker == "sup" else cli("list", "--json")
    assert done.code == 0, done.stderr
    return sorted(c["case_id"] for c in done.json())


def act(rng: random.Random, cli: Cli, worker: str, workers: list[str]) -> None:
    """One random piece of a day's work; refused is fine (the stage did not allow it), failing is not."""
    cases = readable_cases(cli, worker)
    choice = rng.choice(["register", "visit", "note", "plan", "close", "decide", "assign"] if cases else ["register"])
    case_id = rng.choice(cases) if cases else None
    if choice == "register":
        extra = ["--worker", rng.choice(workers[1:])] if worker == "sup" else []
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


def test_a_team_offline_for_days_converges(repo, team, tmp_env):
    rng = random.Random(int(os.environ.get("CPCM_SIM_SEED", "20261130")))
    workers = ["sup", "amina", "otieno"]
    bare = tmp_env / "remote.git"
    clones = {"sup": repo}

    def cli(worker: str) -> Cli:
        return Cli({"CPCM_REPO": str(clones[worker]), "CPCM_IDENTITY": str(team[worker][0]), "CPCM_NOW": NOW})

    assert cli("sup")("remote", "add", "origin", str(bare), "--create").code == 0
    assert cli("sup")("sync").code == 0
    for worker in workers[1:]:
        clones[worker] = tmp_env / f"laptop-{worker}"
        subprocess.run(["git", "clone", "-q", str(bare), str(clones[worker])], check=True)
    acknowledged: set[str] = set()
    conflicts: list[dict] = []

    def sync(worker: str) -> None:
        done = cli(worker)("sync", "--json")
        assert done.code == 0, done.stderr
        conflicts.extend(done.json()["conflicts"])

    for day in range(DAYS):
        for worker in workers:
            for _ in range(rng.randint(1, 2)):
                act(rng, cli(worker), worker, workers)
            acknowledged |= record_names(clones[worker])
        if day == 4:  # the supervisor and amina both write a plan for one of amina's open cases, apart
            sync("amina")
            sync("sup")
            listed = cli("amina")("list", "--json").json()
            open_cases = sorted(c["case_id"] for c in listed if c["status"] == "open" and c["stage"] != "closure_requested")
            if open_cases:
                for worker in ("sup", "amina"):
                    done = cli(worker)("plan", open_cases[0], "--from-file", "-", input=json.dumps(plan_doc()))
                    assert done.code == 0, done.stderr
                acknowledged |= record_names(clones["sup"]) | record_names(clones["amina"])
        if day == 2:  # the team grows while everyone is apart
            key = make_identity(tmp_env / "keys" / "njeri.txt")
            assert cli("sup")("team", "add", "njeri", "--role", "caseworker", "--recipient", key).code == 0
        one, other = rng.sample(workers, 2)
        if rng.random() < 0.5:
            sync(one)
            sync(other)
        else:  # a USB stick between two laptops
            bundle = tmp_env / f"day{day}.bundle"
            assert cli(one)("bundle", "create", str(bundle), "--force").code == 0
            applied = cli(other)("bundle", "apply", str(bundle), "--json")
            assert applied.code == 0, applied.stderr
            conflicts.extend(applied.json()["conflicts"])
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

    ctx = service.open_repo(repo, team["sup"][0])
    assert conflicts, "the plans written apart on day 4 are a conflict"
    for conflict in conflicts:
        case = service.load_case(ctx, conflict["case"])
        assert conflict["code"] in {c["code"] for c in case.conflicts}

"""The privacy canary: a child registered under a unique marker name, then every command run.

The marker may reach stdout of the commands that were asked to show it (`show`, `list --names`)
and nowhere else: not a file in the casefile repository (working tree, .git, .cpcm/cache), not a
git object decompressed, not `git log -p`, not the temp folder, not stderr of any command.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CANARY, NOW, Cli, git, make_identity, registration, signing_line

# each half on its own and in any case: a name split into tokens or lower-cased still leaks
MARKERS = tuple(part.lower().encode() for part in CANARY.split())

TEMPLATES = re.compile(
    r"^(init [A-Za-z0-9._-]+"
    r"|register CP-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}"
    r"|assign CP-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}"
    r"|team (add|remove) [a-z0-9._-]+"
    r"|team sync [0-9]+ cases"
    r"|(assess|plan|withdraw|approve|reject|consent|refer|referral|followup|review|readiness|close|reopen|continue|note|update|correct"
    r"|placement|tracing|family-assessment|preparation|mandatory-report|child-file) "
    r"CP-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}( [0-9A-Z]{26})?( \(cover ended\))?"
    r"|service (add [a-z0-9_-]+|import [0-9]+ services)"
    r"|conference (new|attend|minutes|close|render|update) CC-[0-9A-Z]{4}-[0-9A-Z]{4}( [0-9A-Z]{26})?"
    r"|conference (sign|bar|lift) CR-0000-0005 [0-9A-Z]{26}"
    r"|conference add-case CC-[0-9A-Z]{4}-[0-9A-Z]{4} CP-[0-9A-Z]{4}-[0-9A-Z]{4}( [0-9A-Z]{26})?"
    r"|supervision (record|correct) SV-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}"
    r"|(review|assign) batch [0-9]+ cases)$"
)


def leaks(data: bytes) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in MARKERS)


def files_with_marker(folder: Path) -> list[str]:
    return [str(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and leaks(p.read_bytes())]


def git_objects(root: Path) -> bytes:
    """Every object in the repository (reachable or not), decompressed."""
    return git(root, "cat-file", "--batch-all-objects", "--batch", binary=True)


def git_log_patch(root: Path) -> bytes:
    return git(root, "log", "--all", "-p", "--format=fuller", binary=True)


def canary_registration() -> dict:
    return registration(
        child={"name": CANARY, "other_names": CANARY.split()[0], "sex": "female", "date_of_birth": "2015-04-01"},
        location=f"{CANARY} village, Kisumu",
        caregiver={"name": f"{CANARY} senior", "relationship": "grandmother"},
        contact=f"ask for {CANARY} at the market",
        notes=f"{CANARY}\nseen at the market\n",
    )


class Session:
    """Runs commands and keeps every stderr; stdout only where the name was not asked for."""

    def __init__(self):
        self.argv_log: Path | None = None  # what the git cpcm starts was given (logging_git)
        self.stderr: list[tuple[tuple, str]] = []
        self.stdout_without_names: list[tuple[tuple, str]] = []

    def run(self, cli, *args, expect: int = 0, names_allowed: bool = False, **kw):
        result = cli(*args, **kw)
        assert result.code == expect, (args, result.code, result.stderr)
        self.stderr.append((args, result.stderr))
        if not names_allowed:
            self.stdout_without_names.append((args, result.stdout))
        return result


def logging_git(log: Path) -> Path:
    """A folder holding a `git` that writes its command line and its environment (what `ps` and
    /proc show other users of the computer) to `log`, then runs the real git."""
    real = shutil.which("git")
    assert real, "the tests need git"
    folder = log.parent / "bin"
    folder.mkdir()
    script = folder / "git"
    script.write_text(f"#!/bin/sh\n{{ printf '%s\\0' \"$@\"; env; printf '\\n'; }} >> {shlex.quote(str(log))}\n"
                      f"exec {shlex.quote(real)} \"$@\"\n")
    script.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One casefile repository, made as the `repo` fixture makes it, for the whole module (the
    session is long), with temp files and HOME inside its folder: (folder, repo, Session)."""
    base = tmp_path_factory.mktemp("privacy")
    (base / "tmp").mkdir()
    argv_log = tmp_path_factory.mktemp("argv") / "git.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{logging_git(argv_log)}{os.pathsep}{os.environ.get('PATH', '')}")
        mp.setenv("TMPDIR", str(base / "tmp"))
        mp.setenv("HOME", str(base / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(base / "home" / ".config"))
        keys = {w: base / "keys" / f"{w}.txt" for w in ("sup", "amina", "otieno")}
        recipients = {w: make_identity(path) for w, path in keys.items()}
        root = base / "casefiles"

        def cli_as(worker: str) -> Cli:
            return Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys[worker]), "CPCM_NOW": NOW})

        sup = cli_as("sup")
        assert sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor").code == 0
        for worker in ("amina", "otieno"):
            assert sup("team", "add", worker, "--role", "caseworker", "--recipient", recipients[worker],
                       "--signing-key", signing_line(keys[worker])).code == 0
        session = run_every_command(base, cli_as)
        session.argv_log = argv_log
        yield base, root, session


def run_every_command(base: Path, cli_as) -> "Session":
    """Every command, with the canary child registered first."""
    s = Session()
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    doc = json.dumps(canary_registration())
    case_id = s.run(amina, "register", "--from-file", "-", "--json", input=doc).json()["case_id"]
    # the same child again, by flags and in human output: a probable-duplicate warning on stderr
    s.run(amina, "register", "--name", CANARY, "--sex", "female", "--dob", "2015-04-01", "--location", f"{CANARY} village",
          "--lives-with", "relatives", "--caregiver", f"{CANARY} senior", "--identified-by", "family", "--concern", "neglect",
          "--risk", "medium", "--child-consent", "given", "--caregiver-consent", "given")
    shown = s.run(amina, "show", case_id, names_allowed=True)
    assert CANARY in shown.stdout  # the canary really is in the case: the scans below can find it
    s.run(amina, "show", case_id, "--json", names_allowed=True)
    s.run(amina, "list")
    assert CANARY in s.run(amina, "list", "--names", names_allowed=True).stdout
    s.run(amina, "list", "--json")
    s.run(amina, "list", "--names", "--json", names_allowed=True)
    s.run(amina, "log", case_id)
    s.run(amina, "log", case_id, "--json")
    s.run(amina, "assign", case_id, "--worker", "otieno")
    s.run(otieno, "show", case_id, names_allowed=True)
    s.run(otieno, "team", "remove", "amina", expect=4)  # a caseworker cannot change the team
    s.run(sup, "team", "remove", "otieno", expect=4)    # otieno still has the case
    s.run(sup, "assign", case_id, "--worker", "amina", "--json")
    s.run(sup, "team", "remove", "otieno")
    sup2 = base / "keys" / "sup2.txt"
    s.run(sup, "team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(sup2), "--name", "Second Supervisor",
          "--signing-key", signing_line(sup2))
    s.run(sup, "team", "list")
    s.run(sup, "team", "list", "--all", "--json")
    s.run(sup, "team", "sync")
    s.run(amina, "team", "sync", "--json")
    s.run(amina, "form", "blank", "registration")
    s.run(amina, "form", "blank", "registration", "--lang", "sw")
    s.run(amina, "key", "show")
    s.run(amina, "key", "show", "--json")
    # error paths
    wrong_check = case_id[:-1] + ("0" if case_id[-1] != "0" else "1")
    s.run(amina, "show", wrong_check, expect=2)
    s.run(amina, "show", "CP-0000-0000", expect=3)
    s.run(amina, "log", "CP-0000-0000", "--json", expect=3)
    s.run(cli_as("otieno"), "show", case_id, expect=5)  # removed from the team
    s.run(amina, "register", "--from-file", "-", expect=4,
          input=json.dumps(registration(child={"name": CANARY, "sex": "girl", "date_of_birth": "2099-01-01"}, risk="hihg",
                                        location=CANARY, caregiver={"name": CANARY, "relashionship": CANARY})))
    s.run(amina, "register", "--from-file", "-", "--json", expect=4,
          input=json.dumps(registration(child={"name": CANARY * 20, "sex": "female", "age_estimate": 40})))
    for broken in (f"child:\n  name: {CANARY}\n\tsex: female\n", f"child: [{CANARY}\n", f"'{CANARY}\n",
                   f"location: {CANARY}: here\n", f"child: *{CANARY.split()[0]}\n"):
        s.run(amina, "register", "--from-file", "-", expect=2, input=broken)
    s.run(amina, "assign", case_id, "--worker", "nobody", expect=3)
    s.run(amina, "assign", case_id, "--worker", "amina", expect=4)
    # a batch of assignments: a bad one (the marker as a worker, a column and a case; the file removed after), then one
    batch = base / "batch"
    batch.mkdir()
    (batch / "bad.yaml").write_text(json.dumps([{"case": case_id, "worker": CANARY}, {"case": CANARY, "worker": "sup", CANARY: "x"}]))
    s.run(sup, "assign", "--batch", str(batch / "bad.yaml"), "--json", expect=4)
    s.run(sup, "assign", "--batch", str(batch / "bad.yaml"), "--dry-run", expect=4)
    (batch / "bad.yaml").unlink()
    (batch / "good.csv").write_text(f"case,worker\n{case_id},sup\n")
    s.run(sup, "assign", "--batch", str(batch / "good.csv"))
    s.run(sup, "assign", case_id, "--worker", "amina")
    s.run(amina, "show", case_id, "--identity", str(base / "keys" / "missing.txt"), expect=5)
    # a name typed where a commit belongs: refused, and never given to git on its command line
    s.run(amina, "bundle", "create", str(base / "tmp" / "since.bundle"), "--since", CANARY, expect=2)
    s.run(amina, "bundle", "create", str(base / "tmp" / "since.bundle"), "--since", CANARY.split()[0], expect=2)
    run_the_cycle(s, base, amina, sup, case_id)
    s.case_id = case_id
    return s


def run_the_cycle(s: "Session", base: Path, amina, sup, case_id: str) -> None:
    """The rest of a case's life, with the canary in free text wherever a worker could type it."""
    initial = ["--set", "safe=no", "--set", "basic_needs.food=no", "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes",
               "--set", "interim_plan_needed=no", "--outcome", "proceed", "--risk", "high", "--risk-reason", f"{CANARY} said so",
               "--set", f"safety_concerns={CANARY} hits the child"]
    s.run(amina, "assess", case_id, "--type", "initial", *initial)
    comprehensive = {"dimensions": {"physical": {"risks": f"{CANARY} is thin"}}, "child_views": f"wants to live with {CANARY}",
                     "outcome_explained_to_child": "yes", "consulted": ["child"], "needs": [f"school near {CANARY}"]}
    s.run(amina, "assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(comprehensive))
    s.run(amina, "assess", case_id, "--type", "comprehensive", "--from-file", "-", expect=4,
          input=json.dumps(dict(comprehensive, child_views="")))
    plan = {"reason": "initial", "goals": [{"term": "short", "goal": f"safe with {CANARY}", "need": "safety"}],
            "actions": [{"what": f"visit {CANARY}", "who": "caseworker", "by": "2027-01-10", "mode": "direct"}],
            "closure_criteria": ["safe"], "contingency": f"{CANARY} takes the child in", "participants": {"child": "yes", "caregivers": "yes"}}
    s.run(amina, "plan", case_id, "--from-file", "-", input=json.dumps(plan))
    s.run(amina, "approve", case_id, "plan", expect=4)
    s.run(sup, "approve", case_id, "plan", "--note", "fine")
    # revising the plan from its current version: by --set, in an editor (a file in memory, removed after), withdrawn
    s.run(amina, "plan", case_id, "--from-current", "--reason", "review", "--set", f"actions.new.what=call {CANARY}",
          "--set", "actions.new.who=caseworker", "--set", "actions.new.by=2026-12-20", "--set", "actions.new.mode=direct",
          "--set", f"contingency={CANARY} again", "--json")
    s.run(amina, "plan", case_id, "--from-current", "--reason", "review", "--set", f"actions.{CANARY}.by=2027-01-01", expect=4)
    s.run(amina, "plan", case_id, "--withdraw", "--reason", f"{CANARY} asked")
    editor = base / "editor.py"
    editor.write_text("import os, sys\np = sys.argv[1]\nt = open(p).read()\n"  # the name comes from the environment, not this file
                      "open(p, 'w').write(t.replace('contingency:', 'contingency: ' + os.environ['TYPED'] + ' and', 1))\n")
    import sys as _sys
    s.run(amina, "plan", case_id, "--edit", "--reason", "correction", env={"EDITOR": f"{_sys.executable} {editor}", "TYPED": CANARY})
    s.run(sup, "approve", case_id, "plan", "--note", "fine")
    s.run(amina, "render", "child-plan", case_id, names_allowed=True)
    s.run(amina, "render", "case-plan", case_id, "--lang", "sw", "--format", "html", "--out", str(base / "tmp" / "plan.html.age"))
    # a revision rejected with the name in its note: the worker's due item names the version, not the note
    s.run(amina, "plan", case_id, "--from-current", "--reason", "review", "--set", f"contingency={CANARY} once more")
    s.run(sup, "reject", case_id, "plan", "--note", f"add an action for the birth certificate of {CANARY}")
    s.run(amina, "due", "--within", "60")
    s.run(amina, "check", case_id, "--json")
    s.run(amina, "due", "--ics", str(base / "tmp" / "due.ics"), "--within", "60")
    s.run(amina, "due", "--json")
    s.run(sup, "check", "--json")
    s.run(sup, "policy", "show")
    s.run(sup, "service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care")
    for giver in ("child", "caregiver"):
        s.run(amina, "consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
              "--explained", "all", "--reason", f"{CANARY} agreed")
    s.run(amina, "refer", case_id, "--service", "clinic", "--need", f"treatment for {CANARY}", "--check", "all")
    s.run(amina, "referral", case_id, "R1", "--status", "declined", "--feedback", f"{CANARY} is not eligible")
    s.run(amina, "render", "case-file", case_id, names_allowed=True)
    s.run(amina, "render", "case-file", case_id, "--lang", "sw", "--out", str(base / "tmp" / "file.html.age"))
    s.run(amina, "render", "case-file", case_id, "--format", "md", "--out", str(base / "tmp" / "file.md.age"), "--json")
    s.run(amina, "followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", f"see {CANARY}",
          "--visited-by", "professional", "--risk-increased", "yes", "--set", f"observations={CANARY} was drunk")
    s.run(amina, "followup", case_id, "--method", "phone", "--purpose", "plan_action", "--visited-by", "professional",
          "--risk-increased", "no", "--done", "A1", "--set", f"observations=called {CANARY}")
    s.run(amina, "followup", case_id, "--method", "phone", "--purpose", "plan_action", "--visited-by", "professional",
          "--risk-increased", "no", "--done", CANARY, expect=4)
    s.run(amina, "due", "--ics", str(base / "tmp" / "due2.ics"), "--within", "60")
    s.run(amina, "due", "--within", "60")
    from cpcm.store import forms as form_defs

    benchmarks = {d["key"]: {item: "yes" for bench in d["benchmarks"] for item in bench["items"]}
                  for d in form_defs.scoring("readiness")["domains"]}
    benchmarks["protection"]["b3_child_free_of_violence"] = "no"  # a stop answer: its warning and due item
    readiness = {"occasion": "review", "benchmarks": benchmarks, "notes": f"{CANARY} was at home"}
    s.run(amina, "readiness", case_id, "--from-file", "-", input=json.dumps(readiness))
    s.run(amina, "readiness", case_id, "--set", "occasion=review", "--set", f"benchmarks.education.b1_travels_safely={CANARY}",
          "--no-input", expect=4)
    s.run(amina, "show", case_id, names_allowed=True)
    run_placements(s, base, amina, sup, case_id)
    review = {"chair": "sup", "attended": {"child": "no", "family": "yes"}, "absent_reason": f"{CANARY} kept the child away",
              "plan_still_right": "yes", "decisions": [f"talk to {CANARY}"], "outcome": "continue"}
    s.run(amina, "review", case_id, "--from-file", "-", input=json.dumps(review))
    # a meeting planned ahead: minutes refused before it; then moved to a date that has come
    conf = s.run(sup, "conference", "new", "--kind", "internal", "--date", "2026-12-10", "--venue", f"{CANARY} hall",
                 "--co-chair", f"{CANARY} officer", "--co-chair-title", "SCCO", "--json").json()["conference_id"]
    s.run(sup, "conference", "add-case", conf, case_id, "--reason", "reintegration_decision", expect=4)  # the venue names the child
    s.run(sup, "conference", "update", conf, "--venue", "the meeting room")
    s.run(sup, "conference", "add-case", conf, case_id, "--reason", "reintegration_decision")
    s.run(sup, "conference", "add-case", conf, case_id, "--reason", "especially_difficult", expect=4)  # nominated once
    s.run(sup, "conference", "minutes", conf, "--set", f"cases.0.discussion={CANARY}", "--no-input", expect=4)  # before the meeting
    s.run(sup, "conference", "update", conf, "--date", "2026-11-20", "--reason", f"{CANARY} was ill", "--venue", f"{CANARY} room",
          expect=4)  # a venue naming a child of the conference
    s.run(sup, "conference", "update", conf, "--date", "2026-11-20", "--reason", f"{CANARY} was ill")
    s.run(sup, "conference", "update", conf, "--external-chair", f"{CANARY} chair", expect=4)  # a title is needed
    # the marker typed as a professional's name or a venue is shown on stdout by design (names_allowed); never on
    # stderr, in a file name, a commit message or plaintext on disk
    s.run(sup, "conference", "show", conf, names_allowed=True)
    # the child's name is never put on the register (refused naming the field and the case); a professional's is
    s.run(sup, "conference", "sign", "--name", f"{CANARY} member", "--institution", "Agency", "--position", "Officer", expect=4)
    s.run(sup, "conference", "register", "--bar", "--name", CANARY, "--institution", "Agency", "--reason", "breach", expect=4)
    s.run(sup, "conference", "sign", "--name", "Officer One", "--institution", "Agency", "--position", "Officer",
          "--contact", f"{CANARY} phone", expect=4)  # the contact holds the child's name
    s.run(sup, "conference", "sign", "--name", "Officer One", "--institution", "Agency", "--position", "Officer")
    s.run(sup, "conference", "sign", "--name", "Officer One", "--institution", "Agency", "--position", "Officer", expect=4)
    s.run(sup, "conference", "register", "--bar", "--name", "Officer One", "--institution", "Agency", "--reason",
          f"told {CANARY} about a case")
    s.run(sup, "conference", "attend", conf, "--institution", "Agency", "--name", "Officer One", "--position", "Officer",
          "--contact", "0700", expect=4)  # barred
    s.run(amina, "conference", "register", "--lift", "--name", "Officer One", "--institution", "Agency", "--reason",
          f"{CANARY}", expect=4)  # a supervisor lifts a bar
    s.run(sup, "conference", "register", "--lift", "--name", "Officer One", "--institution", "Agency", "--reason",
          f"{CANARY} retrained")
    s.run(sup, "conference", "register", names_allowed=True)
    s.run(sup, "conference", "register", "--json", names_allowed=True)
    for n in range(5):
        s.run(sup, "conference", "attend", conf, "--institution", "Agency", "--name", f"Member {n}", "--position", "Officer",
              "--contact", "0700", "--confidentiality-signed", "yes")
    s.run(sup, "render", "form-5", conf, names_allowed=True)
    s.run(sup, "render", "form-5", conf, "--lang", "sw", "--format", "html", names_allowed=True)
    s.run(sup, "due", "--json")
    minutes = {"cases": [{"case": case_id, "discussion": "progress is slow", "decisions": ["continue"],
                          "actions": [{"need": "safety", "action": "joint visit", "responsible": "amina", "timeline": "2026-12-20"}]}]}
    s.run(sup, "conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes))
    s.run(sup, "conference", "minutes", conf, "--from-file", "-", expect=4,
          input=json.dumps({"cases": [dict(minutes["cases"][0], discussion=f"{CANARY} drinks")]}))
    s.run(sup, "conference", "close", conf)
    s.run(sup, "render", "minutes", conf, names_allowed=True)  # the venue and co-chair typed with the marker
    s.run(sup, "report", "statistics", "--format", "json")
    # a supervision session, confidential to who took part: the marker in its notes, as a worker and as a case typed
    session = s.run(sup, "supervision", "record", "--worker", "amina", "--kind", "support", "--case", case_id, "--no-input",
                    "--discussed", f"{CANARY} at home", "--wellbeing", CANARY, "--json").json()["session_id"]
    s.run(sup, "supervision", "record", "--worker", CANARY, "--case", CANARY, "--kind", "support", "--no-input", expect=4)
    s.run(sup, "supervision", "record", "--corrects", session, "--decision", f"{CANARY} visits", "--reason", "a decision left out")
    s.run(amina, "supervision", "list", "--json")
    s.run(amina, "supervision", "show", session, "--json", names_allowed=True)
    s.run(sup, "report", "caseload")
    # cover for a colleague: granted, used, shown on their list, ended by the next write after it
    kamau = base / "keys" / "kamau.txt"
    s.run(sup, "team", "add", "kamau", "--role", "caseworker", "--recipient", make_identity(kamau), "--signing-key", signing_line(kamau))
    as_kamau = Cli(dict(amina.env, CPCM_IDENTITY=str(kamau)))
    s.run(amina, "assign", case_id, "--cover", "kamau", "--until", "2026-11-30", "--json")
    s.run(amina, "assign", case_id, "--cover", CANARY, "--until", "2026-11-30", expect=4)
    s.run(amina, "assign", case_id, "--cover", "kamau", "--until", CANARY, expect=4)
    s.run(as_kamau, "note", case_id, "--text", f"{CANARY} seen by the cover")
    s.run(as_kamau, "due")
    s.run(as_kamau, "due", "--json")
    s.run(sup, "due", "--worker", "kamau")
    s.run(amina, "note", case_id, "--text", f"{CANARY} back", env={"CPCM_NOW": "2026-12-01T09:00:00+03:00"})
    s.run(as_kamau, "show", case_id, expect=5)
    s.run(sup, "team", "sync")
    # consent from the child and the caregiver together, with the caregiver's name
    s.run(amina, "consent", case_id, "--purpose", "reintegration", "--by", "child", "--by", "caregiver", "--status", "given",
          "--caregiver-name", f"{CANARY} senior", "--relationship", f"{CANARY} aunt", "--explained", "all",
          "--reason", f"{CANARY} agreed", "--json")
    s.run(amina, "consent", case_id, "--purpose", CANARY, "--by", "child", "--by", "caregiver", "--status", "given",
          "--caregiver-name", f"{CANARY} senior", "--explained", "all", expect=4)
    assert CANARY in s.run(amina, "show", case_id, "consent", "--json", names_allowed=True).stdout
    # a time before the case was registered (refused), and a time zone that is not one
    s.run(amina, "note", case_id, "--text", f"{CANARY} earlier", "--at", "2026-11-20T10:00", expect=4)
    s.run(sup, "init", str(base / "other"), "--agency", "X", "--name", "X", "--timezone", CANARY, expect=4)
    s.run(amina, "note", case_id, "--text", f"{CANARY} called")
    # reading one record back, updating the registration, correcting a record
    assert CANARY in s.run(amina, "show", case_id, "assessment@comprehensive", names_allowed=True).stdout
    s.run(amina, "show", case_id, "registration", "--json", names_allowed=True)
    s.run(amina, "show", case_id, "R1", names_allowed=True)
    s.run(amina, "show", case_id, CANARY, expect=3)
    s.run(amina, "update", case_id, "--location", f"{CANARY} new village", "--caregiver", f"{CANARY} aunt",
          "--birth-certificate", f"{CANARY}-1", "--reason", f"{CANARY} moved")
    s.run(amina, "update", case_id, "--from-file", "-", "--json", input=json.dumps({"contact": f"call {CANARY}", "reason": f"{CANARY} phone"}))
    s.run(amina, "update", case_id, "--set", f"child.sex={CANARY}", "--set", f"lives_with={CANARY}", "--reason", f"{CANARY}",
          expect=4)
    s.run(amina, "update", case_id, "--location", f"{CANARY} new village", "--reason", f"{CANARY}", expect=4)  # nothing changes
    assert CANARY in s.run(amina, "show", case_id, "update", names_allowed=True).stdout
    s.run(amina, "correct", case_id, "followup", "--set", f"observations={CANARY} was sober", "--reason", f"{CANARY} mistyped")
    s.run(amina, "correct", case_id, "note", "--from-file", "-", "--reason", "typo", "--json",
          input=json.dumps({"text": f"{CANARY} called twice"}))
    s.run(amina, "correct", case_id, "followup", "--set", f"method={CANARY}", "--reason", f"{CANARY}", expect=4)
    s.run(amina, "correct", case_id, CANARY, "--reason", f"{CANARY}", expect=3)
    s.run(amina, "log", case_id)
    s.run(amina, "log", case_id, "--json")
    s.run(amina, "close", case_id, "--reason", "goals_met", "--check", "child_safe", expect=4)
    s.run(sup, "verify", "--json")


def run_placements(s: "Session", base: Path, amina, sup, case_id: str) -> None:
    """Placements and the steps of reintegration, with the canary in every free text: the
    institution, the court order, the caregiver, the address, the people traced, the family
    assessed, what was done to prepare, an override's reason; then due, the register and show."""
    bid = {"decision": "alternative_care_placement", "care_away_needed": "yes", "family_support_tried": [f"{CANARY} helped"],
           "options": [{"kind": "institutional_care", "assessment": f"{CANARY} cannot keep her"}], "chosen": "institutional_care",
           "why_least_harmful": f"{CANARY} is away", "child_views": f"misses {CANARY}", "outcome_explained_to_child": "yes"}
    s.run(amina, "assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(bid))
    s.run(amina, "placement", case_id, "--care-type", "institutional_care", "--institution", f"{CANARY} home", "--court-order",
          f"{CANARY} 12", "--court-order-expires", "2027-01-10", "--reason", f"{CANARY} asked", "--json")
    s.run(amina, "placement", case_id, "--care-type", CANARY, "--caregiver", f"{CANARY} aunt", "--best-interests", CANARY,
          "--court-order-expires", CANARY, "--cci-exit", CANARY, expect=4)
    s.run(amina, "placement", case_id, "--care-type", "kinship", "--caregiver", f"{CANARY} aunt", "--address", f"{CANARY} village",
          "--cci-exit", "family_reintegration", "--override-reason", f"{CANARY} is ready", expect=4)  # no best interests since
    tracing = {"sources": ["child"], "outcome": "family_found", "notes": f"{CANARY} helped",
               "people": [{"name": f"{CANARY} aunt", "relationship": "aunt", "found": "yes", "location": f"{CANARY} village"}]}
    s.run(amina, "tracing", case_id, "--from-file", "-", input=json.dumps(tracing))
    s.run(amina, "tracing", case_id, "--from-file", "-", expect=4, input=json.dumps(dict(tracing, outcome=CANARY)))
    family = {"family": "extended_family", "caregiver": {"name": f"{CANARY} aunt", "relationship": "aunt"},
              "domains": {"caregiving_capacity": {"rating": "adequate", "notes": f"{CANARY} cooks"},
                          **{d: {"rating": "strength"} for d in ("social_cultural_context", "family_members_needs", "economic_factors",
                                                                 "community_and_family_support")}},
              "family_willing": "yes", "child_views": f"likes {CANARY}", "recommendation": "reunify"}
    s.run(amina, "family-assessment", case_id, "--from-file", "-", "--json", input=json.dumps(family))
    s.run(amina, "preparation", case_id, "--with", "child", "--method", "home_visit", "--done", f"met {CANARY}", "--child-agrees", "yes")
    s.run(sup, "placement", case_id, "--care-type", "kinship", "--caregiver", f"{CANARY} aunt", "--address", f"{CANARY} village",
          "--cci-exit", "family_reintegration", "--override-reason", f"{CANARY} is ready")
    s.run(amina, "due", "--ics", str(base / "tmp" / "due-placements.ics"), "--within", "400")
    s.run(sup, "report", "placements", "--format", "json", names_allowed=True)  # the register says where each child lives
    s.run(sup, "report", "placements", "--out", str(base / "tmp" / "register.html.age"))
    assert CANARY in s.run(amina, "show", case_id, "placement", names_allowed=True).stdout


def test_privacy__canary_nowhere_in_the_casefile_repository_files(world):
    _, repo, _ = world
    assert (repo / ".git").is_dir() and list((repo / ".cpcm" / "cache").iterdir())
    assert files_with_marker(repo) == []


def test_privacy__canary_nowhere_in_any_git_object(world):
    _, repo, _ = world
    objects = git_objects(repo)
    assert b" blob " in objects  # the records are there, as ciphertext
    assert not leaks(objects)


def test_privacy__canary_nowhere_in_git_log_with_patches(world):
    _, repo, _ = world
    log = git_log_patch(repo)
    assert b"register CP-" in log
    assert not leaks(log)


def test_privacy__canary_nowhere_in_the_temp_folder_or_home(world):
    base, _, _ = world
    assert files_with_marker(base / "tmp") == []
    assert files_with_marker(base) == []  # keys, home, casefiles: the whole test folder


def test_privacy__canary_never_on_the_command_line_or_in_the_environment_of_git(world):
    """Another user of the computer sees every process's command line (`ps`); cpcm gives git
    paths, IDs and fixed words there, never what was typed (records go through files and stdin)."""
    _, _, s = world
    log = s.argv_log.read_bytes()
    # the wrapper saw cpcm's reads through git (its writes start no git process in a repository this small)
    assert log.count(b"log\0") > 5 and b"cat-file\0" in log and b"diff-tree\0" in log
    assert not leaks(log), [line[:300] for line in log.split(b"\n") if leaks(line)]


def test_privacy__canary_not_left_in_memory_by_plan_edit(world):
    """`plan --edit` puts the plan in a private folder on /dev/shm and removes it afterwards."""
    import time

    shm = Path("/dev/shm")

    def leaking() -> list[str]:
        found = []
        for folder in (shm.glob("cpcm-*") if shm.is_dir() else []):
            try:
                if any(leaks(f.read_bytes()) for f in folder.rglob("*") if f.is_file()):
                    found.append(str(folder))
            except OSError:  # removed while read: not left behind
                pass
        return found
    left = leaking()
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:  # another test's `plan --edit` may be running (tests run side by side)
        time.sleep(0.2)
        left = [p for p in leaking() if p in left]
    assert left == []


def test_privacy__canary_never_on_stderr(world):
    _, _, s = world
    leaked = [args for args, err in s.stderr if leaks(err.encode())]
    assert leaked == []
    warned = " ".join(err for _, err in s.stderr)
    assert "possible duplicate" in warned  # the duplicate was found and reported, by case ID only


def test_privacy__canary_not_on_stdout_unless_names_were_asked_for(world):
    _, _, s = world
    assert [args for args, out in s.stdout_without_names if leaks(out.encode())] == []


def test_privacy__the_local_cache_is_encrypted(world):
    _, repo, _ = world
    caches = [p for p in (repo / ".cpcm" / "cache").rglob("*") if p.is_file()]
    assert caches, "list should have written its summary cache"
    for path in caches:
        assert path.read_bytes().startswith(b"age-encryption.org/v1\n")


def test_commit_messages__follow_the_fixed_templates(world):
    _, repo, _ = world
    messages = git(repo, "log", "--all", "--format=%B%x00").split("\0")
    messages = [m.strip() for m in messages if m.strip()]
    # init, team add x2, register x2, assign x2, team remove, team add, then the cycle: 23 commands
    # that write, one commit each (a render of a conference document is recorded too)
    # two updates, two corrections, a readiness record, two plan revisions, a withdrawal, an approval and a --done; a
    # conference update, a Form 5 signature, a bar and its lifting, two renders of Form 5; a cover used and ended; best
    # interests, two placements and the three steps of reintegration; a batch of assignments and an assignment back;
    # a supervision session and its correction; a plan revision and its rejection
    assert len(messages) == 65
    assert [m for m in messages if not TEMPLATES.match(m)] == []


def test_scans__find_a_planted_marker(repo, tmp_env):
    """The scanners above are able to fail: plaintext planted in each place is found."""
    (tmp_env / "tmp" / "note.txt").write_text(CANARY.upper())
    assert files_with_marker(tmp_env / "tmp")
    (repo / ".cpcm" / "cache" / "stray").parent.mkdir(parents=True, exist_ok=True)
    (repo / ".cpcm" / "cache" / "stray").write_text(CANARY.split()[1])
    assert files_with_marker(repo)
    subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=CANARY.encode(), check=True, capture_output=True)
    assert leaks(git_objects(repo))
    assert not TEMPLATES.match(f"register CP-AAAA-AAAA {CANARY}")


def test_privacy__a_name_typed_as_a_case_id_is_not_echoed(cli):
    result = cli("show", CANARY)
    assert result.code == 2
    assert not leaks(result.stderr.encode())


def test_privacy__a_stray_argument_is_not_echoed(cli):
    result = cli("list", CANARY)
    assert result.code == 2
    assert not leaks(result.stderr.encode())

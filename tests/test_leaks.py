"""Leaks in errors and output (issue 11): what a user types never comes back in a message.

- Every option and argument of every command that takes text is given a canary, one run each
  (the commands and options are read from the Typer application, so a new one is covered): the
  canary never appears on stderr, nor on stdout unless the command shows records the user asked
  to see. File options are also given files whose contents hold the canary.
- Meeting documents name no child or family member: family members in the attendance register
  are counted, never named.
- Markdown output escapes raw HTML; HTML output is escaped once.
- `--out` never overwrites without `--force`; plaintext files never go inside the repository.
- Form names are names, not paths.
- An identity or passphrase file others can read gets a warning naming the path and the fix.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
from pathlib import Path

import click
import pytest

from conftest import CLINIC, consent_both, make_identity, registration, shared_repo

CANARY = "Qjxleak Vwzcanary"
WORD = "Qjxleak"  # either half alone, in any case, is a leak
MARKERS = tuple(part.lower() for part in CANARY.split())

# commands whose stdout is the records the user asked to see: a value stored there may come back
SHOWS_RECORDS = {"show", "list", "log", "service show", "service list", "conference show", "conference list", "render",
                 "supervision show", "complaint show", "confidential show",
                 "conference register",
                 "report", "team list", "due", "check", "policy show", "form blank", "key show",
                 "remote list"}  # the remotes' URLs as given: the world's `remote add` case gave one the canary


def leaked(text: str) -> list[str]:
    """The lines of `text` that hold the canary (or half of it, in any case)."""
    return [line for line in text.splitlines() if any(marker in line.lower() for marker in MARKERS)]


# -- the world: one repository with a case, a plan, a service, a referral and a conference -------------
@pytest.fixture(scope="module")
def world(tmp_path_factory, repo_template):
    with shared_repo(tmp_path_factory, repo_template, "leaks") as repo:
        base, root, keys = repo.root.parent, repo.root, {w: repo.keys[w][0] for w in ("sup", "amina")}
        sup, amina = repo("sup"), repo("amina")
        case = amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).json()["case_id"]
        plan = {"reason": "initial", "goals": [{"term": "short", "goal": "safe at home", "need": "safety"}],
                "actions": [{"what": "visit", "who": "caseworker", "by": "2027-01-10", "mode": "direct"}],
                "closure_criteria": ["safe"], "contingency": "kinship care", "participants": {"child": "yes", "caregivers": "yes"}}
        assert amina("plan", case, "--from-file", "-", input=json.dumps(plan)).code == 0
        assert sup(*CLINIC).code == 0
        consent_both(amina, case)
        assert amina("refer", case, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
        conf = sup("conference", "new", "--kind", "internal", "--date", "2026-12-10", "--json").json()["conference_id"]
        assert sup("conference", "add-case", conf, case, "--reason", "especially_difficult").code == 0
        session = sup("supervision", "record", "--no-input", "--worker", "amina", "--kind", "support", "--json").json()["session_id"]
        complaint = amina("complaint", "record", "--from", "child", "--setting", "residential", "--summary", "said", "--case", case,
                          "--json").json()["complaint_id"]
        confidential = sup("confidential", "add", case, "--text", "kept apart", "--json").json()["entry_id"]
        # the files the commands that read one are given when the canary is elsewhere
        (base / "tmp" / "policy.yaml").write_text("rules: {}\n")
        (base / "tmp" / "home-form.yaml").write_text("extends: registration\nkind: registration\n")
        (base / "tmp" / "services.csv").write_text("id,provider,sector,offers\nlab,A Lab,health,tests\n")
        newcomer = make_identity(base / "keys" / "newcomer.txt")
        record = sup("log", case, "--json").json()
        record = (record.get("records") if isinstance(record, dict) else record)[-1]
        yield {"base": base, "root": root, "case": case, "conf": conf, "session": session, "complaint": complaint, "confidential": confidential, "sup": sup, "amina": amina, "keys": keys,
               "newcomer": newcomer, "record": record.get("record_id") or record.get("id")}


@functools.cache
def commands() -> tuple:
    """(path, click command) for every command of the application (built once per process: the
    application does not change while the tests run)."""
    from typer.main import get_command

    from cpcm.cli.app import build

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    return tuple(walk(get_command(build()), []))


def text_params(command) -> list[click.Parameter]:
    """The parameters that take a value the user types (not flags)."""
    return [p for p in command.params if not getattr(p, "is_flag", False) and not getattr(p, "count", False)
            and p.name not in ("help",)]


# a valid invocation of each command (placeholders: {case} {conf} {tmp}); the canary replaces one value
BASE = {
    "init": ["init", "{tmp}/new-{n}", "--agency", "NEW", "--name", "New Agency", "--worker", "sup"],
    "register": ["register", "--no-input", "--name", "A Child", "--sex", "female", "--dob", "2015-01-01", "--location", "Kisumu",
                 "--lives-with", "relatives", "--caregiver", "A Carer", "--identified-by", "family", "--concern", "neglect",
                 "--risk", "medium", "--child-consent", "given", "--caregiver-consent", "given"],
    "show": ["show", "{case}"], "log": ["log", "{case}"], "list": ["list"], "verify": ["verify"],
    "assign": ["assign", "{case}", "--worker", "amina"], "link": ["link", "{case}", "{case}", "--sibling"],
    "assess": ["assess", "{case}", "--type", "initial", "--no-input", "--outcome", "proceed", "--risk", "high", "--set", "safe=no"],
    "plan": ["plan", "{case}", "--no-input", "--reason", "review"],
    "approve": ["approve", "{case}", "plan", "--note", "fine"], "reject": ["reject", "{case}", "plan", "--note", "change it"],
    "consent": ["consent", "{case}", "--no-input", "--purpose", "referral", "--agency", "clinic", "--by", "child", "--status", "given",
                "--explained", "all"],
    "refer": ["refer", "{case}", "--service", "clinic", "--need", "care", "--check", "all"],
    "referral": ["referral", "{case}", "R1", "--status", "accepted"],
    "followup": ["followup", "{case}", "--no-input", "--method", "home_visit", "--purpose", "monitoring", "--visited-by", "professional",
                 "--risk-increased", "no"],
    "review": ["review", "{case}", "--no-input", "--chair", "sup", "--outcome", "continue", "--decision", "go on"],
    "close": ["close", "{case}", "--no-input", "--reason", "goals_met", "--check", "child_safe"],
    "reopen": ["reopen", "{case}", "--reason", "new concern"], "continue": ["continue", "{case}", "--justification", "still needed"],
    "retention": ["retention", "{case}", "--keep-until", "2040-01-01", "--reason", "court case pending"],
    "note": ["note", "{case}", "--text", "called"],
    "update": ["update", "{case}", "--no-input", "--reason", "moved", "--location", "Kondele"],
    "correct": ["correct", "{case}", "plan", "--reason", "mistyped", "--set", "contingency=kin"],
    "repair": ["repair", "{case}", "{record}", "--reason", "damaged"],
    "readiness": ["readiness", "{case}", "--no-input", "--occasion", "closure", "--consulted", "child"],
    "placement": ["placement", "{case}", "--no-input", "--care-type", "temporary_shelter", "--institution", "Shelter",
                  "--override-reason", "emergency"],
    "tracing": ["tracing", "{case}", "--no-input", "--outcome", "ongoing", "--source", "child"],
    "family-assessment": ["family-assessment", "{case}", "--no-input", "--family", "extended_family", "--recommendation", "reunify"],
    "preparation": ["preparation", "{case}", "--no-input", "--with", "child", "--method", "home_visit", "--done", "a visit"],
    "mandatory-report": ["mandatory-report", "{case}", "--no-input", "--concern", "neglect", "--decision", "reported", "--to", "police",
                         "--reported-on", "2026-11-20", "--reference", "OB 1", "--rationale", "the law asks it", "--law-explained", "yes"],
    "transfer": ["transfer", "{case}", "--to", "clinic", "--reason", "moved", "--out", "{tmp}/bundle-{n}.age"],
    "receive": ["receive", "{tmp}/missing.age"], "transfer-ack": ["transfer-ack", "{tmp}/missing-receipt.age"],
    "due": ["due", "--within", "7"], "check": ["check"],
    "render": ["render", "case-plan", "{case}", "--lang", "en", "--format", "md"],
    "report": ["report", "caseload", "--format", "md"],
    "export": ["export", "--format", "csv", "--recipient", "sup", "--out", "{tmp}/export-{n}.csv.age"],
    "key new": ["key", "new", "--no-passphrase", "--out", "{tmp}/key-{n}.txt"], "key show": ["key", "show"], "key publish": ["key", "publish"],
    "team add": ["team", "add", "newbie{n}", "--role", "caseworker", "--recipient", "{newcomer}"],
    "team cadre": ["team", "cadre", "nobody", "volunteer"],
    "team remove": ["team", "remove", "nobody"], "team revoke": ["team", "revoke", "nobody", "--lost"], "team signers": ["team", "signers"],
    "team sync": ["team", "sync"], "team list": ["team", "list"],
    "service add": ["service", "add", "svc{n}", "--provider", "A Provider", "--sector", "health", "--offers", "care"],
    "service import": ["service", "import", "{tmp}/services.csv", "--dry-run"], "service list": ["service", "list"],
    "service show": ["service", "show", "clinic"], "service gaps": ["service", "gaps"],
    "service update": ["service", "update", "clinic", "--set", "contact=0700 000 {n}"],
    "conference new": ["conference", "new", "--kind", "internal", "--date", "2026-12-20"],
    "conference add-case": ["conference", "add-case", "{conf}", "{case}", "--reason", "especially_difficult"],
    "conference attend": ["conference", "attend", "{conf}", "--institution", "Office", "--name", "A. Officer", "--position", "SCCO",
                          "--contact", "0700000000", "--confidentiality-signed", "yes"],
    "conference minutes": ["conference", "minutes", "{conf}", "--no-input", "--set", "key_issues=none"],
    "conference close": ["conference", "close", "{conf}"], "conference list": ["conference", "list"],
    "conference show": ["conference", "show", "{conf}"],
    "conference update": ["conference", "update", "{conf}", "--venue", "Hall {n}", "--reason", "moved"],
    "conference sign": ["conference", "sign", "--name", "Member {n}", "--institution", "Office", "--position", "SCCO"],
    "conference register": ["conference", "register", "--bar", "--name", "Member X", "--institution", "Office", "--reason", "breach"],
    "supervision record": ["supervision", "record", "--no-input", "--worker", "amina", "--kind", "clinical", "--discussed", "notes"],
    "supervision list": ["supervision", "list"], "supervision show": ["supervision", "show", "{session}"],
    "complaint record": ["complaint", "record", "--from", "child", "--setting", "family", "--summary", "said {n}", "--case", "{case}",
                         "--about-worker", "otieno", "--concerns", "care"],
    "complaint respond": ["complaint", "respond", "{complaint}", "--outcome", "upheld", "--response", "heard {n}", "--action", "none"],
    "complaint list": ["complaint", "list"], "complaint show": ["complaint", "show", "{complaint}"],
    "confidential add": ["confidential", "add", "{case}", "--text", "apart {n}", "--exclude", "otieno"],
    "confidential list": ["confidential", "list", "{case}"], "confidential show": ["confidential", "show", "{confidential}"],
    "policy show": ["policy", "show"], "policy check": ["policy", "check", "{tmp}/policy.yaml"],
    "policy set": ["policy", "set", "{tmp}/policy.yaml"],
    "config set": ["config", "set", "agency.name", "A home"],
    "form set": ["form", "set", "{tmp}/home-form.yaml"],
    "form blank": ["form", "blank", "registration"], "form list": ["form", "list"],
    "completion": ["completion", "bash"], "unlock": ["unlock", "--for", "1h"], "lock": ["lock"],
    "evacuate": ["evacuate", "--sync", "nothere"],  # a remote the copy does not have: refused before anything is destroyed
    "import cases": ["import", "cases", "{tmp}/register.csv", "--dry-run"],
    "import template": ["import", "template", "--out-dir", "{tmp}/template-{n}"],
    "form print": ["form", "print", "registration", "--lang", "sw"],
    "outputs list": ["outputs", "list"], "outputs remove": ["outputs", "remove", "{tmp}/not-registered-{n}.md"],
    "sign-off": ["sign-off", "{case}", "--no-input", "--for", "closure", "--party", "scco", "--name", "J. Officer", "--title",
                 "Sub-County Children's Officer", "--date", "2026-11-01"],
    "remote add": ["remote", "add", "usb{n}", "{tmp}/remote-{n}.git"], "remote list": ["remote", "list"],
    "remote remove": ["remote", "remove", "nothere"], "sync": ["sync", "nothere"],
    "bundle create": ["bundle", "create", "{tmp}/sync-{n}.bundle"], "bundle apply": ["bundle", "apply", "{tmp}/missing.bundle"],
    "bundle clone": ["bundle", "clone", "{tmp}/missing.bundle", "{tmp}/copy-{n}"],
    "merge-cases": ["merge-cases", "{case}", "{case}"],
    "key rotate": ["key", "rotate", "--worker", "nobody", "--recipient", "{newcomer}", "--reason", "lost"],
    "team recover": ["team", "recover", "nobody", "--recipient", "{newcomer}", "--recovery-identity", "{tmp}/missing.key"],
}

# a second form of a command (a flag that makes it do another thing, with options of its own): (the command's path, a valid
# invocation, what runs first so that the form has something to act on); each of its values given the canary as above
FORMS = {
    "correct --misfiled": ("correct", ["correct", "{case}", "last", "--misfiled", "--reason", "written in the wrong case"],
                           ["note", "{case}", "--text", "a note in the wrong case"]),
    "conference add-case --remove": ("conference add-case",
                                     ["conference", "add-case", "{conf}", "{case}", "--remove", "--reason", "nominated by mistake"],
                                     ["conference", "add-case", "{conf}", "{case}", "--reason", "especially_difficult"]),
}

PATH_TYPES = (click.Path,)


def canary_for(param: click.Parameter, base: Path) -> str:
    """The canary as the param expects it: a path (in a new folder) for path options, else the
    canary text."""
    if isinstance(param.type, PATH_TYPES) or param.name in ("from_file", "file", "batch"):
        return str(base / "tmp" / f"nowhere-{next(_counter)}" / f"{WORD}.txt")
    if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
        return CANARY  # not a number: click's own usage error must not echo it either
    return CANARY


def with_canary(args: list[str], depth: int, command: click.Command, param: click.Parameter, value: str) -> list[str]:
    """`args` (a command path of `depth` words, then its parameters) with `param` given `value`."""
    args = list(args)
    if param.param_type_name == "argument":
        index = [p for p in command.params if p.param_type_name == "argument"].index(param)
        takes_value = {o for p in command.params if p.param_type_name == "option" and not getattr(p, "is_flag", False)
                       for o in p.opts}
        positions, i = [], depth
        while i < len(args):
            if args[i] in takes_value:
                i += 2
            elif args[i].startswith("-"):
                i += 1
            else:
                positions.append(i)
                i += 1
        if index < len(positions):
            args[positions[index]] = value
        else:
            args.insert(positions[-1] + 1 if positions else depth, value)
        return args
    for i, word in enumerate(args):
        if word in param.opts:
            args[i + 1] = value
            return args
    return [*args, param.opts[0], value]


def cases():
    found = []
    for path, command in commands():
        for param in text_params(command):
            found.append(pytest.param(path, command, param, id=f"{path} {param.opts[0] if param.opts else param.name}"))
    return found


_counter = itertools.count()


def fill(args: list[str], world) -> list[str]:
    n = next(_counter)
    return [a.format(case=world["case"], conf=world["conf"], tmp=world["base"] / "tmp", n=n, newcomer=world["newcomer"],
                     record=world["record"], session=world["session"], complaint=world["complaint"],
                     confidential=world["confidential"]) for a in args]


def test_leaks__every_command_has_a_valid_invocation_here():
    """A new command needs a line in BASE, so the canary reaches it."""
    assert sorted(path for path, _ in commands()) == sorted(BASE)


@pytest.mark.parametrize("path,command,param", cases())
def test_leaks__a_value_typed_never_comes_back_in_a_message(world, path, command, param):
    args = with_canary(fill(BASE[path], world), len(path.split()), command, param, canary_for(param, world["base"]))
    for worker in ("sup", "amina"):
        result = world[worker](*args)
        assert not leaked(result.stderr), (worker, result.code, leaked(result.stderr))
        if result.code != 0 or path not in SHOWS_RECORDS:
            assert not leaked(result.stdout), (worker, result.code, leaked(result.stdout))
        json_result = world[worker](*args, "--json") if any("--json" in p.opts for p in command.params if p.opts) else None
        if json_result is not None:
            assert not leaked(json_result.stderr), (worker, json_result.code, leaked(json_result.stderr))
            if json_result.code != 0 or path not in SHOWS_RECORDS:
                assert not leaked(json_result.stdout), (worker, "--json", json_result.code, leaked(json_result.stdout))


def form_cases():
    by_path = dict(commands())
    return [pytest.param(form, by_path[path], param, id=f"{form} {param.opts[0] if param.opts else param.name}")
            for form, (path, _args, _before) in FORMS.items() for param in text_params(by_path[path])
            if not param.opts or param.opts[0] not in ("--presentation", "--preparation-file")]


@pytest.mark.parametrize("form,command,param", form_cases())
def test_leaks__a_value_typed_in_a_second_form_of_a_command_never_comes_back_in_a_message(world, form, command, param):
    path, base, before = FORMS[form]
    world["sup"](*fill(before, world))
    assert world["sup"](*fill(base, world)).code == 0  # the form as listed does what it is for
    for worker in ("sup", "amina"):
        world["sup"](*fill(before, world))  # (on the list again: a run before may have taken it off)
        args = with_canary(fill(base, world), len(path.split()), command, param, canary_for(param, world["base"]))
        result = world[worker](*args)
        assert not leaked(result.stderr), (worker, result.code, leaked(result.stderr))
        assert not leaked(result.stdout), (worker, result.code, leaked(result.stdout))
        world["sup"](*fill(before, world))
        json_result = world[worker](*args, "--json")
        assert not leaked(json_result.stderr + json_result.stdout), (worker, "--json", json_result.code)


# -- file contents: a file whose values are the canary, wrong in every way a value can be wrong ---------
def canary_document(kind: str | None) -> dict:
    """A record with the canary in every field of the form (wrong for choices, dates, numbers
    and lists), and in fields the form does not have."""
    from cpcm.domain.text import put
    from cpcm.store import forms

    doc: dict = {"note": CANARY, "at": CANARY}
    for name in ([kind] if kind else forms.available()):
        for field in forms.load(name).fields:
            try:
                put(doc, field.key, [CANARY, {"x": CANARY}] if field.type == "list" else CANARY, "test")
            except Exception:  # noqa: BLE001 - a key that clashes with another form's: leave it
                pass
    return doc


def canary_files(base: Path, kind: str | None) -> list[Path]:
    folder = base / "tmp" / f"files-{next(_counter)}"
    folder.mkdir()
    documents = {
        "fields.yaml": json.dumps(canary_document(kind)),
        "list.yaml": json.dumps([canary_document(kind), CANARY]),
        "scalar.yaml": json.dumps(CANARY),
        "broken.yaml": f"child:\n  name: [{CANARY}\n",
        "tab.yaml": f"child:\n  name: {CANARY}\n\tsex: female\n",
        "duplicate.yaml": f"risk: {CANARY}\nrisk: {CANARY}\n",
        "alias.yaml": f"child: *{WORD}\n",
        "date.yaml": f"at: 2026-02-30\nchild:\n  name: {CANARY}\n  date_of_birth: 2026-02-30\n",
        "latin1.yaml": None,
        "table.csv": f"case,outcome,{WORD}\n{CANARY},{CANARY},{CANARY}\n",
        "bad.csv": f'case,outcome\n"{CANARY},x\n',
    }
    paths = []
    for name, text in documents.items():
        path = folder / name
        if text is None:
            path.write_bytes(f"child:\n  name: {CANARY}\xe9\n".encode("latin-1"))
        else:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


FORM_OF = {"register": "registration", "assess": "assessment-initial", "plan": "plan", "consent": "consent",
           "followup": "followup", "review": "review", "close": "closure", "service add": "service", "service update": "service",
           "conference minutes": "conference-minutes", "update": "registration", "readiness": "readiness",
           "sign-off": "sign-off", "transfer": "transfer-kenya", "supervision record": "supervision",
           "placement": "placement", "tracing": "tracing", "family-assessment": "family-assessment", "preparation": "preparation",
           "mandatory-report": "mandatory-report"}


def file_cases():
    found = []
    for path, command in commands():
        for param in text_params(command):
            if param.name in ("from_file", "batch") or (param.param_type_name == "argument" and param.name == "file"):
                found.append(pytest.param(path, command, param, id=f"{path} {param.opts[0] if param.opts else param.name}"))
    return found


@pytest.mark.parametrize("path,command,param", file_cases())
def test_leaks__a_file_holding_the_canary_never_comes_back_in_a_message(world, path, command, param):
    assert file_cases(), "no command reads a file: the test would test nothing"
    for file in canary_files(world["base"], FORM_OF.get(path)):
        args = with_canary(fill(BASE[path], world), len(path.split()), command, param, str(file))
        for worker in ("sup", "amina"):
            result = world[worker](*args)
            assert not leaked(result.stderr), (file.name, worker, result.code, leaked(result.stderr))
            if result.code != 0 or path not in SHOWS_RECORDS:
                assert not leaked(result.stdout), (file.name, worker, result.code, leaked(result.stdout))


# -- meeting documents: no child or family member named -----------------------------------------------
FAMILY = {"caregiver": "Wanjiru Kamau", "phone": "0712345678", "relative": "Baraka Otieno"}


@pytest.fixture(scope="module")
def conference(tmp_path_factory, repo_template):
    """A conference on a case whose caregiver (name and phone registered) attended, recorded as
    if she were a professional, and a relative recorded with --family; minutes with raw HTML.
    Made once for the module: its tests only read it."""
    from conftest import Cli

    with shared_repo(tmp_path_factory, repo_template, "meeting") as repo:
        sup = repo("sup")
        yield _meeting(repo("amina"), sup, Cli({**sup.env, "CPCM_NOW": "2026-12-10T12:00:00+03:00"}))


def _meeting(amina, sup, held):
    """(sup, the conference id): see `conference`. `held`: sup once the meeting has started."""
    from conftest import register

    case = register(amina, caregiver={"name": FAMILY["caregiver"], "relationship": "mother"}, contact=FAMILY["phone"])
    conf = sup("conference", "new", "--kind", "internal", "--date", "2026-12-10", "--json").json()["conference_id"]
    assert sup("conference", "add-case", conf, case, "--reason", "especially_difficult").code == 0
    for n in range(5):
        assert held("conference", "attend", conf, "--institution", "Sub-county office", "--name", f"Officer Number{n}",
                    "--position", "SCCO", "--contact", f"07000000{n}", "--confidentiality-signed", "yes").code == 0
    assert held("conference", "attend", conf, "--institution", "Family", "--name", FAMILY["caregiver"], "--position", "mother",
                "--contact", "+254 712 345 678", "--confidentiality-signed", "verbal").code == 0
    assert held("conference", "attend", conf, "--family", "--name", FAMILY["relative"]).code == 0
    minutes = {"key_issues": "<script>alert(1)</script> & <b>bold</b>",
               "cases": [{"case": case, "discussion": "progress is slow <img src=x onerror=alert(1)>", "decisions": ["continue"],
                          "actions": [{"need": "safety", "action": "joint visit", "responsible": "amina", "timeline": "2026-12-20"}]}]}
    assert held("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes)).code == 0
    return sup, conf


def family_named(text: str) -> list[str]:
    words = [*FAMILY["caregiver"].split(), *FAMILY["relative"].split(), "712345678", "712 345 678"]
    return [w for w in words if w.lower() in text.lower()]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_meeting_documents__name_no_family_member_and_count_them(conference, fmt):
    sup, conf = conference
    for document in ("agenda", "minutes", "conference-report"):
        result = sup("render", document, conf, "--format", fmt)
        assert result.code == 0, result.stderr
        assert family_named(result.stdout) == [], (document, family_named(result.stdout))
        assert "Officer Number0" in result.stdout or document != "minutes"  # professionals are listed
    minutes = sup("render", "minutes", conf, "--format", fmt).stdout
    assert "Children and family members present: 2 (not named here)." in minutes
    assert ("Number of participants:** 7" in minutes) if fmt == "md" else ("Number of participants:</strong> 7" in minutes)


def test_meeting_documents__the_register_still_holds_the_family_members(conference):
    """The encrypted attendance records keep what was typed (the case-file copy): only the
    documents leave them out."""
    sup, conf = conference
    shown = sup("conference", "show", conf, "--json").json()
    names = [a["name"] for a in shown["attendees"]]
    assert FAMILY["caregiver"] in names and FAMILY["relative"] in names
    assert [a.get("role") for a in shown["attendees"] if a["name"] == FAMILY["relative"]] == ["family"]
    # the standing Form 5 register (read by the whole team) holds the professionals only
    register = [r["name"] for r in sup("conference", "register", "--json").json()]
    assert register == [f"Officer Number{n}" for n in range(5)]


def test_is_family__whole_names_and_phones_not_shared_first_names():
    from cpcm.render.views import is_family

    clients = [{"names": ["Amani Child", "Mary Wanjiku Amani", None], "contacts": ["+254 712 345 678"]}]
    assert is_family({"name": "Mary Amani"}, clients)
    assert is_family({"name": "Mrs Mary Wanjiku Amani"}, clients)
    assert is_family({"name": "M. Officer", "contact": "0712345678"}, clients)
    assert is_family({"name": "Anyone", "role": "family"}, [])
    assert not is_family({"name": "Mary Otieno", "contact": "0700000000"}, clients)
    assert not is_family({"name": "Amanita Officer"}, clients)


def test_is_family__a_registered_phone_in_the_name_institution_or_position_is_a_family_members():
    """conference.md: an entry whose name or phone number is one registered for a case is counted,
    never named. The phone was looked for in the contact only: typed as the name or within the
    institution, the minutes' attendance register printed it."""
    from cpcm.render.views import is_family

    clients = [{"names": ["Amani Child"], "contacts": ["+254 712 345 678"]}]
    assert is_family({"name": "0712345678", "institution": "County office", "position": "Officer"}, clients)
    assert is_family({"name": "Mary Otiende", "institution": "Kondele 0712 345 678"}, clients)
    assert is_family({"name": "Officer One", "position": "relative, 254-712-345-678"}, clients)
    assert is_family({"name": "Officer One", "contact": "call 0712 345 678 after 5"}, clients)
    assert not is_family({"name": "Officer One", "institution": "Box 4512-40100 Kisumu", "position": "Officer 2"}, clients)
    assert not is_family({"name": "Officer One", "institution": "Ward 5", "contact": "0733 000 111"}, clients)


def test_is_family__an_institution_or_position_naming_a_client_is_counted_not_named():
    """A relative recorded as a professional, the child named in the institution or position
    ("Family of ...", "aunt of ..."): the minutes listed that row, and the child's name with it."""
    from cpcm.render.views import is_family

    clients = [{"names": ["Amani Child", "Mary Wanjiku"], "contacts": []}]
    assert is_family({"name": "Officer One", "institution": "Family of Amani Child", "position": "relative"}, clients)
    assert is_family({"name": "Officer One", "institution": "Self", "position": "aunt of Amani"}, clients)
    assert not is_family({"name": "Officer One", "institution": "County Hospital", "position": "nurse"}, clients)
    assert not is_family({"name": "Officer One", "institution": "Ward office", "position": "amani committee"}, clients)


def test_might_be_family__never_false_where_is_family_finds_the_entry_a_family_members():
    """The register's quick first test (`might_be_family`, before the names' patterns of every case
    are made) lets through every entry `is_family` finds, and drops one that shares no word and no
    phone with the case."""
    import itertools

    from cpcm.render.views import is_family, might_be_family
    from cpcm.workflow.conferences import WholeName

    names = ["Amani Child", "Mary Wanjiku Amani", "N'Dour Ökö", WholeName("Tumaini CCI staff"), "Wanjiru Mtoto"]
    contacts = ["+254 712 345 678", "0733-000-111"]
    texts = ["Amani", "amani", "MARY WANJIKU", "Mrs Mary Wanjiku Amani", "n'dour", "ÖKÖ", "Tumaini CCI Staff", "Mtoto wanjiru",
             "0712345678", "Kondele 0712 345 678", "254-712-345-678", "call 0733 000 111", "County office", "Officer 2",
             "Box 4512-40100", "Ward 5", "Amanita", "Mary-Jane Otieno", ""]
    client = {"names": names, "contacts": contacts}
    found = 0
    for key, text in itertools.product(("name", "contact", "institution", "position"), texts):
        entry = {key: text}
        if is_family(entry, [client]):
            found += 1
            assert might_be_family(entry, names, contacts), entry
    assert found > 20
    assert not might_be_family({"name": "Officer One", "institution": "County office", "position": "nurse"}, names, contacts)
    assert not might_be_family({"name": "Officer One", "contact": "0700 111 222"}, names, [])


# -- Markdown escapes raw HTML; HTML is escaped once -------------------------------------------------
def test_markdown__raw_html_in_a_field_is_escaped(conference):
    sup, conf = conference
    md = sup("render", "minutes", conf, "--format", "md").stdout
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "& &lt;b&gt;" in md  # an ampersand on its own is left as typed


def test_html__a_field_is_escaped_once(conference):
    sup, conf = conference
    html = sup("render", "minutes", conf, "--format", "html").stdout
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;lt;" not in html


def test_md_escape__is_idempotent():
    from cpcm.render.env import md_escape

    once = md_escape("<a href='x'>y</a> & z")
    assert once == "&lt;a href='x'&gt;y&lt;/a&gt; & z" and md_escape(once) == once


def test_md_escape__a_less_than_sign_that_opens_no_html_is_left_as_written():
    """`<5` (the statistics' small-cell mark) read `&lt;5` in a terminal; every `<` that could open
    raw HTML (a tag, a closing tag, a comment, an instruction) or ends a value is still escaped."""
    from cpcm.render.env import md_escape

    assert md_escape("<5, age < 5, <= 3") == "<5, age < 5, <= 3"
    for raw in ("<script>", "</b", "<!-- x", "<?php", "<img src=x onerror=alert(1)>", "x <", "<\nb"):
        escaped = md_escape(raw)
        assert "<" not in escaped and ">" not in escaped and md_escape(escaped) == escaped, raw


# -- a name typed where a field name belongs: the error names the place, never the key ---------------
@pytest.mark.parametrize("document, expected", [
    (f"child:\n  name: x\n  {CANARY}: 1\n  {CANARY}: 2\n", "the key … appears twice in child"),
    (f"child:\n  {CANARY}: !!binary U2VjcmV0\n", "child.…: the tag !!binary is not accepted"),
    (f'child:\n  {CANARY}: "a\\x1bb"\n', "the input: child.… holds a control character"),
])
def test_leaks__a_key_that_is_a_name_is_not_repeated_in_the_error(cli_as, tmp_env, document, expected):
    """A person's name given as a YAML key (capitals, a space) is masked like any key that is not a
    field name; a field name such as `child` is still shown."""
    path = tmp_env / "keyed.yaml"
    path.write_text(document, encoding="utf-8")
    for args in (("--from-file", str(path)), ("--from-file", str(path), "--json")):
        result = cli_as("amina")("register", *args)
        assert result.code != 0 and expected in result.stderr, result.stderr
        assert not leaked(result.stderr) and not leaked(result.stdout), (leaked(result.stderr), leaked(result.stdout))


# -- a name typed where a policy key or a risk level belongs: named by its place, never repeated -------
@pytest.mark.parametrize("document, expected", [
    (f"rules:\n  {CANARY}: 3\n", "rules.…: is not a rule of the profile"),
    (f"{CANARY}: 1\n", "…: is not a part of a policy file"),
    (f"rules:\n  review:\n    {CANARY}: 3mo\n", "rules.review.…: is not a setting of rules.review"),
    (f"rules:\n  risk_levels:\n    levels: [{CANARY}, high, medium, low, immediate]\n", "risk level '…' has no response time"),
])
def test_leaks__a_policy_key_that_is_a_name_is_not_repeated_in_the_error(cli_as, repo, tmp_env, document, expected):
    """`policy check` and `policy set` of such a file, and every command when the repository's own
    .cpcm/policy.yaml (edited by hand, or come by a sync) holds it."""
    path = tmp_env / "policy.yaml"
    path.write_text(document, encoding="utf-8")
    sup = cli_as("sup")
    runs = [sup("policy", "check", str(path)), sup("policy", "check", str(path), "--json"), sup("policy", "set", str(path))]
    (repo / ".cpcm" / "policy.yaml").write_text(document, encoding="utf-8")
    runs += [cli_as("amina")("due"), cli_as("amina")("due", "--json")]
    for result in runs:
        assert result.code == 4 and expected in result.stderr, (result.code, result.stderr)
        assert not leaked(result.stderr) and not leaked(result.stdout), (leaked(result.stderr), leaked(result.stdout))


# -- output files: never over a file without --force, never plaintext inside the repository -----------
def test_out__an_existing_file_is_refused_without_force_and_replaced_atomically_with_it(cli_as, tmp_env):
    sup = cli_as("sup")
    target = tmp_env / "out" / "caseload.md.age"
    target.parent.mkdir()
    target.write_text("keep me")
    before = target.stat().st_ino
    refused = sup("report", "caseload", "--out", str(target))
    assert refused.code == 2 and "--force" in refused.stderr and str(target) not in refused.stderr
    assert target.read_text() == "keep me"
    replaced = sup("report", "caseload", "--out", str(target), "--force")
    assert replaced.code == 0, replaced.stderr
    assert target.read_bytes().startswith(b"age-encryption.org/v1")
    assert target.stat().st_ino != before  # a new file renamed over the old one, not rewritten in place
    assert sorted(p.name for p in target.parent.iterdir()) == ["caseload.md.age"]  # no temp file left


@pytest.mark.parametrize("how", ["inside", "through a link to it", "repository named by a link"])
def test_plaintext__never_inside_the_repository(cli_as, repo, tmp_env, how):
    env = {}
    folder = repo / "notes"
    if how == "through a link to it":
        (tmp_env / "link").symlink_to(repo)
        folder = tmp_env / "link" / "notes"
    elif how == "repository named by a link":
        (tmp_env / "repo-link").symlink_to(repo)
        env = {"CPCM_REPO": str(tmp_env / "repo-link")}
    folder.mkdir(exist_ok=True)
    sup = cli_as("sup", **env)
    out = sup("report", "caseload", "--format", "md", "--out", str(folder / "caseload.md"), "--plaintext")
    ics = sup("due", "--ics", str(folder / "due.ics"))
    for result in (out, ics):
        assert result.code == 4 and "never written inside the casefile repository" in result.stderr, result.stderr
    assert list((repo / "notes").iterdir()) == []


def test_ics__outside_the_repository_a_new_file_or_with_force(cli_as, tmp_env):
    sup = cli_as("sup")
    target = tmp_env / "due.ics"
    assert sup("due", "--ics", str(target)).code == 0
    first = target.read_text()
    assert first.startswith("BEGIN:VCALENDAR") and oct(target.stat().st_mode & 0o777) == "0o600"
    again = sup("due", "--ics", str(target))
    assert again.code == 2 and target.read_text() == first
    assert sup("due", "--ics", str(target), "--force").code == 0


# -- form names are names ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,code", [("../../secret", 2), ("../secret", 2), ("a/b", 2), ("a\\b", 2), (".hidden", 2),
                                       ("registration.yaml", 2), ("/etc/passwd", 2), ("secret", 3), ("nosuchform", 3)])
def test_form_blank__a_path_or_an_unknown_name_reads_nothing(cli_as, repo, monkeypatch, name, code):
    planted = "kind: registration\nschema: 1\ntitle: {en: x}\nfields: []\n"
    (repo / "secret.yaml").write_text(planted)
    (repo / ".cpcm" / "secret.yaml").write_text(planted)
    read = []
    original_read, original_is_file = Path.read_bytes, Path.is_file
    monkeypatch.setattr(Path, "read_bytes", lambda self: (read.append(str(self)), original_read(self))[1])
    monkeypatch.setattr(Path, "is_file", lambda self: (read.append(str(self)), original_is_file(self))[1])
    result = cli_as("amina")("form", "blank", name)
    assert result.code == code and result.stdout == ""
    assert not [p for p in read if "secret" in p or "passwd" in p]
    assert name not in result.stderr and "Forms: " in result.stderr


# -- private files others can read -------------------------------------------------------------------
def test_identity__readable_by_others_gets_one_warning_naming_the_path_and_the_fix(cli_as, team):
    path = team["amina"][0]
    os.chmod(path, 0o644)
    result = cli_as("amina")("list")
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [f"warning: the identity file {path} can be read by other users of this computer (mode 644): "
                        f"run chmod 600 {path}"]
    assert "AGE-SECRET-KEY" not in result.stderr.upper()
    os.chmod(path, 0o600)
    assert "warning" not in cli_as("amina")("list").stderr


def test_passphrase_file__readable_by_others_gets_a_warning(cli_as, tmp_env):
    secret = tmp_env / "passphrase.txt"
    secret.write_text("correct horse battery staple\n")
    os.chmod(secret, 0o640)
    result = cli_as("amina", CPCM_PASSPHRASE_FILE=str(secret))("list")
    assert result.code == 0, result.stderr
    assert f"passphrase file ($CPCM_PASSPHRASE_FILE) {secret} can be read by other users" in result.stderr
    assert f"chmod 600 {secret}" in result.stderr and "horse" not in result.stderr


def test_leaks__a_path_given_through_the_environment_is_named_by_its_variable(cli_as, tmp_env, team):
    """$CPCM_REPO and $CPCM_IDENTITY are paths the user gave, as --repo and --identity are: a
    folder named after a child is named by the variable in a message, never by its path."""
    missing_repo = tmp_env / f"{CANARY} case"
    result = cli_as("amina", CPCM_REPO=str(missing_repo))("list")
    assert result.code == 3 and "no casefile repository at the $CPCM_REPO path" in result.stderr, result.stderr
    missing_key = tmp_env / f"{CANARY} key.txt"
    result = cli_as("amina", CPCM_IDENTITY=str(missing_key))("list")
    assert result.code == 5 and "no identity at the $CPCM_IDENTITY path" in result.stderr, result.stderr
    result = cli_as("amina", CPCM_IDENTITY=str(missing_key))("list", "--identity", str(missing_key))
    assert result.code == 5 and "no identity at the --identity path" in result.stderr, result.stderr
    assert CANARY.split()[0] not in result.stdout + result.stderr


# -- --debug: the frames and types of a failure, never a value typed or read ----------------------------
def debug_lines(stderr: str) -> list[str]:
    """The traceback's lines of `stderr` (from its first 'Traceback' line to the error said after it)."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Traceback"))
    return lines[start:]


@pytest.mark.parametrize("args, kind, said", [
    (["due", "--within", CANARY], "click.exceptions.BadParameter", "--within takes a number written in figures"),
    (["register", CANARY], "click.exceptions.UsageError", "Got unexpected extra argument (…)"),
    (["register", "--no-input", "--age", CANARY], "click.exceptions.BadParameter", "--age takes a whole number written in figures"),
    (["register", "--no-input", "--name", CANARY, "--dob", "not-a-date"], "cpcm.errors.InvalidInput",
     "--dob (child.date_of_birth): is not a date"),
])
def test_debug__a_traceback_has_the_frames_and_cpcm_s_message_never_the_value_typed(cli, args, kind, said):
    """A debug traceback is pasted into a message to whoever maintains the install: Python's own
    repeated the value click refused (`'Qjxleak Vwzcanary' is not a valid float`, and the ValueError
    chained before it). The frames stay: they are what finds the bug."""
    for run in (cli("--debug", *args), cli(*args, env={"CPCM_DEBUG": "1"}), cli("--debug", *args, "--json")):
        assert run.code in (2, 4) and "Traceback (most recent call last):" in run.stderr, run.stderr
        assert not leaked(run.stderr) and not leaked(run.stdout), (leaked(run.stderr), leaked(run.stdout))
        trace = debug_lines(run.stderr)
        assert any(line.startswith('  File "') and "cpcm/cli/__init__.py" in line and line.endswith(", in main") for line in trace)
        assert any(line.startswith(f"{kind}: ") for line in trace) and said in "\n".join(trace), trace


def test_debug__a_bug_s_traceback_names_each_exception_s_type_not_its_text(cli, monkeypatch):
    """An internal error's text, and the text of the exception it was raised from, can hold
    anything the code was given: the traceback names their types, frames and functions."""
    import cpcm.service

    def broken(*args, **kwargs):
        try:
            {}[CANARY]
        except KeyError as exc:
            raise ValueError(f"bad row {CANARY}") from exc

    monkeypatch.setattr(cpcm.service, "list_rows", broken)
    result = cli("--debug", "list")
    assert result.code == 70 and "internal error (ValueError)" in result.stderr, result.stderr
    assert not leaked(result.stderr), leaked(result.stderr)
    trace = debug_lines(result.stderr)
    assert "KeyError" in trace and "ValueError" in trace, trace  # the types alone, as Python prints a bare exception
    assert "The above exception was the direct cause of the following exception:" in trace
    assert any(line.endswith(", in broken") and "test_leaks.py" in line for line in trace), trace
    assert not [line for line in trace if line.strip().startswith(("{}[", "raise", "^"))]  # no source line, no markers


def test_debug__a_path_given_is_masked_in_the_message_of_the_traceback_too(cli, tmp_env):
    """The message cpcm says masks a path typed (`the --repo path`); the traceback printed the
    exception's original text, path and all."""
    missing = tmp_env / f"{CANARY} repo"
    for run in (cli("--debug", "list", "--repo", str(missing)), cli("--debug", "show", "CP-0000-0001", env={"CPCM_REPO": str(missing)})):
        assert run.code == 3, run.stderr
        assert not leaked(run.stderr), leaked(run.stderr)
        trace = debug_lines(run.stderr)
        assert any(line.startswith("cpcm.errors.NotFound: no casefile repository at the ") for line in trace), trace


def test_debug__a_frame_in_a_file_under_a_path_given_is_masked(tmp_path):
    """An agency's template in a repository whose folder is named after a child: the frame keeps
    the file's place under it, not the folder's name."""
    from cpcm.cli.tracebacks import safe_traceback

    folder = tmp_path / CANARY
    code = compile("def fill():\n    raise ValueError('x')\n", str(folder / ".cpcm" / "templates" / "plan.py"), "exec")
    space: dict = {}
    exec(code, space)
    try:
        space["fill"]()
    except ValueError as exc:
        text = safe_traceback(exc, None, [str(folder)])
    assert not leaked(text), text
    assert 'File "…/.cpcm/templates/plan.py", line 2, in fill' in text and text.rstrip().endswith("ValueError")


def test_agent__a_failure_of_main_itself_prints_no_value(monkeypatch):
    """The agent runs a command and prints a failure of `main` itself (which turns every error
    into an exit code) as a traceback: frames and types, never the exception's text."""
    import io

    import cpcm.cli
    from cpcm.cli import resident

    def broken(args):
        raise RuntimeError(f"stuck on {CANARY}")

    monkeypatch.setattr(cpcm.cli, "main", broken)
    out, err = io.StringIO(), io.StringIO()
    code, _ = resident._run_here(["list"], dict(os.environ), os.getcwd(), 0o077, out, err, io.StringIO())
    assert code == 1 and "Traceback (most recent call last):" in err.getvalue()
    assert err.getvalue().rstrip().endswith("RuntimeError") and not leaked(err.getvalue()), err.getvalue()


# -- a path given through the environment is masked as the same path given as an option ----------------
def test_leaks__cpcm_repo_is_not_repeated_by_init_as_repo_is_not(cli_as, tmp_env):
    """`cpcm init` repeated the folder it made when $CPCM_REPO named it, not when --repo did."""
    made = {}
    for how in ("--repo", "$CPCM_REPO"):
        target = tmp_env / how.strip("-$") / f"{CANARY} home"
        env = {"CPCM_REPO": str(target)} if how == "$CPCM_REPO" else {"CPCM_REPO": ""}
        args = ["init", "--agency", "NEW", "--name", "New Agency", "--worker", "sup"] + (["--repo", str(target)] if how == "--repo" else [])
        made[how] = cli_as("sup", **env)(*args)
        assert made[how].code == 0, made[how].stderr
        assert (target / ".cpcm" / "config.yaml").is_file()
        assert not leaked(made[how].stderr) and not leaked(made[how].stdout), (how, leaked(made[how].stderr))
    assert made["$CPCM_REPO"].stderr.splitlines()[0] == made["--repo"].stderr.splitlines()[0]


def test_leaks__a_relative_cpcm_identity_is_masked_as_identity_is(cli_as, tmp_env, monkeypatch):
    """A relative path in $CPCM_IDENTITY (`CPCM_IDENTITY='Amani key.txt'`) was named in errors; the
    same path given with --identity is masked."""
    monkeypatch.chdir(tmp_env)
    (tmp_env / f"{CANARY} junk.txt").write_text("not a key\n")
    os.chmod(tmp_env / f"{CANARY} junk.txt", 0o600)
    for name, said in ((f"{CANARY} missing.txt", "no identity at the {} path"),
                       (f"{CANARY} junk.txt", "the identity file the {} path holds a line that is not an age X25519 key")):
        by_option = cli_as("amina", CPCM_IDENTITY="")("list", "--identity", name)
        by_variable = cli_as("amina", CPCM_IDENTITY=name)("list")
        for run, label in ((by_option, "--identity"), (by_variable, "$CPCM_IDENTITY")):
            assert run.code == 5 and said.format(label) in run.stderr, (label, run.stderr)
            assert not leaked(run.stderr), (label, leaked(run.stderr))


def test_leaks__key_new_and_key_rotate_name_cpcm_identity_as_they_name_the_option(cli_as, team, tmp_env):
    """`key new` said 'identity written to the --out path' but repeated a $CPCM_IDENTITY path;
    `key rotate` repeated the name of the identity file given."""
    new = cli_as("amina", CPCM_IDENTITY=str(tmp_env / f"{CANARY} new.txt"))("key", "new", "--no-passphrase")
    assert new.code == 0 and "identity written to the $CPCM_IDENTITY path" in new.stderr, new.stderr
    assert not leaked(new.stderr), leaked(new.stderr)
    own = tmp_env / f"{CANARY} own.txt"
    own.write_bytes(team["amina"][0].read_bytes())
    os.chmod(own, 0o600)
    rotated = cli_as("amina", CPCM_IDENTITY=str(own))("key", "rotate", "--no-passphrase")
    assert rotated.code == 0, rotated.stderr
    assert "kept beside the new one as the $CPCM_IDENTITY path's name followed by .old-2026-11-23" in rotated.stderr
    assert not leaked(rotated.stderr), leaked(rotated.stderr)
    assert sorted(p.name for p in tmp_env.glob(f"{CANARY} own.txt*")) == [own.name, f"{own.name}.old-2026-11-23", f"{own.name}.pub"]


def test_leaks__the_passphrase_file_is_named_by_its_variable(cli_as, tmp_env, monkeypatch):
    """A $CPCM_PASSPHRASE_FILE that cannot be read (given relative), or that holds a wrong
    passphrase (its path in the hint): the variable is named, never the path."""
    from cpcm.crypto import identity

    monkeypatch.chdir(tmp_env)
    key = tmp_env / "protected.txt"
    text, _ = identity.generate("2026-01-01T00:00:00+00:00", "test key")
    identity.save(key, text, "correct horse battery staple")
    wrong = tmp_env / f"{CANARY} phrase.txt"
    wrong.write_text("not the passphrase\n")
    os.chmod(wrong, 0o600)
    for phrase, said in ((f"{CANARY} missing.txt", "cannot read $CPCM_PASSPHRASE_FILE"), (str(wrong), "wrong passphrase")):
        for args in (("list",), ("list", "--json")):
            run = cli_as("amina", CPCM_IDENTITY=str(key), CPCM_PASSPHRASE_FILE=phrase)(*args)
            assert run.code == 5 and said in run.stderr, run.stderr
            assert not leaked(run.stderr) and not leaked(run.stdout), (leaked(run.stderr), leaked(run.stdout))

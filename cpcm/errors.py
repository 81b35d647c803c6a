"""Errors as values with an exit code.

Every error the library raises is a `CpcmError`; only `cpcm.cli.main` turns one into a
message and an exit code (the table in docs/exit-codes.md). Messages name case IDs, record
IDs, file paths and field names, never a child's or family's data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def N_(message: str) -> str:
    """Marks a message for the catalogs (`make catalogs` extracts it; babel.cfg); it is said in the
    worker's language where it is used (`Wording.say`, service/wording.py)."""
    return message


def in_english(message: str) -> str:
    """A message marked for the catalogs (`N_`) as it is written, in English: what says it where no
    language is asked (the default `say` of the domain's messages, `Wording.say`, and of these errors)."""
    return message


IO_ERROR = 74  # a file that could not be written (sysexits' EX_IOERR); launch.NO_ROOM, the same, is restated there to start small


class CpcmError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_json(self) -> dict:
        data = {"error": type(self).__name__, "message": self.message, "exit_code": self.exit_code}
        if self.hint:
            data["hint"] = self.hint
        return data


class UsageError(CpcmError):
    """The command line or an input file is not well formed."""

    exit_code = 2


class NotFound(CpcmError):
    """A case, record, worker, service or file does not exist."""

    exit_code = 3


@dataclass(frozen=True)
class FieldError:
    """One bad field: its path (``child.date_of_birth``) and why it is wrong."""

    field: str
    reason: str
    rule: str | None = None  # a rule of the policy or the workflow other than the form's (closure-readiness)
    code: int | None = None  # the exit code of the error it stands for, when not the form's (a batch's row: `of`)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"

    @classmethod
    def of(cls, field: str, exc: "CpcmError") -> "FieldError":
        """A row of a batch refused by what refuses one case (`exc`: not found, cannot be read, a
        rule): its message, its rule and its exit code kept, so that a script can tell them apart."""
        return cls(field, exc.message, getattr(exc, "rule", None), exc.exit_code)


class Refused(CpcmError):
    """A rule of the workflow or the policy forbids this; the message names the rule."""

    exit_code = 4

    def __init__(self, message: str, hint: str | None = None, rule: str | None = None):
        super().__init__(message, hint)
        self.rule = rule
        self.more: dict = {}  # what else its JSON says (an import refused: the columns it did not import)

    def to_json(self) -> dict:
        data = super().to_json()
        if self.rule:
            data["rule"] = self.rule
        return {**data, **self.more}


# what a refused form's message ends with unless its refusal says what else to do
FIELDS_HINT = N_("Correct the fields named above and run the command again; nothing was written.")
# Translators: what a refusal that names records to make first ends with (cpcm close: a review, a follow-up), in
# place of FIELDS_HINT.
RECORDS_HINT = N_("Record what is named above, in that order, and run the command again; nothing was written.")
# Translators: said before FIELDS_HINT where only options were given: the options (--by, --check need_matched) as typed.
MISSING_BY_OPTIONS = N_("The fields missing are given by their options: %(options)s.")
# Translators: after the words of an option that gives several fields (--explained use, sharing), in MISSING_BY_OPTIONS:
# that the option takes them all at once; %(option)s is the option (--explained), kept as it is, and "all" is the
# word the option takes, typed as it is.
OR_ALL = N_("(or %(option)s all)")
# How a form's fields are given, where only its options were (or nothing was) and no questions were asked
# (cli/common.py gather): the hint of its refusal for a field missing. %(form)s is the form's name (registration)
# and %(command)s the command (cpcm close), kept as they are; --from-file, --set, --no-input are options.
# Translators: the hint of a refused form where only options were given and no questions asked (a pipe, --no-input).
OPTIONS_ONLY_HINT = N_("Only the options were given, and no questions asked: give the form's fields in a file with "
                       "--from-file FILE (cpcm form blank %(form)s prints one to fill in) or with --set PATH=VALUE (on a "
                       "terminal, without --no-input, cpcm asks for them). Nothing was written.")
# Translators: as above, where nothing at all was given.
NOTHING_GIVEN_HINT = N_("Nothing was given (no file, no --set, no option) and no questions asked, as standard input is "
                        "no terminal or --no-input was given: give the form's fields in a file with --from-file FILE "
                        "(cpcm form blank %(form)s prints one to fill in) or with --set PATH=VALUE (on a terminal, "
                        "without --no-input, cpcm asks for them). Nothing was written.")
# Translators: as above, of a command that asks no questions at all; %(command)s is it (cpcm close).
OPTIONS_ONLY_NO_QUESTIONS = N_("Only the options were given, and %(command)s asks no questions: give its options "
                               "(%(command)s --help lists them), or the form's fields in a file with --from-file FILE "
                               "(cpcm form blank %(form)s prints one to fill in) or with --set PATH=VALUE. Nothing was "
                               "written.")
NOTHING_GIVEN_NO_QUESTIONS = N_("Nothing was given (no file, no --set, no option), and %(command)s asks no questions: "
                                "give its options (%(command)s --help lists them), or the form's fields in a file with "
                                "--from-file FILE (cpcm form blank %(form)s prints one to fill in) or with --set "
                                "PATH=VALUE. Nothing was written.")
# Translators: what a command interrupted before it wrote anything says (Ctrl-C; Ctrl-D at a question).
INTERRUPTED = N_("interrupted; nothing was written")
# Translators: the first line of a refused form, above its problems; %(what)s names the record (registration,
# update of CP-XXXX-XXXX), in this language where RECORD_NAMES has its words, else in English.
NOT_VALID = N_("%(what)s is not valid (%(count)s problem):")
NOT_VALID_MANY = N_("%(what)s is not valid (%(count)s problems):")
# Translators: as "is not valid", for a refusal that gathers a rule of the policy or the workflow with the fields.
REFUSED = N_("%(what)s is refused (%(count)s problem):")
REFUSED_MANY = N_("%(what)s is refused (%(count)s problems):")


# Translators: how an error begins at the terminal (exit 1 and more); %(message)s is the error's own message.
ERROR = N_("error: %(message)s")
# Translators: how a command line refused before the command ran begins (exit 2); %(message)s is what is wrong.
USAGE_ERROR = N_("usage error: %(message)s")
# Translators: the line after a usage error; %(command)s is the command typed (cpcm register), kept as it is.
TRY_HELP = N_("Try '%(command)s --help'.")
# Translators: an option that takes a number given something else (cpcm register --age abc); %(option)s is the
# option (--age) and %(meaning)s what it is, in the words of its help (in English), both kept as they are.
WHOLE_NUMBER = N_("%(option)s takes a whole number written in figures, such as 7 (%(meaning)s): what was given is not "
                  "a whole number")
WHOLE_NUMBER_ONLY = N_("%(option)s takes a whole number written in figures, such as 7: what was given is not a whole "
                       "number")
NUMBER = N_("%(option)s takes a number written in figures, such as 7 or 1.5 (%(meaning)s): what was given is not a "
            "number")
NUMBER_ONLY = N_("%(option)s takes a number written in figures, such as 7 or 1.5: what was given is not a number")


# A record's name in the first line of a refused form (the %(what)s of NOT_VALID), by its kind (the kind as
# records keep it; an assessment's by its type too): the one place these names are marked for the catalogs.
# A kind not here is named in English in every language (`Named`).
RECORD_NAMES = {
    "registration": N_("registration"),
    # Translators: a record's name in the first line of a refused form (these and those below); %(case)s is a
    # case ID and %(ref)s a referral's reference (R1), kept as they are.
    "update": N_("update of %(case)s"),
    "initial_assessment": N_("initial assessment of %(case)s"),
    "comprehensive_assessment": N_("comprehensive assessment of %(case)s"),
    "plan": N_("plan for %(case)s"),
    "consent": N_("consent for %(case)s"),
    "referral": N_("referral of %(case)s"),
    "referral_update": N_("referral %(ref)s of %(case)s"),
    "followup": N_("follow-up of %(case)s"),
    "review": N_("review of %(case)s"),
    "closure": N_("closure of %(case)s"),
    "reopen": N_("reopening of %(case)s"),
}


class Named(str):
    """A record's name as a refused form's first line says it (`InvalidInput.what`): the text is the
    English one (what the JSON gives, and what any other use of it reads), and it keeps its message
    of RECORD_NAMES and the data of its `%(...)s`, so that the terminal says it in the repository's
    language (`said`). Made by `named_record`."""

    message: str
    data: dict

    def __new__(cls, message: str, **data: str) -> "Named":
        made = super().__new__(cls, message % data)
        made.message, made.data = message, data
        return made

    def said(self, say=in_english) -> str:
        """The name in the language of `say` (`Wording.say`); English by default."""
        return say(self.message) % self.data


def named_record(kind: str, **data: str) -> Named | None:
    """The name of a record of `kind` (a key of RECORD_NAMES) with its `data` (case=, ref=) for a
    refusal's first line; None for a kind RECORD_NAMES does not name (the caller names it in English)."""
    message = RECORD_NAMES.get(kind)
    return Named(message, **data) if message is not None else None


class InvalidInput(Refused):
    """Input that breaks a form's rules: every bad field with its reason."""

    def __init__(self, errors: list[FieldError], what: str = "input", hint: str | None = None):
        super().__init__(self._message(errors, what, {}),
                         hint or FIELDS_HINT,
                         rule="form-validation")
        if errors and errors[0].rule:
            self.rule = errors[0].rule
        codes = {e.code for e in errors}
        if len(codes) == 1 and None not in codes:  # every row refused for one cause: its exit code (3 not found, 5 not readable)
            self.exit_code = codes.pop()
        self.errors = errors
        self.what = what
        self.options: dict[str, str] = {}  # field -> the option that gives it, where named (`naming`)
        self.said_hint: str | None = None  # the hint in the repository's language, made beside `hint` (cli/common.py options_named)

    @staticmethod
    def _message(errors: Sequence[FieldError], what: str, options: dict[str, str]) -> str:
        lines = "\n".join(f"  - {options[e.field]} ({e.field}): {e.reason}" if e.field in options else f"  - {e}" for e in errors)
        return f"{InvalidInput._first(errors, what)}\n{lines}"

    @staticmethod
    def _first(errors: Sequence[FieldError], what: str, say=in_english) -> str:
        """The message's first line, in the language of `say` (`Wording.say`; English by default)."""
        # a refusal that gathers the rules of the policy with the fields (cpcm close) is refused, not only invalid,
        # and its rule is the first problem's: what to do first
        ruled = any(e.rule for e in errors)
        first = (REFUSED if ruled else NOT_VALID) if len(errors) == 1 else (REFUSED_MANY if ruled else NOT_VALID_MANY)
        return say(first) % {"what": what.said(say) if isinstance(what, Named) else what, "count": len(errors)}

    def said(self, say) -> str:
        """The message as said at the terminal in the repository's language (`say`: its `Wording.say`): its
        first line in that language, the problems as their reasons were said; the JSON's is as it is (`to_json`)."""
        first, sep, rest = self.message.partition("\n")
        if first != self._first(self.errors, self.what):  # a message made otherwise since: as it is
            return self.message
        return self._first(self.errors, self.what, say) + sep + rest

    def naming(self, options: dict[str, str]) -> list[str]:
        """The message with each field an option gives (`options`: field -> option, the command's)
        named by that option first: `--offers (services): is required`. A field of one of several
        givers (`child: explained.use`) is named by the option of its field. Returns the options named."""
        found = {}
        for e in self.errors:
            path = e.field.rpartition(": ")[2]  # `child: explained.use`: a giver's field
            option = options.get(e.field) or options.get(path.split("[", 1)[0])
            if option:
                found[e.field] = option
        if found:
            self.options = found
            self.message = self._message(self.errors, self.what, found)
        return list(dict.fromkeys(found.values()))

    def to_json(self) -> dict:
        data = super().to_json()
        data["fields"] = [{"field": e.field, "reason": e.reason, **({"option": self.options[e.field]} if e.field in self.options else {}),
                           **({"rule": e.rule} if e.rule else {}), **({"exit_code": e.code} if e.code else {})}
                          for e in self.errors]
        if any(e.rule for e in self.errors):  # every rule the problems name, in their order
            data["rules"] = list(dict.fromkeys(e.rule or "form-validation" for e in self.errors))
        return data


class CannotDecrypt(CpcmError):
    """Wrong or missing identity, or the worker is not a recipient. `record_file`: where the store found a
    record file your key does not open, its path in the repository (`cases/6K/CP-6K…/01M….note.yaml.age`), for what
    a command says of it (cli/common.py `report_problems`), never read from the message's words; not in the
    JSON, which stays as it was."""

    exit_code = 5

    def __init__(self, message: str, hint: str | None = None, record_file: str | None = None):
        super().__init__(message, hint)
        self.record_file = record_file


class Busy(CpcmError):
    """Another cpcm command holds the repository lock, or the repository changed underneath."""

    exit_code = 6


class NotWritable(CpcmError):
    """The casefile repository's folder cannot be written at all (a read-only disk, another user's
    folder): its lock file cannot be made, so no write starts. Exit 74, as a file of the
    repository that cannot be written (sysexits' EX_IOERR); commands that only read still work."""

    exit_code = IO_ERROR


class Corrupt(CpcmError):
    """A file on disk cannot be read as what it should be; the message names the file."""

    exit_code = 7

    def __init__(self, message: str, path: str | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.path = path

    def to_json(self) -> dict:
        data = super().to_json()
        if self.path:
            data["path"] = self.path
        return data


def restore_hint(rel: str | Sequence[str], then: str = "") -> str:
    """The hint for a file whose last commit holds a good copy (deleted, changed or damaged on
    disk since), or for several (`rel` a sequence of paths): one wording for every message that
    names the restore; `then`: what follows it. From HEAD, not git's index: `git checkout -- FILE`
    takes the index's copy, which is the edit itself once it was staged (`git add`), and is
    refused for a file removed with `git rm`. FILE among `rels`: a name not shown (store/audit.py `typed_paths`)."""
    rels = [rel] if isinstance(rel, str) else list(rel)
    which = " (FILE: each that git status lists as changed)" if "FILE" in rels else ""
    return f"Restore {'it' if len(rels) == 1 else 'them'} from git: git checkout HEAD -- {' '.join(rels)}{which}{then}"


# a file that differs from its commit only in its line endings: a copy whose git converts them (`Git.converted`)
# (git takes a file it converted itself for unchanged: `git checkout HEAD -- FILE` alone leaves it as it is)
LINE_ENDINGS_HINT = ("This copy's git converts line endings (core.autocrlf, which Git for Windows sets): stop it here with "
                     "git config core.autocrlf false, then put the files back as committed: delete the file named and run "
                     "git checkout HEAD -- FILE; or every file at once: git rm -r -q --cached . and then git reset -q --hard "
                     "(an edit by hand to a file of the repository is undone with it: cpcm never commits one).")


def unstage_hint(rels: Sequence[str], then: str) -> str:
    """The hint for files a person staged by hand (`git add`, `git rm`) that a command will not
    commit or overwrite: one wording for every message that names the unstaging; `then`: what
    to do after it. `rels` as a command types them: FILE for a name not shown (store/audit.py `typed_paths`)."""
    named = " ".join(rels[:5]) + (" …" if len(rels) > 5 else "")
    which = "; FILE: each that git status lists as staged" if "FILE" in rels else ""
    return f"Unstage them: git restore --staged -- {named} (the files on disk stay as they are{which}); then {then}"


class NotDestroyed(CpcmError):
    """`cpcm evacuate` could not overwrite or remove a file or folder it had to destroy (another
    user's, a read-only disk): the message names it; everything else was destroyed. Exit 74, as a
    file that cannot be written (sysexits' EX_IOERR)."""

    exit_code = IO_ERROR

    def __init__(self, message: str, hint: str | None = None, done: dict | None = None):
        super().__init__(message, hint)
        self.done = done or {}

    def to_json(self) -> dict:
        return {**super().to_json(), "evacuate": self.done}

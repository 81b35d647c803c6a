"""The language a worker answers a form in: the repository's (`cpcm init --language`, `cpcm config
set language`). A choice may be typed as its code or as its words in that language, exactly as
`cpcm form print` prints them (the form's `choice_labels`, the policy's words for its eligibility
criteria, else `templates/_choices.j2` through the catalog); a yes-or-no as ndiyo or hapana in
Kiswahili; the record always holds the code. The refusals and the prompts' own words are in that
language where its catalog has them (domain/forms.py: the messages marked for the catalogs).

The one rule that maps an answer to a code is `domain.forms.answer_code`; this module only gathers
the words it compares with, and only when an answer is not a code: a script that gives codes reads
no catalog and no template."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from cpcm.domain.forms import Field, Form, Wording, answer_code
from cpcm.errors import Corrupt


def wording_for(root: Path | None, lang: str | None, form: Form, policy: Any = None,
                found: dict[str, Any] | None = None) -> Wording:
    """The `Wording` of `form` in `lang` (None or empty: English) for the repository at `root`
    (None: cpcm's own words only), the eligibility criteria's words from `policy` (default: the
    policy in force there). Nothing is read until an answer or a message needs it; `found`: where
    what was read is kept (for the next record of the same form in the same command)."""
    lang = (lang or "en").strip() or "en"
    found = {} if found is None else found

    def words(field: Field) -> Mapping[str, str]:
        if "codes" not in found:
            found["labels"], found["codes"] = _labels(root, lang, form, policy), _code_words(root, lang)
        from cpcm.render import paper

        return paper.choice_words(form, field, lang, found["labels"], found["codes"])

    def say(message: str) -> str:
        if "say" not in found:
            from cpcm.render import env

            catalog = env.translations(lang, root) if lang != env.SOURCE_LANGUAGE else None
            found["say"] = catalog.gettext if catalog is not None else (lambda text: text)
        return found["say"](message)

    return Wording(lang=lang, choices=words, say=say)


def wording(ctx, form: Form, lang: str | None = None) -> Wording:
    """The `Wording` of `form` in the repository's language (`ctx.config.language`), or in `lang`;
    what it reads is read once per command, form and language (`Context.wordings`: a batch of many
    rows reads it once)."""
    lang = lang or getattr(ctx.config, "language", None)
    found = ctx.wordings.setdefault((form.name, lang), {})
    return wording_for(ctx.root, lang, form, _Policy(ctx), found)


_NO_FORM = Form("", 1, {}, (), (), {})  # what a message of no form's is said through: the catalog only


def say_for(ctx) -> Callable[[str], str]:
    """The repository's language's words for a message marked for the catalogs (`Wording.say`): what a
    refusal built beside a form's (a check the policy asks before referring, a frequency of follow-up)
    and the lines around a refusal are said in; the catalog is read once per command."""
    return wording(ctx, _NO_FORM).say


def say_in(root: Path | None, lang: str | None) -> Callable[[str], str]:
    """`lang`'s words for a message marked for the catalogs, the catalog of the repository at `root`
    first: what is said where no command's session is open (a command line refused before the command
    ran: cli.common.said_in_repository); the catalog is read when a message is first said."""
    return wording_for(root, lang, _NO_FORM).say


def option_code(ctx, key: str, value: Any, choices: tuple[str, ...] = (),
                field_words: str | None = None) -> tuple[Any, str | None]:
    """An option's answer read as a form's field is (`answer_code`), in the repository's language:
    a yes-or-no (no `choices`: `cpcm conference attend --present`, `--recorded`) as yes or no, or
    ndiyo or hapana in Kiswahili, a bool as it is; a choice of `choices` (`--confidentiality-signed
    yes|no|verbal`, `consent --override --basis`) as its code or its words: those the documents print
    for it, the words of a field named `field_words` where a code's words depend on its field
    (`_values.j2` `by_field`: `reason` for `conference add-case --reason`, "kesi ngumu sana kutatua"
    in Kiswahili), else the code's. (the code, or True or False; None) or (None, the refusal in that
    language, naming the choices with their words, never repeating the value)."""
    if isinstance(value, bool) and not choices:
        return value, None
    field = Field(key, "choice" if choices else "boolean", True, tuple(choices), {}, {})
    said = wording(ctx, Form(key, 1, {}, (field,), (), {}))
    if field_words:  # read only when an answer is not a code, as the rest of the words
        def words(f: Field, code_words=said.choices, lang=said.lang) -> dict[str, str]:
            own = _field_words(ctx, lang).get(field_words, {})
            return {code: own.get(code) or text for code, text in code_words(f).items()}

        said = replace(said, choices=words)
    return answer_code(field, value, said)


def _field_words(ctx, lang: str) -> dict[str, dict[str, str]]:
    """The words of the codes by the field that holds them in `lang` (`env.field_words`), read once
    per command; none when the word list cannot be read (an agency's broken template: the codes are
    still taken, and `cpcm render` names the template)."""
    found = ctx.wordings.setdefault(("by_field", lang), {})
    if "fields" not in found:
        from cpcm.render import env

        try:
            found["fields"] = env.field_words(lang, ctx.root)
        except Corrupt:
            found["fields"] = {}
    return found["fields"]


class _Policy:
    """The context's policy, read only when the eligibility criteria's words are wanted."""

    def __init__(self, ctx):
        self.ctx = ctx

    def criterion_labels(self, lang: str) -> dict[str, str]:
        return self.ctx.policy.criterion_labels(lang)


def _labels(root: Path | None, lang: str, form: Form, policy: Any) -> dict:
    """The form's `choice_labels` ({list: {code: {lang: words}}}), with the policy's words for its
    eligibility criteria where a field takes them from the policy: as `cpcm form print` has them."""
    from cpcm.store import forms, policies

    try:
        labels = dict(forms.choice_labels(form.name, root)) if form.name else {}
    except Corrupt:
        labels = {}
    if any(f.policy_list == "eligibility" for f in form.fields):
        rules = policy if policy is not None else policies.in_force(root)
        labels["eligibility"] = {code: {lang: text} for code, text in rules.criterion_labels(lang).items()}
    return labels


def _code_words(root: Path | None, lang: str) -> dict[str, str]:
    """The words of the codes in `lang` (templates/_choices.j2 through the catalog); none when the
    word list cannot be read (an agency's broken template): the codes are still taken, and the
    template is named by `cpcm render` and `cpcm form print`."""
    from cpcm.render import env

    try:
        return env.code_words(lang, root)
    except Corrupt:
        return {}

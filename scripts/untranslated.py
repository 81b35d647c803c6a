"""What a language still lacks, for its translators (`make untranslated`, L=sw by default):

- in the form definitions (cpcm/forms/*.yaml): every text given in English ({en: ...}: a title, a
  label, a field's help, a choice's words, a benchmark's words) with no text in the language;
- in the documents' catalog (cpcm/render/locale/<lang>/LC_MESSAGES/cpcm.po): every message with
  no translation, or marked fuzzy;
- in both, every wording that waits for a speaker's review: marked `review` (a form text by a
  comment `# review` at the end of its line, a catalog message by a translator comment
  `# review ...` above it; docs/translating.md).

    python scripts/untranslated.py [LANG] [--forms DIR] [--catalog FILE]

Prints the lists and their counts; exits 0 (the catalog test, tests/test_catalogs.py, is what
fails on a missing catalog message). Reads only words, never a case.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
FORMS = ROOT / "cpcm" / "forms"
LOCALE = ROOT / "cpcm" / "render" / "locale"
REVIEW = re.compile(r"#\s*review\b")


def _texts(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every text map ({en: ..., sw: ...}) under `node`, with where it is: a field by its key."""
    if isinstance(node, dict):
        if isinstance(node.get("en"), str):
            yield where, node
            return
        for key, value in node.items():
            yield from _texts(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node, start=1):
            named = value.get("key") or value.get("item") if isinstance(value, dict) else None
            yield from _texts(value, f"{where}[{named or index}]")


def form_texts(folder: Path, lang: str) -> tuple[list[str], list[str]]:
    """(the texts with no `lang`, the `lang` texts marked for review), each as
    'form: where (line N)', in file order."""
    from ruamel.yaml import YAML

    missing, review = [], []
    for path in sorted(folder.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        data = YAML(typ="rt").load(source)
        lines = source.splitlines()
        for where, text in _texts(data, ""):
            wording = str(text.get(lang) or "").strip()
            line = text.lc.key(lang)[0] if wording else text.lc.line
            at = f"{path.stem}: {where} (line {line + 1})"
            if not wording:
                missing.append(at)
            elif any(REVIEW.search(lines[n]) for n in _lines_of(text, lang, len(lines))):
                review.append(at)
    return missing, review


def _lines_of(text: Any, lang: str, count: int) -> range:
    """The lines of the file that hold the text in `lang`: from its key to the next key of the
    same map (a translation over several lines ends with its comment on its last line)."""
    start = text.lc.key(lang)[0]
    later = [text.lc.key(k)[0] for k in text if k != lang and text.lc.key(k)[0] > start]
    end = min(later) if later else start + 1 + str(text[lang]).count("\n")
    return range(start, min(max(end, start + 1), count))


def catalog_messages(path: Path) -> tuple[list[str], list[str]]:
    """(the messages with no translation or marked fuzzy, those marked for review)."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        catalog = read_po(handle)
    missing, review = [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        name = (f"[{message.context}] " if message.context else "") + ids[0]
        if message.fuzzy or not all(strings):
            missing.append(name)
        elif any(REVIEW.match("# " + comment.strip()) for comment in message.user_comments):
            review.append(name)
    return missing, review


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lang", nargs="?", default="sw")
    parser.add_argument("--forms", type=Path, default=FORMS)
    parser.add_argument("--catalog", type=Path, default=None)
    args = parser.parse_args(argv)
    catalog = args.catalog or LOCALE / args.lang / "LC_MESSAGES" / "cpcm.po"
    missing, review = form_texts(args.forms, args.lang)
    out = [f"{args.lang}: {len(missing)} form text(s) with no '{args.lang}' (cpcm/forms/*.yaml):"]
    out += [f"  {m}" for m in missing]
    out.append(f"{args.lang}: {len(review)} form text(s) waiting for a speaker's review (# review):")
    out += [f"  {m}" for m in review]
    if catalog.exists():
        untranslated, to_review = catalog_messages(catalog)
        out.append(f"{args.lang}: {len(untranslated)} catalog message(s) untranslated or fuzzy ({catalog.name}):")
        out += [f"  {m}" for m in untranslated]
        out.append(f"{args.lang}: {len(to_review)} catalog message(s) waiting for a speaker's review (# review):")
        out += [f"  {m}" for m in to_review]
    else:
        out.append(f"{args.lang}: no catalog ({catalog})")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every link between the project's pages (README.md and docs/) leads somewhere: the file exists and, where the link
names a heading (`page.md#heading`), the page has that heading, as a reader's viewer makes its anchors (lower case,
punctuation dropped, spaces as hyphens, a repeated heading numbered). Two links to headings that had been renamed,
and the pages a split of the performance page moved, are what this caught."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            times = seen.get(slug, 0)
            seen[slug] = times + 1
            found.add(slug if times == 0 else f"{slug}-{times}")
    found.update(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    return found


def broken_links(pages: list[Path]) -> list[str]:
    broken, known = [], {}
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page.resolve()
            if not dest.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md":
                if dest not in known:
                    known[dest] = anchors(dest.read_text(encoding="utf-8"))
                if anchor not in known[dest]:
                    broken.append(f"{page.name}: {target} (no such heading)")
    return broken


def test_doc_links__every_link_between_pages_leads_to_a_page_and_heading():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert broken_links(pages) == []


def test_doc_links__a_renamed_heading_or_a_moved_page_is_seen(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Page A\n\n## The clocks\n\n## Same\n\n## Same\n\nsee [b](b.md#approvals-one-shape), [it](#the-clocks),"
        " [twice](#same-1), [gone](c.md), [old](#clocks)\n\n```\n# not a heading\n[in code](#nowhere)\n```\n",
        encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n\n### Approvals: one shape\n\nback to [a](a.md#the-clocks)\n", encoding="utf-8")
    assert broken_links([tmp_path / "a.md", tmp_path / "b.md"]) == [
        "a.md: c.md (no such file)", "a.md: #clocks (no such heading)"]

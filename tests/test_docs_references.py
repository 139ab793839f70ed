"""References to the docs resolve: a comment, docstring, benchmark or page that sends the
reader to ``docs/<page>.md, "<title>"``, ``docs/<page>.md, section <n>`` or, inside a page,
``(above, "<title>")`` finds that heading or paragraph there. A section renamed or dropped
fails here, not in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
# Where references are written: the code, the tests, the benchmarks and the pages themselves.
SOURCES = ["src/**/*.py", "tests/*.py", "benchmarks/*.py", "docs/*.md", "README.md", "Makefile"]

_BY_TITLE = re.compile(r'docs/([\w-]+\.md),?\s+"([^"]+)"')
_BY_NUMBER = re.compile(r"docs/([\w-]+\.md),?\s+section\s+(\d+)")
# inside a page: (above, "Title"), (below, "Title")
_WITHIN = re.compile(r'\((?:above|below),\s+"([^"]+)"')


def _flat(text: str) -> str:
    """The text on one line, comment markers gone: a reference may wrap in a comment."""
    return " ".join(re.sub(r"\n\s*#+\s*", " ", text).split())


def titles(page: str) -> set[str]:
    """What a reference may name in a page: its headings, without their numbers, and the
    bold openings of its paragraphs and list items, without their closing full stop."""
    found = {h.strip() for h in re.findall(r"^#+\s+(?:\d+\.\s+)?(.+)$", page, re.M)}
    found |= {b.strip().rstrip(".") for b in re.findall(r"\*\*([^*]+)\*\*", _flat(page))}
    return found


def numbered_sections(page: str) -> set[str]:
    """The numbers of a page's numbered headings (``## 5. Per-day order``)."""
    return set(re.findall(r"^#+\s+(\d+)\.\s", page, re.M))


def unresolved(text: str, pages: dict[str, str], within: str | None = None) -> list[str]:
    """The references in ``text`` that name no heading or paragraph of their page
    (``pages``: name -> text); ``within``: the page ``text`` is, for its own references."""
    flat = _flat(text)
    missing = []
    for page, title in _BY_TITLE.findall(flat):
        if page not in pages or title.rstrip(".") not in titles(pages[page]):
            missing.append(f'docs/{page}, "{title}"')
    for page, number in _BY_NUMBER.findall(flat):
        if page not in pages or number not in numbered_sections(pages[page]):
            missing.append(f"docs/{page}, section {number}")
    if within is not None:
        for title in _WITHIN.findall(flat):
            if title.rstrip(".") not in titles(pages[within]):
                missing.append(f'{within}: "{title}"')
    return missing


def test_every_reference_to_the_docs_resolves() -> None:
    pages = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    files = sorted({p for pattern in SOURCES for p in ROOT.glob(pattern)} - {Path(__file__)})
    checked = 0
    missing = []
    for path in files:
        text = path.read_text()
        own = path.name if path.parent == DOCS else None
        checked += len(_BY_TITLE.findall(_flat(text))) + len(_BY_NUMBER.findall(_flat(text)))
        missing += [f"{path.relative_to(ROOT)}: {m}" for m in unresolved(text, pages, own)]
    assert not missing, "\n".join(missing)
    assert checked >= 20  # a pattern that matched nothing would pass without checking


def test_a_reference_to_a_missing_section_is_caught() -> None:
    """The check has teeth: a title, a number and a page that do not exist are each
    reported; the ones that exist, wrapped over a comment's lines, are not."""
    pages = {
        "model.md": "# Model\n## 5. Per-day order\ntext\n",
        "performance.md": "# Performance\n**Huge pages, again.** text\n## Latest figures\n",
    }
    good = (
        '# see docs/performance.md, "Huge pages,\n    # again" and docs/model.md, section 5\n'
        '(docs/performance.md, "Latest figures")'
    )
    assert unresolved(good, pages) == []
    bad = (
        'docs/performance.md, "Huge pages" docs/model.md, section 6 docs/other.md, "Latest figures"'
    )
    assert unresolved(bad, pages) == [
        'docs/performance.md, "Huge pages"',
        'docs/other.md, "Latest figures"',
        "docs/model.md, section 6",
    ]
    assert unresolved('(above, "Huge pages, again")', pages, "performance.md") == []
    assert unresolved('(below, "Lanes")', pages, "performance.md") == ['performance.md: "Lanes"']

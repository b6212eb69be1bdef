"""Every relative link in README.md and docs/*.md leads somewhere: the file exists and, when the link names
a heading, the page has it. The README was split into pages; a moved section must not leave a dead link."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "benchmarks" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#+ (?P<title>.+)$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def anchor_of(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {anchor_of(found["title"]) for found in HEADING.finditer(text)}


def dead_links(page: Path) -> list[str]:
    dead = []
    for found in LINK.finditer(FENCE.sub("", page.read_text(encoding="utf-8"))):
        target = found["target"]
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            dead.append(target)
    return dead


def test_the_pages_link_to_each_other() -> None:
    """A check that found no links would pass on anything."""
    assert "docs/api.md" in LINK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def test_no_page_has_a_dead_relative_link() -> None:
    found = {page.relative_to(REPO).as_posix(): dead_links(page) for page in PAGES}
    assert {page: dead for page, dead in found.items() if dead} == {}

"""docs/development.md's code layout names every module of shared/ and blueprints/ and everything at the
top of devtools/: a newcomer reads the map before the tree, so a module added without a place on the map
fails here."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def layout() -> str:
    page = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    found = re.search(r"^```\n(?P<block>function_app\.py.*?)^```", page, re.M | re.S)
    assert found, "docs/development.md has no code layout block"
    return found["block"]


def modules() -> list[str]:
    product = [
        path
        for folder in ("shared", "blueprints")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "__init__.py"
    ]
    tools = [path for path in (REPO / "devtools").iterdir() if not path.name.startswith(("_", "."))]
    return sorted(path.relative_to(REPO).as_posix() for path in product + tools)


def test_the_layout_names_every_module() -> None:
    block = layout()
    missing = [module for module in modules() if not re.search(rf"\b{re.escape(Path(module).name)}\b", block)]
    assert missing == []

"""`lint-imports` (run by `make test`) counts type-only imports: a circle hidden under
`if TYPE_CHECKING:` is a circle all the same (issue 21). This holds the setting itself, so the
contract cannot quietly go back to ignoring them."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_import_contracts_count_imports_made_only_for_types() -> None:
    settings = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    assert settings["exclude_type_checking_imports"] is False

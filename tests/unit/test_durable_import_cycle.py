"""The local Durable engine and its HTTP API import one way only, type-only imports included.

`lint-imports` excludes imports under `if TYPE_CHECKING:` (pyproject.toml) until every such circle
in devtools/ is gone; this test holds the one between `devtools.durable.engine` and
`devtools.durable.http_api` broken meanwhile (the API takes a narrow Protocol, as the emulator's
`httpd.py` does).
"""

from __future__ import annotations

import grimp


def test_the_durable_http_api_never_imports_the_engine_not_even_for_types() -> None:
    graph = grimp.build_graph("devtools", exclude_type_checking_imports=False, cache_dir=None)
    assert (
        graph.find_shortest_chain(importer="devtools.durable.http_api", imported="devtools.durable.engine")
        is None
    )
    assert "devtools.durable.http_api" in graph.find_modules_directly_imported_by("devtools.durable.engine")

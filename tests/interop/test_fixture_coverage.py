"""Every real example in `shared/fixtures` (copied to tests/interop/fixtures) is used by at least
one interop test (the issue's requirement), so a fixture added later cannot be forgotten."""

from __future__ import annotations

from pathlib import Path

from tests.interop.support import FIXTURES


def test_every_fixture_file_is_named_by_an_interop_test() -> None:
    """Each fixture's path below its source folder appears in some test module's text."""
    sources = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    unused = [
        str(path.relative_to(FIXTURES))
        for path in sorted(FIXTURES.rglob("*"))
        if path.is_file() and path.name != "README.md" and path.name not in sources
    ]
    assert unused == []

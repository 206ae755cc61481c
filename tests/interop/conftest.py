"""The interop app over a fresh SQLite ledger (event clock), participants certified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import make_ledger
from tests.interop.support import Interop


@pytest.fixture
def interop(sqlite_url: str) -> Iterator[Interop]:
    """DR1, DR2, PH1, PH2 certified; one allow-listed EHR."""
    api = Interop(make_ledger(sqlite_url))
    yield api
    api.close()

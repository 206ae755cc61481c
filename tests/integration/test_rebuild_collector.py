"""A rebuild pauses Python's cyclic collector while it runs and collects the youngest objects
after each batch (`projections.runner`): the collector is as it was after the rebuild, whether
it ends or fails, and one a caller had paused stays paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from application.ledger import Ledger
from application.views import Views
from projections import runner as runner_module
from tests.program import Program


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector enabled again after the test, whatever it did."""
    yield
    gc.enable()


def _views(ledger: Ledger) -> Views:
    p = Program(ledger).participants()
    p.ready_male("M1")
    p.fill("M1")
    return Views(ledger)


def test_the_collector_is_paused_during_a_rebuild_and_enabled_after_it(
    any_ledger: Ledger, collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paused inside every batch, a young collection between batches, enabled after."""
    monkeypatch.setattr(runner_module, "REBUILD_BATCH", 2)
    with _views(any_ledger) as views:
        seen: list[bool] = []
        fold = views.runner._fold.fold

        def spy(*args: Any) -> None:
            seen.append(gc.isenabled())
            fold(*args)

        monkeypatch.setattr(views.runner._fold, "fold", spy)
        collected: list[int] = []

        def collect(generation: int = 2) -> int:
            collected.append(generation)
            return 0

        monkeypatch.setattr(gc, "collect", collect)
        assert gc.isenabled()
        views.runner.rebuild()
        assert seen
        assert not any(seen)
        assert collected
        assert set(collected) == {0}
        assert gc.isenabled()


def test_the_collector_is_enabled_after_a_failed_rebuild_and_left_paused_if_it_was(
    any_ledger: Ledger, collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild that raises leaves the collector enabled; one paused before stays paused."""
    with _views(any_ledger) as views:

        def failing(*args: Any) -> None:
            raise RuntimeError("a fold that fails")

        monkeypatch.setattr(views.runner._fold, "fold", failing)
        with pytest.raises(RuntimeError):
            views.runner.rebuild()
        assert gc.isenabled()
        gc.disable()
        with pytest.raises(RuntimeError):
            views.runner.rebuild()
        assert not gc.isenabled()

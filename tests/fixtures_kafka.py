"""Pytest fixtures that run a real single-node Kafka broker (see ``infra/kafka_broker/``).

``kafka_bootstrap`` is one broker shared by the whole session; ``kafka_broker`` is a dedicated
broker for one test, which that test may ``stop()`` and ``start()`` again (same port, same
data) for restart and fault tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.kafka_broker import KafkaBroker, running_kafka


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Yield ``127.0.0.1:<port>`` of a Kafka broker that lives for the whole test session."""
    with running_kafka() as bootstrap:
        yield bootstrap


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """Yield a started broker owned by this test alone, stopped again when the test ends."""
    broker = KafkaBroker(tmp_path / "kafka")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()

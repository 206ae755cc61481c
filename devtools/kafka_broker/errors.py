"""The one exception the Kafka broker package raises."""

from __future__ import annotations

__all__ = ["KafkaBrokerError"]


class KafkaBrokerError(RuntimeError):
    """Raised when the Kafka jars cannot be resolved or the broker fails to start or stop."""

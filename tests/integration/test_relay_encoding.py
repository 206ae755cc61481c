"""The relay's fast encoding (issue 12, relay throughput) sends exactly the envelope's bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from consumers.envelope import encoded_message, envelope, topic_for
from consumers.pseudonyms import Pseudonyms
from tests.integration.test_relay import ledger_events, simulated_program


def test_encoded_message_is_the_envelopes_json_for_every_published_event(tmp_path: Path) -> None:
    """For every published event of a simulated program, the relay's (key, value) bytes are the
    message key and `Envelope.model_dump_json()` of the same event, byte for byte."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=8)
    pseudonyms = Pseudonyms(b"k" * 32)
    try:
        compared = 0
        for position, event in ledger_events(ledger):
            if topic_for(event) is None:
                continue
            message = envelope(event, position, pseudonyms)
            key, value = encoded_message(event, position, pseudonyms)
            assert key == message.aggregate_id.encode()
            assert value == message.model_dump_json().encode()
            compared += 1
    finally:
        ledger.close()
    assert compared > 100


def test_encoded_message_writes_a_utc_instant_as_pydantic_does(tmp_path: Path) -> None:
    """An event recorded at a UTC instant is written with `Z`, as the envelope model writes it."""
    ledger, _ = simulated_program(f"sqlite:///{tmp_path / 'rems.db'}", patients=1)
    pseudonyms = Pseudonyms(b"k" * 32)
    try:
        position, event = next((p, e) for p, e in ledger_events(ledger) if topic_for(e))
    finally:
        ledger.close()
    utc = event.model_copy(update={"timestamp": datetime(2026, 3, 1, 14, 0, 0, 5, tzinfo=UTC)})
    _, value = encoded_message(utc, position, pseudonyms)
    assert value == envelope(utc, position, pseudonyms).model_dump_json().encode()
    assert b'"recorded_at":"2026-03-01T14:00:00.000005Z"' in value

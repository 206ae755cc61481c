"""Tree heads on Kafka (AUDIT-FORMAT.md §7): `rems relay --once` with a signing key publishes a
signed tree head to `REMS_STH_FILE` and the topic `rems.tree-heads` on the real broker, the
same line in both, each with its consistency proof from the previous head."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from audit.merkle import verify_consistency
from entrypoints.cli.main import main
from tests.conftest import make_ledger
from tests.integration.test_relay import read_messages
from tests.program import Program

pytestmark = pytest.mark.kafka


def test_the_relay_publishes_tree_heads_with_consistency_to_file_and_topic(
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two relay runs with new events between them: two heads on the topic equal to the two
    lines of the file, the second proving consistency with the first; no head when nothing
    new was recorded."""
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    monkeypatch.setenv("REMS_DATABASE_URL", url)
    monkeypatch.setenv("REMS_CLOCK", "event")
    monkeypatch.setenv("REMS_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("REMS_SIGNING_KEY_FILE", str(tmp_path / "sign.pem"))
    monkeypatch.setenv("REMS_STH_FILE", str(tmp_path / "heads.jsonl"))
    assert main(["keys", "init"]) == 0
    ledger = make_ledger(url)
    try:
        program = Program(ledger).participants()
        program.ready_male("M1")
        assert main(["relay", "--once"]) == 0
        program.advance(days=1)
        program.survey("M1")
        assert main(["relay", "--once"]) == 0
        assert main(["relay", "--once"]) == 0
    finally:
        ledger.close()
    capsys.readouterr()
    lines = [orjson.loads(line) for line in (tmp_path / "heads.jsonl").read_bytes().splitlines()]
    messages = read_messages(kafka_bootstrap, ["rems.tree-heads"])
    assert [orjson.loads(m.value) for m in messages][-2:] == lines
    assert [m.key for m in messages][-2:] == [b"tree-head", b"tree-head"]
    first, second = (line["sth"] for line in lines)
    assert lines[0]["consistency"] is None
    proof = lines[1]["consistency"]
    assert verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )

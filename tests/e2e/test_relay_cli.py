"""`rems relay --once` and `rems schemas OUT_DIR` as a user runs them: real subprocesses, a real
broker for the relay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.envelope import TOPICS
from tests.conftest import make_ledger
from tests.integration.test_relay import ledger_events, ours, published_events, read_messages

SCENARIO = Path(__file__).parent / "scenarios" / "male_journey.jsonl"


def rems(
    tmp_path: Path, url: str, *args: str, bootstrap: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m entrypoints.cli.main ARGS` in `tmp_path` on the database, event clock on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env.update({"REMS_DATABASE_URL": url, "REMS_CLOCK": "event"})
    if bootstrap is not None:
        env["REMS_KAFKA_BOOTSTRAP"] = bootstrap
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.kafka
def test_relay_once_prints_its_position_as_json_and_exits_0(
    tmp_path: Path,
    kafka_bootstrap: str,
) -> None:
    """`rems relay --once` drains the ledger, prints `{"published_through", "log_entries"}` and
    exits 0; run again it passes no entry and stays at the same position."""
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    applied = rems(tmp_path, url, "apply", str(SCENARIO))
    assert applied.returncode == 0, applied.stderr.decode()
    ledger = make_ledger(url)
    try:
        last = ledger_events(ledger)[-1][0]
        expected = published_events(ledger)
    finally:
        ledger.close()

    first = rems(tmp_path, url, "relay", "--once", bootstrap=kafka_bootstrap)
    assert first.returncode == 0, first.stderr.decode()
    assert json.loads(first.stdout) == {"published_through": last, "log_entries": last}
    again = rems(tmp_path, url, "relay", "--once", bootstrap=kafka_bootstrap)
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout) == {"published_through": last, "log_entries": 0}

    mine = ours(read_messages(kafka_bootstrap), expected)
    assert sorted(m.event_id for m in mine) == sorted(expected)


def test_schemas_writes_one_schema_file_per_topic(tmp_path: Path) -> None:
    """`rems schemas OUT_DIR` creates the folder, writes `<topic>.schema.json` for the five topics,
    prints their paths and exits 0."""
    out = tmp_path / "out" / "schemas"
    done = rems(tmp_path, f"sqlite:///{tmp_path / 'rems.db'}", "schemas", str(out))
    assert done.returncode == 0, done.stderr.decode()
    names = sorted(f"{topic}.schema.json" for topic in TOPICS.values())
    assert sorted(p.name for p in out.iterdir()) == names
    assert sorted(Path(line).name for line in done.stdout.decode().splitlines()) == names
    for path in out.iterdir():
        schema = json.loads(path.read_text())
        assert schema["type"] == "object"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["allOf"]

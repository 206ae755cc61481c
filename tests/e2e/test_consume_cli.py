"""`rems consume projection|safety --once` as a user runs them, after `rems apply` and
`rems relay --once`: real subprocesses on the session's broker."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_relay_cli import SCENARIO, rems

pytestmark = pytest.mark.kafka


def test_consume_once_reads_the_topics_into_its_own_database_and_says_phi_is_unencrypted(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """After a journey is applied and relayed, `rems consume projection --once` builds its own
    eligibility rows and `rems consume safety --once` its cases, each in its own database file
    (mode 0600), prints its summary as JSON and exits 0; without `REMS_ENCRYPTION_KEY_FILE`
    each says once on stderr that PHI is stored unencrypted."""
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    assert rems(tmp_path, url, "apply", str(SCENARIO)).returncode == 0
    relayed = rems(tmp_path, url, "relay", "--once", bootstrap=kafka_bootstrap)
    assert relayed.returncode == 0, relayed.stderr.decode()
    published = json.loads(relayed.stdout)["published_through"]

    group = f"test.consume.{uuid.uuid4().hex[:10]}"
    refused = rems(tmp_path, url, "consume", "projection", "--once", bootstrap=kafka_bootstrap)
    assert refused.returncode == 2
    assert "give it its own database with --database URL" in refused.stderr.decode()

    # The journey's one patient; it reports nothing that opens a safety case.
    for kind, extra, least in (("projection", "patients", 1), ("safety", "cases", 0)):
        database = tmp_path / f"{kind}.db"
        run = rems(
            tmp_path,
            url,
            "consume",
            kind,
            "--once",
            "--database",
            f"sqlite:///{database}",
            "--group",
            f"{group}.{kind}",
            bootstrap=kafka_bootstrap,
        )
        stderr = run.stderr.decode()
        assert run.returncode == 0, stderr
        assert stderr.count("stored unencrypted") == 1, stderr
        summary = json.loads(run.stdout)
        assert summary["group"] == f"{group}.{kind}"
        assert summary["taken"] >= 1
        assert (
            summary["applied"] + summary["duplicates"] + summary["dead_lettered"]
            == (summary["taken"])
        )
        assert summary[extra] >= least  # other tests' messages share the session's topics
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert published >= 1

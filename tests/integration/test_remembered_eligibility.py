"""The eligibility answer remembered beside the read model (issue 9): `rems eligibility ID` on
an up-to-date read model prints exactly the bytes the full path (catch up, fold, judge) printed,
for every patient of a simulated program, on SQLite and the real PostgreSQL; any new event, an
older row, other judging code, another time zone, the system clock or a missing key sends the
query down the full path again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from eventsourcing.utils import resolve_topic

from application.errors import NotFound
from application.ledger import Ledger
from application.queries import default_now
from application.remembered_eligibility import (
    POSTGRES_EVENTS_TABLE,
    TRACKING_NAME,
    Unanswered,
    remembered_answer,
)
from application.views import Views
from entrypoints.cli.main import main
from infra import settings as settings_module
from infra.secrets import create_encryption_key_file
from infra.settings import ClockMode, Settings
from infra.transcoding import OrjsonTranscoder, PydanticMapper
from projections import runner as runner_module
from simulation.demo import run_demo
from tests.conftest import make_ledger
from tests.program import TZ, Program

DEMO_PATIENTS = 24
DEMO_PATIENT_IDS = ["PT-LAPSED", *[f"PT-{n:05d}" for n in range(1, DEMO_PATIENTS + 1)]]


@pytest.fixture(scope="module")
def demo(module_backend_url: str) -> Iterator[Ledger]:
    """A simulated program of 24 patients (plus a lapsed one), run once per backend."""
    ledger = make_ledger(module_backend_url)
    run_demo(ledger, patients=DEMO_PATIENTS)
    yield ledger
    ledger.close()


@pytest.fixture
def rems_env(monkeypatch: pytest.MonkeyPatch, demo: Ledger) -> Settings:
    """`rems` run in this process on the demo's database, under the event clock."""
    for name in ("REMS_ENCRYPTION_KEY_FILE", "REMS_TIMEZONE", "REMS_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REMS_DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("REMS_CLOCK", "event")
    monkeypatch.setenv("REMS_TIMEZONE", TZ.key)
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as `main` sets it, undone after
    return Settings.from_env()


def rems(capfd: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    """Run `rems ARGS` in this process: its exit status, stdout and stderr."""
    capfd.readouterr()
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def forget_answers(ledger: Ledger) -> None:
    """Delete every remembered answer (the next query takes the full path)."""
    with Views(ledger) as views, views.database.transaction() as cursor:
        cursor.execute("DELETE FROM eligibility_answers")


def full_then_remembered(
    capfd: pytest.CaptureFixture[bytes], ledger: Ledger, *args: str
) -> tuple[tuple[int, bytes, bytes], tuple[int, bytes, bytes]]:
    """The output of a query by the full path, then of the same query answered from the rows."""
    forget_answers(ledger)
    return rems(capfd, *args), rems(capfd, *args)


def test_remembered_answer_is_byte_for_byte_the_full_path_for_every_demo_patient(
    demo: Ledger, rems_env: Settings, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    """For every patient of a simulated program (eligible or not, every category, initial and
    subsequent, lapsed), `rems eligibility ID --json` and its table print the very same bytes
    from the remembered answer as from the full path, and the rows did answer the second."""
    seen: dict[str, set[Any]] = {"eligible": set(), "category": set(), "rules": set()}
    for patient_id in DEMO_PATIENT_IDS:
        full, fast = full_then_remembered(capfdbinary, demo, "eligibility", patient_id, "--json")
        assert full[0] == 0, full
        assert fast == full, patient_id
        assert remembered_answer(rems_env, patient_id) + b"\n" == full[1]
        table_full, table_fast = full_then_remembered(capfdbinary, demo, "eligibility", patient_id)
        assert table_fast == table_full, patient_id
        answer = orjson.loads(full[1])
        seen["eligible"].add(answer["eligible"])
        seen["category"].add(answer["risk_category"])
        seen["rules"].update(r["rule"] for r in answer["reasons"])
    assert seen["eligible"] == {True, False}
    assert len(seen["category"]) >= 4, seen
    assert len(seen["rules"]) >= 3, seen


def test_not_enrolled_is_answered_from_the_rows_with_the_full_paths_error(
    demo: Ledger, rems_env: Settings, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A patient the up-to-date read model does not hold gets the full path's `not_found`
    (status 1, the same JSON and message), under either clock."""
    with Views(demo) as views:
        views.runner.catch_up()
        with pytest.raises(NotFound) as full:
            views.eligibility("PT-NONE", default_now(demo))
    for clock in ClockMode:
        with pytest.raises(NotFound) as fast:
            remembered_answer(Settings(rems_env.database_url, clock, TZ), "pt-none")
        assert fast.value.to_result() == full.value.to_result()
    code, out, err = rems(capfdbinary, "eligibility", "PT-NONE", "--json")
    assert code == 1
    assert orjson.loads(out) == full.value.to_result()
    assert err == b"rems: Patient PT-NONE is not enrolled in the REMS.\n"


def test_a_new_event_sends_the_query_down_the_full_path_until_judged_again(
    any_ledger: Ledger,
) -> None:
    """An answer names the log position it was judged at: a later event (the read model behind,
    then caught up but the row older) is never answered from the row; judging it again is."""
    p = Program(any_ledger).participants()
    p.ready_male("M1")
    settings = any_ledger.settings
    with Views(any_ledger) as views:
        first = views.eligibility("M1", default_now(any_ledger), remember_answer=True)
    assert remembered_answer(settings, "M1") == orjson.dumps(first)

    p.advance(hours=1).ok("suspend_prescriber", prescriber_id="DR1", reason="audit finding")
    with pytest.raises(Unanswered):
        remembered_answer(settings, "M1")  # the read model is behind the log
    with Views(any_ledger) as views:
        views.runner.catch_up()
        with pytest.raises(Unanswered):
            remembered_answer(settings, "M1")  # caught up, but the row is of an older position
        again = views.eligibility("M1", default_now(any_ledger), remember_answer=True)
    assert again["eligible"] is False
    assert remembered_answer(settings, "M1") == orjson.dumps(again)


def test_under_the_system_clock_the_row_answers_until_the_instant_it_stands_until(
    demo: Ledger,
) -> None:
    """Judged under the system clock at T, a row answers any query from T until the instant
    it stands until, byte for byte what the full path prints then (its `as_of` that very
    instant); before T (a clock gone back) and from that instant on, the full path runs."""
    system = Settings(demo.settings.database_url, ClockMode.SYSTEM, TZ)
    began = (demo.last_recorded_at or default_now(demo)) + timedelta(hours=1)
    stood = 0
    with Views(demo) as views:
        for number, patient_id in enumerate(DEMO_PATIENT_IDS):
            judged_at = began + timedelta(hours=number * 7)
            first = views.eligibility(patient_id, judged_at, remember_answer=True)
            with views.database.transaction() as cursor:
                row = cursor.fetchone(
                    "SELECT answer FROM eligibility_answers WHERE patient_id = ?", (patient_id,)
                )
            assert row is not None
            until = datetime.fromisoformat(views.sealer.open(row[0]).split("\n", 1)[0])
            assert remembered_answer(system, patient_id, judged_at) == orjson.dumps(first)
            with pytest.raises(Unanswered):
                remembered_answer(system, patient_id, judged_at - timedelta(microseconds=1))
            with pytest.raises(Unanswered):
                remembered_answer(system, patient_id, until)
            if until == judged_at:
                continue
            stood += 1
            for instant in (until - timedelta(microseconds=1), judged_at + (until - judged_at) / 2):
                full = views.eligibility(patient_id, instant)
                assert remembered_answer(system, patient_id, instant) == orjson.dumps(full)
    assert stood >= len(DEMO_PATIENT_IDS) // 2, stood


def test_other_code_zone_or_a_rebuild_is_never_answered_from_the_row(
    any_ledger: Ledger,
) -> None:
    """A row judged by other code, in another time zone, or dropped by a rebuild does not
    answer: the full path runs."""
    Program(any_ledger).participants().ready_male("M1")
    settings = any_ledger.settings
    with Views(any_ledger) as views:
        views.eligibility("M1", default_now(any_ledger), remember_answer=True)
        assert remembered_answer(settings, "M1")
        with pytest.raises(Unanswered):
            remembered_answer(
                Settings(settings.database_url, ClockMode.EVENT, ZoneInfo("UTC")), "M1"
            )
        with views.database.transaction() as cursor:
            cursor.execute("UPDATE eligibility_answers SET code = 'older build'")
        with pytest.raises(Unanswered):
            remembered_answer(settings, "M1")
        views.eligibility("M1", default_now(any_ledger), remember_answer=True)
        views.runner.rebuild()
    with pytest.raises(Unanswered):
        remembered_answer(settings, "M1")


def test_with_an_encryption_key_the_remembered_answer_is_sealed(tmp_path: Path) -> None:
    """Under an encryption key the row is sealed (no answer text in the table), read back
    through the key, and unreadable (the full path runs) without it."""
    key = tmp_path / "rems.key"
    create_encryption_key_file(key)
    url = f"sqlite:///{tmp_path / 'rems.db'}"
    sealed = Settings(url, ClockMode.EVENT, TZ, encryption_key_file=key)
    ledger = Ledger(sealed)
    try:
        Program(ledger).participants().ready_male("M1")
        with Views(ledger) as views:
            answer = views.eligibility("M1", default_now(ledger), remember_answer=True)
            with views.database.transaction() as cursor:
                stored = cursor.fetchall("SELECT answer FROM eligibility_answers")
    finally:
        ledger.close()
    assert [row[0][:5] for row in stored] == ["enc1:"]
    assert b"adult_male" not in stored[0][0].encode()
    assert remembered_answer(sealed, "M1") == orjson.dumps(answer)
    with pytest.raises(Unanswered):
        remembered_answer(Settings(url, ClockMode.EVENT, TZ), "M1")


def test_the_names_written_out_for_the_fast_path_are_the_stores(any_ledger: Ledger) -> None:
    """The topics, the tracking name and the PostgreSQL events table the fast path names
    without importing their modules are the ones the ledger and the runner use."""
    assert resolve_topic(settings_module.MAPPER_TOPIC) is PydanticMapper
    assert resolve_topic(settings_module.TRANSCODER_TOPIC) is OrjsonTranscoder
    assert runner_module.TRACKING_NAME == TRACKING_NAME
    recorder: Any = any_ledger.recorder
    if any_ledger.settings.database_url.startswith("postgresql"):
        assert f"{recorder.datastore.schema}.{recorder.events_table_name}" == (
            POSTGRES_EVENTS_TABLE
        )
    else:
        assert recorder.events_table_name == "stored_events"

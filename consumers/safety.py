"""The safety consumer: pregnancy-exposure cases for the MedWatch 3500A follow-up (T7, T8, M2).

A case is opened for a pregnancy report, a positive pregnancy test and a menstrual abnormality.
It carries what a pharmacovigilance team needs to follow up: the patient's pseudonym, the dates,
the prescriber of record and the last dispense before the event, and whether MedWatch and the
REMS were told. A positive test or an abnormality counts as reported by the patient's later
pregnancy reports (their flags, OR-ed); with none, both reports are missing.
`flag_missing_reports(now)` flags every case recorded more than 24 hours before `now` that still
misses a report, and clears the flag of cases whose reports are complete.

The context (prescriber of record, dispenses) comes from other topics than the cases, and
topics interleave freely, so context is kept per aggregate version: a case takes the latest
context of a version before its own, and context arriving late fills in the cases after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consumers.envelope import DEAD_LETTER_TOPIC, TOPICS, Envelope
from consumers.safety_case import CASE_COLUMNS, CaseKind, SafetyCase, case_from_row
from consumers.subscriber import DataError, Subscriber
from infra.row_cipher import PlainRows, RowCipher
from infra.views import Cursor, ViewDatabase

SAFETY_GROUP = "rems-safety"
SAFETY_TOPICS = (TOPICS["patients"], TOPICS["decisions"], TOPICS["safety"])
REPORT_DEADLINE = timedelta(hours=24)
"""How long after the ledger learned of a case its reports may be missing before a flag."""


class SafetyCases:
    """Tables `safety_context` (per-version context) and `safety_cases`; the handler."""

    def __init__(
        self, tz: ZoneInfo | None = None, sealer: RowCipher | PlainRows | None = None
    ) -> None:
        """`tz`: the program's zone for event dates (None: the offset the ledger published);
        `sealer`: seals the dates and prescribers kept (with an encryption key)."""
        self.tz = tz
        """The program's time zone, for the dates of collected tests."""
        self.sealer = sealer or PlainRows()
        """Seals every date and prescriber ID kept of a patient; pseudonyms, versions, the
        case kind and the report flags stay in clear (the queries select on them)."""

    def create_tables(self, cursor: Cursor) -> None:
        """Create the tables if missing."""
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS safety_context (aggregate_id TEXT NOT NULL, "
            "aggregate_version INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, "
            "PRIMARY KEY (aggregate_id, aggregate_version, kind))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS safety_cases (case_id TEXT PRIMARY KEY, "
            "aggregate_id TEXT NOT NULL, aggregate_version INTEGER NOT NULL, kind TEXT NOT NULL, "
            "event_date TEXT NOT NULL, recorded_at TEXT NOT NULL, prescriber_id TEXT, "
            "prescriber_version INTEGER, last_dispense_at TEXT, dispense_version INTEGER, "
            "reported_to_medwatch INTEGER NOT NULL, reported_to_rems INTEGER NOT NULL, "
            "follow_up_flag TEXT, flagged_at TEXT)"
        )

    def handle(self, message: Envelope, cursor: Cursor) -> None:
        """Keep the context and open or update cases; other events are ignored."""
        payload = message.payload
        kind = message.type
        if kind in ("PatientEnrolled", "PrescriberChanged"):
            self._context(cursor, message, "prescriber", _text(payload, "prescriber_id"))
        elif kind == "DispenseRecorded":
            self._context(cursor, message, "dispense", _utc(message.occurred_at))
        elif kind == "PregnancyReported":
            medwatch = _flag(payload, "reported_to_medwatch")
            rems = _flag(payload, "reported_to_rems")
            suspected = _date(payload, "suspected_on")
            self._open(cursor, message, CaseKind.PREGNANCY_REPORTED, suspected, medwatch, rems)
            self._cover_earlier(cursor, message, medwatch, rems)
        elif kind == "PregnancyTestRecorded" and payload.get("result") == "positive":
            collected = message.occurred_at.astimezone(self.tz) if self.tz else message.occurred_at
            self._open_unreported(cursor, message, CaseKind.POSITIVE_TEST, collected.date())
        elif kind == "MenstrualAbnormalityRecorded":
            noted = _date(payload, "noted_on")
            self._open_unreported(cursor, message, CaseKind.MENSTRUAL_ABNORMALITY, noted)

    def flag_missing_reports(self, cursor: Cursor, now: datetime) -> list[SafetyCase]:
        """Flag cases recorded more than 24 hours before `now` with a report missing, clear
        the flags of complete cases; return the flagged cases."""
        rows = cursor.fetchall(
            "SELECT case_id, recorded_at, reported_to_medwatch, reported_to_rems, "
            "follow_up_flag FROM safety_cases"
        )
        for case_id, recorded_at, medwatch, rems, flag in rows:
            missing = [
                name for name, done in (("MedWatch 3500A", medwatch), ("REMS", rems)) if not done
            ]
            overdue = datetime.fromisoformat(self.sealer.open(recorded_at)) + REPORT_DEADLINE < now
            wanted = f"missing after 24 h: {' and '.join(missing)}" if missing else None
            if missing and overdue and flag != wanted:
                cursor.execute(
                    "UPDATE safety_cases SET follow_up_flag = ?, flagged_at = ? WHERE case_id = ?",
                    (wanted, _utc(now), case_id),
                )
            elif not missing and flag is not None:
                cursor.execute(
                    "UPDATE safety_cases SET follow_up_flag = NULL, flagged_at = NULL "
                    "WHERE case_id = ?",
                    (case_id,),
                )
        return [case for case in self.cases(cursor) if case.follow_up_flag]

    def cases(self, cursor: Cursor) -> list[SafetyCase]:
        """Every case, oldest recorded first."""
        rows = cursor.fetchall(f"SELECT {CASE_COLUMNS} FROM safety_cases")
        cases = [case_from_row(row, self.sealer.open) for row in rows]
        return sorted(cases, key=lambda case: (case.recorded_at, case.case_id))

    # -- context -----------------------------------------------------------------------

    def _context(self, cursor: Cursor, message: Envelope, kind: str, text: str) -> None:
        aggregate, version = message.aggregate_id, message.aggregate_version
        value = self.sealer.seal(text)
        cursor.execute(
            "INSERT INTO safety_context (aggregate_id, aggregate_version, kind, value) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (aggregate, version, kind, value),
        )
        column = "prescriber_id" if kind == "prescriber" else "last_dispense_at"
        marker = f"{kind}_version"
        # Cases after this version that saw only older context (it arrived late) take it.
        cursor.execute(
            f"UPDATE safety_cases SET {column} = ?, {marker} = ? "
            f"WHERE aggregate_id = ? AND aggregate_version > ? "
            f"AND ({marker} IS NULL OR {marker} < ?)",
            (value, version, aggregate, version, version),
        )

    def _context_before(
        self, cursor: Cursor, aggregate: str, version: int, kind: str
    ) -> tuple[str | None, int | None]:
        row = cursor.fetchone(
            "SELECT value, aggregate_version FROM safety_context WHERE aggregate_id = ? "
            "AND kind = ? AND aggregate_version < ? ORDER BY aggregate_version DESC LIMIT 1",
            (aggregate, kind, version),
        )
        return (str(row[0]), int(row[1])) if row else (None, None)

    # -- cases -------------------------------------------------------------------------

    def _open(
        self,
        cursor: Cursor,
        message: Envelope,
        kind: CaseKind,
        event_date: date,
        medwatch: bool,
        rems: bool,
    ) -> None:
        aggregate, version = message.aggregate_id, message.aggregate_version
        prescriber, prescriber_version = self._context_before(
            cursor, aggregate, version, "prescriber"
        )
        dispensed, dispense_version = self._context_before(cursor, aggregate, version, "dispense")
        cursor.execute(
            "INSERT INTO safety_cases (case_id, aggregate_id, aggregate_version, kind, "
            "event_date, recorded_at, prescriber_id, prescriber_version, last_dispense_at, "
            "dispense_version, reported_to_medwatch, reported_to_rems) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                message.event_id,
                aggregate,
                version,
                kind.value,
                self.sealer.seal(event_date.isoformat()),
                self.sealer.seal(_utc(message.recorded_at)),
                prescriber,
                prescriber_version,
                dispensed,
                dispense_version,
                int(medwatch),
                int(rems),
            ),
        )

    def _open_unreported(
        self, cursor: Cursor, message: Envelope, kind: CaseKind, event_date: date
    ) -> None:
        """A positive test or abnormality: reported only by the patient's later reports."""
        row = cursor.fetchone(
            "SELECT MAX(reported_to_medwatch), MAX(reported_to_rems) FROM safety_cases "
            "WHERE aggregate_id = ? AND kind = ? AND aggregate_version > ?",
            (message.aggregate_id, CaseKind.PREGNANCY_REPORTED.value, message.aggregate_version),
        )
        medwatch = bool(row and row[0])
        rems = bool(row and row[1])
        self._open(cursor, message, kind, event_date, medwatch, rems)

    def _cover_earlier(self, cursor: Cursor, report: Envelope, medwatch: bool, rems: bool) -> None:
        """A pregnancy report also reports the patient's earlier positive tests and
        abnormalities."""
        cursor.execute(
            "UPDATE safety_cases SET "
            "reported_to_medwatch = CASE WHEN ? = 1 THEN 1 ELSE reported_to_medwatch END, "
            "reported_to_rems = CASE WHEN ? = 1 THEN 1 ELSE reported_to_rems END "
            "WHERE aggregate_id = ? AND kind <> ? AND aggregate_version < ?",
            (
                int(medwatch),
                int(rems),
                report.aggregate_id,
                CaseKind.PREGNANCY_REPORTED.value,
                report.aggregate_version,
            ),
        )


class SafetyConsumer:
    """The safety consumer: a `Subscriber` (group `rems-safety`) feeding `SafetyCases`."""

    def __init__(
        self,
        bootstrap: str,
        store: ViewDatabase,
        *,
        group_id: str = SAFETY_GROUP,
        topics: Sequence[str] = SAFETY_TOPICS,
        dead_letter_topic: str = DEAD_LETTER_TOPIC,
        tz: ZoneInfo | None = None,
        sealer: RowCipher | PlainRows | None = None,
        **subscriber_options: Any,
    ) -> None:
        """Create the tables in `store` and join the group; `sealer` seals the cases' dates
        and prescribers (from the encryption key: `infra.row_cipher.row_sealer`)."""
        self.store = store
        """The consumer's database (the cases, the context, the processed event IDs)."""
        self.safety = SafetyCases(tz, sealer)
        """The handler and the case queries."""
        with store.transaction() as cursor:
            self.safety.create_tables(cursor)
        self.subscriber = Subscriber(
            bootstrap,
            group_id,
            topics,
            self.safety.handle,
            store,
            dead_letter_topic,
            **subscriber_options,
        )
        """The Kafka side: de-duplication, offsets, dead letters."""

    def flag_missing_reports(self, now: datetime) -> list[SafetyCase]:
        """Flag cases older than 24 hours at `now` whose MedWatch or REMS report is missing."""
        with self.store.transaction() as cursor:
            return self.safety.flag_missing_reports(cursor, now)

    def cases(self, cursor: Cursor) -> list[SafetyCase]:
        """Every safety case, oldest recorded first."""
        return self.safety.cases(cursor)

    def close(self) -> None:
        """Leave the group and close the Kafka clients (not the store)."""
        self.subscriber.close()


def _utc(instant: datetime) -> str:
    """An instant as UTC ISO text: such strings sort in time order."""
    return instant.astimezone(UTC).isoformat()


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        msg = f"payload.{key} must be a non-empty string"
        raise DataError(msg)
    return value


def _flag(payload: dict[str, Any], key: str) -> bool:
    value = payload.get(key)
    if not isinstance(value, bool):
        msg = f"payload.{key} must be true or false"
        raise DataError(msg)
    return value


def _date(payload: dict[str, Any], key: str) -> date:
    try:
        return date.fromisoformat(str(payload.get(key)))
    except ValueError:
        msg = f"payload.{key} must be an ISO date"
        raise DataError(msg) from None

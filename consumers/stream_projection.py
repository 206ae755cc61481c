"""The projection consumer: the eligibility read model rebuilt from the topics alone.

Each envelope is turned back into its domain event (consumers/rebuild.py) and folded by the
ledger's own `EligibilityProjection` into this consumer's database, so a downstream system gets
the same eligibility answers without reading the ledger: `projections.eligibility.load_patient`
by pseudonym (the aggregate ID) and `application.queries.eligibility_answer` on the row.

One patient's events travel on three topics (patients, decisions, safety): each topic keeps
them in order, but the topics interleave freely. Folding needs the aggregate's order, so every
event is applied strictly by aggregate version; one that arrives ahead of a gap is parked (in
the same transaction) until the missing versions come. A `RiskCategoryChangedByAge` message
(consumers/age.py) is no event of the aggregate: its instant is kept (`stream_age_changes`)
and the row becomes an adult's (consumers' `_come_of_age`): no birth date, nor a date from which
one follows, is stored as such. With an encryption key every row that holds patient data (the
read model's, the parked envelopes, the coming-of-age instants) is sealed (infra/row_cipher.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consumers.envelope import AGE_CHANGE_TYPE, DEAD_LETTER_TOPIC, TOPICS, Envelope
from consumers.rebuild import ADULT_DATE_OF_BIRTH, rebuild_event
from consumers.subscriber import Subscriber
from domain.patient_state import PatientState
from domain.values import Menstruation
from infra.row_cipher import PlainRows, RowCipher
from infra.views import Cursor, ViewDatabase
from projections.eligibility import EligibilityProjection

PROJECTION_GROUP = "rems-projection"
PROJECTION_TOPICS = (
    TOPICS["patients"],
    TOPICS["decisions"],
    TOPICS["safety"],
    TOPICS["prescribers"],
    TOPICS["pharmacies"],
)


class StreamProjection:
    """Folds envelopes into `eligibility_*` rows, each aggregate's events in version order."""

    def __init__(
        self,
        projection: EligibilityProjection | None = None,
        sealer: RowCipher | PlainRows | None = None,
    ) -> None:
        self.sealer = sealer or PlainRows()
        """Seals what the consumer keeps of a patient (with an encryption key)."""
        self.projection = projection or EligibilityProjection(sealer=self.sealer)
        """The ledger's own projection, fed with rebuilt events (its rows sealed)."""

    def create_tables(self, cursor: Cursor) -> None:
        """The read model's tables, the applied version per aggregate and the parked events."""
        self.projection.create_tables(cursor)
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS stream_versions "
            "(aggregate_id TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS stream_parked (aggregate_id TEXT NOT NULL, "
            "aggregate_version INTEGER NOT NULL, envelope TEXT NOT NULL, "
            "PRIMARY KEY (aggregate_id, aggregate_version))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS stream_age_changes "
            "(aggregate_id TEXT PRIMARY KEY, day TEXT NOT NULL)"
        )

    def handle(self, message: Envelope, cursor: Cursor) -> None:
        """Apply the event if it is its aggregate's next, then any parked successors; park it
        if an earlier version is still missing; ignore a version already applied."""
        if message.type == AGE_CHANGE_TYPE:
            cursor.execute(
                "INSERT INTO stream_age_changes (aggregate_id, day) VALUES (?, ?) "
                "ON CONFLICT (aggregate_id) DO UPDATE SET day = excluded.day",
                (message.aggregate_id, self.sealer.seal(message.occurred_at.isoformat())),
            )
            self._come_of_age(message.aggregate_id, cursor)
            return
        rebuild_event(message)  # a payload that cannot be rebuilt is rejected now, not later
        applied = self.applied_version(cursor, message.aggregate_id)
        if message.aggregate_version <= applied:
            return
        if message.aggregate_version > applied + 1:
            cursor.execute(
                "INSERT INTO stream_parked (aggregate_id, aggregate_version, envelope) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    message.aggregate_id,
                    message.aggregate_version,
                    self.sealer.seal(message.model_dump_json()),
                ),
            )
            return
        self.projection.process(rebuild_event(message), cursor)
        version = message.aggregate_version
        while True:
            row = cursor.fetchone(
                "SELECT envelope FROM stream_parked WHERE aggregate_id = ? "
                "AND aggregate_version = ?",
                (message.aggregate_id, version + 1),
            )
            if row is None:
                break
            parked = Envelope.model_validate_json(self.sealer.open(row[0]))
            self.projection.process(rebuild_event(parked), cursor)
            version += 1
        self._come_of_age(message.aggregate_id, cursor)
        cursor.execute(
            "DELETE FROM stream_parked WHERE aggregate_id = ? AND aggregate_version <= ?",
            (message.aggregate_id, version),
        )
        cursor.execute(
            "INSERT INTO stream_versions (aggregate_id, version) VALUES (?, ?) "
            "ON CONFLICT (aggregate_id) DO UPDATE SET version = excluded.version",
            (message.aggregate_id, version),
        )

    def _come_of_age(self, aggregate: str, cursor: Cursor) -> None:
        """Make the row an adult's from the published day on, keeping no date from which the
        birth date follows: the birth date becomes the adults' placeholder, and a girl recorded
        as not yet menstruating, FRP from that day, keeps it as when she became FRP (what the
        rules read from her birthday: `became_frp_at`)."""
        change = cursor.fetchone(
            "SELECT day FROM stream_age_changes WHERE aggregate_id = ?", (aggregate,)
        )
        row = cursor.fetchone(
            "SELECT state FROM eligibility_patients WHERE aggregate_id = ?", (aggregate,)
        )
        if change is None or row is None:
            return
        state = PatientState.model_validate_json(self.sealer.open(row[0]))
        if state.date_of_birth == ADULT_DATE_OF_BIRTH:
            return
        came_of_age = datetime.fromisoformat(self.sealer.open(str(change[0])))
        if came_of_age.tzinfo is None:  # a day kept by an earlier version: its first instant
            came_of_age = came_of_age.replace(tzinfo=state.enrollment.enrolled_at.tzinfo)
        update: dict[str, object] = {"date_of_birth": ADULT_DATE_OF_BIRTH}
        facts = state.facts
        if facts is not None and facts.menstruation is Menstruation.NOT_STARTED:
            since = state.frp_since or state.enrollment.enrolled_at
            update["frp_since"] = max(since, came_of_age)
        text = state.model_copy(update=update).model_dump_json()
        cursor.execute(
            "UPDATE eligibility_patients SET state = ? WHERE aggregate_id = ?",
            (self.sealer.seal(text), aggregate),
        )

    def applied_version(self, cursor: Cursor, aggregate: str) -> int:
        """The last version of an aggregate folded into the read model (0: none)."""
        row = cursor.fetchone(
            "SELECT version FROM stream_versions WHERE aggregate_id = ?", (aggregate,)
        )
        return int(row[0]) if row else 0

    def parked(self, cursor: Cursor) -> int:
        """How many events wait for an earlier version of their aggregate."""
        row = cursor.fetchone("SELECT COUNT(*) FROM stream_parked")
        return int(row[0]) if row else 0


class StreamProjectionConsumer:
    """The projection consumer: a `Subscriber` (group `rems-projection`) feeding a
    `StreamProjection` in its own database."""

    def __init__(
        self,
        bootstrap: str,
        store: ViewDatabase,
        *,
        group_id: str = PROJECTION_GROUP,
        topics: Sequence[str] = PROJECTION_TOPICS,
        dead_letter_topic: str = DEAD_LETTER_TOPIC,
        sealer: RowCipher | PlainRows | None = None,
        **subscriber_options: Any,
    ) -> None:
        """Create the tables in `store` and join the group; `sealer` seals the rows (from the
        encryption key: `infra.row_cipher.row_sealer`)."""
        self.store = store
        """The consumer's own database (never the ledger's: the tables share names)."""
        self.projection = StreamProjection(sealer=sealer)
        """The handler: rebuilt events folded in aggregate order."""
        with store.transaction() as cursor:
            self.projection.create_tables(cursor)
        self.subscriber = Subscriber(
            bootstrap,
            group_id,
            topics,
            self.projection.handle,
            store,
            dead_letter_topic,
            **subscriber_options,
        )
        """The Kafka side: de-duplication, offsets, dead letters."""

    def close(self) -> None:
        """Leave the group and close the Kafka clients (not the store)."""
        self.subscriber.close()

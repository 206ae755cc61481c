"""The ledger's PostgreSQL application recorder: eventsourcing's own, with its one-statement
insert (a PL/pgSQL function, `POSTGRES_ENABLE_DB_FUNCTIONS`) taking the same table lock as its
pipelined insert, so an append is one round trip instead of two.

eventsourcing 9.5's function sets the lock timeout, notifies and inserts, but does not lock the
table. Without the lock, two transactions can take notification IDs and commit in the other
order, and a reader of the log after a position (the projections, the relay, the state cache's
follow, `application.log_follow`) could pass over a row that commits later with a lower ID.
The function here locks the table in EXCLUSIVE mode first, as the pipelined insert does, and is
named after its table (eventsourcing names one per originator-ID type, shared by every table of
a schema).
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier


class LockingInsertRecorder(PostgresApplicationRecorder):
    """eventsourcing's application recorder whose insert function locks the table first."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.pg_function_name_insert_events = f"rems_insert_{events_table_name}"
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.pg_function_name_insert_events)
        table = Identifier(self.events_table_name)
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{function}((%s))"
        ).format(schema=schema, function=function)
        self.sql_create_pg_function_insert_events = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
            "SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} AS t "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event=Identifier(self.stored_event_type_name),
            lock_timeout=self.datastore.lock_timeout,
            table=table,
            channel=Identifier(self.channel_name),
        )
        self.sql_create_statements[self.create_insert_function_statement_index] = (
            self.sql_create_pg_function_insert_events
        )

"""The relay's last acknowledged log position, kept in the ledger's own database."""

from __future__ import annotations

from infra.views import ViewDatabase

RELAY_NAME = "kafka"


class RelayPositions:
    """The relay's last acknowledged log position, in the ledger's database."""

    def __init__(self, database: ViewDatabase, name: str = RELAY_NAME) -> None:
        self.database = database
        self.name = name
        with database.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS relay_positions "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO relay_positions (name, position) VALUES (?, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )

    def get(self) -> int:
        """The last position the broker acknowledged."""
        with self.database.transaction() as cursor:
            row = cursor.fetchone(
                "SELECT position FROM relay_positions WHERE name = ?", (self.name,)
            )
        return int(row[0]) if row else 0

    def set(self, position: int) -> None:
        """Record a new acknowledged position."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE relay_positions SET position = ? WHERE name = ?", (position, self.name)
            )

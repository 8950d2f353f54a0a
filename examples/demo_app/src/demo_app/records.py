"""Records kept in SQLite: the demo's database.

Queries run on the event loop thread: on a local file they take microseconds, less than a hop
to a worker thread would cost, and the read cache in front of them absorbs repeated reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Record = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    value      REAL    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
)
"""
_COLUMNS = "id, name, value, created_at, updated_at"
MAX_NAME_LENGTH = 200


class InvalidRecord(ValueError):
    """A request body that is not a valid record."""


def parse_record(body: Any) -> tuple[str, float]:
    """``(name, value)`` from a request body ``{"name": str, "value": number}``."""
    if not isinstance(body, dict):
        raise InvalidRecord("expected a JSON object with 'name' and 'value'")
    unknown = sorted(set(body) - {"name", "value"})
    if unknown:
        raise InvalidRecord(f"unknown field(s): {', '.join(unknown)}")
    name, value = body.get("name"), body.get("value")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRecord("'name' must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRecord(f"'name' is longer than {MAX_NAME_LENGTH} characters")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRecord("'value' must be a number")
    return name, float(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _row(row: tuple[Any, ...]) -> Record:
    return dict(zip(("id", "name", "value", "created_at", "updated_at"), row, strict=True))


class RecordStore:
    """CRUD over the ``records`` table of one SQLite file.

    Each query runs inside ``timed(operation)`` (the method's name), which the service sets
    to time it into its metrics; by default it does nothing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.timed: Callable[[str], AbstractContextManager[Any]] = lambda _: nullcontext()
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._db.close()

    def seed(self, count: int) -> int:
        """Insert ``count`` numbered records if the table is empty; returns how many."""
        if count <= 0 or self.count():
            return 0
        now = _now()
        rows = [(f"record {i}", i * 1.5, now, now) for i in range(1, count + 1)]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO records (name, value, created_at, updated_at) VALUES (?, ?, ?, ?)",
                rows)
        return count

    def count(self) -> int:
        """How many records exist."""
        with self.timed("count"):
            return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def page(self, limit: int, offset: int) -> list[Record]:
        """Records ordered by id, ``limit`` of them starting at ``offset``."""
        with self.timed("page"):
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM records ORDER BY id LIMIT ? OFFSET ?",
                (limit, offset)).fetchall()
        return [_row(r) for r in rows]

    def get(self, record_id: int) -> Record | None:
        """One record, or None."""
        with self.timed("get"):
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM records WHERE id = ?", (record_id,)).fetchone()
        return _row(row) if row else None

    def create(self, name: str, value: float) -> Record:
        """Insert a record and return it with its new id."""
        now = _now()
        with self.timed("create"):
            cur = self._db.execute(
                "INSERT INTO records (name, value, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (name, value, now, now))
        return {"id": cur.lastrowid, "name": name, "value": value,
                "created_at": now, "updated_at": now}

    def update(self, record_id: int, name: str, value: float) -> Record | None:
        """Replace a record's fields; None if it does not exist."""
        with self.timed("update"):
            cur = self._db.execute(
                "UPDATE records SET name = ?, value = ?, updated_at = ? WHERE id = ?",
                (name, value, _now(), record_id))
        return self.get(record_id) if cur.rowcount else None

    def delete(self, record_id: int) -> bool:
        """Delete a record; False if it did not exist."""
        with self.timed("delete"):
            return self._db.execute("DELETE FROM records WHERE id = ?",
                                    (record_id,)).rowcount > 0

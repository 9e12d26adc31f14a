"""The PostgreSQL store's schema: its migrations (``monitor/store/pg_migrations/NNN_name.sql``) and their Python steps.

The same version numbers and meanings as the SQLite store's migrations; :class:`~monitor.store.postgres.PostgresStore`
applies them, one transaction each, under an advisory lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from monitor.errors import StoreError
from monitor.store import rollups
from monitor.store.rows import COLUMNS, from_row

Connection = psycopg.Connection[Any]
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class PgMigration:
    """One forward schema step: after ``sql`` (then ``step``, if any) runs, the database is at ``version``."""

    version: int
    name: str
    sql: str
    step: Callable[[Connection], object] | None = None  # Python work in the same transaction


def _python_steps() -> dict[int, Callable[[Connection], object]]:
    """Migrations that need Python after their SQL, by version (the same versions as SQLite's)."""
    from monitor.store.rescrub import rescrub_complaints

    return {3: lambda conn: rescrub_complaints(conn, key="id", placeholder="%s"), 6: _backfill_rollups}


def _backfill_rollups(conn: Connection, chunk: int = 20_000) -> None:
    """Migration 006's step: the rollups of every result already stored, folded a page of results at a time."""
    with conn.cursor() as cursor:
        last = 0
        while True:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)}, id FROM results WHERE id > %s ORDER BY id LIMIT %s",
                                (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][-1]
            rollups.upsert(cursor, [from_row(row[:-1]) for row in rows], mark="%s")


def packaged_pg_migrations() -> list[PgMigration]:
    """The migrations shipped in ``monitor/store/pg_migrations/NNN_name.sql``, in order (numbered 1..N)."""
    found: list[PgMigration] = []
    steps = _python_steps()
    for entry in resources.files("monitor.store").joinpath("pg_migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            version = int(match.group(1))
            found.append(PgMigration(version, entry.name, entry.read_text(encoding="utf-8"), steps.get(version)))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        names = ", ".join(m.name for m in found)
        raise StoreError(f"store migrations must be numbered 001, 002, ... without gaps: {names}")
    return found

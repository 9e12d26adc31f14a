"""A generated history moved from its SQLite file into PostgreSQL in bulk, for the report benchmark on PostgreSQL.

``monitor store copy`` writes through the store, at the prober's write rate (6,000–7,000 results/s): half an hour
for a fleet week. The benchmark measures the report, not the copy, so it moves the rows with ``COPY``: the
results and the rollups the SQLite store built from them with the same code the PostgreSQL store uses
(:mod:`monitor.store.rollups`), into a database the PostgreSQL store itself created and migrated. Then
``ANALYZE``, as autovacuum would after a bulk load.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from monitor.store.postgres import PostgresStore
from monitor.store.rows import COLUMNS

ROLLUP_COLUMNS = ("platform", "check_id", "kind", "location", "bucket", "probes", "successes", "reasons",
                  "unreliable", "minutes", "first_at", "last_at", "slowest", "cert_seen", "cert_expiry", "sketch")
_PAGE = 50_000  # rows read from SQLite at a time


def _copy(source: sqlite3.Connection, target: psycopg.Connection[Any], table: str, columns: tuple[str, ...]) -> int:
    names = ", ".join(columns)
    moved = 0
    rows = source.execute(f"SELECT {names} FROM {table} ORDER BY rowid")  # fixed names
    with target.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        while page := rows.fetchmany(_PAGE):
            for row in page:
                copy.write_row(row)
            moved += len(page)
    return moved


def load(sqlite_path: Path, url: str, say: Callable[[str], object] = print) -> tuple[int, float]:
    """Copy the results and rollups of ``sqlite_path`` into the (empty) database at ``url``; (rows, seconds)."""
    PostgresStore(url).close()  # creates and migrates the schema
    began = time.perf_counter()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(url) as target:
            moved = _copy(source, target, "results", COLUMNS)
            moved += _copy(source, target, "rollups", ROLLUP_COLUMNS)
        with psycopg.connect(url, autocommit=True) as target:
            target.execute("ANALYZE")
    finally:
        source.close()
    seconds = time.perf_counter() - began
    say(f"  {moved:,} rows copied into PostgreSQL in {seconds:.0f} s")
    return moved, seconds

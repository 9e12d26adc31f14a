"""The ``rollups`` table (migration 006) through any DB-API cursor: one module for SQLite and PostgreSQL.

:func:`upsert` folds the results a write actually inserted into their 15-minute rollups
(:mod:`monitor.rollup`): it reads the stored rows of the buckets they fall in, merges, and writes
back, inside the caller's transaction, so results and rollups are committed together. The SQL is
the same for both databases (``INSERT … ON CONFLICT … DO UPDATE`` exists in SQLite 3.24+ and
PostgreSQL 9.5+); only the placeholder differs (``?`` for sqlite3, ``%s`` for psycopg).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from sys import intern
from typing import Any, Protocol

from monitor.result import ProbeResult, Reason
from monitor.rollup import BUCKET, Key, Rollup, Sketch, decode_reasons, encode_reasons, fold

COLUMNS = ("platform", "check_id", "kind", "location", "bucket", "probes", "successes", "reasons", "unreliable",
           "minutes", "first_at", "last_at", "slowest", "cert_seen", "cert_expiry", "sketch")
_KEY = COLUMNS[:5]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM rollups"


class Cursor(Protocol):
    """The part of a DB-API cursor used here."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int, /) -> list[Any]: ...


def _upsert_sql(mark: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[5:])
    return (f"INSERT INTO rollups ({', '.join(COLUMNS)}) VALUES ({', '.join(mark for _ in COLUMNS)}) "
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}")


def to_row(r: Rollup) -> tuple[Any, ...]:
    return (r.platform, r.check, r.kind, r.location, r.bucket, r.probes, r.successes, encode_reasons(r.reasons),
            r.unreliable, r.minutes, r.first, r.last, r.slowest, r.cert_seen, r.cert_expiry, r.sketch.encode())


def from_row(row: Sequence[Any]) -> Rollup:
    (platform, check, kind, location, bucket, probes, successes, reasons, unreliable, minutes, first, last, slowest,
     cert_seen, cert_expiry, sketch) = row
    return Rollup(intern(platform), intern(check), intern(kind), intern(location), bucket, probes, successes,
                  decode_reasons(reasons) if reasons else {}, unreliable, minutes, first, last, slowest, cert_seen,
                  cert_expiry, Sketch.decode(sketch))  # integers come back as int from both databases


def lock_id(key: Key) -> int:
    """A stable signed 64-bit number for a rollup's key: the advisory lock PostgreSQL writers take on it."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def upsert(cursor: Cursor, results: Iterable[ProbeResult], mark: str = "?", *, lock: bool = False) -> int:
    """Fold ``results`` (the ones just inserted) into the stored rollups; return how many rollups were written.

    ``lock`` (PostgreSQL): first take a transaction-level advisory lock on each rollup's key, in ascending order (so
    two writers never deadlock), so that another writer of the same stream and quarter hour — a ``monitor store
    copy`` or a spool being forwarded beside the live prober — waits for this transaction instead of both reading
    the old row and one overwriting the other's counts. SQLite needs none: a write holds the whole database.
    """
    fresh = fold(results)
    if not fresh:
        return 0
    if lock:
        cursor.execute(f"SELECT pg_advisory_xact_lock(k) FROM unnest({mark}::bigint[]) AS k",
                       (sorted(lock_id(key) for key in fresh),))
    by_bucket: dict[int, list[Key]] = defaultdict(list)
    for key in fresh:
        by_bucket[key[4]].append(key)
    for bucket, keys in by_bucket.items():
        if len(keys) <= 8:  # a few streams: read them by key, else the whole bucket (one read)
            rows: list[Any] = []
            for key in keys:
                cursor.execute(f"{_SELECT} WHERE {' AND '.join(f'{c} = {mark}' for c in _KEY)}", key)
                rows += cursor.fetchall()
        else:
            cursor.execute(f"{_SELECT} WHERE bucket = {mark}", (bucket,))
            rows = cursor.fetchall()
        for row in rows:
            stored = from_row(row)
            mine = fresh.get(stored.key)
            if mine is not None:
                stored.update(mine)
                fresh[stored.key] = stored
    cursor.executemany(_upsert_sql(mark), [to_row(r) for r in fresh.values()])
    return len(fresh)


_PAGE = 5_000


def read(cursor: Cursor, start: float, end: float, platform: str | None = None, mark: str = "?") -> list[Rollup]:
    """Rollups of the buckets overlapping ``[start, end)``, by bucket then stream (one order on both databases)."""
    first = int(start // BUCKET) * BUCKET
    where = f"bucket >= {mark} AND bucket < {mark}"
    params: tuple[Any, ...] = (first, end)
    if platform is not None:
        where += f" AND platform = {mark}"
        params += (platform,)
    cursor.execute(f"{_SELECT} WHERE {where} ORDER BY {', '.join(_KEY[4:] + _KEY[:4])}", params)
    found: list[Rollup] = []
    while page := cursor.fetchmany(_PAGE):  # a week's rows never all held as tuples too; psycopg is slow row by row
        found += [from_row(row) for row in page]
    return found


def hourly(cursor: Cursor, start: float, end: float, mark: str = "?") -> dict[tuple[str, float], tuple[int, int]]:
    """(reliable probes, reliable successes) per (platform, clock hour) of the buckets in ``[start, end)`` (whole
    hours): summed by the database, a row per platform and hour."""
    cursor.execute(f"SELECT platform, bucket / 3600 * 3600, SUM(probes), SUM(successes) FROM rollups "
                   f"WHERE bucket >= {mark} AND bucket < {mark} GROUP BY 1, 2", (int(start), int(end)))
    return {(platform, float(hour)): (int(probes), int(ok)) for platform, hour, probes, ok in cursor.fetchall()}


def prune(cursor: Cursor, older_than: float, mark: str = "?") -> int:
    """Delete rollups of buckets that ended before ``older_than``; return how many."""
    cursor.execute(f"DELETE FROM rollups WHERE bucket + {BUCKET} <= {mark}", (older_than,))
    return int(getattr(cursor, "rowcount", 0) or 0)


RESULT_COLUMNS = ("platform", "check_id", "kind", "location", "started_at", "success", "reason", "total_s",
                  "cert_expiry", "unreliable")


def backfill(cursor: Cursor, chunk: int = 50_000) -> int:
    """Build the rollups of every stored result (migration 006 on a store with history); return how many rows.

    Reads only the columns a rollup needs, in keyset pages, and folds them in memory (a rollup per
    stream and 15 minutes: about 100,000 for a week of 150 streams).
    """
    rollups: dict[Key, Rollup] = {}
    sql = f"SELECT id, {', '.join(RESULT_COLUMNS)} FROM results WHERE id > ? ORDER BY id LIMIT ?"
    last = 0
    while True:
        cursor.execute(sql, (last, chunk))
        rows = cursor.fetchall()
        if not rows:
            break
        last = rows[-1][0]
        results = []
        for (_, platform, check, kind, location, started_at, success, reason, total, cert_expiry,
             unreliable) in rows:
            results.append(ProbeResult(
                platform, check, kind, location, started_at, bool(success), 0.0,
                reason=None if reason is None else Reason(reason), phases={} if total is None else {"total": total},
                cert_expiry=cert_expiry, unreliable=bool(unreliable)))
        for key, rollup in fold(results).items():
            stored = rollups.get(key)
            if stored is None:
                rollups[key] = rollup
            else:
                stored.update(rollup)
    cursor.executemany(_upsert_sql("?"), [to_row(r) for r in rollups.values()])
    return len(rollups)

"""The fleet's history store: one PostgreSQL database that every prober writes and every command reads.

The same contract and semantics as :class:`~monitor.store.sqlite.SQLiteStore` (see :class:`monitor.store.Store`);
its schema is ``monitor/store/pg_migrations/NNN_name.sql``, with the same version numbers and meanings as the
SQLite migrations. Rows have the same columns and types as SQLite's (times and phases in ``double precision``, so a
result reads back exactly as written), so both build and read them with :mod:`monitor.store.rows`. The schema's
files and steps are in :mod:`monitor.store.pg_schema`.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from monitor.errors import StoreError
from monitor.result import ProbeResult
from monitor.rollup import Rollup
from monitor.store import location, rollups
from monitor.store.pg_schema import Connection, PgMigration, packaged_pg_migrations
from monitor.store.postgres_evidence import PostgresEvidence
from monitor.store.rows import COLUMNS, LEAN_COLUMNS, from_lean_row, from_row, to_row
from monitor.store.sqlite import StoreNeedsMigration

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x6D6F6E69746F72  # pg_advisory_xact_lock key: "monitor"; probers starting at once migrate in turn
_PRUNE_CHUNK = 10_000
_KEY = "platform, check_id, location, started_at"
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM results"
_SELECT_LEAN = f"SELECT {', '.join(LEAN_COLUMNS)} FROM results"  # what a period's evidence reads
_STAGE = (f"CREATE TEMP TABLE IF NOT EXISTS results_in ON COMMIT DELETE ROWS AS "
          f"SELECT 0 AS ord, {', '.join(COLUMNS)} FROM results WITH NO DATA")
_COPY = f"COPY results_in (ord, {', '.join(COLUMNS)}) FROM STDIN"
_INSERT = (f"INSERT INTO results ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM results_in ORDER BY ord "
           f"ON CONFLICT ({_KEY}) DO NOTHING RETURNING {_KEY}")

T = TypeVar("T")


class PostgresStore(PostgresEvidence):
    """History store in a PostgreSQL database (see :class:`monitor.store.Store` for the contract).

    One connection per store, guarded by a lock (the daemon's writer thread and its readers share it; a
    PostgreSQL server serves many probers, each with its one connection). Every public call is one
    transaction, committed before the lock is released, so no session is ever left idle in a transaction.
    A connection found lost is replaced once and the call retried (writes are idempotent: results by their
    key, evidence by id); if that fails too, :class:`StoreError` says which server to check.
    ``read_only=True`` opens every transaction read-only and never migrates.
    """

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0,
                 migrations: Sequence[PgMigration] | None = None):
        """Connect to the database at ``url`` and migrate it (or, ``read_only``, check it is migrated)."""
        self.url = url
        self.where = location.describe(url)
        self.read_only = read_only
        self._connect_timeout = max(1, math.ceil(connect_timeout))
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._closed = False
        try:
            self._migrations = list(packaged_pg_migrations() if migrations is None else migrations)
            if read_only:
                self._check_migrated()
            else:
                self._migrate()
        except StoreError:
            self.close()
            raise

    # --- connection and transactions ----------------------------------------------------

    def _connection(self) -> Connection:
        if self._closed:
            raise StoreError(f"history store {self.where} is closed")
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.url, read_only=self.read_only, timeout=self._connect_timeout)
        return self._conn

    def _first_line(self, exc: BaseException) -> str:
        return _one_line(self.url, exc)

    def _run(self, doing: str, work: Callable[[Connection], T], *, retry: bool = True) -> T:
        """``work`` in one transaction, committed; a lost connection is replaced and ``work`` retried once."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    done = work(conn)
                    conn.commit()
                    return done
                except psycopg.OperationalError as exc:
                    lost = conn.closed or conn.broken
                    self._rollback(conn)
                    if lost:
                        self._conn = None
                        if retry and attempt == 1:
                            log.warning("history store %s: connection lost (%s); reconnecting", self.where,
                                        self._first_line(exc))
                            continue
                        raise StoreError(f"history store {self.where}: cannot {doing}: connection lost "
                                         f"({self._first_line(exc)}); check PostgreSQL at "
                                         f"{location.endpoint(self.url)}") from None
                    raise StoreError(f"history store {self.where}: cannot {doing}: {self._first_line(exc)}") from exc
                except psycopg.Error as exc:
                    self._rollback(conn)
                    raise StoreError(f"history store {self.where}: cannot {doing}: {self._first_line(exc)}") from exc
                except BaseException:
                    self._rollback(conn)
                    raise
            raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _rollback(self, conn: Connection) -> None:
        if not conn.closed:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.close()

    # --- schema -------------------------------------------------------------------------

    @staticmethod
    def _read_version(conn: Connection) -> int:
        row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        found = conn.execute("SELECT version FROM schema_version").fetchone()
        return int(found[0]) if found else 0

    def _latest(self) -> int:
        return self._migrations[-1].version if self._migrations else 0

    def _refuse_newer(self, current: int) -> None:
        if current > self._latest():
            raise StoreError(
                f"history store {self.where} has schema version {current}, newer than this monitor knows "
                f"({self._latest()}); upgrade the monitor or point it at another database")

    def _migrate(self) -> None:
        current = self._run("read the schema version", self._read_version)
        self._refuse_newer(current)
        for migration in self._migrations:
            if migration.version > current:
                current = self._run(f"apply migration {migration.name}", functools.partial(self._apply, m=migration),
                                    retry=False)

    def _apply(self, conn: Connection, m: PgMigration) -> int:
        """Apply ``migration`` unless another prober did meanwhile; the schema version after."""
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))  # held until this transaction ends
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        if conn.execute("SELECT count(*) FROM schema_version").fetchone() == (0,):
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = self._read_version(conn)
        self._refuse_newer(current)
        if current >= m.version:
            return current
        try:
            conn.execute(m.sql.encode())  # no parameters: the script's statements run as one
            if m.step is not None:
                m.step(conn)
        except psycopg.Error as exc:
            raise StoreError(f"history store {self.where}: migration {m.name} failed: "
                             f"{self._first_line(exc)}") from exc
        conn.execute("UPDATE schema_version SET version = %s", (m.version,))
        return m.version

    def _check_migrated(self) -> None:
        """A read-only store must be at the latest version: reading an older schema would fail half-way."""
        current = self._run("read the schema version", self._read_version)
        self._refuse_newer(current)
        if current == 0:
            raise StoreError(f"no history at {self.where}: the database has no monitor tables yet; write to it "
                             "first (`monitor run`, or `monitor store copy FROM TO`)")
        pending = [m for m in self._migrations if m.version > current]
        if pending:
            more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
            raise StoreNeedsMigration(
                f"the store at {self.where} needs migration {pending[0].version} ({pending[0].name}){more}: "
                f"run `monitor incidents --save --store URL` (or `monitor run`) with write access")

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return self._run("read the schema version", self._read_version)

    # --- results ------------------------------------------------------------------------

    def add_results(self, results: Sequence[ProbeResult]) -> list[ProbeResult]:
        """Store ``results`` in one transaction; return those that were new, in order.

        Rows are built first (a field of the wrong type raises ``TypeError``/``ValueError`` and nothing is
        written), copied into a temporary table with ``COPY``, then inserted in order skipping stored keys.
        """
        rows = [to_row(result) for result in results]
        if not rows:
            return []

        def write(conn: Connection) -> list[ProbeResult]:
            conn.execute(_STAGE)
            try:
                with conn.cursor() as cursor:
                    with cursor.copy(_COPY) as copy:
                        for number, row in enumerate(rows):
                            copy.write_row((number, *row))
                    cursor.execute(_INSERT)
                    new = cursor.fetchall()
            except psycopg.DataError as exc:  # e.g. a NUL character, which PostgreSQL text cannot hold
                raise ValueError(f"a result cannot be stored in PostgreSQL: {self._first_line(exc)}") from exc
            inserted = list(results) if len(new) == len(rows) else _new_results(results, rows, new)
            with conn.cursor() as cursor:  # the stored ones only, in this transaction (migration 006)
                rollups.upsert(cursor, inserted, mark="%s", lock=True)
            return inserted

        return self._run(f"write {len(rows)} results", write)

    def recent_results(
        self, limit: int = 20, platform: str | None = None, check: str | None = None, location: str | None = None
    ) -> list[ProbeResult]:
        """The ``limit`` newest results matching the filters, newest first."""
        where, params = _filters(platform=platform, check_id=check, location=location)
        sql = f"{_SELECT}{where} ORDER BY started_at DESC, id DESC LIMIT %s"
        rows = self._run("read recent results", lambda conn: conn.execute(sql, (*params, limit)).fetchall())
        return [from_row(row) for row in rows]

    def results_between(self, start: float, end: float, platform: str | None = None, *,
                        details: bool = True) -> list[ProbeResult]:
        """Results with ``start <= started_at < end``, oldest first (half-open, so ranges tile).

        ``details=False`` is the lean read of :data:`monitor.store.rows.LEAN_COLUMNS` (see the SQLite store).
        """
        where, params = _filters(platform=platform)
        where = f"{where} AND" if where else " WHERE"
        select, convert = (_SELECT, from_row) if details else (_SELECT_LEAN, from_lean_row)
        sql = f"{select}{where} started_at >= %s AND started_at < %s ORDER BY started_at, id"
        rows = self._run("read results",
                         lambda conn: conn.execute(sql, (*params, start, end), binary=True).fetchall())
        return [convert(row) for row in rows]

    def results_in_ranges(self, ranges: Sequence[tuple[str, Sequence[tuple[float, float]]]]
                          ) -> Iterator[list[ProbeResult]]:
        """Each platform's lean results in its ranges, in turn (see the protocol). The next platform's are read on
        another thread while the caller works on this one's: the server's work and the wait for it overlap the
        caller's (the weekly report's detection)."""
        def read(platform: str, spans: Sequence[tuple[float, float]]) -> list[ProbeResult]:
            return [r for a, b in spans for r in self.results_between(a, b, platform, details=False)]

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
            ahead: Future[list[ProbeResult]] | None = None
            for item in ranges:
                coming = reader.submit(read, *item)  # read while the caller works on the one yielded below
                if ahead is not None:
                    yield ahead.result()
                ahead = coming
            if ahead is not None:
                yield ahead.result()

    def iter_results(self, batch: int = 5_000) -> Iterator[list[ProbeResult]]:
        """Every stored result, oldest first (``started_at``, then id), ``batch`` at a time (keyset pages)."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        select = f"SELECT {', '.join(COLUMNS)}, id FROM results"
        last: tuple[float, int] | None = None
        while True:
            params: tuple[float | int, ...]
            if last is None:
                sql, params = f"{select} ORDER BY started_at, id LIMIT %s", (batch,)
            else:
                sql, params = (f"{select} WHERE (started_at, id) > (%s, %s) ORDER BY started_at, id LIMIT %s",
                               (*last, batch))
            rows = self._run("read results", functools.partial(_fetch_all, sql=sql, params=params))
            if not rows:
                return
            last = (rows[-1][4], rows[-1][-1])
            yield [from_row(row[:-1]) for row in rows]
            if len(rows) < batch:
                return

    def rollups_between(self, start: float, end: float, platform: str | None = None) -> list[Rollup]:
        """The 15-minute rollups of the buckets overlapping ``[start, end)`` (see :mod:`monitor.rollup`)."""
        def read(conn: Connection) -> list[Rollup]:
            with conn.cursor(binary=True) as cursor:  # binary rows: a third less time than text for a week
                return rollups.read(cursor, start, end, platform, mark="%s")

        return self._run("read rollups", read)

    def hourly_counts(self, start: float, end: float) -> dict[tuple[str, float], tuple[int, int]]:
        """Reliable probes and successes per (platform, hour) in ``[start, end)``, from the rollups."""
        def read(conn: Connection) -> dict[tuple[str, float], tuple[int, int]]:
            with conn.cursor() as cursor:
                return rollups.hourly(cursor, start, end, mark="%s")

        return self._run("read rollups", read)

    def prune_rollups(self, older_than: float) -> int:
        """Delete rollups of buckets that ended before ``older_than``; return how many."""
        def prune(conn: Connection) -> int:
            with conn.cursor() as cursor:
                return rollups.prune(cursor, older_than, mark="%s")

        return self._run("prune rollups", prune)

    def count_results(self) -> int:
        """How many results are stored."""
        row = self._run("count results", lambda conn: conn.execute("SELECT count(*) FROM results").fetchone())
        return int(row[0]) if row else 0

    def prune(self, older_than: float) -> int:
        """Delete results with ``started_at < older_than``, a chunk per transaction; return how many."""
        sql = ("DELETE FROM results WHERE id IN "
               "(SELECT id FROM results WHERE started_at < %s ORDER BY started_at LIMIT %s)")
        deleted = 0
        while True:
            count = self._run("prune results", lambda conn: conn.execute(sql, (older_than, _PRUNE_CHUNK)).rowcount)
            deleted += count
            if count < _PRUNE_CHUNK:
                return deleted

    def close(self) -> None:
        """Close the connection; later calls raise StoreError."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            conn.close()


def holds_history(url: str, connect_timeout: float = 5.0) -> bool:
    """Whether the database at ``url`` answers and holds a monitor history (its tables exist).

    Raises :class:`StoreError` (one line, password redacted) when it does not answer.
    """
    conn = _connect(url, read_only=True, timeout=max(1, math.ceil(connect_timeout)))
    try:
        return PostgresStore._read_version(conn) > 0
    except psycopg.Error as exc:
        raise StoreError(f"history store {location.describe(url)}: cannot read the schema version: "
                         f"{_one_line(url, exc)}") from None
    finally:
        conn.close()


def _connect(url: str, *, read_only: bool, timeout: int) -> Connection:
    """A new connection (autocommit off); :class:`StoreError` in one line saying what to check when none.

    What the URL sets itself (``connect_timeout``, ``application_name``, ``options``) is kept; read-only adds
    ``default_transaction_read_only`` to its ``options``.
    """
    try:
        given = conninfo_to_dict(url)
        extra: dict[str, Any] = {"connect_timeout": timeout, "application_name": "monitor"}
        extra = {name: value for name, value in extra.items() if name not in given}
        if read_only:
            extra["options"] = " ".join(filter(None, (str(given.get("options") or ""),
                                                     "-c default_transaction_read_only=on")))
        return psycopg.connect(url, autocommit=False, **extra)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the history store {location.describe(url)}: {_one_line(url, exc)}; "
                         f"check that PostgreSQL is running at {location.endpoint(url)} and accepts this host, "
                         "user, password and database") from None


def _one_line(url: str, exc: BaseException) -> str:
    """A driver error on one line, without the URL's password should the driver have quoted it."""
    text = " ".join(str(exc).split())
    secret = _password(url)
    return text.replace(secret, "***") if secret else text


def _password(url: str) -> str | None:
    try:
        secret = urlsplit(url).password
    except ValueError:
        return None
    return unquote(secret) if secret else None


def _new_results(results: Sequence[ProbeResult], rows: list[tuple[Any, ...]], new: list[tuple[Any, ...]]
                 ) -> list[ProbeResult]:
    """Of ``results`` (as ``rows``), those whose key is in ``new`` (the keys inserted), the first of each key."""
    keys = set(map(tuple, new))
    inserted = []
    for result, row in zip(results, rows, strict=True):
        key = (row[0], row[1], row[3], row[4])
        if key in keys:
            keys.discard(key)
            inserted.append(result)
    return inserted


def _fetch_all(conn: Connection, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


def _filters(**columns: str | None) -> tuple[str, list[str]]:
    pairs = [(name, value) for name, value in columns.items() if value is not None]
    if not pairs:
        return "", []
    return " WHERE " + " AND ".join(f"{name} = %s" for name, _ in pairs), [value for _, value in pairs]

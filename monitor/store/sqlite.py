"""The default history store: one SQLite file in WAL mode, migrated forward on open."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from monitor.errors import StoreError
from monitor.gcpause import no_collection
from monitor.private import private_database
from monitor.result import ProbeResult
from monitor.rollup import Rollup
from monitor.store import rollups
from monitor.store.rows import COLUMNS as _COLUMNS
from monitor.store.rows import LEAN_COLUMNS, from_lean_row
from monitor.store.rows import from_row as _from_row
from monitor.store.rows import to_row as _to_row
from monitor.store.sqlite_evidence import EvidenceTables

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_PRUNE_CHUNK = 10_000  # rows per prune transaction, so the writer is never locked out for long

# OR IGNORE: a result already stored under its key (platform, check_id, location, started_at; migration 005) is
# skipped, so writing a batch twice stores it once.
_INSERT = f"INSERT OR IGNORE INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM results"
_SELECT_LEAN = f"SELECT {', '.join(LEAN_COLUMNS)} FROM results"  # what a period's evidence reads


@dataclass(frozen=True)
class Migration:
    """One forward schema step: after ``sql`` (then ``step``, if any) runs, the database is at ``version``."""

    version: int
    name: str
    sql: str
    step: Callable[[sqlite3.Connection], object] | None = None  # Python work in the same transaction


def _python_steps() -> dict[int, Callable[[sqlite3.Connection], object]]:
    """Migrations that need Python after their SQL, by version."""
    from monitor.store.rescrub import rescrub_complaints
    from monitor.store.rollups import backfill

    return {3: rescrub_complaints, 6: lambda tx: backfill(tx.cursor())}


def packaged_migrations() -> list[Migration]:
    """The migrations shipped in ``monitor/store/migrations/NNN_name.sql``, in order.

    Raises :class:`StoreError` if the numbers are not exactly 1..N: a gap or a
    duplicate would make two installs disagree about what a version means.
    """
    found: list[Migration] = []
    for entry in resources.files("monitor.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            version = int(match.group(1))
            found.append(Migration(version, entry.name, entry.read_text(encoding="utf-8"),
                                   _python_steps().get(version)))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        names = ", ".join(m.name for m in found)
        raise StoreError(f"store migrations must be numbered 001, 002, ... without gaps: {names}")
    return found


class SQLiteStore(EvidenceTables):
    """History store in one SQLite file (see :class:`monitor.store.Store` for the contract).

    Opening creates the parent directory and the file, switches to WAL and
    applies pending migrations; opening an up-to-date database changes nothing.
    ``read_only=True`` writes nothing, ever (see :meth:`_read_only_uri`): for the commands that
    only read, so they work on a read-only file or directory and while another process writes.

    Threads: each thread gets its own connection (``threading.local``). In WAL
    mode readers on their own connections never wait for the writer thread, and
    the writer never waits for readers; a shared connection behind a lock would
    serialise reads behind every batch commit. Connections are created with
    ``check_same_thread=False`` only so that :meth:`close` can close all of
    them from whichever thread calls it; each is otherwise used by one thread.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 5.0, migrations: Sequence[Migration] | None = None,
                 read_only: bool = False):
        """Open the store at ``path``.

        ``busy_timeout`` is how long (seconds) a statement waits for another
        connection's write lock before failing. ``migrations`` defaults to the
        packaged ones; tools and tests may pass their own. ``read_only``: open an
        existing store without writing anything; raises :class:`StoreNeedsMigration`
        if it is not at the latest schema version (migrating is a write).
        """
        self.path = Path(path)
        self.read_only = read_only
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _connections and _closed
        self._closed = False
        try:
            self._migrations = list(packaged_migrations() if migrations is None else migrations)
            if read_only:
                self._uri = _read_only_uri(self.path)
                self._check_migrated(self._connection())
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                private_database(self.path)
                self._migrate(self._connection())
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(f"cannot open history store {self.path}: {exc}") from exc
        except StoreError:
            self.close()
            raise

    # --- connections and transactions -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"history store {self.path} is closed")
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction
            # is exactly one public call and never left open by the sqlite3 module.
            conn = sqlite3.connect(
                self._uri if self.read_only else self.path, timeout=self._busy_timeout, isolation_level=None,
                check_same_thread=False, uri=self.read_only,
            )
            self._connections.append(conn)
        # busy_timeout and synchronous are per connection; journal_mode is stored in the file.
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        if self.read_only:
            conn.execute("PRAGMA query_only = 1")  # and the file is opened read-only: no statement can write
            self._local.conn = conn
            return conn
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"history store {self.path}: cannot switch to WAL journal mode (got {mode!r})")
        # NORMAL in WAL mode: a commit survives a crash of this process (the WAL is
        # in the OS cache); only a power loss can drop the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        # IMMEDIATE takes the write lock up front, so a concurrent writer waits
        # (busy_timeout) instead of failing half-way through the transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself on some errors (e.g. disk full); a failed
            # COMMIT leaves the transaction open. Either way the connection must
            # leave here outside a transaction, or the next BEGIN would fail.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Map sqlite3 errors to StoreError at the boundary, naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"history store {self.path}: cannot {doing}: {exc}") from exc

    # --- schema -----------------------------------------------------------------------

    def _read_version(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, conn: sqlite3.Connection) -> None:
        exists = "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
        if not conn.execute(exists).fetchone():  # checked first so that a plain open takes no write lock
            with self._transaction() as tx:  # the table is born with its one row, so UPDATE always hits it
                if not tx.execute(exists).fetchone():
                    tx.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                    tx.execute("INSERT INTO schema_version (version) VALUES (0)")
        latest = self._migrations[-1].version if self._migrations else 0
        current = self._read_version(conn)
        if current > latest:
            raise StoreError(
                f"history store {self.path} has schema version {current}, newer than this monitor knows "
                f"({latest}); upgrade the monitor or point it at another database"
            )
        for migration in self._migrations:
            if migration.version <= current:
                continue
            try:
                with self._transaction() as tx:
                    # Re-read inside the write lock: another process may have migrated meanwhile.
                    if self._read_version(tx) >= migration.version:
                        continue
                    for statement in _statements(migration.sql):
                        tx.execute(statement)
                    if migration.step is not None:
                        migration.step(tx)
                    tx.execute("UPDATE schema_version SET version = ?", (migration.version,))
            except sqlite3.Error as exc:
                raise StoreError(f"history store {self.path}: migration {migration.name} failed: {exc}") from exc

    def _check_migrated(self, conn: sqlite3.Connection) -> None:
        """A read-only store must be at the latest version: reading an older schema would fail half-way."""
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone()
        current = self._read_version(conn) if exists else 0
        latest = self._migrations[-1].version if self._migrations else 0
        if current > latest:
            raise StoreError(
                f"history store {self.path} has schema version {current}, newer than this monitor knows "
                f"({latest}); upgrade the monitor or point it at another database"
            )
        pending = [m for m in self._migrations if m.version > current]
        if pending:
            more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
            raise StoreNeedsMigration(
                f"the store at {self.path} needs migration {pending[0].version} ({pending[0].name}){more}: "
                f"run `monitor incidents --save --store {self.path}` (or `monitor run`) with write access"
            )

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._errors("read the schema version"):
            return self._read_version(self._connection())

    # --- results ----------------------------------------------------------------------

    def add_results(self, results: Sequence[ProbeResult]) -> list[ProbeResult]:
        """Store ``results`` in one transaction; return those that were new, in order.

        A result already stored under its key (or earlier in the same batch) is skipped. Rows are
        built before the transaction opens, so a result with a field of the wrong type raises
        ``TypeError``/``ValueError`` and nothing is written.
        """
        rows = [_to_row(result) for result in results]
        if not rows:
            return []
        with self._errors(f"write {len(rows)} results"), self._transaction() as tx:
            inserted = _insert_new(tx, results, rows)
            rollups.upsert(tx.cursor(), inserted)  # the stored ones only, in this transaction (migration 006)
        return inserted

    def recent_results(
        self, limit: int = 20, platform: str | None = None, check: str | None = None, location: str | None = None
    ) -> list[ProbeResult]:
        """The ``limit`` newest results matching the filters, newest first."""
        where, params = _filters(platform=platform, check_id=check, location=location)
        sql = f"{_SELECT}{where} ORDER BY started_at DESC, id DESC LIMIT ?"
        with self._errors("read recent results"):
            rows = self._connection().execute(sql, (*params, limit)).fetchall()
        return [_from_row(row) for row in rows]

    def results_between(self, start: float, end: float, platform: str | None = None, *,
                        details: bool = True) -> list[ProbeResult]:
        """Results with ``start <= started_at < end``, oldest first (half-open, so ranges tile).

        ``details=False`` is the lean read of :data:`monitor.store.rows.LEAN_COLUMNS`: ``details`` only for
        unreliable results (their ``stalled`` seconds), no error text, peer, status or phases but the total.
        The evidence of a period needs no more, and parsing millions of small JSON objects and reading
        columns it never looks at were most of the cost of reading them.
        """
        where, params = _filters(platform=platform)
        where = f"{where} AND" if where else " WHERE"
        select, convert = (_SELECT, _from_row) if details else (_SELECT_LEAN, from_lean_row)
        sql = f"{select}{where} started_at >= ? AND started_at < ? ORDER BY started_at, id"
        with self._errors("read results"), no_collection():
            rows = self._connection().execute(sql, (*params, start, end)).fetchall()
            return [convert(row) for row in rows]

    def results_in_ranges(self, ranges: Sequence[tuple[str, Sequence[tuple[float, float]]]]
                          ) -> Iterator[list[ProbeResult]]:
        """Each platform's lean results in its ranges, in turn (see the protocol). Read here, not ahead on another
        thread: the sqlite3 module gives up the GIL for every row it steps, so a reader thread beside a busy caller
        made the report slower, not faster."""
        for platform, spans in ranges:
            yield [r for a, b in spans for r in self.results_between(a, b, platform, details=False)]

    def iter_results(self, batch: int = 5_000) -> Iterator[list[ProbeResult]]:
        """Every stored result, oldest first (``started_at``, then id), ``batch`` at a time.

        Keyset pages on (started_at, id), which the ``started_at`` index serves: each page is one short
        read, so a writer is never held up and memory stays at one page.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        first = f"SELECT {', '.join(_COLUMNS)}, id FROM results ORDER BY started_at, id LIMIT ?"
        after = (f"SELECT {', '.join(_COLUMNS)}, id FROM results WHERE (started_at, id) > (?, ?) "
                 "ORDER BY started_at, id LIMIT ?")
        last: tuple[float, int] | None = None
        while True:
            with self._errors("read results"):
                conn = self._connection()
                rows = (conn.execute(first, (batch,)) if last is None else
                        conn.execute(after, (*last, batch))).fetchall()
            if not rows:
                return
            last = (rows[-1][4], rows[-1][-1])
            yield [_from_row(row[:-1]) for row in rows]
            if len(rows) < batch:
                return

    def count_results(self) -> int:
        """How many results are stored."""
        with self._errors("count results"):
            return int(self._connection().execute("SELECT count(*) FROM results").fetchone()[0])

    def rollups_between(self, start: float, end: float, platform: str | None = None) -> list[Rollup]:
        """The 15-minute rollups of the buckets overlapping ``[start, end)`` (see :mod:`monitor.rollup`)."""
        with self._errors("read rollups"):
            return rollups.read(self._connection().cursor(), start, end, platform)

    def hourly_counts(self, start: float, end: float) -> dict[tuple[str, float], tuple[int, int]]:
        """Reliable probes and successes per (platform, hour) in ``[start, end)``, from the rollups."""
        with self._errors("read rollups"):
            return rollups.hourly(self._connection().cursor(), start, end)

    def prune_rollups(self, older_than: float) -> int:
        """Delete rollups of buckets that ended before ``older_than``; return how many."""
        with self._errors("prune rollups"), self._transaction() as tx:
            return rollups.prune(tx.cursor(), older_than)

    def prune(self, older_than: float) -> int:
        """Delete results with ``started_at < older_than``; return how many were deleted.

        Deletes in chunks of a few thousand rows, each its own transaction, so a
        large first prune never holds the write lock long enough to stall the writer.
        """
        deleted = 0
        sql = ("DELETE FROM results WHERE id IN "
               "(SELECT id FROM results WHERE started_at < ? ORDER BY started_at LIMIT ?)")
        with self._errors("prune results"):
            while True:
                with self._transaction() as tx:
                    count = tx.execute(sql, (older_than, _PRUNE_CHUNK)).rowcount
                deleted += count
                if count < _PRUNE_CHUNK:
                    return deleted

    def close(self) -> None:
        """Close every connection opened by any thread; later calls raise StoreError."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


class StoreNeedsMigration(StoreError):
    """A store opened read-only is at an older schema version: a command with write access must migrate it."""


def _read_only_uri(path: Path) -> str:
    """The SQLite URI that reads ``path`` without writing anything, not even its ``-wal``/``-shm`` files.

    ``mode=ro`` keeps SQLite's locking, so a store being written by the daemon reads consistently; but on a
    WAL database it needs the ``-shm`` file, which it creates (with the database's mode) when missing. When
    the file or its directory is not writable and there is no ``-wal`` holding commits, nothing can change
    the file under us and ``immutable=1`` reads it as it is, creating nothing (a read-only mount, a 0400
    copy). A ``-wal`` with commits but no ``-shm`` in a read-only directory cannot be read consistently.
    """
    if not path.is_file():
        raise StoreError(f"no history at {path}")
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read history store {path}: permission denied")
    wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
    committed = wal.exists() and wal.stat().st_size > 0
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    base = "file:" + quote(str(path.resolve()), safe="/")
    if not writable and not committed and not shm.exists():
        return base + "?mode=ro&immutable=1"
    if committed and not shm.exists() and not os.access(path.parent, os.W_OK):
        raise StoreError(f"cannot read history store {path} read-only: its {wal.name} holds commits not yet in "
                         f"the file and {path.parent} is not writable; open it once with write access "
                         "(e.g. `monitor run`) to fold them in")
    return base + "?mode=ro"


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into single statements (sqlite3.execute takes one).

    executescript() would be simpler but commits any open transaction first,
    which would split a migration from its version bump.
    """
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        # complete_statement understands strings, comments and CREATE TRIGGER ... END;
        if sqlite3.complete_statement(buffer):
            if _has_sql(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_sql(buffer[:-1]):
        raise StoreError(f"migration has an unterminated statement: {buffer[:-1].strip()[:80]!r}")


def _has_sql(text: str) -> bool:
    lines = (line.split("--", 1)[0] for line in text.splitlines())
    return any(line.strip(" \t;") for line in lines)


def _insert_new(tx: sqlite3.Connection, results: Sequence[ProbeResult], rows: list[tuple[Any, ...]]
                ) -> list[ProbeResult]:
    """Insert ``rows`` (of ``results``) skipping stored keys; return the results that were new, in order.

    Inside the write transaction new rows get ids above the largest one before (``id`` is the rowid), so
    when some were skipped, the keys of the rows past that id are exactly the new ones.
    """
    before_id = tx.execute("SELECT coalesce(max(id), 0) FROM results").fetchone()[0]
    changes = tx.total_changes
    tx.executemany(_INSERT, rows)
    if tx.total_changes - changes == len(rows):
        return list(results)
    new = set(tx.execute("SELECT platform, check_id, location, started_at FROM results WHERE id > ?",
                         (before_id,)).fetchall())
    inserted = []
    for result, row in zip(results, rows, strict=True):
        key = (row[0], row[1], row[3], row[4])
        if key in new:
            new.discard(key)  # a second copy in the same batch was skipped
            inserted.append(result)
    return inserted


def _filters(**columns: str | None) -> tuple[str, list[str]]:
    pairs = [(name, value) for name, value in columns.items() if value is not None]
    if not pairs:
        return "", []
    return " WHERE " + " AND ".join(f"{name} = ?" for name, _ in pairs), [value for _, value in pairs]

"""Store-and-forward for a prober writing to a central store: a local SQLite spool and the thread that empties it.

A prober of a fleet writes to the central PostgreSQL through :class:`StoreAndForward` (metrics and alert: README
"Metrics", alerts/README.md). ``add_results`` writes to the central store while it answers. When a write fails with
:class:`~monitor.errors.StoreError` (unreachable, connection lost) or gets no answer within ``write_timeout`` (a
hung server), the batch goes to the :class:`Spool`, a SQLite file next to where the embedded store would be, and
from then on every batch goes there too until the spool is empty again, so results reach the central store in the
order they were produced. One forwarder thread does every central write: it retries with backoff and forwards the
spool oldest first, ``batch_size`` at a time, deleting a batch from the spool only after the central commit. A
crash between the two sends that batch again at the next start, which the central store's result key (platform,
check, location, started_at) makes harmless; so is a write that timed out here and committed later there.

Nothing is lost on SIGTERM either: the spool stays on disk and is forwarded at the next start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import StoreError
from monitor.private import private_database
from monitor.result import ProbeResult
from monitor.store.rows import COLUMNS as _COLUMNS
from monitor.store.rows import from_row as _from_row
from monitor.store.rows import to_row as _to_row
from monitor.store.writer import ResultSink

log = logging.getLogger(__name__)

_CREATE = f"CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, {', '.join(_COLUMNS)})"
_INSERT = f"INSERT INTO spool ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_HEAD = f"SELECT seq, {', '.join(_COLUMNS)} FROM spool ORDER BY seq LIMIT ?"
_STARTED_AT = 1 + _COLUMNS.index("started_at")  # in a _HEAD row


class Spool:
    """Results waiting for the central store, in one SQLite file (WAL), in the order they were spooled.

    Safe from any thread: one connection behind a lock (each call is one short local transaction). ``count``
    and ``oldest_started_at`` are kept in memory, so metrics read them without touching the file.
    Errors are raised as :class:`StoreError`; a result that cannot be stored at all as ``TypeError`` or
    ``ValueError`` (as by every store).
    """

    def __init__(self, path: Path | str):
        """Open (creating it and its directory as needed) the spool at ``path``; keep what an earlier run left."""
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_database(self.path)  # it holds results: readable by its owner only, like the store
            self._conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")  # survives a process crash; a power loss may cost
            self._conn.execute(_CREATE)                        # the last commits, as for the store
            self._count = int(self._conn.execute("SELECT count(*) FROM spool").fetchone()[0])
            self._oldest = self._head_started_at()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open spool {self.path}: {exc}") from exc

    @property
    def count(self) -> int:
        """Results in the spool."""
        return self._count

    @property
    def oldest_started_at(self) -> float | None:
        """When the first result in line was measured (unix time); ``None`` when the spool is empty."""
        return self._oldest

    def append(self, results: Sequence[ProbeResult]) -> None:
        """Add ``results`` after those already spooled, in one transaction."""
        rows = [_to_row(result) for result in results]  # TypeError/ValueError before anything is written
        if not rows:
            return
        with self._lock, self._errors(f"spool {len(rows)} results"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_INSERT, rows)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            if self._oldest is None:
                self._oldest = min(float(result.started_at) for result in results)
            self._count += len(rows)

    def head(self, limit: int) -> list[tuple[int, ProbeResult]]:
        """The first ``limit`` spooled results with their sequence numbers, oldest first; nothing is removed."""
        with self._lock, self._errors("read the spool"):
            rows = self._conn.execute(_HEAD, (limit,)).fetchall()
        return [(int(row[0]), _from_row(row[1:])) for row in rows]

    def remove_through(self, seq: int) -> int:
        """Delete the results up to sequence number ``seq`` (after the central store committed them); how many."""
        with self._lock, self._errors("delete forwarded results from the spool"):
            removed = self._conn.execute("DELETE FROM spool WHERE seq <= ?", (seq,)).rowcount
            self._count = max(0, self._count - removed)
            self._oldest = self._head_started_at()
        return int(removed)

    def compact(self) -> None:
        """Give the space of forwarded results back to the file system, when the spool is empty (after an outage
        of hours it may have grown to hundreds of MB; an empty one takes a few KB)."""
        with self._lock, self._errors("compact the spool"):
            if self._count == 0:
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the smaller file now, not at a checkpoint

    def close(self) -> None:
        """Close the file; what it holds stays for the next run."""
        with self._lock:
            self._conn.close()

    def _head_started_at(self) -> float | None:
        row = self._conn.execute("SELECT started_at FROM spool ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Map sqlite3 errors to StoreError at the boundary, naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"spool {self.path}: cannot {doing}: {exc}") from exc


@dataclass
class _Handoff:
    """A batch ``add_results`` hands to the forwarder thread for a direct central write, and the outcome."""

    results: list[ProbeResult]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class StoreAndForward:
    """The write side of a prober on a central store: writes there while it answers, spools while it does not.

    Give it to :class:`~monitor.store.ResultWriter` as its store. See the module docstring for the order and
    idempotence guarantees. ``on_forwarded(n)`` is called after ``n`` spooled results reached the central store,
    ``on_failure()`` after each failed (or timed-out) central write; both on this object's threads.
    """

    def __init__(
        self,
        central: ResultSink,
        spool: Spool,
        *,
        batch_size: int = 2_000,
        write_timeout: float = 5.0,
        retry_interval: float = 1.0,
        max_retry_interval: float = 10.0,
        on_forwarded: Callable[[int], None] | None = None,
        on_failure: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.central = central
        self.spool = spool
        self._batch_size = batch_size
        self._write_timeout = write_timeout
        self._retry_interval = retry_interval
        self._max_retry_interval = max(max_retry_interval, retry_interval)
        self._on_forwarded = on_forwarded
        self._on_failure = on_failure
        self._clock = clock
        self._cv = threading.Condition()
        self._direct: _Handoff | None = None  # waiting for the forwarder thread
        self._spooling = spool.count > 0  # while true, every batch goes to the spool (order)
        self._retry_at: float | None = None  # monotonic; set while backing off
        self._failures = 0  # consecutive failed central writes
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.forwarded = 0  # spooled results that reached the central store, this run
        self.failed_writes = 0  # central writes that failed or timed out, this run

    # --- what the writer and the metrics see ----------------------------------------------

    @property
    def pending(self) -> int:
        """Results in the spool, waiting for the central store."""
        return self.spool.count

    @property
    def spooling(self) -> bool:
        """Whether new results go to the spool (the central store failed, and the backlog is not forwarded yet)."""
        with self._cv:
            return self._spooling

    def oldest_age(self) -> float:
        """Seconds since the first result in line in the spool was measured; 0 when the spool is empty."""
        oldest = self.spool.oldest_started_at
        return 0.0 if oldest is None else max(0.0, self._clock() - oldest)

    def start(self) -> StoreAndForward:
        """Start the forwarder thread; a spool left by an earlier run starts forwarding at once."""
        if self.spool.count:
            log.warning("%d results spooled in %s by an earlier run: forwarding them to the central store",
                        self.spool.count, self.spool.path)
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="monitor-store-forwarder", daemon=True)
                self._thread.start()
        return self

    def add_results(self, results: Sequence[ProbeResult]) -> None:
        """Write ``results`` to the central store, or to the spool while it is unavailable or has a backlog.

        Returns once they are committed in one of the two. Raises :class:`StoreError` only when the spool
        cannot be written either (the caller keeps the batch and retries), ``TypeError``/``ValueError`` for a
        result no store can hold.
        """
        batch = list(results)
        if not batch:
            return
        with self._cv:
            if self._stopping or self._thread is None:
                raise StoreError("store-and-forward is not running")
            if self._spooling:
                self._append(batch)
                return
            handoff = self._direct = _Handoff(batch)
            self._cv.notify_all()
        answered = handoff.done.wait(self._write_timeout)
        if answered and handoff.error is None:
            return
        if isinstance(handoff.error, (TypeError, ValueError)):
            raise handoff.error
        if not answered:
            self._failed()
        why = handoff.error if answered else f"no answer within {self._write_timeout:g}s"
        with self._cv:
            if self._direct is handoff:
                self._direct = None  # never started: the forwarder must not write it after we spooled it
            self._append(batch)
            if not self._spooling:
                self._spooling = True
                self._back_off()
                log.warning("central store unavailable (%s): spooling results to %s until it is back", why,
                            self.spool.path)
            self._cv.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the forwarder (waiting up to ``timeout`` for a write in progress); the spool stays on disk."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.spool.count:
            log.warning("%d results left in the spool %s: forwarded at the next start", self.spool.count,
                        self.spool.path)
        self.spool.close()

    # --- the forwarder thread ---------------------------------------------------------

    def _append(self, batch: list[ProbeResult]) -> None:
        """Spool ``batch``; caller holds the lock (so the forwarder cannot end spooling half-way)."""
        self.spool.append(batch)
        self._cv.notify_all()

    def _failed(self) -> None:
        with self._cv:
            self.failed_writes += 1
        if self._on_failure is not None:
            self._on_failure()

    def _back_off(self) -> None:
        """Schedule the next forwarding attempt; caller holds the lock."""
        wait = min(self._retry_interval * 2.0 ** min(self._failures, 32), self._max_retry_interval)
        self._retry_at = time.monotonic() + wait
        self._failures += 1

    def _due(self) -> bool:
        if self._direct is not None:
            return True
        if not self._spooling:
            return False
        return self._retry_at is None or time.monotonic() >= self._retry_at

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and not self._due():
                    self._cv.wait(None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic()))
                if self._stopping:
                    if self._direct is not None:
                        self._direct.error = StoreError("stopping")
                        self._direct.done.set()
                    return
                handoff, self._direct = self._direct, None
            try:
                if handoff is not None:
                    self._write_direct(handoff)
                else:
                    self._forward_batch()
            except Exception:  # a bug here must not end forwarding
                log.exception("store forwarder: unexpected error; retrying")
                with self._cv:
                    self._back_off()

    def _write_direct(self, handoff: _Handoff) -> None:
        try:
            self.central.add_results(handoff.results)
        except BaseException as exc:
            handoff.error = exc
            if not isinstance(exc, (TypeError, ValueError)):
                self._failed()
        handoff.done.set()

    def _forward_batch(self) -> None:
        """Send the first ``batch_size`` spooled results; delete them from the spool once committed."""
        rows = self.spool.head(self._batch_size)
        if not rows:
            with self._cv:
                if self.spool.count == 0 and self._spooling:  # appends happen under the lock: none missed
                    self._spooling, self._retry_at, self._failures = False, None, 0
                    try:
                        self.spool.compact()
                    except StoreError as exc:
                        log.warning("spool %s not compacted: %s", self.spool.path, exc)
                    log.warning("spool %s forwarded: writing to the central store again (%d results forwarded "
                                "this run)", self.spool.path, self.forwarded)
            return
        try:
            self.central.add_results([result for _, result in rows])
        except (TypeError, ValueError):
            self._forwarded(self._forward_one_by_one(rows))
        except Exception as exc:
            self._failed()
            with self._cv:
                self._back_off()
                retry_in = self._retry_at - time.monotonic() if self._retry_at is not None else 0.0
            log.log(logging.WARNING if self._failures == 1 else logging.INFO,
                    "central store unavailable (%s): %d results spooled in %s, next attempt in %.0fs", exc,
                    self.spool.count, self.spool.path, retry_in, exc_info=not isinstance(exc, StoreError))
        else:
            self.spool.remove_through(rows[-1][0])
            self._forwarded(len(rows))

    def _forwarded(self, count: int) -> None:
        with self._cv:
            self.forwarded += count
            self._retry_at, self._failures = None, 0
        if count and self._on_forwarded is not None:
            self._on_forwarded(count)

    def _forward_one_by_one(self, rows: list[tuple[int, ProbeResult]]) -> int:
        """Isolate results the central store refuses (logged and dropped) so they cannot block the spool.

        Returns how many were forwarded; deletes them and the refused ones from the spool. Stops at the first
        unavailability (what is left stays spooled, in order, for the next attempt).
        """
        forwarded = 0
        last = None
        for seq, result in rows:
            try:
                self.central.add_results([result])
            except (TypeError, ValueError) as exc:
                log.error("store forwarder: dropping a result the central store refuses (%s/%s/%s at %s): %s",
                          result.platform, result.check, result.location, result.started_at, exc)
            except Exception:
                break
            else:
                forwarded += 1
            last = seq
        if last is not None:
            self.spool.remove_through(last)
        return forwarded

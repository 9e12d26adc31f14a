"""Batched writing of probe results into a store, on one daemon thread off the event loop.

Memory and failures, in short: results wait in memory until committed. When a
write fails for a reason outside the data (disk full, database locked longer
than its busy timeout, connection lost), the batch is kept and retried after
``retry_interval``, doubling up to ``max_retry_interval`` while failures go on;
every failure is logged. New results keep queueing meanwhile, up to
``max_pending``; past that, ``submit`` refuses new results (logged once per
episode and counted in :attr:`ResultWriter.dropped`) rather than grow without
bound. A result that can never be stored (a store raises ``TypeError`` or
``ValueError`` for it) is logged and dropped alone, so it cannot block the
results behind it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

from monitor.errors import StoreError
from monitor.result import ProbeResult

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    """Where a writer's batches go: any :class:`~monitor.store.Store`, or a prober's store-and-forward
    (monitor/store/spool.py), which commits each batch to the central store or to its local spool."""

    def add_results(self, results: Sequence[ProbeResult]) -> object:
        """Commit ``results`` all or none; ``StoreError`` to retry later, ``TypeError``/``ValueError`` if unstorable."""
        ...


OnCommit = Callable[[int, int], None]
"""``on_commit(batch_size, total_committed)``, called on the writer thread after each commit."""


class ResultWriter:
    """Write results to ``store`` (any :class:`ResultSink`) in batches from a single daemon thread.

    A batch is committed when ``batch_size`` results are waiting, when
    ``flush_interval`` seconds have passed since the oldest waiting result
    arrived, or when :meth:`flush` asks. See the module docstring for what
    happens when writes fail.
    """

    def __init__(
        self,
        store: ResultSink,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        on_commit: OnCommit | None = None,
        *,
        max_pending: int = 50_000,
        retry_interval: float | None = None,
        max_retry_interval: float = 30.0,
    ):
        """Prepare a writer; call :meth:`start` (or use it as a context manager) to begin writing.

        ``retry_interval`` defaults to ``flush_interval``: a failed batch is
        retried on the next cycle.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be positive, got {flush_interval}")
        if max_pending < batch_size:
            raise ValueError(f"max_pending ({max_pending}) must be at least batch_size ({batch_size})")
        self._store = store
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._on_commit = on_commit
        self._max_pending = max_pending
        self._retry_interval = flush_interval if retry_interval is None else retry_interval
        self._max_retry_interval = max(max_retry_interval, self._retry_interval)

        lock = threading.Lock()
        # Two conditions on one lock: a notify meant for the writer thread must
        # never be consumed by a flush() waiter instead, and vice versa.
        self._wake = threading.Condition(lock)  # the writer thread waits here
        self._done = threading.Condition(lock)  # flush() waits here
        self._waiting: deque[ProbeResult] = deque()  # submitted, not yet taken by the thread
        self._batch: list[ProbeResult] = []  # taken by the thread; kept here after a failed write
        self._first_waiting_at: float | None = None  # monotonic time the oldest waiting result arrived
        self._retry_at: float | None = None  # set while backing off after a failed write
        self._failures = 0  # consecutive failed writes
        self._accepted = 0
        self._committed = 0
        self._discarded = 0  # accepted, then found unstorable
        self._refused = 0  # refused by submit because max_pending was reached
        self._overflowing = False
        self._flush_target = 0  # flush() wants every result accepted up to this count done
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- public interface -------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Results submitted but not yet committed (nor dropped as unstorable)."""
        with self._wake:
            return self._pending()

    @property
    def committed(self) -> int:
        """Results committed since this writer was created."""
        with self._wake:
            return self._committed

    @property
    def dropped(self) -> int:
        """Results that will never be stored: refused when full, or unstorable."""
        with self._wake:
            return self._refused + self._discarded

    def start(self) -> Self:
        """Start the writer thread (once); return ``self``."""
        with self._wake:
            if self._stopping:
                raise RuntimeError("ResultWriter is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="monitor-store-writer", daemon=True)
                self._thread.start()
        return self

    def submit(self, result: ProbeResult) -> None:
        """Queue ``result`` for writing. Never blocks on I/O; safe from any thread."""
        with self._wake:
            if self._stopping:
                raise RuntimeError("ResultWriter is closed")
            if self._pending() >= self._max_pending:
                self._refused += 1
                first_refusal, self._overflowing = not self._overflowing, True
            else:
                first_refusal = False
                self._waiting.append(result)
                self._accepted += 1
                # Wake the thread only when its plan changes: a deadline now exists, or a batch is full.
                if len(self._waiting) == 1:
                    self._first_waiting_at = time.monotonic()
                    self._wake.notify()
                elif len(self._waiting) == self._batch_size:
                    self._wake.notify()
        if first_refusal:
            log.error("result writer: %d results waiting, refusing new results until writes catch up",
                      self._max_pending)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every result submitted so far is committed; ``False`` on timeout.

        Results dropped as unstorable count as done. Raises ``RuntimeError`` if
        results are waiting and the thread was never started.
        """
        with self._wake:
            target = self._accepted
            if self._done_count() >= target:
                return True
            if self._thread is None:
                raise RuntimeError("ResultWriter.flush() before start(): nothing would write")
            self._flush_target = max(self._flush_target, target)
            self._wake.notify()
            return self._done.wait_for(lambda: self._done_count() >= target, timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush (waiting up to ``timeout``), then stop the thread; ``True`` if nothing was left unwritten."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            if self._thread is None and self._pending() == 0:
                self._stopping = True
                return True
        if self._thread is None:
            self.start()  # results were submitted but the writer never ran: write them now
        flushed = self.flush(timeout)
        with self._wake:
            self._stopping = True
            self._wake.notify()
        assert self._thread is not None
        self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        unwritten = self.pending  # read after join: a write in progress at stop may still have landed
        if unwritten:
            log.error("result writer closed with %d results not written", unwritten)
        return flushed and not unwritten

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the writer thread ------------------------------------------------------------

    def _pending(self) -> int:
        return self._accepted - self._done_count()

    def _done_count(self) -> int:
        return self._committed + self._discarded

    def _due(self, now: float) -> bool:
        if self._retry_at is not None:
            return now >= self._retry_at
        if not self._waiting:
            return False
        assert self._first_waiting_at is not None
        return (
            len(self._waiting) >= self._batch_size
            or self._flush_target > self._done_count()
            or now - self._first_waiting_at >= self._flush_interval
        )

    def _wait_time(self, now: float) -> float | None:
        if self._retry_at is not None:
            return max(0.0, self._retry_at - now)
        if self._first_waiting_at is not None:
            return max(0.0, self._first_waiting_at + self._flush_interval - now)
        return None  # nothing to do until submit() or flush() wakes us

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and not self._due(time.monotonic()):
                    self._wake.wait(self._wait_time(time.monotonic()))
                if self._stopping:
                    return
                # Top a kept batch up to batch_size so a retry also carries what queued meanwhile.
                while len(self._batch) < self._batch_size and self._waiting:
                    self._batch.append(self._waiting.popleft())
                if not self._waiting:
                    self._first_waiting_at = None
                batch = list(self._batch)
            try:
                self._write(batch)
            except Exception:  # a bug in our bookkeeping must not end all writing
                log.exception("result writer: unexpected error; keeping %d results to retry", len(batch))
                with self._wake:
                    self._back_off()

    def _write(self, batch: list[ProbeResult]) -> None:
        """Write ``batch``; update counters; keep what could not be written for a retry."""
        written: list[ProbeResult] = batch
        unstorable: list[ProbeResult] = []
        kept: list[ProbeResult] = []
        try:
            self._store.add_results(batch)
        except (TypeError, ValueError):
            written, unstorable, kept = self._write_one_by_one(batch)
        except Exception as exc:
            # StoreError is expected (disk full, locked); anything else gets its traceback.
            log.error("result writer: cannot write %d results, keeping them for a retry in %.1fs: %s",
                      len(batch), self._next_retry_interval(), exc, exc_info=not isinstance(exc, StoreError))
            written, kept = [], batch
        if written and self._on_commit is not None:
            # Called before flush() waiters are released, so "flushed" implies "reported".
            # _committed only changes on this thread, so reading it here is safe.
            try:
                self._on_commit(len(written), self._committed + len(written))
            except Exception:
                log.exception("result writer: on_commit callback failed")
        with self._wake:
            self._batch = kept
            self._committed += len(written)
            self._discarded += len(unstorable)
            if kept:
                self._back_off()
            else:
                self._retry_at, self._failures = None, 0
            recovered = self._overflowing and self._pending() < self._max_pending
            if recovered:
                self._overflowing = False
            refused = self._refused
            self._done.notify_all()
        if recovered:
            log.warning("result writer: accepting results again; %d refused so far", refused)

    def _write_one_by_one(
        self, batch: list[ProbeResult]
    ) -> tuple[list[ProbeResult], list[ProbeResult], list[ProbeResult]]:
        """Isolate unstorable results: return (written, unstorable, kept for retry)."""
        written: list[ProbeResult] = []
        unstorable: list[ProbeResult] = []
        for index, result in enumerate(batch):
            try:
                self._store.add_results([result])
            except (TypeError, ValueError) as exc:
                log.error("result writer: dropping a result that cannot be stored (%s/%s/%s at %s): %s",
                          result.platform, result.check, result.location, result.started_at, exc)
                unstorable.append(result)
            except Exception as exc:
                log.error("result writer: cannot write results, keeping %d for a retry: %s",
                          len(batch) - index, exc, exc_info=not isinstance(exc, StoreError))
                return written, unstorable, batch[index:]
            else:
                written.append(result)
        return written, unstorable, []

    def _next_retry_interval(self) -> float:
        # Exponent capped: after hours of failures 2.0**failures would overflow a float.
        return min(self._retry_interval * 2.0 ** min(self._failures, 32), self._max_retry_interval)

    def _back_off(self) -> None:
        """Schedule the next attempt; caller holds the lock."""
        self._retry_at = time.monotonic() + self._next_retry_interval()
        self._failures += 1

"""The status page computed in a process of its own, for ``monitor run``.

Computing the page reads the store and builds Python objects, tens to hundreds of milliseconds each time (and
seconds on a first run over raw results, before the days before today came from the rollups). On a thread of the
prober that is time the probes' event loop waits for the GIL, and the probes in flight are flagged unreliable
(docs/performance.md, "Status page"). Here a spawned process, which runs only when a CPU is idle, opens the store
read-only, keeps the finished hours between computations and sends back the rendered bytes; the prober's thread
only waits on a pipe. A process that dies is started again at the next refresh, and the page keeps its last copy
meanwhile; it ends when ``monitor run`` does, even killed.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from monitor.config import Catalog, Settings
from monitor.statuspage.app import Rendered, render
from monitor.statuspage.publish import source_for
from monitor.statuspage.source import StatusSource
from monitor.store import open_store

NICENESS = 19  # where SCHED_IDLE is refused
PARENT_CHECK = 1.0  # seconds between two looks at whether monitor run is still there
_opened: tuple[Path | str, Settings, Catalog] | None = None  # in the page's process: what to open
_source: StatusSource | None = None  # … once opened (a store that was away is opened at a later computation)


def _give_way() -> None:
    """Run the calling thread only when a CPU has nothing else to do (Linux's SCHED_IDLE), so the probes always go
    first; a process started from that thread inherits it (from its first instruction: its imports too)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(NICENESS)


def _start(store: Path | str, settings: Settings, catalog: Catalog) -> None:
    global _opened
    _opened = (store, settings, catalog)
    threading.Thread(target=_exit_with, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this process once ``parent`` is gone, even killed (an idle executor process would stay forever)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _compute(now: float) -> Rendered:
    global _source
    if _source is None:
        assert _opened is not None, "started by PageProcess"
        store, settings, catalog = _opened
        _source = source_for(open_store(store, read_only=True), settings, catalog)  # StoreError: told to the parent
    return render(_source.summary(now))


class PageProcess:
    """``PageProcess(store, settings, catalog)(now)``: the page at ``now`` over the store at ``store`` (read-only),
    computed in the page's process (started by :meth:`start`, or at the first call; started again after it died)."""

    def __init__(self, store: Path | str, settings: Settings, catalog: Catalog) -> None:
        self._args = (store, settings, catalog)
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the page's process now (it imports what it needs meanwhile), from a thread that gives way, so the
        process does from its first instruction; the modules this takes are imported here, not while probing."""
        def spawn() -> None:
            _give_way()
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                       initargs=self._args)
            pool.submit(int)  # the process starts at the first task
            self._pool = pool

        spawning = threading.Thread(target=spawn, name="status-page-spawn")
        spawning.start()
        spawning.join()

    def __call__(self, now: float) -> Rendered:
        if self._pool is None:
            self.start()
        assert self._pool is not None
        try:
            return self._pool.submit(_compute, now).result()
        except BrokenProcessPool:
            self.close()
            raise RuntimeError("the status page's process died; it is started again at the next refresh") from None

    @property
    def pid(self) -> int | None:
        """The page's process, once started (tests stop it to see it come back)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return next(iter(processes), None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

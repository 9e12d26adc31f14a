"""The parent's side of ``monitor run --workers N``: start the workers, take in what they send, restart the dead.

A :class:`WorkerPool` is started and stopped like a :class:`monitor.scheduler.Prober`, on the daemon's event
loop: each worker's pipe is read there (``add_reader``), each result accounted in the parent's metrics and
handed to the daemon's sink (store writer, live incidents) exactly as a single process does.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.result import ProbeResult
from monitor.scheduler import Job, shard
from monitor.workers import wire
from monitor.workers.child import Assignment

log = logging.getLogger(__name__)
PIPE_SIZE = 1 << 20  # bytes a worker may write ahead of the parent's reading (Linux's default is 64 KiB)
STOP_MARGIN = 5.0  # seconds a stopping worker gets beyond the shutdown grace to send its last results
STEADY = 10.0  # seconds a worker must have lived for its death to be restarted at once (else: back off)
MAX_BACKOFF = 30.0  # seconds, at most, between restarts of a worker that keeps dying at start
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass(eq=False)
class _Worker:
    index: int
    jobs: list[Job]
    process: subprocess.Popen[bytes] | None = None
    fd: int | None = None  # our end of its pipe, while open
    started: float = 0.0  # monotonic
    quick_deaths: int = 0  # deaths in a row within STEADY of starting
    frames: wire.Frames = field(default_factory=wire.Frames)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0


class WorkerPool:
    """Runs the plan's ``jobs`` in ``workers`` processes (:func:`monitor.scheduler.shard`, at most one per job);
    results go to ``metrics`` and ``sink``."""

    def __init__(self, jobs: list[Job], workers: int, settings: Settings, metrics: Metrics,
                 sink: Callable[[ProbeResult], None], python: str = sys.executable) -> None:
        self.jobs = jobs
        shards = shard(jobs, max(1, min(workers, len(jobs))))
        self.settings = settings
        self.metrics = metrics
        self.sink = sink
        self.python = python
        self.workers = [_Worker(i, jobs) for i, jobs in enumerate(shards)]
        self.cancelled = 0  # probes the workers cancelled when stopping
        self._stopping = False
        self._restarts: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Register every check (in plan order, as a single prober does) and start the workers."""
        self._loop = asyncio.get_running_loop()
        location = self.settings.location
        for job in self.jobs:
            self.metrics.register_check(job.platform, job.check.id, location, job.check.kind)
        self.metrics.track_workers([str(w.index) for w in self.workers],
                                   lambda: sum(1 for w in self.workers if w.fd is not None))
        for worker in self.workers:
            self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        assert self._loop is not None
        read_end, write_end = os.pipe()
        try:
            fcntl.fcntl(write_end, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: the default size only slows a burst down
        try:
            process = subprocess.Popen([self.python, "-m", "monitor.workers", str(write_end)],
                                       stdin=subprocess.PIPE, pass_fds=(write_end,), env=_environment())
        finally:
            os.close(write_end)
        assignment = Assignment(worker.index, worker.jobs, self.settings, len(self.workers), os.getpid())
        payload = wire.frame([(assignment,)])
        assert process.stdin is not None
        stdin = process.stdin
        # A large plan fills the pipe before the worker reads it: written off the loop. stdin stays open: its end
        # of file tells the worker we are gone.
        threading.Thread(target=_send, args=(stdin, payload), name=f"monitor-worker-{worker.index}-plan",
                         daemon=True).start()
        os.set_blocking(read_end, False)
        worker.process, worker.fd, worker.started = process, read_end, time.monotonic()
        worker.frames, worker.ended = wire.Frames(), asyncio.Event()
        self._loop.add_reader(read_end, self._readable, worker)
        log.info("worker %d (pid %d) started: %d checks", worker.index, process.pid, len(worker.jobs))

    def _readable(self, worker: _Worker) -> None:
        assert worker.fd is not None
        try:
            data = os.read(worker.fd, PIPE_SIZE)
        except BlockingIOError:
            return
        if not data:
            self._closed(worker)
            return
        metrics, sink = self.metrics, self.sink
        for message in worker.frames.feed(data):
            kind = message[0]
            if kind == wire.RESULT:
                result = wire.result_from(message)
                metrics.record(result)
                sink(result)
            elif kind == wire.SKIP:
                metrics.skip(*message[1:])
            elif kind == wire.LOOP_LAG:
                metrics.loop_lag.observe(message[1])
            elif kind == wire.SCHEDULER_LAG:
                metrics.scheduler_lag.observe(message[1])
            elif kind == wire.SELF_CHECK:
                metrics.self_check_ok.labels(self.settings.location).set(1 if message[1] else 0)
            elif kind == wire.STOPPED:
                self.cancelled += message[1]

    def _closed(self, worker: _Worker) -> None:
        """The worker's pipe reached its end: it exited (or is exiting)."""
        assert self._loop is not None and worker.fd is not None
        self._loop.remove_reader(worker.fd)
        os.close(worker.fd)
        worker.fd = None
        task = self._loop.create_task(self._reap(worker))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _reap(self, worker: _Worker) -> None:
        process = worker.process
        assert process is not None
        try:
            code = await asyncio.to_thread(process.wait, STOP_MARGIN)
        except subprocess.TimeoutExpired:  # closed its pipe but did not exit
            process.kill()
            code = await asyncio.to_thread(process.wait)
        cut = " (its last batch cut off)" if worker.frames.partial else ""
        if self._stopping:
            level = logging.INFO if code == 0 else logging.WARNING
            log.log(level, "worker %d (pid %d) stopped: %s%s", worker.index, process.pid, describe_exit(code), cut)
            worker.ended.set()
            return
        lived = time.monotonic() - worker.started
        worker.quick_deaths = worker.quick_deaths + 1 if lived < STEADY else 0
        delay = min(MAX_BACKOFF, 2.0 ** (worker.quick_deaths - 1)) if worker.quick_deaths else 0.0
        log.error("worker %d (pid %d) died after %.0fs: %s%s; restarting it%s with its %d checks", worker.index,
                  process.pid, lived, describe_exit(code), cut, f" in {delay:g}s" if delay else "",
                  len(worker.jobs))
        self.metrics.worker_restarts.labels(str(worker.index)).inc()
        if delay:
            await asyncio.sleep(delay)
        if self._stopping:
            worker.ended.set()
            return
        self._spawn(worker)

    async def stop(self, grace: float) -> int:
        """SIGTERM every worker; wait for each to send its last results and exit (``grace`` plus a margin), kill
        the rest. Returns how many probes were cancelled (by the workers, or killed with them)."""
        self._stopping = True
        running = [w for w in self.workers if w.fd is not None]
        for worker in running:
            assert worker.process is not None
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        waits = [w.ended.wait() for w in running]
        if waits:
            _, late = await asyncio.wait([asyncio.ensure_future(w) for w in waits], timeout=grace + STOP_MARGIN)
            for future in late:
                future.cancel()
        for worker in running:
            if not worker.ended.is_set() and worker.process is not None:
                log.error("worker %d (pid %d) did not stop within %gs: killed", worker.index, worker.pid,
                          grace + STOP_MARGIN)
                worker.process.kill()
                worker.process.wait()
        for task in list(self._restarts):
            task.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        for worker in self.workers:
            if worker.fd is not None and self._loop is not None:
                self._loop.remove_reader(worker.fd)
                os.close(worker.fd)
                worker.fd = None
        return self.cancelled


def _send(stdin: IO[bytes], payload: bytes) -> None:
    try:
        stdin.write(payload)
        stdin.flush()
    except (BrokenPipeError, ValueError):  # the worker died before reading it: counted when its pipe closes
        pass


def _environment() -> dict[str, str]:
    """Ours, with the directory this ``monitor`` package was imported from first on the path: a worker runs the
    same code as its parent whatever the working directory."""
    import monitor

    home = str(Path(monitor.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": home if not path else f"{home}{os.pathsep}{path}"}


def describe_exit(code: int) -> str:
    """``exit code 3`` or ``killed by SIGKILL``: how a process ended, from its return code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"

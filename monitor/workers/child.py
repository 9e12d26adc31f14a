"""One worker process of ``monitor run --workers N``: probes its share of the plan, sends everything to the parent.

Started by :class:`monitor.workers.pool.WorkerPool` as ``python -m monitor.workers FD``: it reads its
:class:`Assignment` (a frame, monitor/workers/wire.py) from stdin, runs a :class:`Prober` on its own event
loop with its own loop-lag monitor, own-delay measurement (monitor/ownlag.py) and self-check, so it flags its
own results, and writes results, skips and lag observations to the pipe ``FD`` in batches. It never opens the
store, serves nothing and keeps no metrics: the parent does all that.

It stops on SIGTERM (from the parent): no new runs, probes in flight get the shutdown grace, everything
produced is sent, exit 0. It ignores SIGINT (Ctrl-C reaches the whole process group; the parent handles it) and
never outlives the parent: the kernel kills it when the parent dies (``PR_SET_PDEATHSIG``), and it stops when
its stdin, held open by the parent, reaches end of file.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import math
import os
import signal
from dataclasses import dataclass

from monitor.config import Settings
from monitor.looplag import HISTOGRAM_INTERVAL, LoopLagMonitor
from monitor.ownlag import LoopBusy
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.scheduler import Job, Prober
from monitor.selfcheck import SelfCheck
from monitor.workers import wire

log = logging.getLogger(__name__)
BATCH = 256  # messages that are sent at once, without waiting for the batch delay
BATCH_DELAY = 0.02  # seconds a message may wait for others to share its write
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Assignment:
    """What the parent gives a worker: its number, its checks (with their planned offsets), the settings."""

    index: int
    jobs: list[Job]
    settings: Settings
    workers: int  # how many share the plan (each gets its share of max_concurrency)
    parent: int  # the parent's pid: a worker whose parent is another has lost it

    @property
    def max_concurrency(self) -> int:
        return math.ceil(self.settings.max_concurrency / self.workers)


class _Lags:
    """An :class:`monitor.scheduler.Observer` whose observations go to the parent."""

    def __init__(self, relay: Relay, kind: int) -> None:
        self._relay = relay
        self._kind = kind

    def observe(self, amount: float) -> None:
        self._relay.send((self._kind, amount))


class Relay:
    """The worker's accounts (:class:`monitor.scheduler.Accounts`): each message is sent to the parent, batched.

    A message waits at most :data:`BATCH_DELAY` for others, so a batch costs one pickle and one write.
    """

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self._fd = fd
        self._loop = loop
        self._pending: list[wire.Message] = []
        self._timer: asyncio.TimerHandle | None = None
        self.scheduler_lag = _Lags(self, wire.SCHEDULER_LAG)
        self.loop_lag = _Lags(self, wire.LOOP_LAG)

    def register_check(self, platform: str, check: str, location: str, kind: str | None = None) -> None:
        """Nothing: the parent registered every check of the plan."""

    def skip(self, platform: str, check: str, location: str, why: str) -> None:
        self.send((wire.SKIP, platform, check, location, why))

    def record(self, result: ProbeResult) -> None:
        self.send(wire.result_message(result))

    def self_check(self, ok: bool) -> None:
        self.send((wire.SELF_CHECK, ok))

    def send(self, message: wire.Message) -> None:
        self._pending.append(message)
        if len(self._pending) >= BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = self._loop.call_later(BATCH_DELAY, self.flush)

    def flush(self) -> None:
        """Write what is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            batch, self._pending = self._pending, []
            wire.write_all(self._fd, wire.frame(batch))


def _die_with_parent() -> None:
    """Have the kernel send SIGKILL when the parent dies (Linux); elsewhere stdin's end of file stops us."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _read_assignment() -> Assignment | None:
    frames = wire.Frames()
    while True:
        data = os.read(0, 1 << 20)
        if not data:
            return None  # the parent went away before we started
        messages = frames.feed(data)
        if messages:
            (assignment,) = messages[0]
            assert isinstance(assignment, Assignment)
            return assignment


async def _work(assignment: Assignment, fd: int) -> int:
    settings = assignment.settings
    loop = asyncio.get_running_loop()
    relay = Relay(fd, loop)
    ctx = ProbeContext(location=settings.location, late=LoopBusy().install(loop).late)
    loop_lag = LoopLagMonitor(settings.loop_lag_threshold, interval=HISTOGRAM_INTERVAL, observe=relay.loop_lag.observe)
    self_check = None
    if settings.self_check is not None:
        self_check = SelfCheck(settings.self_check, ctx, on_verdict=relay.self_check)
    prober = Prober(assignment.jobs, ctx, relay, lambda _: None, max_concurrency=assignment.max_concurrency,
                    loop_lag=loop_lag, self_check=self_check)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def parent_gone() -> None:
        if not os.read(0, 4096):
            loop.remove_reader(0)
            stop.set()

    loop.add_reader(0, parent_gone)
    gc.freeze()  # as the daemon does: what lives as long as the process stays out of the collector's sight
    prober.start()
    await stop.wait()
    cancelled = await prober.stop(settings.shutdown_grace)
    relay.send((wire.STOPPED, cancelled))
    relay.flush()
    os.close(fd)
    return 0


def main(argv: list[str]) -> int:
    """``python -m monitor.workers FD``: the worker's life; its exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    fd = int(argv[0])
    assignment = _read_assignment()
    if assignment is None or os.getppid() != assignment.parent:
        return 1  # the parent died before or while starting us
    from rich.console import Console

    from monitor import logs

    logs.configure(assignment.settings.log_level, Console(stderr=True, highlight=False, soft_wrap=True))
    log.debug("worker %d (pid %d) probing %s", assignment.index, os.getpid(),
              ", ".join(job.key for job in assignment.jobs))
    try:
        return asyncio.run(_work(assignment, fd))
    except BrokenPipeError:  # the parent stopped reading: it is gone
        return 1

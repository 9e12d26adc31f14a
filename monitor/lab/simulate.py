"""Drive the real probes through simulated time: every check's schedule, compressed.

The driver walks each job's planned runs (the same spread offsets as the live
scheduler) in simulated-time order and fires the real probe for each, with a
bounded number in flight. A probe connects from the source address that encodes
its simulated instant (:mod:`monitor.lab.simclock`), so the lab behaves as it
would at that instant, and its result is stamped with that instant. Latencies
are real measurements of the lab's real delays; only the calendar is compressed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import math
from collections.abc import Callable, Iterable, Iterator

from monitor.lab.simclock import source_for
from monitor.looplag import LoopLagMonitor
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.runner import run_check
from monitor.scheduler import Job


def _first_run(job: Job, start: float) -> float:
    """The job's first planned run at or after ``start``, on the live scheduler's epoch-aligned grid."""
    interval = job.check.interval
    return math.ceil((start - job.offset) / interval) * interval + job.offset


def planned_runs(jobs: Iterable[Job], start: float, end: float) -> Iterator[tuple[float, Job]]:
    """Every planned run in [start, end) of every job, in time order (ties by job key)."""
    heap: list[tuple[float, str, int, Job]] = []
    for index, job in enumerate(jobs):
        first = _first_run(job, start)
        if first < end:
            heap.append((first, job.key, index, job))
    heapq.heapify(heap)
    while heap:
        at, key, index, job = heapq.heappop(heap)
        yield at, job
        following = at + job.check.interval
        if following < end:
            heapq.heappush(heap, (following, key, index, job))


def count_runs(jobs: Iterable[Job], start: float, end: float) -> int:
    """How many runs :func:`planned_runs` yields, without walking them."""
    total = 0
    for job in jobs:
        first = _first_run(job, start)
        if first < end:
            total += math.ceil((end - first) / job.check.interval)
    return total


class Throttle:
    """Admits probes only while the event loop keeps up (additive increase, multiplicative decrease).

    A saturated prober measures its own queueing as platform latency. Probes that wait on
    a slow lab cost no CPU, so the right number in flight changes with the simulated hour:
    it is steered by the loop's lag instead of fixed.
    """

    def __init__(self, ceiling: int, floor: int = 8, low: float = 0.01, high: float = 0.03):
        self.limit = min(32, ceiling)
        self.ceiling, self.floor, self.low, self.high = ceiling, min(floor, ceiling), low, high
        self.in_flight = 0
        self._changed = asyncio.Event()

    def observe(self, lag: float) -> None:
        """One loop-lag sample (seconds)."""
        if lag > self.high:
            self.limit = max(self.floor, int(self.limit * 0.7))
        elif lag < self.low and self.in_flight >= self.limit and self.limit < self.ceiling:
            self.limit = min(self.ceiling, self.limit + 2)
            self._changed.set()

    async def acquire(self) -> None:
        while self.in_flight >= self.limit:
            self._changed.clear()
            await self._changed.wait()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._changed.set()


async def drive(jobs: list[Job], start: float, end: float, epoch: float, sink: Callable[[ProbeResult], None],
                base: ProbeContext, concurrency: int = 200, lag_threshold: float = 0.05) -> int:
    """Probe every planned run in [start, end) with at most ``concurrency`` in flight; return how many ran.

    Each probe gets a context whose source address encodes its instant and whose wall clock
    returns that instant, so results are stamped in simulated time. Results measured while
    the loop stalled beyond ``lag_threshold`` are marked unreliable (the daemon, measuring its own delay in
    each phase, judges each phase by it instead).
    """
    throttle = Throttle(concurrency)
    loop_lag = LoopLagMonitor(lag_threshold, interval=0.05, observe=throttle.observe)
    lag_task = asyncio.get_running_loop().create_task(loop_lag.run())
    running: set[asyncio.Task[None]] = set()
    ran = 0

    async def one(at: float, job: Job) -> None:
        ctx = dataclasses.replace(base, source_address=source_for(at, epoch), wall_clock=lambda: at)
        try:
            sink(await loop_lag.watch(run_check(job.platform, job.check, ctx)))
        finally:
            throttle.release()

    try:
        for at, job in planned_runs(jobs, start, end):
            await throttle.acquire()
            task = asyncio.get_running_loop().create_task(one(at, job))
            running.add(task)
            task.add_done_callback(running.discard)
            ran += 1
        if running:
            await asyncio.gather(*running)
    finally:
        lag_task.cancel()
    return ran

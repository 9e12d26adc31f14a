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
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.runner import run_check
from monitor.scheduler import Job


def planned_runs(jobs: Iterable[Job], start: float, end: float) -> Iterator[tuple[float, Job]]:
    """Every planned run in [start, end) of every job, in time order (ties by job key)."""
    heap: list[tuple[float, str, int, Job]] = []
    for index, job in enumerate(jobs):
        interval = job.check.interval
        first = math.ceil((start - job.offset) / interval) * interval + job.offset  # epoch-aligned, >= start
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
        interval = job.check.interval
        first = math.ceil((start - job.offset) / interval) * interval + job.offset
        if first < end:
            total += math.ceil((end - first) / interval)
    return total


async def drive(jobs: list[Job], start: float, end: float, epoch: float, sink: Callable[[ProbeResult], None],
                base: ProbeContext, concurrency: int = 200,
                progress: Callable[[ProbeResult], None] | None = None) -> int:
    """Probe every planned run in [start, end) at most ``concurrency`` at a time; return how many ran.

    Each probe gets a context whose source address encodes its instant and whose wall clock
    returns that instant, so results are stamped in simulated time.
    """
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task] = set()
    ran = 0

    async def one(at: float, job: Job) -> None:
        ctx = dataclasses.replace(base, source_address=source_for(at, epoch), wall_clock=lambda: at)
        try:
            result = await run_check(job.platform, job.check, ctx)
            sink(result)
            if progress:
                progress(result)
        finally:
            slots.release()

    for at, job in planned_runs(jobs, start, end):
        await slots.acquire()
        task = asyncio.get_running_loop().create_task(one(at, job))
        running.add(task)
        task.add_done_callback(running.discard)
        ran += 1
    if running:
        await asyncio.gather(*running)
    return ran

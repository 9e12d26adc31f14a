"""Schedule every check at this location with APScheduler and fan each result out.

One job per (check, location). Start times are spread evenly across each
interval by a stable offset per check (sorted ids, so the same config gives the
same plan), aligned to the Unix epoch so restarts keep the plan. APScheduler
refuses a second concurrent run of a job (``max_instances=1``) and drops runs
later than the misfire grace; both are counted as skips.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config.model import Check
from monitor.looplag import LoopLagMonitor
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.runner import run_check
from monitor.selfcheck import SelfCheck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One scheduled (platform, check) at this prober's location."""

    platform: str
    check: Check
    offset: float  # seconds into each interval

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.check.id}"


class Observer(Protocol):
    """A histogram, or anything else that takes observations."""

    def observe(self, amount: float) -> None: ...


class Accounts(Protocol):
    """Where a :class:`Prober` accounts for its runs: :class:`monitor.metrics.Metrics`, or in a worker process
    the relay to the parent's (monitor/workers/child.py)."""

    @property
    def scheduler_lag(self) -> Observer: ...

    def register_check(self, platform: str, check: str, location: str, kind: str | None = None) -> None: ...

    def skip(self, platform: str, check: str, location: str, why: str) -> None: ...

    def record(self, result: ProbeResult) -> None: ...


class _LoopScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler ships no types
    """APScheduler's asyncio scheduler, whose own timer runs the due jobs where it fires.

    Upstream's timer calls ``wakeup``, which may be called from any thread, so it goes through the loop's
    self-pipe: a write, one more turn of the loop, a read, on every run of every check. The timer always fires on
    the loop, so it needs none of that; ``wakeup`` stays as it is for everything else (adding, pausing).
    """

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            self._timeout = self._eventloop.call_later(wait_seconds, self._due)

    def _due(self) -> None:
        self._stop_timer()
        self._start_timer(self._process_jobs())


class _TaskExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs each due run of a coroutine job as a task on the scheduler's loop, and no more.

    APScheduler's asyncio executor wraps every run in a coroutine of its own that compares datetimes, checks two
    log levels and builds an event for every run, dispatched to no one. What it decides is kept: a run later than
    its job's misfire grace is dropped and announced (``EVENT_JOB_MISSED``), ``max_instances`` (BaseExecutor)
    still holds, and a run that raises is logged. Every job here coalesces, so only the latest run time counts.
    """

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop = scheduler._eventloop

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        planned = run_times[-1]
        if job.misfire_grace_time is not None and time.time() - planned.timestamp() > job.misfire_grace_time:
            missed = JobExecutionEvent(EVENT_JOB_MISSED, job.id, job._jobstore_alias, planned)
            self._loop.call_soon(self._run_job_success, job.id, [missed])  # after submit_job counts this instance
            return
        task = self._loop.create_task(job.func(*job.args, **job.kwargs))
        task.add_done_callback(functools.partial(self._ended, job.id))

    def _ended(self, job_id: str, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is None:
            self._run_job_success(job_id, ())
        else:
            self._run_job_error(job_id, error, error.__traceback__)


def spread(pairs: Iterable[tuple[str, Check]]) -> list[Job]:
    """Give each check an offset so checks sharing an interval start evenly spread across it."""
    by_interval: dict[float, list[tuple[str, Check]]] = {}
    for platform, check in pairs:
        by_interval.setdefault(check.interval, []).append((platform, check))
    jobs = []
    for interval, group in by_interval.items():
        group.sort(key=lambda pair: (pair[0], pair[1].id))
        jobs += [Job(p, c, interval * i / len(group)) for i, (p, c) in enumerate(group)]
    return jobs


def shard(jobs: list[Job], workers: int) -> list[list[Job]]:
    """Split the plan over ``workers`` processes (``monitor run --workers``), each check to exactly one.

    Within each interval the checks go round in the order of their offsets, so every worker's starts stay
    evenly spread across the interval and each worker carries an equal share of every interval's load. The same
    plan gives the same split: a restarted worker takes the same checks at the same planned times.
    """
    shards: list[list[Job]] = [[] for _ in range(workers)]
    by_interval: dict[float, list[Job]] = {}
    for job in jobs:
        by_interval.setdefault(job.check.interval, []).append(job)
    turn = 0
    for interval in sorted(by_interval):
        for job in sorted(by_interval[interval], key=lambda j: (j.offset, j.key)):
            shards[turn % workers].append(job)
            turn += 1
    return shards


def first_start(job: Job, now: float) -> float:
    """The epoch-aligned grid point of this job at or before ``now`` (APScheduler moves on from there)."""
    interval = job.check.interval
    return math.floor((now - job.offset) / interval) * interval + job.offset


def planned_start(anchor: float, interval: float, now: float) -> float:
    """The latest planned start at or before ``now`` on the grid ``anchor + k * interval``."""
    return anchor + math.floor((now - anchor) / interval + 1e-9) * interval


class Prober:
    """Runs the jobs on the current event loop and hands each result to ``sink``."""

    def __init__(self, jobs: list[Job], ctx: ProbeContext, metrics: Accounts, sink: Callable[[ProbeResult], None],
                 max_concurrency: int = 200, loop_lag: LoopLagMonitor | None = None,
                 clock: Callable[[], float] = time.time, self_check: SelfCheck | None = None):
        self.jobs = jobs
        self.ctx = ctx
        self.metrics = metrics
        self.sink = sink
        self.loop_lag = loop_lag
        # what judges a result by the loop's stalls during its run: only where its own delay inside each phase is
        # not measured (ctx.late), which judges it more finely
        self._stalls = loop_lag if ctx.late is None else None
        self.clock = clock
        self.self_check = self_check  # a failed result waits for it: the platform's failure, or ours?
        self._limit = asyncio.Semaphore(max_concurrency)  # our bound; requests never queue inside httpx
        self._in_flight: set[asyncio.Task[None]] = set()  # the runs of _run
        self._scheduler: AsyncIOScheduler | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self._self_check_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Add one APScheduler job per check and start; must be called with the loop running."""
        scheduler = _LoopScheduler(timezone=dt.UTC, executors={"default": _TaskExecutor()})
        now = self.clock()
        labels: dict[str, tuple[str, str, str]] = {}  # job id -> (platform, check, location)
        for job in self.jobs:
            anchor = first_start(job, now)
            interval = job.check.interval
            job_id = f"{job.key}@{self.ctx.location}"
            labels[job_id] = (job.platform, job.check.id, self.ctx.location)
            self.metrics.register_check(*labels[job_id], job.check.kind)
            scheduler.add_job(
                self._run, IntervalTrigger(seconds=interval, start_date=dt.datetime.fromtimestamp(anchor, dt.UTC)),
                args=(job, anchor), id=job_id, name=job_id, max_instances=1, coalesce=True,
                misfire_grace_time=max(1, int(interval / 2)),  # rides out a brief stall of the loop
            )

        def skipped(event: JobEvent) -> None:
            why = "overlap" if event.code == EVENT_JOB_MAX_INSTANCES else "missed"
            log.warning("probe %s skipped: %s", event.job_id, why)
            self.metrics.skip(*labels[event.job_id], why)

        scheduler.add_listener(skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        scheduler.start()
        self._scheduler = scheduler
        if self.loop_lag is not None:
            self._lag_task = asyncio.get_running_loop().create_task(self.loop_lag.run())
        if self.self_check is not None:
            self._self_check_task = asyncio.get_running_loop().create_task(self.self_check.run())

    async def _run(self, job: Job, anchor: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            async with self._limit:
                now = self.clock()
                self.metrics.scheduler_lag.observe(max(0.0, now - planned_start(anchor, job.check.interval, now)))
                began = self.self_check.now() if self.self_check is not None else 0.0
                probe = run_check(job.platform, job.check, self.ctx)
                result = await (self._stalls.watch(probe) if self._stalls is not None else probe)
            if self.self_check is not None:  # outside the slot: waiting for the verdict is not probing
                result = await self.self_check.confirm(result, began)
            self.metrics.record(result)
            self.sink(result)
        finally:
            self._in_flight.discard(task)

    async def stop(self, grace: float) -> int:
        """Stop scheduling, wait up to ``grace`` seconds for probes in flight, cancel the rest.

        Returns how many probes had to be cancelled.
        """
        if self._scheduler is not None:
            self._scheduler.pause()  # no new runs; shutdown() would cancel the runs in flight
        pending = set(self._in_flight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        for background in (self._lag_task, self._self_check_task):
            if background is not None:
                background.cancel()
        return len(pending)

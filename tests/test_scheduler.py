"""Scheduler: real APScheduler, real probes against loopback servers, short intervals."""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED

from monitor.config.model import HttpCheck
from monitor.looplag import LoopLagMonitor
from monitor.metrics import Metrics
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.scheduler import Job, Prober, planned_start, spread
from tests.waiting import until


def check(check_id: str, url: str, interval: float = 1.0, timeout: float = 0.5) -> HttpCheck:
    return HttpCheck.model_validate({"id": check_id, "kind": "http", "url": url,
                                     "interval": interval, "timeout": timeout})


@dataclass
class Run:
    """What a prober did until a condition held: its results and metrics, and what APScheduler planned."""

    results: list[ProbeResult]
    metrics: Metrics
    planned: dict[str, list[float]]  # check id -> run times APScheduler submitted and ran (not missed), in order


def run_until(jobs: list[Job], done: Callable[[Run], bool], what: str, timeout: float = 30.0, **options) -> Run:
    """Run a real prober until ``done(run)``, then stop it. No fixed duration: a loaded machine only takes longer."""
    run = Run([], Metrics(), collections.defaultdict(list))

    def submitted(event) -> None:
        key = event.job_id.split("/", 1)[1].rsplit("@", 1)[0]
        if event.code == EVENT_JOB_SUBMITTED:
            run.planned[key] += [t.timestamp() for t in event.scheduled_run_times]
        else:  # missed: submitted, then dropped by the misfire grace without running
            run.planned[key].remove(event.scheduled_run_time.timestamp())

    async def scenario():
        prober = Prober(jobs, ProbeContext(location="hanoi"), run.metrics, run.results.append, **options)
        prober.start()
        prober._scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)
        try:
            await until(lambda: done(run), timeout, what)
        finally:
            await prober.stop(grace=2)

    asyncio.run(scenario())
    return run


def by_check(results: list[ProbeResult]) -> dict[str, list[ProbeResult]]:
    out: dict[str, list[ProbeResult]] = collections.defaultdict(list)
    for result in sorted(results, key=lambda r: r.started_at):
        out[result.check].append(result)
    return out


def on_grid(at: float, offset: float, interval: float) -> bool:
    """Whether ``at`` is ``offset`` plus a whole number of intervals after the epoch (to APScheduler's µs)."""
    steps = (at - offset) / interval
    return abs(steps - round(steps)) * interval < 1e-5


def test_spread_gives_even_stable_offsets():
    checks = [("p", check(f"c{i}", "http://127.0.0.1/", interval=10)) for i in range(4)]
    checks.append(("q", check("slow", "http://127.0.0.1/", interval=60, timeout=5)))
    jobs = {job.key: job.offset for job in spread(reversed(checks))}
    assert jobs == {"p/c0": 0.0, "p/c1": 2.5, "p/c2": 5.0, "p/c3": 7.5, "q/slow": 0.0}
    assert {job.key: job.offset for job in spread(checks)} == jobs  # order of the config does not matter


def test_planned_start_is_the_latest_grid_point():
    assert planned_start(anchor=100.0, interval=30.0, now=175.0) == 160.0
    assert planned_start(anchor=100.0, interval=30.0, now=160.0) == 160.0


def test_checks_run_the_expected_number_of_times_at_spread_offsets(http_port):
    """Every check runs once per interval, on its own grid point (epoch + offset + k intervals).

    Nothing here depends on how busy the machine is: the plan is APScheduler's own (it never drifts
    with load), a run can only start after its planned time, and the lag the prober reports can
    only be smaller than what the results show.
    """
    url = f"http://127.0.0.1:{http_port}/ok"
    jobs = spread(("gqthc", check(f"c{i}", url)) for i in range(4))
    run = run_until(jobs, lambda run: len(run.results) >= 12 and all(
        len(results) >= 3 for results in by_check(run.results).values()) and len(by_check(run.results)) == 4,
        "three runs of each of the four checks")
    runs = by_check(run.results)
    assert set(runs) == {"c0", "c1", "c2", "c3"}
    assert all(r.success and r.location == "hanoi" for r in run.results)
    offsets = {job.check.id: job.offset for job in jobs}
    lateness = 0.0
    for check_id, results in runs.items():
        planned = run.planned[check_id]
        # planned on its own grid, each grid point once: never two runs for one interval
        assert all(on_grid(at, offsets[check_id], 1.0) for at in planned), (check_id, planned)
        assert all(b - a >= 1.0 - 1e-5 for a, b in itertools.pairwise(planned)), (check_id, planned)
        # one result per planned run (the last few may still have been waiting at the stop), each started
        # at or after its planned time
        assert len(planned) - 2 <= len(results) <= len(planned), (check_id, planned, results)
        for result, at in zip(results, planned, strict=False):  # the last planned may not have run
            assert result.started_at >= at - 1e-3, (check_id, result.started_at, at)
            lateness += result.started_at - at
    assert run.metrics.registry.get_sample_value(
        "probe_results_total", {"platform": "gqthc", "check": "c0", "location": "hanoi", "result": "success"}
    ) == len(runs["c0"])
    # one lag observation per run, measured from the planned grid point: never more than the runs' lateness
    assert run.metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_count") == len(run.results)
    assert 0 <= run.metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_sum") <= lateness + 1e-3


@pytest.mark.slow  # seconds of real scheduling
def test_hung_check_does_not_delay_the_others(http_port):
    """While the hung check waits out its 0.9 s deadline, the others start on their own schedule."""
    jobs = spread([("gqthc", check("hung", f"http://127.0.0.1:{http_port}/hang", timeout=0.9))]
                  + [("gqthc", check(f"ok{i}", f"http://127.0.0.1:{http_port}/ok")) for i in range(3)])

    def enough(run: Run) -> bool:
        runs = by_check(run.results)
        return len(runs["hung"]) >= 2 and all(len(runs[f"ok{i}"]) >= 3 for i in range(3))

    run = run_until(jobs, enough, "two runs of the hung check and three of each other")
    runs = by_check(run.results)
    hung = runs.pop("hung")
    healthy = [r for results in runs.values() for r in results]
    assert all(r.reason == "read_timeout" for r in hung)
    assert all(r.success for r in healthy)
    # A probe that started while a hung one was in flight was not held back by it. Each hung probe holds
    # its slot at least 0.9 s (its deadline; load only makes that longer) and the others are planned
    # 0.25, 0.5 and 0.75 s after it starts, so all of them would wait if the hung one blocked them.
    during = [r for r in healthy if any(h.started_at < r.started_at < h.started_at + h.duration for h in hung)]
    assert len(during) >= 2, ([(h.started_at, h.duration) for h in hung], [(r.check, r.started_at) for r in healthy])
    # and the hung check's duration is its own deadline, not inflated by the others
    assert all(r.duration >= 0.9 for r in hung)


@pytest.mark.slow  # seconds of real scheduling
def test_overlapping_runs_are_skipped_and_counted(http_port):
    """With room for one probe at a time, three 0.9 s probes every second cannot all run."""
    jobs = spread(("gqthc", check(f"h{i}", f"http://127.0.0.1:{http_port}/hang", timeout=0.9)) for i in range(3))

    def skipped(run: Run) -> float:
        return sum(run.metrics.registry.get_sample_value("monitor_probes_skipped_total", {
            "platform": "gqthc", "check": f"h{i}", "location": "hanoi", "why": "overlap"}) or 0 for i in range(3))

    run = run_until(jobs, lambda run: skipped(run) >= 3 and len(run.results) >= 3,
                    "three skipped runs and three results", max_concurrency=1)
    results = sorted(run.results, key=lambda r: r.started_at)
    # one at a time: each probe started only once the one before it had ended. A probe's duration counts
    # from its own start, so time spent waiting for the slot is not in it (it would overlap the previous one)
    for before, after in itertools.pairwise(results):
        assert after.started_at >= before.started_at + before.duration - 1e-3, (before, after)
    # waiting for a free slot shows up as scheduling lag: the second of three checks 1/3 s apart waits for
    # the first's 0.9 s, so some lag is over 0.5 s (load only adds to it)
    assert run.metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_bucket", {"le": "0.5"}) < \
        run.metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_count")


@pytest.mark.slow  # seconds of real scheduling
def test_a_run_later_than_its_grace_is_skipped_as_missed_and_the_next_runs_on_its_grid(http_port):
    """The loop stalls through a planned start and 1.3 s past it, more than the grace (half the 2 s interval, at
    least 1 s): that run is dropped and counted, not run late; the one after it runs as planned."""
    (job,) = spread([("gqthc", check("m", f"http://127.0.0.1:{http_port}/ok", interval=2.0))])
    stalled_past: list[float] = []  # the planned start the stall ran through

    def skipped(run: Run) -> float:
        return run.metrics.registry.get_sample_value("monitor_probes_skipped_total", {
            "platform": "gqthc", "check": "m", "location": "hanoi", "why": "missed"}) or 0

    def done(run: Run) -> bool:
        if run.results and not stalled_past:  # one run on time first, then stall the loop (this runs on it)
            stalled_past.append(planned_start(job.offset, 2.0, time.time()) + 2.0)
            time.sleep(stalled_past[0] + 1.3 - time.time())
        return bool(stalled_past) and any(r.started_at >= stalled_past[0] + 2.0 - 1e-3 for r in run.results)

    run = run_until([job], done, "a run after the stall")
    missed = stalled_past[0]
    assert skipped(run) == 1
    assert all(abs(t - missed) > 1e-3 for t in run.planned["m"]), run.planned  # dropped, announced as missed
    assert not [r for r in run.results if missed - 1e-3 <= r.started_at < missed + 2.0 - 1e-3], run.results
    after = [r for r in run.results if r.started_at >= missed + 2.0 - 1e-3]
    assert after[0].started_at < missed + 2.0 + 0.5, after[0]  # the next run is not held up by the missed one
    assert all(r.success for r in run.results), run.results


def stalling_server(loop_thread, prober_loop: list[asyncio.AbstractEventLoop]) -> int:
    """The port of a server that answers after 0.3 s and, while its first request waits, stalls the prober's loop
    (``prober_loop[0]``, set by the test once running) for 0.2 s."""
    from tests.servers import start_server

    requests = []

    async def slow(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        requests.append(1)
        if len(requests) == 1:
            prober_loop[0].call_soon_threadsafe(time.sleep, 0.2)
        await asyncio.sleep(0.3)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    return loop_thread.run(start_server(slow)).port


@pytest.mark.parametrize("compressed", [False, True], ids=["real-time", "compressed-clock"])
@pytest.mark.slow  # seconds of real scheduling
def test_results_measured_during_a_prober_stall_are_marked_unreliable(loop_thread, compressed):
    """A loop blocked while a probe waits must not be reported as the platform's latency,
    also when results are stamped by a simulated clock (the demo's) rather than real time."""
    prober_loop: list[asyncio.AbstractEventLoop] = []
    port = stalling_server(loop_thread, prober_loop)
    metrics = Metrics()
    results = []

    async def scenario():
        prober_loop.append(asyncio.get_running_loop())
        lag = LoopLagMonitor(threshold=0.05, interval=0.02, observe=metrics.loop_lag.observe)
        prober = Prober(spread([("gqthc", check("home", f"http://127.0.0.1:{port}/"))]),
                        ProbeContext(wall_clock=(lambda: time.time() * 600 - 1e12) if compressed else time.time),
                        metrics, results.append, loop_lag=lag)
        prober.start()
        try:
            await until(lambda: len(results) >= 2, 30, "two results")
        finally:
            await prober.stop(grace=2)

    asyncio.run(scenario())
    assert len(results) >= 2
    assert results[0].unreliable and not any(r.unreliable for r in results[1:])
    labels = {"platform": "gqthc", "check": "home", "location": "local"}
    assert metrics.registry.get_sample_value("monitor_unreliable_results_total", labels) == 1
    assert metrics.registry.get_sample_value("probe_phase_duration_seconds_count",
                                             {**labels, "phase": "total"}) == len(results) - 1
    assert metrics.registry.get_sample_value("monitor_event_loop_lag_seconds_bucket", {"le": "0.1"}) < \
        metrics.registry.get_sample_value("monitor_event_loop_lag_seconds_count")


@pytest.mark.slow  # seconds of real scheduling
def test_a_stall_that_ends_before_the_answer_comes_leaves_the_result_reliable_where_own_delay_is_measured(
        loop_thread):
    """As the daemon runs (the loop's busy time measured, the kernel's receive times): the same 0.2 s stall while
    the platform takes 0.3 s to answer is in no phase, so the result keeps its evidence and its true time. By the
    stalls during its run alone (the test above) it is flagged."""
    from monitor.ownlag import LoopBusy

    prober_loop: list[asyncio.AbstractEventLoop] = []
    port = stalling_server(loop_thread, prober_loop)
    results: list[ProbeResult] = []

    async def scenario():
        loop = asyncio.get_running_loop()
        prober_loop.append(loop)
        busy = LoopBusy().install(loop)
        prober = Prober(spread([("gqthc", check("home", f"http://127.0.0.1:{port}/"))]),
                        ProbeContext(late=busy.late), Metrics(), results.append,
                        loop_lag=LoopLagMonitor(threshold=0.05, interval=0.02))
        prober.start()
        try:
            await until(lambda: len(results) >= 1, 30, "a result")
        finally:
            await prober.stop(grace=2)
            busy.uninstall()

    asyncio.run(scenario())
    first = results[0]
    assert first.success and not first.unreliable, first
    assert 0.3 <= first.phases["processing"] < 0.31 and first.phases["total"] < 0.32, first.phases


@pytest.mark.slow  # seconds of real scheduling
def test_a_short_stall_in_a_long_probe_leaves_it_reliable_but_not_in_a_short_one():
    """Stalls delay timestamps by at most their length: 0.1 s in 4 s is noise, 0.2 s in 0.3 s is not."""
    from monitor.result import ProbeResult

    async def probe(seconds: float, stall: float) -> ProbeResult:
        await asyncio.sleep(seconds / 2)
        time.sleep(stall)  # noqa: ASYNC251  # the prober's own loop blocked on purpose, as by a slow callback
        await asyncio.sleep(seconds / 2)
        return ProbeResult("gqthc", "home", "http", "local", time.time(), True, seconds)

    async def scenario() -> tuple[ProbeResult, ProbeResult]:
        lag = LoopLagMonitor(threshold=0.05, interval=0.02)
        task = asyncio.create_task(lag.run())
        await asyncio.sleep(0)  # one turn of the loop: the monitor is measuring from its first sleep on
        long = await lag.watch(probe(4.0, 0.1))
        short = await lag.watch(probe(0.1, 0.2))
        task.cancel()
        return long, short

    long, short = asyncio.run(scenario())
    assert not long.unreliable
    assert short.unreliable

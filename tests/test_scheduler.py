"""Scheduler: real APScheduler, real probes against loopback servers, short intervals."""

from __future__ import annotations

import asyncio
import collections
import time

import pytest

from monitor.config.model import HttpCheck
from monitor.looplag import LoopLagMonitor
from monitor.metrics import Metrics
from monitor.probes import ProbeContext
from monitor.scheduler import Job, Prober, planned_start, spread


def check(check_id: str, url: str, interval: float = 1.0, timeout: float = 0.5) -> HttpCheck:
    return HttpCheck.model_validate({"id": check_id, "kind": "http", "url": url,
                                     "interval": interval, "timeout": timeout})


def run_for(jobs: list[Job], seconds: float, **options):
    metrics = Metrics()
    results = []

    async def scenario():
        prober = Prober(jobs, ProbeContext(location="hanoi"), metrics, results.append, **options)
        prober.start()
        await asyncio.sleep(seconds)
        await prober.stop(grace=2)

    asyncio.run(scenario())
    return results, metrics


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
    url = f"http://127.0.0.1:{http_port}/ok"
    jobs = spread(("gqthc", check(f"c{i}", url)) for i in range(4))
    results, metrics = run_for(jobs, 3.2)
    runs = collections.Counter(r.check for r in results)
    assert set(runs) == {"c0", "c1", "c2", "c3"}
    assert all(3 <= n <= 4 for n in runs.values()), runs
    assert all(r.success and r.location == "hanoi" for r in results)
    offsets = {job.check.id: job.offset for job in jobs}
    for result in results:  # each run starts on its own grid point, not at random
        phase = result.started_at % 1.0
        assert min(abs(phase - offsets[result.check]), 1 - abs(phase - offsets[result.check])) < 0.25
    assert metrics.registry.get_sample_value(
        "probe_results_total", {"platform": "gqthc", "check": "c0", "location": "hanoi", "result": "success"}
    ) == runs["c0"]
    assert metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_count") == len(results)
    assert metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_bucket", {"le": "0.25"}) == len(results)


def test_hung_check_does_not_delay_the_others(http_port):
    jobs = spread([("gqthc", check("hung", f"http://127.0.0.1:{http_port}/hang", timeout=0.9))]
                  + [("gqthc", check(f"ok{i}", f"http://127.0.0.1:{http_port}/ok")) for i in range(3)])
    results, metrics = run_for(jobs, 3.2)
    healthy = [r for r in results if r.check != "hung"]
    hung = [r for r in results if r.check == "hung"]
    assert hung and all(r.reason == "read_timeout" for r in hung)
    assert len(healthy) >= 9 and all(r.success and r.duration < 0.3 for r in healthy)
    offsets = {job.check.id: job.offset for job in jobs}
    for result in healthy:
        lag = (result.started_at - offsets[result.check]) % 1.0
        assert lag < 0.25, (result.check, lag)


def test_overlapping_runs_are_skipped_and_counted(http_port):
    """With room for one probe at a time, three 0.9 s probes every second cannot all run."""
    jobs = spread(("gqthc", check(f"h{i}", f"http://127.0.0.1:{http_port}/hang", timeout=0.9)) for i in range(3))
    results, metrics = run_for(jobs, 4.2, max_concurrency=1)
    skipped = sum(metrics.registry.get_sample_value("monitor_probes_skipped_total", {
        "platform": "gqthc", "check": f"h{i}", "location": "hanoi", "why": "overlap"}) for i in range(3))
    assert skipped >= 3
    assert len(results) <= 6  # four seconds of one-at-a-time 0.9 s probes
    # waiting for a free slot shows up as scheduling lag, not as platform latency
    assert metrics.registry.get_sample_value("monitor_scheduler_lag_seconds_bucket", {"le": "0.5"}) < len(results)


@pytest.mark.parametrize("compressed", [False, True], ids=["real-time", "compressed-clock"])
def test_results_measured_during_a_prober_stall_are_marked_unreliable(loop_thread, compressed):
    """A loop blocked while a probe waits must not be reported as the platform's latency,
    also when results are stamped by a simulated clock (the demo's) rather than real time."""
    from tests.servers import start_server

    prober_loop: list[asyncio.AbstractEventLoop] = []
    requests = []

    async def slow(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        requests.append(1)
        if len(requests) == 1:  # stall the prober's loop while its first probe waits for us
            prober_loop[0].call_soon_threadsafe(time.sleep, 0.2)
        await asyncio.sleep(0.3)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    port = loop_thread.run(start_server(slow)).port
    metrics = Metrics()
    results = []

    async def scenario():
        prober_loop.append(asyncio.get_running_loop())
        lag = LoopLagMonitor(threshold=0.05, interval=0.02, observe=metrics.loop_lag.observe)
        prober = Prober(spread([("gqthc", check("home", f"http://127.0.0.1:{port}/"))]),
                        ProbeContext(wall_clock=(lambda: time.time() * 600 - 1e12) if compressed else time.time),
                        metrics, results.append, loop_lag=lag)
        prober.start()
        await asyncio.sleep(2.5)
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


def test_a_short_stall_in_a_long_probe_leaves_it_reliable_but_not_in_a_short_one():
    """Stalls delay timestamps by at most their length: 0.1 s in 4 s is noise, 0.2 s in 0.3 s is not."""
    from monitor.result import ProbeResult

    async def probe(seconds: float, stall: float) -> ProbeResult:
        await asyncio.sleep(seconds / 2)
        time.sleep(stall)  # the prober's own loop blocked, as by a slow callback
        await asyncio.sleep(seconds / 2)
        return ProbeResult("gqthc", "home", "http", "local", time.time(), True, seconds)

    async def scenario() -> tuple[ProbeResult, ProbeResult]:
        lag = LoopLagMonitor(threshold=0.05, interval=0.02)
        task = asyncio.create_task(lag.run())
        await asyncio.sleep(0.1)
        long = await lag.watch(probe(4.0, 0.1))
        short = await lag.watch(probe(0.1, 0.2))
        task.cancel()
        return long, short

    long, short = asyncio.run(scenario())
    assert not long.unreliable
    assert short.unreliable

"""The simulated-time driver: real probes, planned instants, time carried in the source address."""

from __future__ import annotations

import asyncio
import itertools

from monitor.config.model import HttpCheck
from monitor.lab.simclock import source_for, time_from
from monitor.lab.simulate import count_runs, drive, planned_runs
from monitor.probes import ProbeContext
from monitor.scheduler import spread
from tests.servers import start_server

EPOCH = 1_780_000_000.0  # any instant; the lab and the driver agree on it


def check(check_id: str, url: str, interval: float) -> HttpCheck:
    return HttpCheck.model_validate({"id": check_id, "kind": "http", "url": url,
                                     "interval": interval, "timeout": min(5, interval / 2)})


def test_planned_runs_are_in_time_order_and_counted():
    jobs = spread([("a", check("x", "http://127.0.0.1/", 30)), ("a", check("y", "http://127.0.0.1/", 30)),
                   ("b", check("z", "http://127.0.0.1/", 300))])
    start, end = EPOCH, EPOCH + 3600
    runs = list(planned_runs(jobs, start, end))
    times = [at for at, _ in runs]
    assert times == sorted(times) and start <= times[0] and times[-1] < end
    assert len(runs) == count_runs(jobs, start, end) == 120 + 120 + 12
    by_key = {}
    for at, job in runs:
        by_key.setdefault(job.key, []).append(at)
    assert all(b - a == 30 for a, b in itertools.pairwise(by_key["a/y"]))
    assert by_key["a/x"][0] % 30 == 0 and by_key["a/y"][0] % 30 == 15  # the live scheduler's offsets


def test_source_address_round_trip():
    assert time_from(source_for(EPOCH + 86_399.7, EPOCH), EPOCH) == EPOCH + 86_399
    assert time_from("127.0.0.1", EPOCH) is None


def test_drive_stamps_results_with_simulated_time_and_the_server_sees_it(loop_thread):
    seen: list[float] = []
    in_flight = [0, 0]  # now, max
    overlapped = asyncio.Event()  # on the server's loop (created there by its first await)

    async def lab_like(reader, writer):
        seen.append(time_from(writer.get_extra_info("peername")[0], EPOCH))
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        if in_flight[0] >= 2:
            overlapped.set()
        await reader.readuntil(b"\r\n\r\n")
        # The first requests wait (up to 10 s) for a second one to arrive: a driver that runs one probe at a
        # time never sends it, and the concurrency assertion below fails instead of depending on timing.
        try:
            await asyncio.wait_for(overlapped.wait(), 10)
        except TimeoutError:
            pass
        await asyncio.sleep(0.05)  # a slow lab: a driver without a bound would pile up more than 4 meanwhile
        in_flight[0] -= 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    port = loop_thread.run(start_server(lab_like)).port
    jobs = spread([("gqthc", check(f"c{i}", f"http://127.0.0.1:{port}/", 600)) for i in range(3)])
    start, end = EPOCH + 3600, EPOCH + 3 * 3600
    results = []
    ran = asyncio.run(drive(jobs, start, end, EPOCH, results.append, ProbeContext(location="sim"), concurrency=4))
    planned = sorted(at for at, _ in planned_runs(jobs, start, end))
    assert ran == len(results) == len(planned) == 36
    assert sorted(r.started_at for r in results) == planned  # stamped with simulated instants
    assert sorted(seen) == [float(int(at)) for at in planned]  # and the server saw the same instants
    assert all(r.success and r.location == "sim" for r in results)
    assert 1 < in_flight[1] <= 4  # concurrent, but bounded


def test_throttle_backs_off_on_loop_lag_and_grows_only_when_saturated():
    from monitor.lab.simulate import Throttle

    async def scenario():
        throttle = Throttle(ceiling=40, floor=8)
        assert throttle.limit == 32
        throttle.observe(0.001)
        assert throttle.limit == 32  # not saturated: no reason to admit more
        for _ in range(32):
            await throttle.acquire()
        throttle.observe(0.001)
        assert throttle.limit == 34  # saturated and the loop keeps up: one step more
        throttle.observe(0.2)
        assert throttle.limit == 23  # the loop lags: back off multiplicatively
        blocked = asyncio.ensure_future(throttle.acquire())
        for _ in range(5):  # turns of the loop, enough for an acquire that could proceed to do so
            await asyncio.sleep(0)
        assert not blocked.done()  # 32 in flight, limit 23
        for _ in range(10):
            throttle.release()
        await asyncio.wait_for(blocked, 1)
        assert throttle.in_flight == 23
        for _ in range(20):
            throttle.observe(0.5)
        assert throttle.limit == 8  # never below the floor

    asyncio.run(scenario())


def test_throttle_never_admits_more_than_its_ceiling():
    from monitor.lab.simulate import Throttle

    throttle = Throttle(ceiling=4)
    throttle.observe(0.5)  # the loop lags: back off, never up
    assert throttle.limit <= 4

    throttle = Throttle(ceiling=33)  # starts at 32; growing by 2 stops at the ceiling
    throttle.in_flight = throttle.limit
    throttle.observe(0.0)
    assert throttle.limit == 33

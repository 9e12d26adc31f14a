"""The prober's own network: a self-check that keeps the prober's outage from becoming the platforms'.

The lab here is loopback: a platform server, the self-check's reference target and a DNS responder for
its resolver check. "Cutting the prober's network" closes all three listeners at once, as an uplink
failure would make them unreachable: platform probes fail with connect_refused, and so does the
self-check. Everything runs as an operator runs it: ``monitor run`` in a subprocess, read through
``/metrics``, its log and its store (``monitor incidents``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from monitor.incidents import detect
from monitor.lab.dnsd import DnsResponder
from monitor.result import PROBER_NETWORK, ProbeResult, Reason
from monitor.store import open_store
from tests.daemon import Daemon, write_checks
from tests.servers import _response, closed_port, scripted, send, start_server

PLATFORM_SERIES = 'platform_incident_open{kind="%s",platform="sotaydangvien"}'


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def scrape(url: str) -> str:
    return urllib.request.urlopen(url, timeout=5).read().decode()


def sample(body: str, series: str) -> float | None:
    match = re.search("^" + re.escape(series) + r" (\S+)$", body, re.M)
    return float(match.group(1)) if match else None


def wait_scrape(url: str, condition, timeout: float = 20.0, watch=None) -> str:
    """Scrape until ``condition(body)``; ``watch(body)`` is asserted on every scrape on the way."""
    deadline = time.monotonic() + timeout
    while True:
        body = scrape(url)
        if watch is not None:
            watch(body)
        if condition(body):
            return body
        assert time.monotonic() < deadline, f"condition not met within {timeout} s:\n{body[-3000:]}"
        time.sleep(0.3)


def self_check_env(monkeypatch, **fields) -> None:
    monkeypatch.setenv("MONITOR_SELF_CHECK", json.dumps({"interval": "1s", "timeout": "500ms", **fields}))


def incidents_cli(store, since: float) -> list[dict]:
    start = dt.datetime.fromtimestamp(since - 60, dt.UTC).isoformat()
    end = dt.datetime.fromtimestamp(time.time() + 60, dt.UTC).isoformat()
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "incidents", "--from", start, "--to", end,
                           "--store", str(store), "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow  # a real `monitor run` for seconds
def test_cut_network_gives_the_self_check_failure_and_no_platform_incident(loop_thread, tmp_path, monkeypatch,
                                                                           daemons):
    platform = loop_thread.run(start_server(scripted))
    target = loop_thread.run(start_server(scripted))
    resolver = DnsResponder()
    resolver_port = loop_thread.run(resolver.start())
    resolver.set_records("uplink.example.vn", "A", ["127.0.0.1"])
    self_check_env(monkeypatch, url=f"http://127.0.0.1:{target.port}/ok", resolve_name="uplink.example.vn",
                   resolver=f"127.0.0.1:{resolver_port}")
    store = tmp_path / "history.db"
    began = time.time()
    daemon = Daemon(write_checks(tmp_path, platform.port, count=2), store)
    daemons.append(daemon)
    url = daemon.metrics_url()
    ok = 'monitor_self_check_ok{location="local"}'
    wait_scrape(url, lambda b: sample(b, ok) == 1.0 and all(  # both checks have answered before the cut
        sample(b, f'probe_success{{check="{c}",location="local",platform="sotaydangvien"}}') == 1.0
        for c in ("c0", "c1")))

    async def cut() -> None:  # the prober's uplink goes: nothing it reaches answers any more
        for server in (platform.server, target.server):
            server.close()
            await server.wait_closed()
        await resolver.stop()

    loop_thread.run(cut())

    def no_incident(body: str) -> None:
        assert sample(body, PLATFORM_SERIES % "down") == 0.0 and sample(body, PLATFORM_SERIES % "degraded") == 0.0

    unreliable = 'monitor_unreliable_results_total{check="c0",location="local",platform="sotaydangvien"}'
    # well past the 3 failures that open a "down" incident, and several recomputations of open incidents
    body = wait_scrape(url, lambda b: sample(b, ok) == 0.0 and (sample(b, unreliable) or 0) >= 6,
                       timeout=30, watch=no_incident)
    # the failures are the prober's own: counted as unreliable, not as the platform's failures
    for check in ("c0", "c1"):
        labels = f'check="{check}",location="local",platform="sotaydangvien"'
        assert sample(body, f'probe_results_total{{{labels},result="connect_refused"}}') == 0.0
        assert sample(body, f"probe_success{{{labels}}}") == 1.0
    # Logged once, when it turns: naming what had failed by then. A round already under way at the cut may
    # still see the target answer (only the resolver's pending answer is dropped), so either may come first.
    failed = daemon.wait_for(r"self-check failed at location local: (.*)", stream="stderr").group(1)
    assert failed.startswith(("target: ", "resolver: ")), failed
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(15) == 0
    assert not [line for line in daemon.stderr if "incident opened" in line]

    history = open_store(store)
    try:
        results = history.recent_results(500)
    finally:
        history.close()
    own = [r for r in results if PROBER_NETWORK in r.details]
    assert len(own) >= 6 and all(r.unreliable and not r.success for r in own)  # stored as the prober's failure
    assert "target:" in own[0].details[PROBER_NETWORK] and "resolver:" in own[0].details[PROBER_NETWORK]
    assert incidents_cli(store, began) == []


@pytest.mark.slow  # a real `monitor run` for seconds
def test_a_dead_resolver_is_the_prober_failure_too(loop_thread, tmp_path, monkeypatch, daemons):
    target = loop_thread.run(start_server(scripted))
    self_check_env(monkeypatch, url=f"http://127.0.0.1:{target.port}/ok", resolve_name="uplink.example.vn",
                   resolver=f"127.0.0.1:{closed_port()}")  # nobody answers there
    daemon = Daemon(write_checks(tmp_path, closed_port(), count=1), tmp_path / "history.db")
    daemons.append(daemon)
    url = daemon.metrics_url()
    unreliable = 'monitor_unreliable_results_total{check="c0",location="local",platform="sotaydangvien"}'
    body = wait_scrape(url, lambda b: (sample(b, unreliable) or 0) >= 5, timeout=30,
                       watch=lambda b: None if sample(b, PLATFORM_SERIES % "down") == 0.0 else pytest.fail(b))
    assert sample(body, 'monitor_self_check_ok{location="local"}') == 0.0
    line = daemon.wait_for(r"self-check failed at location local: (.*)", stream="stderr").group(1)
    assert line.startswith("resolver: ") and "target" not in line.split(";")[0]


@pytest.mark.slow  # a real `monitor run` for seconds
def test_a_platform_failure_with_a_healthy_network_opens_and_closes_an_incident_in_the_log(
        loop_thread, tmp_path, monkeypatch, daemons):
    failing = {"on": False}

    async def platform(reader, writer):
        if failing["on"]:
            await reader.readuntil(b"\r\n\r\n")
            await send(writer, _response(503, b"busy"))
        else:
            await scripted(reader, writer)

    server = loop_thread.run(start_server(platform))
    target = loop_thread.run(start_server(scripted))
    self_check_env(monkeypatch, url=f"http://127.0.0.1:{target.port}/ok")
    daemon = Daemon(write_checks(tmp_path, server.port, count=1), tmp_path / "history.db")
    daemons.append(daemon)
    url = daemon.metrics_url()
    wait_scrape(url, lambda b: sample(b, 'monitor_self_check_ok{location="local"}') == 1.0)
    failing["on"] = True
    wait_scrape(url, lambda b: sample(b, PLATFORM_SERIES % "down") == 1.0, timeout=30)
    daemon.wait_for(r"WARNING .*incident opened: sotaydangvien down \(platform-wide\) since \d\d/\d\d/\d{4}",
                    stream="stderr")
    failing["on"] = False
    wait_scrape(url, lambda b: sample(b, PLATFORM_SERIES % "down") == 0.0, timeout=30)
    daemon.wait_for(r"INFO .*incident closed: sotaydangvien down \(platform-wide\)", stream="stderr")
    assert not [line for line in daemon.stderr if "stored batch" in line]  # per-batch store logs are DEBUG
    assert not [line for line in daemon.stderr if "self-check failed" in line]


def _result(second: int, success: bool, **fields) -> ProbeResult:
    return ProbeResult(platform="gqthc", check="home", kind="http", location="hanoi",
                       started_at=1_780_000_000.0 + 30 * second, success=success, duration=0.2,
                       reason=None if success else Reason.CONNECT_REFUSED, phases={"total": 0.2} if success else {},
                       **fields)


def test_detect_skips_results_marked_as_the_prober_own_failure():
    good = [_result(i, True) for i in range(5)]
    failures = [_result(i, False) for i in range(5, 15)]
    own = [_result(i, False, unreliable=True, details={PROBER_NETWORK: "target: connect_refused"})
           for i in range(5, 15)]
    after = [_result(i, True) for i in range(15, 20)]
    assert [i.kind for i in detect(good + failures + after, {"gqthc": 2.5})] == ["down"]
    assert detect(good + own + after, {"gqthc": 2.5}) == []

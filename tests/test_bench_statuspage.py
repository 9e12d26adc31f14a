"""The status page benchmark's instruments: its open-loop client and its reading of the daemon's counters.
No speed is asserted (the figures are the benchmark's)."""

from __future__ import annotations

import asyncio

from bench.statuspage import counters, load
from monitor.metrics import Metrics, serve
from monitor.result import ProbeResult, Reason
from monitor.statuspage import StatusPage, status_app
from monitor.statuspage import serve as serve_page
from monitor.statuspage.app import rendering
from monitor.statuspage.model import Summary
from tests.servers import closed_port


def test_the_client_sends_every_planned_request_and_counts_what_failed():
    page = StatusPage(rendering(lambda now: Summary(now, (), (), 90, 7)), refresh=3600)
    server, _ = serve_page(status_app(page), "127.0.0.1", 0)
    try:
        latencies, failed, _ = asyncio.run(load(server.server_port, rate=200, window=0.5))
    finally:
        server.shutdown()
        server.server_close()
    assert len(latencies) == 100 and failed == [] and all(t >= 0 for t in latencies)
    latencies, failed, _ = asyncio.run(load(closed_port(), rate=100, window=0.2))
    assert latencies == [] and len(failed) == 20  # refused: counted, never as answered


def test_counters_are_the_daemon_s_probe_and_unreliable_totals():
    metrics = Metrics()
    metrics.register_check("p", "c", "here", "http")

    def result(ok: bool, unreliable: bool = False) -> ProbeResult:
        return ProbeResult(platform="p", check="c", kind="http", location="here", started_at=1.0, success=ok,
                           duration=0.1, reason=None if ok else Reason.CONNECT_REFUSED, unreliable=unreliable,
                           phases={"total": 0.1} if ok else {})

    for r in [result(True)] * 3 + [result(False)] * 2 + [result(True, unreliable=True)] * 4:
        metrics.record(r)
    server, _ = serve(metrics, "127.0.0.1", 0)
    try:
        assert counters(server.server_port) == (5, 4)
    finally:
        server.shutdown()
        server.server_close()

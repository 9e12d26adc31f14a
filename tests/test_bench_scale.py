"""The /metrics path of monitor.metrics.serve (made fast for `python -m bench --only scale`) serves what
prometheus_client's text encoder renders for the registry, byte for byte, whatever the Accept header; and the scale
bench reports the size a scrape really gets."""

from __future__ import annotations

import gzip
import itertools
import urllib.request

import pytest
from prometheus_client import generate_latest

from bench.scale_data import stream
from monitor.metrics import Metrics, serve
from monitor.result import ProbeResult, Reason
from tests.test_metrics import samples

pytestmark = pytest.mark.slow  # the benchmark's own tests

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def filled() -> Metrics:
    metrics = Metrics()
    for check, location in (("home", "hanoi"), ("home", "caobang"), ('we"ird\\na\nme', "hanoi")):
        metrics.register_check("sotaydangvien", check, location)
        metrics.record(ProbeResult("sotaydangvien", check, "http", location, 1_780_000_000.0, True, 0.31,
                                   status_code=200, cert_expiry=1_790_000_000.5,
                                   phases={"resolve": 0.01, "connect": 0.02, "tls": 0.03, "processing": 0.2,
                                           "transfer": 0.05, "total": 0.31}))
        metrics.record(ProbeResult("sotaydangvien", check, "http", location, 1_780_000_030.0, False, 10.0,
                                   reason=Reason.READ_TIMEOUT, phases={"resolve": 0.01, "connect": 1e-7}))
    metrics.record(ProbeResult("pakn", "cert", "tls", "hanoi", 1_780_000_000.0, True, 0.1, unreliable=True))
    metrics.register_platform("sotaydangvien")
    metrics.scheduler_lag.observe(0.002)
    metrics.store_pending.set_function(lambda: 3)
    return metrics


@pytest.mark.parametrize("accept", [None, "text/plain;version=0.0.4", PROMETHEUS_ACCEPT])
@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_served_exposition_is_what_prometheus_client_renders(accept, encoding):
    metrics = filled()
    server, _ = serve(metrics, "127.0.0.1", 0)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/metrics",
                                         headers={k: v for k, v in (("Accept", accept),
                                                                    ("Accept-Encoding", encoding)) if v})
        with urllib.request.urlopen(request, timeout=10) as response:
            body, headers = response.read(), response.headers
    finally:
        server.shutdown()
        server.server_close()
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    if encoding:
        assert headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(body)
    assert body == generate_latest(metrics.registry)  # the registry's text, through ProbeCollector
    assert len(samples(body.decode())) > 100  # and it parses, no sample twice


def test_the_bench_workload_renders_the_same_samples_both_ways():
    """The scale bench's own results (every phase, failures with the phases they completed), a few checks' worth."""
    metrics = Metrics()
    for result in itertools.islice(stream(20), 20 * 3 * 4):
        metrics.record(result)
    metrics.skip("platform-000", "home-0", "hanoi", "missed")
    assert metrics.exposition() == generate_latest(metrics.registry)


def test_scale_figure_reports_the_bytes_a_scrape_gets():
    """The size in the scrape figure is the body curl received, as a plain GET shows it."""
    from bench.scale_metrics import scrape

    metrics = filled()
    server, _ = serve(metrics, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        _, plain = scrape(url, gzip=False)
        _, zipped = scrape(url, gzip=True)
        request = urllib.request.Request(url, headers={"Accept": PROMETHEUS_ACCEPT})
        with urllib.request.urlopen(request, timeout=10) as response:
            expected = len(response.read())
    finally:
        server.shutdown()
        server.server_close()
    assert plain == expected
    assert 0 < zipped < plain

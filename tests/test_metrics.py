"""Metrics: the contract in README.md "Metrics", read back from a fresh registry and from real scrapes; promtool lints
them."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.metrics import PHASE_BUCKETS, Metrics, serve
from monitor.result import PHASES, ProbeResult, Reason
from tests.tools import tool

LABELS = {"platform": "sotaydangvien", "check": "home", "location": "hanoi"}
ALL_PHASES = {"resolve": 0.01, "connect": 0.02, "tls": 0.03, "processing": 0.2, "transfer": 0.05, "total": 0.31}
OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def result(success: bool, **fields) -> ProbeResult:
    base = dict(platform="sotaydangvien", check="home", kind="http", location="hanoi", started_at=1_780_000_000.0,
                success=success, duration=0.5)
    return ProbeResult(**{**base, **fields})


def value(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, {**LABELS, **labels})


def fetch_each(metrics: Metrics, *header_sets: dict[str, str]) -> list[tuple[bytes, dict]]:
    """One real scrape per set of request headers: (body as received, response headers)."""
    server, _ = serve(metrics, "127.0.0.1", 0)
    try:
        got = []
        for headers in header_sets:
            request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/metrics", headers=headers)
            with urllib.request.urlopen(request, timeout=10) as response:
                got.append((response.read(), dict(response.headers)))
        return got
    finally:
        server.shutdown()
        server.server_close()


def fetch(metrics: Metrics) -> tuple[bytes, dict]:
    return fetch_each(metrics, {})[0]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition by (name, labels); fails on a sample seen twice."""
    found: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, key
            found[key] = sample.value
    return found


def filled() -> Metrics:
    """Every series family populated, with a check name that needs escaping."""
    metrics = Metrics()
    for check in ("home", 'we"ird\\na\nme'):
        metrics.register_check("sotaydangvien", check, "hanoi")
        metrics.record(result(True, check=check, status_code=200, cert_expiry=1_790_000_000.5, phases=ALL_PHASES))
        metrics.record(result(False, check=check, reason=Reason.DNS, error="x", started_at=1_780_000_030.0))
    metrics.record(result(True, unreliable=True, started_at=1_780_000_060.0))  # moves only last_run
    metrics.skip("sotaydangvien", "home", "hanoi", "overlap")
    metrics.register_platform("sotaydangvien")
    metrics.scheduler_lag.observe(0.002)
    metrics.loop_lag.observe(0.001)
    metrics.store_pending.set_function(lambda: 3)
    return metrics


def test_success_then_failure_keeps_every_result_and_the_last_state():
    metrics = Metrics()
    metrics.register_check("sotaydangvien", "home", "hanoi")
    assert value(metrics, "probe_results_total", result="success") == 0  # rate() works from the start
    assert value(metrics, "monitor_unreliable_results_total") == 0
    assert value(metrics, "monitor_probes_skipped_total", why="missed") == 0
    assert value(metrics, "probe_success") is None  # gauges only once there is a result
    metrics.record(result(True, status_code=200, cert_expiry=1_790_000_000.0, phases=ALL_PHASES))
    metrics.record(result(False, reason=Reason.READ_TIMEOUT, error="deadline of 10s exceeded during processing",
                          duration=10.0, started_at=1_780_000_030.0, phases={"resolve": 0.01, "connect": 0.02}))
    assert value(metrics, "probe_success") == 0
    assert value(metrics, "probe_duration_seconds") == 10.0
    assert value(metrics, "probe_http_status_code") == 0  # no response this time
    assert value(metrics, "probe_ssl_earliest_cert_expiry") == 1_790_000_000.0  # kept from the last handshake
    assert value(metrics, "probe_last_run_timestamp_seconds") == 1_780_000_030.0
    assert value(metrics, "probe_results_total", result="success") == 1
    assert value(metrics, "probe_results_total", result="read_timeout") == 1
    # completed phases of both probes are observed; failed phases never as 0
    assert value(metrics, "probe_phase_duration_seconds_count", phase="connect") == 2
    assert value(metrics, "probe_phase_duration_seconds_count", phase="processing") == 1
    assert value(metrics, "probe_phase_duration_seconds_count", phase="total") == 1
    assert value(metrics, "probe_phase_duration_seconds_sum", phase="processing") == pytest.approx(0.2)
    assert value(metrics, "probe_phase_duration_seconds_sum", phase="connect") == pytest.approx(0.04)
    assert value(metrics, "probe_phase_duration_seconds_bucket", phase="total", le="0.5") == 1
    assert value(metrics, "probe_phase_duration_seconds_bucket", phase="total", le="0.25") == 0
    assert value(metrics, "probe_phase_duration_seconds_bucket", phase="connect", le="+Inf") == 2


def test_only_total_has_buckets_and_a_value_on_a_bound_counts_in_it():
    metrics = Metrics()
    metrics.record(result(True, phases={**ALL_PHASES, "total": 0.25}))
    metrics.record(result(True, phases={**ALL_PHASES, "total": 45.0}))  # beyond the last bound: +Inf only

    def buckets(parsed: dict, phase: str) -> dict[str, float]:
        return {dict(labels)["le"]: count for (name, labels), count in parsed.items()
                if name == "probe_phase_duration_seconds_bucket" and ("phase", phase) in labels}

    for text in (metrics.exposition().decode(), generate_latest(metrics.registry).decode()):
        parsed = samples(text)
        total = buckets(parsed, "total")
        assert list(total) == [*(str(float(bound)) for bound in PHASE_BUCKETS), "+Inf"]
        assert total["0.1"] == 0 and total["0.25"] == 1 and total["30.0"] == 1 and total["+Inf"] == 2
        for phase in set(PHASES) - {"total"}:
            assert buckets(parsed, phase) == {"+Inf": 2}, phase


def test_error_text_never_becomes_a_label():
    metrics = Metrics()
    metrics.record(result(False, reason=Reason.HTTP_STATUS, error="status 503 Máy chủ đang bận, id=93412"))
    for text in (generate_latest(metrics.registry).decode(), metrics.exposition().decode()):
        assert "93412" not in text and "Máy chủ" not in text
        assert 'result="http_status"' in text


def test_unreliable_results_stay_out_of_the_platform_series():
    metrics = Metrics()
    metrics.record(result(True, unreliable=True, phases={"total": 2.0}))
    assert value(metrics, "monitor_unreliable_results_total") == 1
    assert value(metrics, "probe_phase_duration_seconds_count", phase="total") is None
    assert value(metrics, "probe_success") is None
    assert value(metrics, "probe_results_total", result="success") is None
    assert value(metrics, "probe_last_run_timestamp_seconds") == 1_780_000_000.0


def test_build_info_and_non_http_kinds():
    metrics = Metrics()
    metrics.record(result(True, kind="tls", check="cert", cert_expiry=1_790_000_000.0, phases={"tls": 0.01}))
    assert metrics.registry.get_sample_value("monitor_build_info", {"version": __version__}) == 1
    assert value(metrics, "probe_http_status_code", check="cert") is None  # only HTTP checks have one
    assert value(metrics, "probe_ssl_earliest_cert_expiry", check="cert") == 1_790_000_000.0


def test_promtool_accepts_the_served_exposition():
    """Lint what a scrape really gets, with every series family populated."""
    body, headers = fetch(filled())
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    for name in ("probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_ssl_earliest_cert_expiry",
                 "probe_last_run_timestamp_seconds", "probe_results_total", "probe_phase_duration_seconds_bucket",
                 "monitor_unreliable_results_total", "monitor_scheduler_lag_seconds_bucket",
                 "monitor_probes_skipped_total", "monitor_store_pending_results", "platform_incident_open",
                 "monitor_build_info"):
        assert f"\n{name}{{".encode() in body or f"\n{name} ".encode() in body, name
    lint = subprocess.run([tool("promtool"), "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr


def test_a_scrape_parses_back_to_what_was_recorded_once_per_family():
    metrics = filled()
    body, _ = fetch(metrics)
    text = body.decode()
    served = samples(text)
    # the same samples as the registry's own (slow) path, none of them twice
    assert served == samples(generate_latest(metrics.registry).decode())
    families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert [name for name, seen in Counter(families).items() if seen > 1] == []

    def got(name: str, **labels) -> float:
        return served[(name, frozenset({**LABELS, **labels}.items()))]

    assert got("probe_success") == 0 and got("probe_duration_seconds") == 0.5
    assert got("probe_ssl_earliest_cert_expiry") == 1_790_000_000.5
    assert got("probe_last_run_timestamp_seconds") == 1_780_000_060.0
    assert got("probe_results_total", result="success") == 1 and got("probe_results_total", result="dns") == 1
    assert got("monitor_unreliable_results_total") == 1
    assert got("monitor_probes_skipped_total", why="overlap") == 1
    assert got("probe_phase_duration_seconds_sum", phase="transfer") == 0.05
    assert got("probe_phase_duration_seconds_bucket", phase="total", le="0.5") == 1
    assert served[("monitor_store_pending_results", frozenset())] == 3


def test_label_values_are_escaped_and_read_back_intact():
    weird = 'we"ird\\na\nme'
    body, _ = fetch(filled())
    assert b'check="we\\"ird\\\\na\\nme"' in body
    served = samples(body.decode())
    labels = frozenset({**LABELS, "check": weird}.items())
    assert served[("probe_ssl_earliest_cert_expiry", labels)] == 1_790_000_000.5
    assert served[("probe_phase_duration_seconds_count", labels | {("phase", "total")})] == 1


@pytest.mark.parametrize("accept", [None, OPENMETRICS_ACCEPT])
def test_gzip_when_accepted_and_always_the_text_format(accept):
    metrics = filled()
    extra = {"Accept": accept} if accept else {}
    (plain, plain_headers), (zipped, zipped_headers), (refused, refused_headers) = fetch_each(
        metrics, extra, {**extra, "Accept-Encoding": "deflate, gzip;q=0.8"}, {**extra, "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in plain_headers
    assert zipped_headers["Content-Encoding"] == "gzip"
    for headers in (plain_headers, zipped_headers):
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert gzip.decompress(zipped) == plain
    assert "Content-Encoding" not in refused_headers and refused == plain


@pytest.mark.slow  # scrapes racing records for seconds
def test_a_scrape_during_records_never_sees_half_a_result():
    """count is always the +Inf bucket, buckets never decrease, and a series' total count matches its successes."""
    metrics = Metrics()
    checks = [f"c{i}" for i in range(50)]
    for check in checks:
        metrics.register_check("p", check, "hanoi")
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            n += 1
            metrics.record(result(True, platform="p", check=checks[n % len(checks)],
                                  phases={**ALL_PHASES, "total": (n % 40) / 10}))

    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a torn read would show up
    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(10):
            histograms: dict[frozenset, dict] = {}
            successes: dict[frozenset, float] = {}
            for (name, labels), number in samples(metrics.exposition().decode()).items():
                plain = frozenset((k, v) for k, v in labels if k not in ("le", "phase", "result"))
                if name == "probe_results_total":
                    successes[plain] = number
                elif name.startswith("probe_phase_duration_seconds") and ("phase", "total") in labels:
                    entry = histograms.setdefault(plain, {"buckets": {}})
                    if name.endswith("_bucket"):
                        entry["buckets"][float(dict(labels)["le"])] = number
                    elif name.endswith("_count"):
                        entry["count"] = number
            for series, entry in histograms.items():
                counts = [entry["buckets"][le] for le in sorted(entry["buckets"])]
                assert counts == sorted(counts), series
                assert entry["count"] == counts[-1] == successes[series], series
    finally:
        stop.set()
        writer.join()
        sys.setswitchinterval(previous_interval)


def test_shipped_prometheus_scrape_config_is_valid():
    config = Path(__file__).resolve().parent.parent / "deploy" / "prometheus.yml"
    check = subprocess.run([tool("promtool"), "check", "config", str(config)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("number_", [0.0, 1.0, 200.0, 0.31, 1e-7, 123456.5, 1234567.0, 1_780_000_030.0, 1e16, 1e300,
                                     -2.5, -12345678.0, float("inf"), float("-inf"), float("nan")])
def test_values_are_written_as_prometheus_client_writes_them(number_):
    from prometheus_client.utils import floatToGoString

    from monitor.exposition import count, number

    assert number(number_) == floatToGoString(number_)
    if 0 <= number_ < 1e300 and number_ == int(number_):
        assert count(int(number_)) == floatToGoString(number_)


def test_peak_time_follows_the_vietnamese_calendar():
    import datetime as dt

    from monitor.localtime import VIETNAM
    from monitor.workcalendar import PeakHours

    now = {"t": 0.0}
    metrics = Metrics()
    metrics.track_peak_hours(PeakHours.parse(["07:30-11:00", "13:30-16:30"]), clock=lambda: now["t"])

    def at(*when: int) -> float | None:
        now["t"] = dt.datetime(*when, tzinfo=VIETNAM).timestamp()
        return metrics.registry.get_sample_value("monitor_peak_time")

    assert at(2026, 6, 3, 9, 0) == 1.0  # Wednesday morning
    assert at(2026, 6, 3, 12, 0) == 0.0  # lunch
    assert at(2026, 6, 6, 9, 0) == 0.0  # Saturday
    assert at(2026, 9, 2, 9, 0) == 0.0  # Wednesday, but Quốc khánh: PromQL alone would call it peak


def test_every_failure_reason_of_a_check_kind_starts_at_zero():
    metrics = Metrics()
    metrics.register_check("gqthc", "home", "hanoi", "http")
    metrics.register_check("gqthc", "dns", "hanoi", "dns")
    found = samples(fetch(metrics)[0].decode())

    def reasons(check: str) -> dict[str, float]:
        return {dict(labels)["result"]: v for (name, labels), v in found.items()
                if name == "probe_results_total" and dict(labels)["check"] == check}

    assert reasons("home") == {"success": 0.0, **{reason.value: 0.0 for reason in Reason}}
    assert reasons("dns") == {"success": 0.0, "dns": 0.0, "timeout": 0.0, "other": 0.0}
    metrics.record(result(False, platform="gqthc", check="home", reason=Reason.HTTP_STATUS))
    assert samples(fetch(metrics)[0].decode())[
        ("probe_results_total", frozenset({"platform": "gqthc", "check": "home", "location": "hanoi",
                                           "result": "http_status"}.items()))] == 1.0

"""Metrics: the DESIGN.md contract, read back from a fresh registry; promtool lints the real exposition."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request

import pytest
from prometheus_client import generate_latest

from monitor import __version__
from monitor.metrics import Metrics, serve
from monitor.result import ProbeResult, Reason

LABELS = {"platform": "sotaydangvien", "check": "home", "location": "hanoi"}


def result(success: bool, **fields) -> ProbeResult:
    base = dict(platform="sotaydangvien", check="home", kind="http", location="hanoi", started_at=1_780_000_000.0,
                success=success, duration=0.5)
    return ProbeResult(**{**base, **fields})


def value(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, {**LABELS, **labels})


def test_success_then_failure_keeps_every_result_and_the_last_state():
    metrics = Metrics()
    metrics.register_check("sotaydangvien", "home", "hanoi")
    assert value(metrics, "probe_results_total", result="success") == 0  # rate() works from the start
    metrics.record(result(True, status_code=200, cert_expiry=1_790_000_000.0,
                          phases={"resolve": 0.01, "connect": 0.02, "tls": 0.03, "processing": 0.2,
                                  "transfer": 0.05, "total": 0.31}))
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
    assert value(metrics, "probe_phase_duration_seconds_bucket", phase="processing", le="0.25") == 1
    assert value(metrics, "probe_phase_duration_seconds_bucket", phase="processing", le="0.1") == 0


def test_error_text_never_becomes_a_label():
    metrics = Metrics()
    metrics.record(result(False, reason=Reason.HTTP_STATUS, error="status 503 Máy chủ đang bận, id=93412"))
    text = generate_latest(metrics.registry).decode()
    assert "93412" not in text and "Máy chủ" not in text
    assert 'result="http_status"' in text


def test_unreliable_results_stay_out_of_the_platform_series():
    metrics = Metrics()
    metrics.record(result(True, unreliable=True, phases={"total": 2.0}))
    assert value(metrics, "monitor_unreliable_results_total") == 1
    assert value(metrics, "probe_phase_duration_seconds_count", phase="total") is None
    assert value(metrics, "probe_success") is None
    assert value(metrics, "probe_last_run_timestamp_seconds") == 1_780_000_000.0


def test_build_info_and_non_http_kinds():
    metrics = Metrics()
    metrics.record(result(True, kind="tls", check="cert", cert_expiry=1_790_000_000.0, phases={"tls": 0.01}))
    assert metrics.registry.get_sample_value("monitor_build_info", {"version": __version__}) == 1
    assert value(metrics, "probe_http_status_code", check="cert") is None  # only HTTP checks have one
    assert value(metrics, "probe_ssl_earliest_cert_expiry", check="cert") == 1_790_000_000.0


def test_promtool_accepts_the_served_exposition():
    """Lint what a scrape really gets, with every series family populated."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run the README test command, which installs the Debian package prometheus"
    metrics = Metrics()
    metrics.register_check("sotaydangvien", "home", "hanoi")
    metrics.record(result(True, status_code=200, cert_expiry=1_790_000_000.0, phases={"connect": 0.01, "total": 0.1}))
    metrics.record(result(False, reason=Reason.DNS, error="x"))
    metrics.record(result(True, unreliable=True))
    metrics.scheduler_lag.observe(0.002)
    metrics.loop_lag.observe(0.001)
    metrics.skipped.labels("sotaydangvien", "home", "hanoi", "overlap").inc()
    metrics.store_pending.set(3)
    server, _ = serve(metrics, "127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5).read()
    finally:
        server.shutdown()
        server.server_close()
    for name in ("probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_ssl_earliest_cert_expiry",
                 "probe_last_run_timestamp_seconds", "probe_results_total", "probe_phase_duration_seconds_bucket",
                 "monitor_scheduler_lag_seconds_bucket", "monitor_probes_skipped_total",
                 "monitor_store_pending_results", "monitor_build_info"):
        assert f"\n{name}{{".encode() in body or f"\n{name} ".encode() in body, name
    lint = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr


def test_shipped_prometheus_scrape_config_is_valid():
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run the README test command"
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "deploy" / "prometheus.yml"
    check = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr

"""``monitor run`` as a real process: serves metrics, stores results, survives kill -9, stops cleanly."""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request

import pytest

from monitor.localtime import format_datetime
from monitor.store import open_store
from tests.daemon import Daemon, write_checks


@pytest.fixture
def daemon_factory():
    started: list[Daemon] = []

    def start(*args, **kwargs) -> Daemon:
        daemon = Daemon(*args, **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


def test_run_serves_metrics_stores_results_and_stops_cleanly_on_sigterm(http_port, tmp_path, daemon_factory,
                                                                      monkeypatch):
    monkeypatch.setenv("MONITOR_LOG_LEVEL", "DEBUG")  # per-batch store lines are DEBUG
    store = tmp_path / "history.db"
    daemon = daemon_factory(write_checks(tmp_path, http_port), store)
    url = daemon.metrics_url()
    assert re.match(r"http://127\.0\.0\.1:\d+/metrics", url)  # loopback unless configured otherwise
    daemon.wait_for(r"sotaydangvien\s+Sổ tay đảng viên điện tử: c0 \(http every 1s\)")
    daemon.wait_for(r"stored batch of \d+ results", stream="stderr")
    # log times as people here read them: dd/mm/yyyy, Asia/Ho_Chi_Minh (the host runs on UTC)
    stamp = daemon.wait_for(r"^(\d{2}/\d{2}/\d{4} \d{2}):\d{2}:\d{2} +INFO", stream="stderr").group(1)
    assert stamp == format_datetime(time.time())[:13] or stamp == format_datetime(time.time() - 60)[:13]
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    assert re.search(r'probe_success\{check="c0",location="local",platform="sotaydangvien"\} 1\.0', body)
    lint = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=body.encode(),
                          capture_output=True, timeout=30)
    assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(15) == 0
    stopped = daemon.wait_for(r"stopped; (\d+) results stored this run", stream="stderr")
    history = open_store(store)
    try:
        assert history.count_results() == int(stopped.group(1)) >= 2
        assert all(r.success and r.platform == "sotaydangvien" for r in history.recent_results(50))
    finally:
        history.close()


@pytest.mark.slow  # a real `monitor run` for seconds
def test_sigterm_waits_for_probes_in_flight(loop_thread, tmp_path, daemon_factory):
    """A probe running when SIGTERM arrives finishes (within the grace) and is stored."""
    import asyncio
    import threading

    from tests.servers import start_server

    arrived = threading.Event()

    async def slow(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        await asyncio.sleep(1.5)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    port = loop_thread.run(start_server(slow)).port
    checks = tmp_path / "slow.yml"
    checks.write_text(
        "platforms:\n  - id: gqthc\n    name: Hệ thống giải quyết thủ tục hành chính\n    checks:\n"
        f'      - {{id: slow, kind: http, url: "http://127.0.0.1:{port}/", interval: 5s, timeout: 4s}}\n',
        encoding="utf-8")
    daemon = daemon_factory(checks, tmp_path / "h.db")
    assert arrived.wait(10)  # the first run is waiting for our answer
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(15) == 0
    history = open_store(tmp_path / "h.db")
    try:
        results = history.recent_results(10)
    finally:
        history.close()
    assert len(results) == 1 and results[0].success and results[0].phases["processing"] > 1.4


@pytest.mark.slow  # a real `monitor run` for seconds
def test_kill_9_leaves_a_database_with_every_committed_batch(http_port, tmp_path, daemon_factory, monkeypatch):
    monkeypatch.setenv("MONITOR_LOG_LEVEL", "DEBUG")  # per-batch store lines are DEBUG
    store = tmp_path / "history.db"
    daemon = daemon_factory(write_checks(tmp_path, http_port, interval="200ms", timeout="150ms", count=8), store)
    daemon.metrics_url()
    committed = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and committed < 60:
        matches = [re.search(r"stored batch of \d+ results \((\d+) this run\)", line) for line in daemon.stderr]
        committed = max([int(m.group(1)) for m in matches if m] or [0])
        time.sleep(0.05)
    daemon.process.send_signal(signal.SIGKILL)  # no chance to flush or close
    daemon.process.wait(10)
    assert committed >= 60
    connection = sqlite3.connect(store)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = connection.execute("SELECT count(*) FROM results").fetchone()[0]
    finally:
        connection.close()
    assert stored >= committed
    history = open_store(store)  # and the monitor itself opens it again
    try:
        assert history.count_results() == stored
    finally:
        history.close()


def test_invalid_config_starts_nothing(tmp_path, daemon_factory):
    checks = tmp_path / "bad.yml"
    checks.write_text("platforms:\n  - id: gqthc\n    name: x\n    colour: red\n", encoding="utf-8")
    daemon = daemon_factory(checks, tmp_path / "never.db")
    assert daemon.process.wait(15) == 2
    daemon.wait_for(re.escape(f"{checks}:4: platform 'gqthc': colour: unknown key"), stream="stderr")
    assert not (tmp_path / "never.db").exists()
    assert not daemon.stdout  # no metrics address: nothing was served


@pytest.mark.slow  # a real `monitor run` for seconds
def test_an_outage_shows_as_an_open_incident_in_the_metrics(tmp_path, daemon_factory):
    from tests.servers import closed_port

    daemon = daemon_factory(write_checks(tmp_path, closed_port(), count=1), tmp_path / "history.db")
    url = daemon.metrics_url()
    series = 'platform_incident_open{kind="%s",platform="sotaydangvien"} %s'
    first = urllib.request.urlopen(url, timeout=5).read().decode()
    assert series % ("down", "0.0") in first  # "no incident" is a value from the start
    deadline = time.monotonic() + 20  # three failures at 1 s, then the next recomputation
    while time.monotonic() < deadline:
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        if series % ("down", "1.0") in body:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"no open incident in {body}")
    assert series % ("degraded", "0.0") in body

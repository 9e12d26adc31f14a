"""The report benchmark's generated history holds what it claims, and ``monitor report`` runs on it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bench.history import INTERVAL, LOCATIONS, WEEK, catalog_yaml, generate, plan_events
from monitor.config import load_catalog
from monitor.localtime import local
from monitor.workcalendar import bulletin_week

pytestmark = pytest.mark.slow  # the benchmark's own tests

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("history"), platforms=3, days=1, seed=7)


def test_counts_per_platform_and_location(history):
    per_stream = 86400 / INTERVAL
    assert history.results == 3 * len(LOCATIONS) * per_stream
    with sqlite3.connect(history.store) as db:
        rows = db.execute("SELECT platform, location, count(*), min(started_at), max(started_at) FROM results "
                          "GROUP BY platform, location").fetchall()
    assert {(p, loc) for p, loc, *_ in rows} == {(p, loc) for p in history.platforms for loc in LOCATIONS}
    start, _ = bulletin_week(WEEK)
    for _, _, count, first, last in rows:
        assert count == per_stream
        assert start <= first < start + INTERVAL and last < start + 86400


def test_results_look_like_probes(history):
    with sqlite3.connect(history.store) as db:
        ok, failed = db.execute("SELECT sum(success), sum(1 - success) FROM results").fetchone()
        broken = db.execute("SELECT count(*) FROM results WHERE success AND NOT unreliable "
                            "AND (total_s IS NULL OR status_code != 200 "
                            "OR abs(resolve_s + connect_s + tls_s + processing_s + transfer_s - total_s) > 1e-9)"
                            ).fetchone()[0]
        reasons = {r for (r,) in db.execute("SELECT DISTINCT reason FROM results WHERE NOT success")}
        phases_of_failures = db.execute("SELECT count(*) FROM results WHERE NOT success AND total_s IS NOT NULL"
                                        ).fetchone()[0]
    assert failed > 0 and ok / (ok + failed) > 0.9
    assert broken == 0 and phases_of_failures == 0
    assert reasons <= {"connect_timeout", "connect_refused", "http_status", "read_timeout", "protocol"}


def test_deterministic_events_and_catalog(history):
    start, end = bulletin_week(WEEK)
    assert plan_events(history.platforms, start, end, 7) == plan_events(history.platforms, start, end, 7)
    text = catalog_yaml(50)
    assert unicodedata.is_normalized("NFC", text)
    catalog = load_catalog([history.checks])
    assert [p.id for p in catalog.platforms] == list(history.platforms)
    assert all(p.monitored and p.domains[0].endswith(".example.test") for p in catalog.platforms)


@pytest.mark.timeout(300)
def test_monitor_report_runs_on_the_generated_day(history, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {
        "MONITOR_STORE": str(history.store), "MONITOR_CHECKS": f'["{history.checks}"]',
        "MONITOR_REPORTS": str(tmp_path / "reports"), "COLUMNS": "160"}

    def monitor(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    monitor("complaints", "import", str(history.complaints))
    start, _ = bulletin_week(WEEK)
    day = f"{local(start):%d/%m/%Y}"
    monitor("report", "--from", day, "--to", day, "--quiet")
    markdown = next((tmp_path / "reports").glob("bao-cao-*.md")).read_text(encoding="utf-8")
    assert "Hệ thống quản lý đảng viên" in markdown

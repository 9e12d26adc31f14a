"""``monitor simulate`` and ``monitor demo`` as an operator runs them, against the real lab."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import open_store
from monitor.workcalendar import bulletin_week

pytestmark = pytest.mark.slow  # a simulated day and the demo, as an operator runs them

REPO = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/pakn-sample.csv: a clone of the repository stands alone.
SAMPLE = REPO / "tests" / "fixtures" / "pakn-sample.csv"
MONITORED = {"gqthc", "quantri-gqthc", "dichvucong", "sotaydangvien", "pakn"}


def monitor(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def test_simulate_one_day_stores_simulated_results_truth_and_a_readable_export(tmp_path):
    done = monitor("simulate", "--week", "2026-W23", "--days", "1", "--interval", "10m", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    start, _ = bulletin_week("2026-W23")
    history = open_store(tmp_path / "monitor.db")
    try:
        results = history.results_between(0, 4e9)
    finally:
        history.close()
    assert len(results) == 13 * 144  # 13 checks, every 10 minutes for one day
    assert all(start <= r.started_at < start + 86400 for r in results)  # stamped in simulated time
    assert {r.platform for r in results} == MONITORED
    morning = dt.datetime(2026, 5, 29, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()
    assert any(abs(r.started_at - morning) < 1 for r in results)

    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert truth and all(start <= event["start"] < start + 86400 for event in truth)
    assert any(event["kind"] == "congestion" and event["platform"] == "sotaydangvien" for event in truth)

    with (tmp_path / "pakn-2026-W23.csv").open(encoding="utf-8-sig", newline="") as export:
        rows = list(csv.DictReader(export))
    if SAMPLE.exists():
        with SAMPLE.open(encoding="utf-8-sig", newline="") as sample:
            assert list(csv.DictReader(sample).fieldnames) == list(rows[0].keys())
    assert rows and all(dt.datetime.strptime(row["Thời gian tiếp nhận"], "%d/%m/%Y %H:%M") for row in rows)
    belongs = [json.loads(line) for line in (tmp_path / "complaints-truth.jsonl").read_text().splitlines()]
    assert {c["id"] for c in belongs} == {row["Mã PAKN"] for row in rows}
    assert {c["event_id"] for c in belongs if c["event_id"]} <= {event["id"] for event in truth}
    assert "Tuần 2026-W23: 1872 results" in done.stdout


def test_demo_runs_for_its_duration_and_probes_every_monitored_platform(tmp_path):
    done = monitor("demo", "--duration", "20", "--dir", str(tmp_path), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "metrics at http://127.0.0.1:" in done.stdout
    history = open_store(tmp_path / "demo.db")
    try:
        results = history.results_between(0, 4e9)
    finally:
        history.close()
    assert {r.platform for r in results} == MONITORED
    assert all(r.location == "demo" for r in results)
    # it ends by writing the report of the simulated morning (20 s at 150x: Monday 08:00 to about 08:50)
    report = (tmp_path / "reports" / "bao-cao-demo.md").read_text(encoding="utf-8")
    assert "báo cáo: " in done.stdout and "## 5.4. Sự cố trong kỳ báo cáo" in report
    assert "Sổ tay đảng viên điện tử" in report
    assert (tmp_path / "reports" / "bao-cao-demo.docx").stat().st_size > 10_000
    # ... and the truth side by side: Dịch vụ công's 504s from 08:05 are found as an outage, and no verdict
    # contradicts the lab.
    line = next(line for line in done.stdout.splitlines() if "gateway_504" in line)
    assert "dichvucong" in line and "down/down" in line and "đúng" in line, done.stdout
    assert "0 kết luận trái với sự thật" in done.stdout


def test_demo_stops_cleanly_on_ctrl_c(tmp_path):
    import re
    import signal
    import urllib.request

    from tests.waiting import wait_until

    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "demo", "--dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # "lab: ...; metrics at ..." once everything runs
        metrics = re.search(r"metrics at (http://127\.0\.0\.1:\d+/metrics)", first)
        assert metrics, first

        def probed() -> float:  # results the demo has counted so far, on its own /metrics
            body = urllib.request.urlopen(metrics.group(1), timeout=5).read().decode()
            return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                       if line.startswith("probe_results_total{"))

        # interrupted while it is probing, not while it starts: once results are coming in
        seen = wait_until(probed, timeout=60, what="the demo's first probe results", poll=0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    stored = re.search(r"(\d+) results stored in", out)
    assert stored and int(stored.group(1)) >= seen, out  # everything it had counted was stored

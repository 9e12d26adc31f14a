"""``monitor simulate`` at coarse intervals: complaint verdicts never contradict the lab's truth, and the
run ends with the truth side by side.

The lab's complaints come with their true cause (``complaints-truth.jsonl``). At every interval a
complaint the lab caused must never be stored as ``not_measured`` ("the platform was fine, likely the
commune's link"), and a complaint no lab event caused must never be ``corroborated``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import open_store

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize("interval", ["5m", "10m", "20m"])
def test_verdicts_agree_with_the_labs_truth_at_coarse_intervals(tmp_path, interval):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "simulate", "--week", "2026-W23", "--days", "2",
                           "--interval", interval, "--dir", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=540)
    assert done.returncode == 0, done.stdout + done.stderr
    truth_text = (tmp_path / "complaints-truth.jsonl").read_text(encoding="utf-8")
    truth = [json.loads(line) for line in truth_text.splitlines()]
    store = open_store(tmp_path / "monitor.db")
    try:
        matches = store.matches_for([row["id"] for row in truth])
    finally:
        store.close()
    verdict = {(m.complaint_id, m.platform): m.status.value for m in matches}
    caused = [row for row in truth if row["event_id"]]
    unrelated = [row for row in truth if not row["event_id"]]
    assert caused and unrelated
    assert all((row["id"], row["platform"]) in verdict for row in caused)  # simulate imported and matched them
    assert [r["id"] for r in caused if verdict[(r["id"], r["platform"])] == "not_measured"] == []
    assert [r["id"] for r in unrelated if verdict.get((r["id"], r["platform"])) == "corroborated"] == []
    # ... and says so, beside each scripted event of the two days (Friday's 40-minute error page).
    assert "0 kết luận trái với sự thật" in done.stdout
    assert "dichvucong" in done.stdout and "wrong_content" in done.stdout
    expected = "quá ngắn" if interval == "20m" else "đúng"  # 40 minutes at 20 m is two probes: nothing to confirm
    line = next(line for line in done.stdout.splitlines() if "wrong_content" in line)
    assert expected in line, line

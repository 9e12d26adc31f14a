"""The ``monitor`` command as an operator runs it: exact output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon import write_checks

REPO = Path(__file__).resolve().parent.parent


def monitor(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env=env)


def test_config_check_on_the_shipped_checks():
    done = monitor("config", "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "configuration OK: 6 platforms (5 monitored), 13 checks"
    assert "hdh-tacnghiep: Hệ điều hành tác nghiệp — unmonitored (no known address)" in done.stdout


def test_config_check_reports_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "platforms:\n"
        "  - id: gqthc\n"
        "    name: Hệ thống giải quyết TTHC\n"
        "    checks:\n"
        "      - {id: home, kind: http, url: 'https://gqthc.dcs.vn/', interval: 10s, timeout: 10s}\n"
        "      - {id: ftp, kind: ftp}\n",
        encoding="utf-8")
    done = monitor("config", "check", "--checks", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{bad}:5: platform 'gqthc', check 'home': timeout: must be shorter than interval (10s >= 10s)",
        f"{bad}:6: platform 'gqthc', check 'ftp': kind: unknown check kind 'ftp' "
        "(expected one of: dns, http, tcp, tls)",
        "2 configuration problem(s); nothing started",
    ]


def test_check_prints_phases_that_agree_with_the_servers_delay(http_port, tmp_path):
    # The server holds each request 120 ms (asyncio never wakes early); the probe cannot take longer than
    # the command that ran it. Bounds from both sides, none of them a guess at the machine's speed.
    began = time.perf_counter()
    done = monitor("check", f"http://127.0.0.1:{http_port}/delay/120", "--json")
    elapsed = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["success"] and result["status_code"] == 200 and result["reason"] is None
    assert 0.12 - 1e-3 <= result["phases"]["processing"] <= result["phases"]["total"] <= elapsed

    began = time.perf_counter()
    shown = monitor("check", f"http://127.0.0.1:{http_port}/delay/120")
    elapsed = time.perf_counter() - began
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    head = lines.index("adhoc/adhoc: success · HTTP 200")
    assert lines[head + 1].split() == ["resolve", "connect", "tls", "processing", "transfer", "total", "(ms)"]
    cells = lines[head + 2].split()
    assert cells[0] == "—" and cells[2] == "—"  # no name to resolve, no TLS on plain HTTP
    assert 120 - 1 <= float(cells[3]) <= float(cells[5]) <= elapsed * 1000  # milliseconds
    assert lines[head + 3] == f"  peer 127.0.0.1:{http_port}"


def test_check_a_platform_from_the_checks_file_and_fail_with_exit_1(http_port, tmp_path):
    checks = write_checks(tmp_path, http_port, count=1)
    ok = monitor("check", "sotaydangvien", "--checks", str(checks))
    assert ok.returncode == 0 and "sotaydangvien/c0" in ok.stdout
    failing = monitor("check", f"http://127.0.0.1:{http_port}/status/503")
    assert failing.returncode == 1
    lines = failing.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("adhoc/adhoc: http_status · HTTP 503 after "))
    assert lines[head + 1] == "  status 503 X"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nope", "monitor: no platform 'nope' (known: gqthc, quantri-gqthc, dichvucong, sotaydangvien, pakn, "
                 "hdh-tacnghiep); or give a URL"),
        ("gqthc/nope", "monitor: platform 'gqthc' has no check 'nope' (checks: home, cert, dns)"),
        ("hdh-tacnghiep", "monitor: platform 'hdh-tacnghiep' (Hệ điều hành tác nghiệp) has no checks: "
                          "it is unmonitored"),
    ],
)
def test_check_unknown_targets_exit_2_without_probing(target, message):
    done = monitor("check", target)
    assert done.returncode == 2 and done.stderr.strip() == message


def test_results_lists_what_the_store_holds(http_port, tmp_path):
    from monitor.result import ProbeResult, Reason
    from monitor.store import open_store

    store = open_store(tmp_path / "h.db")
    store.add_results([
        ProbeResult("gqthc", "home", "http", "hanoi", 1_780_000_000.0, True, 0.2, status_code=200,
                    phases={"total": 0.2}),
        ProbeResult("gqthc", "home", "http", "hanoi", 1_780_000_030.0, False, 10.0, reason=Reason.READ_TIMEOUT,
                    error="deadline of 10s exceeded during processing"),
        ProbeResult("pakn", "home", "http", "hanoi", 1_780_000_040.0, True, 0.1, status_code=200),
    ])
    store.close()
    done = monitor("results", "--store", str(tmp_path / "h.db"), "--platform", "gqthc")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "gqthc/home" in line]
    assert len(rows) == 2 and "pakn" not in done.stdout
    assert "29/05/2026 03:27:10" in rows[0] and "read_timeout" in rows[0]  # newest first, Vietnam time
    as_json = json.loads(monitor("results", "--store", str(tmp_path / "h.db"), "--json", "-n", "1").stdout)
    assert [r["platform"] for r in as_json] == ["pakn"]


def test_results_without_history_says_what_to_do(tmp_path):
    done = monitor("results", "--store", str(tmp_path / "none.db"))
    assert done.returncode == 2 and "start `monitor run` first" in done.stderr

"""``monitor status-page`` and ``monitor incidents note`` as an operator runs them: real processes, a real store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.store import open_store
from tests.test_statuspage import CHECKS, run


def monitor(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def setup(tmp_path: Path):
    checks = tmp_path / "checks.yml"
    checks.write_text(CHECKS, encoding="utf-8")
    path = tmp_path / "monitor.db"
    store = open_store(path)
    now = time.time()
    store.add_results(run("gqthc", "." * 40 + "x" * 10, end=now))
    store.add_results(run("dichvucong", "." * 50, end=now))
    store.close()
    return ["--checks", str(checks), "--store", str(path)], path


def incident_id(common: list[str]) -> str:
    done = monitor("status-page", "--json", *common)
    assert done.returncode == 0, done.stderr
    (incident,) = json.loads(done.stdout)["incidents"]
    return str(incident["id"])


def test_a_note_is_stored_shown_and_removed(setup, tmp_path):
    common, _ = setup
    ident = incident_id(common)
    assert re.fullmatch(r"gqthc-\d{8}T\d{6}", ident)
    noted = monitor("incidents", "note", ident, "  Đang khắc phục <b>sự cố</b>\x07  ", *common)
    assert noted.returncode == 0, noted.stderr
    assert noted.stdout.strip() == f"đã ghi chú sự cố {ident}"
    written = monitor("status-page", "--out", str(tmp_path / "site"), *common)
    assert written.returncode == 0, written.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Đang khắc phục &lt;b&gt;sự cố&lt;/b&gt;" in html and "<b>" not in html
    data = json.loads((tmp_path / "site" / "api" / "v1" / "summary").read_text(encoding="utf-8"))
    assert data["incidents"][0]["note"] == "Đang khắc phục <b>sự cố</b>"  # trimmed, the control character out
    removed = monitor("incidents", "note", ident, "", *common)
    assert removed.returncode == 0 and removed.stdout.strip() == f"đã xoá ghi chú của sự cố {ident}"
    assert json.loads(monitor("status-page", "--json", *common).stdout)["incidents"][0]["note"] is None


def test_bad_input_is_one_line_saying_what_to_do(setup, tmp_path):
    common, _ = setup
    ident = incident_id(common)
    unknown = monitor("incidents", "note", "gqthc-20200101T000000", "x", *common)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert f"no incident 'gqthc-20200101T000000' in progress or in the last 7 days (recent ones: {ident})" \
        in unknown.stderr
    long = monitor("incidents", "note", ident, "x" * 501, *common)
    assert long.returncode == 2 and long.stderr.count("\n") == 1 and "at most 500" in long.stderr
    missing = monitor("status-page", "--json", "--checks", common[1], "--store", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no history at" in missing.stderr and "Traceback" not in missing.stderr


def test_status_page_serve(setup):
    common, _ = setup
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "status-page", "--serve", "--port", "0",
                                *common], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline() if process.stdout else ""
        found = re.search(r"(http://\S+/status)", line)
        assert found, (line, process.stderr.read() if process.stderr else "")
        page = httpx.get(found.group(1), timeout=30)
        assert page.status_code == 200 and "Gián đoạn" in page.text
        assert httpx.post(found.group(1), timeout=30).status_code == 405
    finally:
        process.terminate()
        process.wait(20)
    assert process.returncode == 0


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_monitor_run_serves_the_page_beside_metrics_unless_switched_off(tmp_path, http_port, enabled):
    from tests.daemon import Daemon, write_checks

    checks = write_checks(tmp_path, http_port, count=1)
    before = dict(os.environ)
    os.environ["MONITOR_STATUS_PAGE__ENABLED"] = enabled
    try:
        daemon = Daemon(checks, tmp_path / "monitor.db")
    finally:
        os.environ.clear()
        os.environ.update(before)
    try:
        metrics = daemon.metrics_url()
        base = metrics.removesuffix("/metrics")
        page = httpx.get(f"{base}/status", timeout=30)
        api = httpx.get(f"{base}/status/api/v1/summary", timeout=30)
        assert httpx.get(metrics, timeout=30).status_code == 200
        if enabled == "true":
            assert page.status_code == 200 and "Sổ tay đảng viên điện tử" in page.text
            assert api.json()["platforms"][0]["id"] == "sotaydangvien"
            assert daemon.wait_for(r"status page at (http://\S+/status)").group(1) == f"{base}/status"
        else:
            assert page.status_code == 404 and api.status_code == 404
        computing = page_processes(daemon.process.pid)
        assert len(computing) == (1 if enabled == "true" else 0)  # the page is computed in a process of its own
    finally:
        daemon.stop()  # SIGKILL: the page's process must not outlive it
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in computing) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in computing)


def page_processes(parent: int) -> list[int]:
    """The status page's processes (spawned by multiprocessing) of ``monitor run`` at ``parent``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(proc.name))
    return found

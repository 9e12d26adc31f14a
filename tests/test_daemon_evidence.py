"""``monitor run`` stores the incidents it measured (hourly, and when it stops), so ``monitor complaints list``
and Grafana see them without anyone running a command that writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.localtime import VIETNAM
from monitor.store import open_store
from tests.daemon import Daemon, write_checks
from tests.servers import closed_port

pytestmark = pytest.mark.slow  # a real `monitor run` until its incident is open, then stopped

ROOT = Path(__file__).resolve().parents[1]


def test_the_daemon_stores_the_incidents_it_measured(tmp_path):
    store = tmp_path / "history.db"
    checks = write_checks(tmp_path, closed_port(), count=1)
    daemon = Daemon(checks, store)
    try:
        url = daemon.metrics_url()
        deadline = time.monotonic() + 20  # three refused probes at 1 s, then the next recomputation
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            if 'platform_incident_open{kind="down",platform="sotaydangvien"} 1.0' in body:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no open incident in {body}")
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(30) == 0
    finally:
        daemon.stop()
    saved = daemon.wait_for(r"saved (\d+) incidents and (\d+) complaint verdicts of this bulletin week and the last",
                            stream="stderr")
    assert saved.group(1) == "1" and saved.group(2) == "0"

    history = open_store(store, read_only=True)
    try:
        [incident] = history.incidents_between(time.time() - 86400, time.time() + 86400)
    finally:
        history.close()
    assert (incident.platform, incident.kind) == ("sotaydangvien", "down")
    # what an operator reads afterwards is the same incident, recomputed by the read-only command
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"}
    since, until = (dt.datetime.fromtimestamp(t, VIETNAM).isoformat() for t in (incident.start - 3600, time.time()))
    listed = subprocess.run([sys.executable, "-m", "monitor.cli", "incidents", "--from", since, "--to", until,
                             "--store", str(store), "--checks", str(checks), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [i["id"] for i in json.loads(listed.stdout)] == [incident.id]

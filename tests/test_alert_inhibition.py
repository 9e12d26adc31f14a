"""Inhibition in a real Alertmanager (alerts/alertmanager.yml, receivers swapped out by
deploy/local/render_alertmanager.py), alerts posted and read back with amtool.

MonitorNetworkDown at a location holds back the other alerts of that location (PlatformLocationDown,
the prober's own tickets), never another location's, and never an alert without a location.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from tests.e2e import REPO, Proc, free_port
from tests.tools import tool

RENDER = REPO / "deploy" / "local" / "render_alertmanager.py"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    import shutil
    import sys

    binary = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.fail("alertmanager is not installed: apt-get install prometheus-alertmanager (scripts/test does this)")
    directory = tmp_path_factory.mktemp("am")
    subprocess.run([sys.executable, str(RENDER), "--out", str(directory / "am.yml")], check=True, timeout=60)
    port = free_port()
    proc = Proc("alertmanager", [binary, f"--config.file={directory / 'am.yml'}",
                                 f"--storage.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--cluster.listen-address="])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=2).read()
            break
        except OSError:
            assert proc.alive() and time.monotonic() < deadline, "".join(proc.stderr)[-3000:]
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.stop()


def amtool(url: str, *args: str) -> str:
    done = subprocess.run([tool("amtool"), f"--alertmanager.url={url}", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shown(url: str, *flags: str) -> set[tuple[str, str, str]]:
    alerts = json.loads(amtool(url, "alert", "query", "-o", "json", *flags))
    return {(a["labels"]["alertname"], a["labels"].get("platform", ""), a["labels"].get("location", ""))
            for a in alerts}


def test_monitor_network_down_holds_back_the_alerts_of_its_location_only(alertmanager):
    posted = [
        ("MonitorNetworkDown", ["severity=page", "location=hanoi"]),
        ("PlatformLocationDown", ["severity=ticket", "platform=gqthc", "location=hanoi"]),
        ("PlatformLocationDown", ["severity=ticket", "platform=pakn", "location=hanoi"]),
        ("MonitorUnreliableResultsHigh", ["severity=ticket", "location=hanoi"]),
        ("PlatformLocationDown", ["severity=ticket", "platform=gqthc", "location=caobang"]),
        ("PlatformDown", ["severity=page", "platform=dichvucong"]),
    ]
    for name, labels in posted:
        amtool(alertmanager, "alert", "add", name, *labels, "--annotation=summary=test")
    expected_active = {("MonitorNetworkDown", "", "hanoi"), ("PlatformLocationDown", "gqthc", "caobang"),
                       ("PlatformDown", "dichvucong", "")}
    deadline = time.monotonic() + 20
    while shown(alertmanager) != expected_active and time.monotonic() < deadline:
        time.sleep(0.5)
    assert shown(alertmanager) == expected_active
    inhibited = shown(alertmanager, "--inhibited") - shown(alertmanager)
    assert inhibited == {("PlatformLocationDown", "gqthc", "hanoi"), ("PlatformLocationDown", "pakn", "hanoi"),
                         ("MonitorUnreliableResultsHigh", "", "hanoi")}

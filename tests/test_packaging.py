"""The monitor as a user installs it: a wheel in a fresh venv, run from an empty directory.

The default checks ship inside the package (``monitor/checks/``, a copy of the top-level
``checks/``); the settings look for ``--checks``, then ``MONITOR_CHECKS``, then ``./checks``,
then that copy.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_packaged_checks_are_the_repository_checks():
    shipped = {p.name: p.read_bytes() for p in (REPO / "monitor" / "checks").glob("*.y*ml")}
    source = {p.name: p.read_bytes() for p in (REPO / "checks").glob("*.y*ml")}
    assert shipped == source, "copy checks/*.yml to monitor/checks/ (they ship in the wheel)"


def test_the_checks_are_searched_in_the_documented_order(tmp_path, monkeypatch):
    from monitor.config.settings import Settings, packaged_checks

    for name in [k for k in os.environ if k.upper().startswith("MONITOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert Settings().checks == [packaged_checks()]  # nothing here: the packaged copy
    (tmp_path / "checks").mkdir()
    assert Settings().checks == [Path("checks")]  # ./checks when present
    monkeypatch.setenv("MONITOR_CHECKS", '["/etc/monitor/checks"]')
    assert Settings().checks == [Path("/etc/monitor/checks")]
    assert Settings(checks=[Path("mine.yml")]).checks == [Path("mine.yml")]  # --checks wins


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<html>ok</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.timeout(600)
def test_an_installed_wheel_works_from_an_empty_directory(tmp_path, loopback_server):
    """pip wheel, a fresh venv (dependencies from PyPI at the pinned versions), then the commands from nowhere."""
    wheels, venv, empty = tmp_path / "wheels", tmp_path / "venv", tmp_path / "empty"
    empty.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(wheels)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("party_platform_monitor-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "-c",
                                str(REPO / "constraints.txt")], capture_output=True, text=True, timeout=420)
    assert installed.returncode == 0, installed.stderr
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("MONITOR_", "PYTHON"))}
    env["COLUMNS"] = "80"

    def monitor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([str(venv / "bin" / "monitor"), *args], capture_output=True, text=True, cwd=empty,
                              env=env, timeout=timeout)
        assert "Traceback" not in done.stdout + done.stderr
        return done

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import monitor; print(monitor.__file__)"],
                           capture_output=True, text=True, cwd=empty, env=env, check=True).stdout
    assert where.startswith(str(venv)), where  # the installed copy, not the repository

    config = monitor("config", "check")
    assert config.returncode == 0, config.stderr
    assert config.stdout.splitlines()[0] == "configuration OK: 6 platforms (5 monitored), 13 checks"

    check = monitor("check", f"http://127.0.0.1:{loopback_server}/")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "adhoc/adhoc: success · HTTP 200" in check.stdout.splitlines()

    demo = monitor("demo", "--duration", "10", timeout=240)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert sorted(p.suffix for p in (empty / "var" / "demo" / "reports").iterdir() if p.suffix != ".png") == [
        ".docx", ".html", ".md"]
    assert list(empty.iterdir()) == [empty / "var"]  # it wrote only under var/

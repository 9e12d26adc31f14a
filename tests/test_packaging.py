"""The monitor as a user installs it: a wheel in a fresh venv, run from an empty directory.

The default checks ship inside the package (``monitor/checks/``, a copy of the top-level
``checks/``); the settings look for ``--checks``, then ``MONITOR_CHECKS``, then ``./checks``,
then that copy.

Dependencies (README, "Dependencies"): the lab's trustme is the extra ``lab``, which a prober's
install leaves out; grafana-client stays, and its urllib3-future may replace ``urllib3`` only
while nothing else here uses urllib3.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
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
    def do_GET(self):  # http.server's name
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


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_installed_wheel_works_from_an_empty_directory(tmp_path, loopback_server):
    """pip wheel, a fresh venv (dependencies from PyPI at the pinned versions), then the commands from nowhere."""
    wheels, venv, empty = tmp_path / "wheels", tmp_path / "venv", tmp_path / "empty"
    empty.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(wheels)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("party_platform_monitor-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)

    def pip_install(requirement: str) -> None:
        installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement, "-c",
                                    str(REPO / "constraints.txt")], capture_output=True, text=True, timeout=420,
                                   check=False)
        assert installed.returncode == 0, installed.stderr

    pip_install(str(wheel))  # as a prober is installed (deploy/): without the lab
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("MONITOR_", "PYTHON"))}
    env["COLUMNS"] = "80"

    def monitor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([str(venv / "bin" / "monitor"), *args], capture_output=True, text=True, cwd=empty,
                              env=env, timeout=timeout, check=False)
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

    for command in (["demo", "--duration", "10"], ["lab", "--dir", "lab"],  # without the extra: one line, what to do
                    ["simulate", "--days", "1", "--dir", "sim"]):
        missing = monitor(*command)
        assert missing.returncode == 2 and missing.stdout == "", missing.stdout + missing.stderr
        assert missing.stderr.count("\n") == 1 and "'party-platform-monitor[lab]'" in missing.stderr, missing.stderr
    assert list(empty.iterdir()) == []

    pip_install(f"{wheel}[lab]")
    demo = monitor("demo", "--duration", "10", timeout=240)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert sorted(p.suffix for p in (empty / "var" / "demo" / "reports").iterdir() if p.suffix != ".png") == [
        ".docx", ".html", ".md"]
    assert list(empty.iterdir()) == [empty / "var"]  # it wrote only under var/


# --- dependencies (README, "Dependencies") ---------------------------------------------------------------

LAB_ONLY = {"trustme", "cryptography", "cffi", "_cffi_backend", "pycparser"}
GRAFANA_ONLY = {"grafana_client", "niquests", "urllib3", "urllib3_future", "qh3", "jh2", "wassima"}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_the_lab_ca_is_an_extra_that_the_readme_installs_and_the_deployments_leave_out():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "trustme" not in _requirement_names(project["dependencies"]), "trustme belongs to the lab extra"
    assert "grafana-client" in _requirement_names(project["dependencies"]), "monitor grafana needs it (README)"
    extras = project["optional-dependencies"]
    assert "trustme" in _requirement_names(extras["lab"]) and "trustme" in _requirement_names(extras["test"])
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install -q -c constraints.txt -e '.[lab]'" in readme, "the quick start must install the lab"
    assert '-e ".[lab,test]"' in (REPO / "scripts" / "test").read_text(encoding="utf-8")
    dockerfile = (REPO / "deploy" / "compose" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"pip install -c constraints\.txt \.\s", dockerfile), "the prober image installs no extra"


def test_no_package_but_urllib3_future_uses_urllib3():
    """urllib3-future's wheel ships its own ``urllib3/`` and a ``.pth`` that copies itself over
    ``site-packages/urllib3`` at interpreter start. Harmless while nothing else imports urllib3; the
    day a package that needs the real one is installed here (requests, botocore, ...), it would
    silently run on urllib3-future: decide again (README, "Dependencies")."""
    users, providers = [], []
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        unconditional = [r for r in dist.requires or [] if "extra ==" not in r]
        if "urllib3" in _requirement_names(unconditional):
            users.append(name)
        if any(str(f).startswith("urllib3/") for f in dist.files or []):
            providers.append(name)
    assert users == [], f"{users} need urllib3: urllib3-future's .pth would replace it under them"
    assert providers in ([], ["urllib3-future"]), f"urllib3/ installed by {providers}"


@pytest.mark.parametrize("command", [["demo", "--duration", "1"], ["lab", "--dir", "unused"]])
def test_the_lab_without_its_extra_says_what_to_install_in_one_line(tmp_path, command):
    code = ("import sys; sys.modules['trustme'] = None  # as if not installed\n"
            "from monitor.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("monitor: the platform lab") and "'.[lab]'" in line, line
    assert list(tmp_path.iterdir()) == [], "nothing may be started or written"


def test_the_prober_imports_neither_the_lab_ca_nor_the_grafana_http_stack(tmp_path, loopback_server):
    """``monitor run`` end to end (probes stored, SIGTERM) without loading what only the lab and
    ``monitor grafana`` need: a prober installed without extras lacks nothing."""
    from tests.daemon import write_checks

    checks = write_checks(tmp_path, loopback_server, count=1)
    loaded = tmp_path / "modules.txt"
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: open({str(loaded)!r}, 'w').write(' '.join(sorted({{m.split('.')[0] for m in "
            "sys.modules}))))\n"
            "from monitor.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "MONITOR_LISTEN_PORT": "0", "MONITOR_SHUTDOWN_GRACE": "3", "COLUMNS": "400"}
    process = subprocess.Popen([sys.executable, "-c", code, "run", "--checks", str(checks),
                                "--store", str(tmp_path / "monitor.db")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        url = None
        for line in process.stdout:
            found = re.search(r"metrics at (http://\S+/metrics)", line)
            if found:
                url = found.group(1)
                break
        assert url, process.stderr.read() if process.poll() is not None else "no metrics address"
        deadline = time.monotonic() + 30
        while 'probe_success{' not in urllib.request.urlopen(url, timeout=5).read().decode():
            assert time.monotonic() < deadline, "no probe result within 30 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    modules = set(loaded.read_text().split())
    assert "monitor" in modules and not modules & (LAB_ONLY | GRAFANA_ONLY), sorted(modules & (LAB_ONLY | GRAFANA_ONLY))

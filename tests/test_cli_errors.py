"""No traceback reaches a user: every sub-command through a table of bad inputs, as an operator types them.

Each case runs ``monitor`` in a subprocess from an empty directory (so the checks come from the
package) and asserts the exact lines on stderr and the documented exit code: 2 for bad input,
1 for a failed probe. A ``Traceback`` anywhere fails the test.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitor.result import ProbeResult, Reason

PLATFORMS = "gqthc, quantri-gqthc, dichvucong, sotaydangvien, pakn, hdh-tacnghiep"
CHECKS_HINT = "name check files or directories with --checks PATH or MONITOR_CHECKS='[\"PATH\"]'"
JSON_HINT = ("cannot read the value: lists and mappings are JSON, e.g. MONITOR_CHECKS='[\"checks\"]' or "
             "MONITOR_PEAK_HOURS='[\"07:30-11:00\"]'")
INVALID = "invalid settings; nothing started"


def monitor(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 90):
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(("MONITOR_", "GRAFANA_"))}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env={**clean, "COLUMNS": "80", **(env or {})}, timeout=timeout)


@pytest.fixture
def busy_port():
    """A loopback port something already listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def store(tmp_path):
    """A history holding one result of gqthc/home."""
    from monitor.store import open_store

    path = tmp_path / "h.db"
    history = open_store(path)
    history.add_results([ProbeResult("gqthc", "home", "http", "hanoi", 1_780_000_000.0, True, 0.2, status_code=200,
                                     phases={"total": 0.2})])
    history.close()
    return path


# (arguments, environment, exit code, stderr lines, or argparse's error line after its usage);
# {tmp}, {busy}, {closed}, {store} are filled in.
CASES = [
    # run
    (["run", "--listen-port", "{busy}", "--store", "{tmp}/h.db"], {}, 2, [
        "monitor: cannot serve /metrics on 127.0.0.1:{busy}: Address already in use; stop what uses the port, "
        "or choose another with --listen-port or MONITOR_LISTEN_PORT"]),
    (["run", "--store", "{tmp}/h.db"], {"MONITOR_LISTEN_ADDRESS": "999.1.1.1"}, 2, [
        "settings: listen_address: '999.1.1.1' is neither an IP address nor a host name (e.g. 127.0.0.1, 0.0.0.0, "
        "::1) (set by MONITOR_LISTEN_ADDRESS or monitor.yml)", INVALID]),
    (["run", "--checks", "nope"], {}, 2, [
        f"nope ({{tmp}}/nope): checks not found; {CHECKS_HINT}", "1 configuration problem(s); nothing started"]),
    (["run", "--listen-port", "70000"], {}, 2, [
        "settings: listen_port: Input should be less than 65536 (set by MONITOR_LISTEN_PORT or monitor.yml)",
        INVALID]),
    # config check: settings that used to pass here and crash later
    (["config", "check"], {"MONITOR_CHECKS": "checks"}, 2, [f"settings: MONITOR_CHECKS: {JSON_HINT}"]),
    (["config", "check"], {"MONITOR_PEAK_HOURS": '["7:30-11:00", "13:30 16:30"]'}, 2, [
        "settings: peak_hours: invalid peak window '13:30 16:30' (use HH:MM-HH:MM, e.g. 07:30-11:00) "
        "(set by MONITOR_PEAK_HOURS or monitor.yml)", INVALID]),
    (["config", "check"], {"MONITOR_PEAK_HOURS": '["11:00-07:30"]'}, 2, [
        "settings: peak_hours: peak window 11:00-07:30: the end must come after the start "
        "(set by MONITOR_PEAK_HOURS or monitor.yml)", INVALID]),
    (["config", "check"], {"MONITOR_LISTEN_ADDRESS": "local host"}, 2, [
        "settings: listen_address: 'local host' is neither an IP address nor a host name (e.g. 127.0.0.1, "
        "0.0.0.0, ::1) (set by MONITOR_LISTEN_ADDRESS or monitor.yml)", INVALID]),
    (["config", "check"], {"MONITOR_INCIDENTS__WINDOW": "many"}, 2, [
        "settings: incidents.window: Input should be a valid integer, unable to parse string as an integer "
        "(set by MONITOR_INCIDENTS__WINDOW or monitor.yml)", INVALID]),
    (["config", "check"], {"MONITOR_INCIDENTS__WINDOWS": "5"}, 2, [  # nested: the settings refuse it too
        "monitor: warning: MONITOR_INCIDENTS__WINDOWS is not a setting and is ignored; "
        "did you mean MONITOR_INCIDENTS__WINDOW?",
        "settings: incidents.windows: unknown setting (set by MONITOR_INCIDENTS__WINDOWS or monitor.yml)", INVALID]),
    (["config", "check"], {"MONITOR_SETTINGS_FILE": "nosuch.yml"}, 2, [
        "nosuch.yml: settings file not found (named by MONITOR_SETTINGS_FILE)",
        "1 configuration problem(s); nothing started"]),
    (["config", "check", "--checks", "{tmp}/nope.yml"], {}, 2, [
        f"{{tmp}}/nope.yml: checks not found; {CHECKS_HINT}", "1 configuration problem(s); nothing started"]),
    # check
    (["check", "nosuch"], {}, 2, [f"monitor: no platform 'nosuch' (known: {PLATFORMS}); or give a URL"]),
    (["check", "gqthc/nosuch"], {}, 2, ["monitor: platform 'gqthc' has no check 'nosuch' (checks: home, cert, dns)"]),
    (["check", "ftp://example.vn/"], {}, 2, [
        "monitor: invalid URL 'ftp://example.vn/': URL scheme should be 'http' or 'https' (e.g. https://gqthc.dcs.vn/)"]),
    (["check", "http://127.0.0.1:{closed}/"], {}, 1, []),  # a failed probe: reported on stdout, exit 1
    (["check", "http://127.0.0.1:{closed}/"], {"MONITOR_CHECKS": "checks"}, 2, [  # settings are read first
        f"settings: MONITOR_CHECKS: {JSON_HINT}"]),
    # results
    (["results", "--store", "{tmp}/none.db"], {}, 2, [
        "monitor: no history at {tmp}/none.db yet: start `monitor run` first"]),
    (["results", "--store", "{store}", "--platform", "nosuch"], {}, 2, [
        f"monitor: unknown --platform 'nosuch': no stored results (known platforms: {PLATFORMS})"]),
    (["results", "--store", "{store}", "--platform", "gqthc", "--check", "nosuch"], {}, 2, [
        "monitor: unknown --check 'nosuch': no stored results (known checks of gqthc: cert, dns, home)"]),
    # lab, simulate, demo: refused before anything starts
    (["lab", "--week", "2026-W99", "--dir", "{tmp}/lab"], {}, 2,
     "monitor lab: error: argument --week: invalid ISO week '2026-W99': year 2026 has no week 99"),
    (["lab", "--speed", "0", "--dir", "{tmp}/lab"], {}, 2,
     "monitor lab: error: argument --speed: '0': must be more than 0"),
    (["lab", "--checks", "nope", "--dir", "{tmp}/lab"], {}, 2, [
        f"nope ({{tmp}}/nope): checks not found; {CHECKS_HINT}", "1 configuration problem(s); nothing started"]),
    (["simulate", "--week", "nonsense", "--dir", "{tmp}/sim"], {}, 2,
     "monitor simulate: error: argument --week: invalid ISO week 'nonsense' (use YYYY-Www, e.g. 2026-W23)"),
    (["simulate", "--interval", "soon", "--dir", "{tmp}/sim"], {}, 2,
     "monitor simulate: error: argument --interval: invalid duration 'soon' (use e.g. 500ms, 30s, 1m)"),
    (["simulate", "--days", "-1", "--dir", "{tmp}/sim"], {}, 2,
     "monitor simulate: error: argument --days: '-1': must be more than 0"),
    (["demo", "--duration", "0", "--dir", "{tmp}/demo"], {}, 2,
     "monitor demo: error: argument --duration: '0': must be more than 0"),
    (["demo", "--checks", "nope", "--dir", "{tmp}/demo"], {}, 2, [
        f"nope ({{tmp}}/nope): checks not found; {CHECKS_HINT}", "1 configuration problem(s); nothing started"]),
    # incidents and report: periods, stores, formats
    (["incidents", "--from", "0001-01-01", "--to", "0001-01-02", "--store", "{store}"], {}, 2, [
        "monitor: time '0001-01-01' is out of range (use a date between 1970 and 2999)"]),
    (["incidents", "--from", "31/12/9999", "--to", "31/12/9999", "--store", "{store}"], {}, 2, [
        "monitor: time '31/12/9999' is out of range (use a date between 1970 and 2999)"]),
    (["incidents", "--week", "2026-W99", "--store", "{store}"], {}, 2, [
        "monitor: invalid ISO week '2026-W99': year 2026 has no week 99"]),
    (["incidents", "--from", "01/06/2026", "--store", "{store}"], {}, 2, ["monitor: --from and --to go together"]),
    (["incidents", "--week", "2026-W23", "--store", "{tmp}/none.db"], {}, 2, [
        "monitor: no history at {tmp}/none.db: run `monitor run` or `monitor simulate` first"]),
    (["report", "--format", "pdf", "--store", "{store}"], {}, 2,
     ["monitor: unknown report format 'pdf' (use md, docx, html)"]),
    (["report", "--from", "0001-01-01", "--to", "02/01/2026", "--store", "{store}"], {}, 2, [
        "monitor: time '0001-01-01' is out of range (use a date between 1970 and 2999)"]),
    (["report", "--week", "2026-W23", "--store", "{store}"], {"MONITOR_PEAK_HOURS": '["sáng"]'}, 2, [
        "settings: peak_hours: invalid peak window 'sáng' (use HH:MM-HH:MM, e.g. 07:30-11:00) "
        "(set by MONITOR_PEAK_HOURS or monitor.yml)", INVALID]),
    # complaints
    (["complaints", "import", "{tmp}/none.csv", "--store", "{tmp}/c.db"], {}, 2, [
        "monitor: {tmp}/none.csv: no such file; give the path of a PAKN export (CSV, JSON or XLSX)"]),
    (["complaints", "import", "{tmp}", "--store", "{tmp}/c.db"], {}, 2, [
        "monitor: {tmp}: is a directory; give the path of a PAKN export (CSV, JSON or XLSX)"]),
    (["complaints", "list", "--platform", "nosuch", "--store", "{store}"], {}, 2, [
        f"monitor: unknown --platform 'nosuch' (valid: {PLATFORMS}, none)"]),
    (["complaints", "list", "--from", "32/13/2026", "--to", "01/01/2026", "--store", "{store}"], {}, 2, [
        "monitor: invalid time '32/13/2026' (use dd/mm/yyyy, dd/mm/yyyy HH:MM or ISO 8601)"]),
    # grafana
    (["grafana", "push"], {}, 2, ["monitor grafana: GRAFANA_URL is not set (e.g. https://grafana.example.vn)"]),
    (["grafana", "annotate", "--week", "2026-W23", "--store", "{store}"], {}, 2, [
        "monitor grafana: GRAFANA_URL is not set (e.g. https://grafana.example.vn)"]),
    # the command line itself
    ([], {}, 2, "monitor: error: the following arguments are required: COMMAND"),
    (["nosuch"], {}, 2, "monitor: error: argument COMMAND: invalid choice: 'nosuch' (choose from 'run', "
                           "'check', 'results', …"),
    (["results", "-n", "0"], {}, 2, "monitor results: error: argument -n: '0': must be 1 or more"),
]


@pytest.mark.parametrize(("args", "env", "code", "lines"), CASES, ids=[" ".join(c[0]) or "(none)" for c in CASES])
@pytest.mark.slow  # one `monitor` process per case, 50 cases
def test_bad_input_is_one_line_and_a_documented_exit_code(args, env, code, lines, tmp_path, busy_port, closed_port,
                                                          store):
    work = tmp_path / "work"
    work.mkdir()  # empty: no ./checks, no monitor.yml

    def fill(text: str) -> str:
        return text.format(tmp=work, busy=busy_port, closed=closed_port, store=store)

    done = monitor(*map(fill, args), cwd=work, env={k: fill(v) for k, v in env.items()})
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == code, done.stderr
    if isinstance(lines, str):  # argparse: its usage, then one error line
        last = done.stderr.splitlines()[-1]
        assert done.stderr.startswith("usage: monitor"), done.stderr
        assert last.startswith(lines.removesuffix("…")) if lines.endswith("…") else last == lines
    else:
        assert done.stderr.splitlines() == [fill(line) for line in lines]


class _ReasonHandler(http.server.BaseHTTPRequestHandler):
    """Answers 500 with a reason phrase that is Rich markup."""

    def do_GET(self):  # http.server's name
        self.send_response(500, "[/x] [bold]")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def markup_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ReasonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_text_from_servers_and_the_store_is_shown_as_written(markup_server, tmp_path):
    done = monitor("check", f"http://127.0.0.1:{markup_server}/", cwd=tmp_path)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 1 and done.stderr == ""
    assert "  status 500 [/x] [bold]" in done.stdout.splitlines()

    from monitor.store import open_store

    history = open_store(tmp_path / "h.db")
    history.add_results([ProbeResult("gqthc", "home", "http", "hanoi", 1_780_000_000.0, False, 0.1,
                                     reason=Reason.HTTP_STATUS, status_code=500, error="status 500 [/x] [bold]")])
    history.close()
    shown = monitor("results", "--store", str(tmp_path / "h.db"), cwd=tmp_path, env={"COLUMNS": "200"})
    assert shown.returncode == 0 and shown.stderr == ""
    assert "status 500 [/x] [bold]" in shown.stdout


def test_unknown_monitor_variables_are_named_with_the_closest_setting(tmp_path):
    done = monitor("config", "check", cwd=tmp_path, env={
        "MONITOR_LISTEN_PORTT": "9999", "monitor_peakhours": "[]", "MONITOR_GRAFANA_URL": "http://g",
        "MONITOR_BOGUS": "1", "MONITOR_LOG_LEVEL": "DEBUG", "MONITOR_INCIDENTS__WINDOW": "20"})
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "monitor: warning: MONITOR_BOGUS is not a setting and is ignored; no setting has a similar name "
        "(see README.md, Configuration)",
        "monitor: warning: MONITOR_GRAFANA_URL is not a setting and is ignored; did you mean MONITOR_GRAFANA__URL?",
        "monitor: warning: MONITOR_LISTEN_PORTT is not a setting and is ignored; did you mean MONITOR_LISTEN_PORT?",
        "monitor: warning: monitor_peakhours is not a setting and is ignored; did you mean MONITOR_PEAK_HOURS?",
    ]


def test_an_unexpected_error_is_one_line_naming_the_file_with_its_traceback(tmp_path, monkeypatch, capsys):
    from monitor import cli

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    try:
        {}["missing"]
    except KeyError as exc:
        code = cli._unexpected(exc)
    assert code == 70
    [line] = capsys.readouterr().err.splitlines()
    [log] = tmp_path.glob("monitor-error-*.log")
    assert line == f"monitor: unexpected error (KeyError: 'missing'); the traceback is in {log}; please report it"
    assert "Traceback (most recent call last)" in log.read_text() and (log.stat().st_mode & 0o777) == 0o600

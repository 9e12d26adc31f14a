"""End-to-end helpers: the lab, `monitor run` probers, real Prometheus + Alertmanager, a webhook sink.

Everything listens on 127.0.0.1 only. Every process is started in its own session (process
group) and :meth:`Proc.stop` ends that group: SIGTERM, then SIGKILL after a grace period.

The outage is scripted in real time through the lab's live clock. ``monitor lab --speed 1``
maps a connection from 127.0.0.1 (not a simulation address) to the simulated instant
``week_start + (now - started)`` (monitor/lab/lab.py, ``run_lab``): the lab's clock starts at
local 00:00 of the bulletin week's first day when the process starts. So an event with
``day: 0, from: "00:01", to: "00:04"`` begins 60 s after the lab process started its clock
and lasts 3 minutes of real time. The lab's ``started`` is taken after Python start-up and
imports, so ``spawn time + offset`` is a lower bound of the real event start: delays measured
from it are upper bounds (conservative).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
START_SH = REPO / "deploy" / "local" / "start.sh"
RULES = REPO / "alerts" / "rules"
DASHBOARDS = REPO / "dashboards"


def free_port() -> int:
    """A free loopback TCP port (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A subprocess in its own process group; stdout and stderr collected line by line."""

    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None, cwd: Path = REPO):
        self.name = name
        self.args = args
        self.started = time.time()
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "COLUMNS": "400", **(env or {})}, cwd=cwd,
                                        start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True)
                         for stream, sink in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        """The first stdout line matching ``pattern``; fails after ``timeout`` s or when the process ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = self.process.poll() is not None
            if ended:  # read what it wrote before it ended (children holding the pipes: at most 5 s)
                for reader in self._readers:
                    reader.join(5)
            for line in list(self.stdout):
                match = re.search(pattern, line)
                if match:
                    return match
            if ended:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: no {pattern!r} in stdout (exit {self.process.poll()}):\n"
                             f"{''.join(self.stdout)}\nstderr:\n{''.join(self.stderr)[-4000:]}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL to the group after ``grace`` seconds."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:  # children (prometheus, alertmanager under start.sh) too, whatever the leader did
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


class WebhookSink:
    """An Alertmanager webhook receiver on loopback: every POSTed payload, with its arrival time."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                payload["_received"] = time.time()
                sink.notifications.append(payload)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alertmanager"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(notification, alert) for every alert of every notification received so far."""
        for notification in list(self.notifications):
            for alert in notification["alerts"]:
                yield notification, alert

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- inputs the test writes ------------------------------------------------------------------


def scenario_yaml(events: list[dict[str, Any]]) -> str:
    """A lab scenario with only ``events`` (every platform otherwise healthy: no profiles)."""
    return yaml.safe_dump({"seed": 1, "events": events}, sort_keys=False)


def derive_checks(lab_checks: Path, out: Path, interval: str, timeout: str,
                  overrides: dict[tuple[str, str], tuple[str, str]] | None = None) -> Path:
    """The lab's checks.yml with every check's interval/timeout set (``overrides``: (platform, check) ->
    (interval, timeout))."""
    data = yaml.safe_load(lab_checks.read_text(encoding="utf-8"))
    for platform in data["platforms"]:
        for check in platform.get("checks", []):
            check["interval"], check["timeout"] = (overrides or {}).get((platform["id"], check["id"]),
                                                                        (interval, timeout))
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def render_rules(out: Path, keep_firing_for: str | None) -> Path:
    """A copy of alerts/rules/*.yml in ``out``; with ``keep_firing_for`` set, every rule that has a
    ``keep_firing_for`` gets this value instead. Nothing else is changed."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(RULES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in data["groups"]:
            for rule in group["rules"]:
                if keep_firing_for is not None and "keep_firing_for" in rule:
                    rule["keep_firing_for"] = keep_firing_for
        (out / path.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


# --- the Prometheus HTTP API ---------------------------------------------------------------------


def api(base: str, path: str, **params: Any) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


def query(base: str, expr: str) -> list[dict[str, Any]]:
    return api(base, "/api/v1/query", query=expr)["result"]


def query_range(base: str, expr: str, start: float, end: float, step: float = 5.0) -> list[dict[str, Any]]:
    """Raises urllib.error.HTTPError (400 + Prometheus' message) for a query that does not parse."""
    return api(base, "/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)["result"]


# --- PromQL text: series selectors of an expression -----------------------------------------------

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
             "bool", "inf", "nan", "atan2", "start", "end"}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"(?<![\w:.\x00])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])\s*(\{[^}]*\})?(?!\s*\()")


def selectors(expr: str) -> list[str]:
    """Every instant-vector selector (``name{matchers}``) in a PromQL expression, in order, once each.

    A small scanner, not a parser: label lists of grouping modifiers and string literals are
    removed first, then identifiers not followed by ``(`` (functions) and not keywords are
    selectors. Durations (``[5m]``, ``offset 10m``) start with a digit and are never matched.
    """
    strings: list[str] = []

    def keep_string(match: re.Match) -> str:
        strings.append(match.group(0))
        return f"\x00{len(strings) - 1}\x00"

    text = _STRING.sub(keep_string, expr)  # protect matcher values like "(.+)" from the regexes below
    text = _GROUPING.sub(" ", text)
    found: list[str] = []
    for match in _SELECTOR.finditer(text + " "):
        name, matchers = match.group(1), match.group(2) or ""
        if name.lower() in _KEYWORDS:
            continue
        matchers = re.sub(r"\x00(\d+)\x00", lambda m: strings[int(m.group(1))], matchers)
        selector = name + matchers
        if selector not in found:
            found.append(selector)
    return found


# --- Grafana dashboards ----------------------------------------------------------------------------


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from dashboard_panels(panel)


GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "30s", "__interval_ms": "30000", "__range": "5m",
                    "__range_s": "300", "__range_ms": "300000"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")


def variable_values(dashboard: dict[str, Any], platform: str) -> dict[str, str]:
    """Values for the dashboard's template variables: ``platform`` -> the platform under test,
    ``location`` (and any multi-value/"All" variable) -> ``.*``, others -> their current value."""
    values = dict(GRAFANA_BUILTINS)
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable.get("name")
        if variable.get("type") == "datasource":
            continue
        current = (variable.get("current") or {}).get("value")
        if name == "platform":
            values[name] = platform
        elif name == "location" or current in (None, "", "$__all", ["$__all"]) or variable.get("includeAll"):
            values[name] = ".*"
        elif isinstance(current, list):
            values[name] = "|".join(map(str, current))
        else:
            values[name] = str(current)
    values.setdefault("platform", platform)
    values.setdefault("location", ".*")
    return values


def substitute(expr: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """``expr`` with Grafana variables replaced; also the names of variables without a value."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return values[name]
        unknown.append(name)
        return match.group(0)

    return _VARIABLE.sub(replace, expr), unknown

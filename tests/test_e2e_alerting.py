"""End to end: a scripted outage in the lab pages on-call through real Prometheus and Alertmanager.

One stack per module (about 6 minutes of real time, shared by both tests):

* the platform lab (``monitor lab --speed 1``) with a scenario written here:
  - ``dichvucong`` refuses connections (``outage_refused``) from 60 s to 240 s after the lab
    started (lab clock: day 0, "00:01"-"00:04"; see tests/e2e.py for why that is real time);
  - ``gqthc`` answers 502 (``gateway_502``) from 120 s to 180 s; its HTTP check runs every 60 s
    here, so exactly one probe per location fails: a blip;
* two probers (``monitor run``, locations hanoi and caobang) on the lab's checks with every
  other check at 5 s interval / 2 s timeout;
* Prometheus and Alertmanager from deploy/local/start.sh: scrape and rule evaluation every 5 s,
  the repository's rules, alerts/alertmanager.yml's routing with every receiver replaced by a
  webhook to a sink in this process, group_wait 5s / group_interval 10s (shipped: 30s / 5m).

The rules are the repository's, with ONE change in a test copy: ``keep_firing_for`` of
PlatformDown is 1m instead of 10m. With 10m the resolved notification would come 10 minutes
after recovery (the whole test would take ~16 minutes on 2 shared cores); every ``for:``,
threshold and expression is unchanged, so the 3-minute page budget is met by the real rules.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e import (
    DASHBOARDS,
    START_SH,
    Proc,
    WebhookSink,
    api,
    dashboard_panels,
    derive_checks,
    free_port,
    query,
    query_range,
    render_rules,
    scenario_yaml,
    selectors,
    substitute,
    variable_values,
)

pytestmark = pytest.mark.slow  # minutes of real time: the outage is scripted on the lab's real clock

PLATFORM = "dichvucong"           # the one that goes down
BLIP = "gqthc"                    # one failed probe per location
LOCATIONS = ("hanoi", "caobang")
OUTAGE_START, OUTAGE_END = 60, 240   # seconds after the lab's clock started
BLIP_START, BLIP_END = 120, 180
PAGE_BUDGET = 180                 # the issue: page within 3 minutes of the outage start
TEST_KEEP_FIRING_FOR = "1m"       # shipped: 10m (see the module docstring)
WEEK = "2026-W23"

SCENARIO = [
    {"id": "e2e-dvc-down", "platform": PLATFORM, "kind": "outage_refused", "day": 0,
     "from": "00:01", "to": "00:04"},
    {"id": "e2e-gqthc-blip", "platform": BLIP, "kind": "gateway_502", "day": 0, "from": "00:02", "to": "00:03"},
]

class Stack:
    def __init__(self, directory: Path):
        self.dir = directory
        self.procs: list[Proc] = []
        self.sink = WebhookSink()
        self.prometheus = ""
        self.lab_started = 0.0

    def at(self, offset: float) -> float:
        """Real time of ``offset`` seconds on the lab's clock (a lower bound: see tests/e2e.py)."""
        return self.lab_started + offset

    def start(self) -> None:
        scenario = self.dir / "scenario.yml"
        scenario.write_text(scenario_yaml(SCENARIO), encoding="utf-8")
        lab = Proc("lab", [sys.executable, "-m", "monitor.cli", "lab", "--scenario", str(scenario), "--week", WEEK,
                           "--dir", str(self.dir / "lab"), "--speed", "1"])
        self.procs.append(lab)
        self.lab_started = lab.started
        lab.wait_for(r"^lab ready", timeout=60)

        checks = derive_checks(self.dir / "lab" / "checks.yml", self.dir / "checks.yml", "5s", "2s",
                               {(BLIP, "home"): ("60s", "5s")})
        targets = []
        for location in LOCATIONS:
            prober = Proc(f"monitor-{location}",
                          [sys.executable, "-m", "monitor.cli", "run", "--checks", str(checks),
                           "--store", str(self.dir / f"{location}.db"), "--location", location],
                          env={"MONITOR_LISTEN_PORT": "0", "MONITOR_SHUTDOWN_GRACE": "3",
                               # its own network: the webhook sink on loopback answers (any status counts)
                               "MONITOR_SELF_CHECK": json.dumps({"url": self.sink.url, "interval": "5s",
                                                                 "timeout": "2s"})})
            self.procs.append(prober)
            url = prober.wait_for(r"metrics at (http://\S+)/metrics", timeout=60).group(1)
            targets += ["--target", f"{url.removeprefix('http://')}={location}"]

        rules = render_rules(self.dir / "rules", keep_firing_for=TEST_KEEP_FIRING_FOR)
        prom_port, am_port = free_port(), free_port()
        stack = Proc("start.sh", ["bash", str(START_SH), *targets, "--prometheus-port", str(prom_port),
                                  "--alertmanager-port", str(am_port), "--data-dir", str(self.dir / "stack"),
                                  "--scrape-interval", "5s", "--eval-interval", "5s", "--rules", str(rules),
                                  "--webhook", self.sink.url, "--group-wait", "5s", "--group-interval", "10s",
                                  "--repeat-interval", "1h"],
                     env={"PYTHON": sys.executable})
        self.procs.append(stack)
        self.prometheus = stack.wait_for(r"^prometheus (http://\S+)", timeout=30).group(1)
        stack.wait_for(r"^ready", timeout=90)
        assert time.time() < self.at(OUTAGE_START - 20), "the stack took too long to start: the outage is near"

    def check_alive(self) -> None:
        dead = [p for p in self.procs if not p.alive()]
        assert not dead, "\n".join(f"{p.name} exited {p.process.returncode}:\n{''.join(p.stderr)[-3000:]}"
                                   for p in dead)

    def wait_until(self, deadline: float, condition=lambda: False, poll: float = 1.0):
        """Poll ``condition`` until it returns something truthy or ``deadline`` (unix time) passes."""
        while True:
            found = condition()
            if found or time.time() >= deadline:
                return found
            self.check_alive()
            time.sleep(poll)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.sink.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("e2e"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _notified(sink: WebhookSink, status: str, alertname: str, platform: str):
    for notification, alert in sink.alerts():
        labels = alert["labels"]
        if alert["status"] == status and labels.get("alertname") == alertname and labels.get("platform") == platform:
            return notification, alert
    return None


@pytest.mark.timeout(720)
def test_outage_pages_once_resolves_and_a_blip_stays_quiet(stack):
    sink = stack.sink
    outage_start, outage_end = stack.at(OUTAGE_START), stack.at(OUTAGE_END)

    # 1. the page: PlatformDown for exactly the platform that is down, through the on-call route
    page = stack.wait_until(outage_start + PAGE_BUDGET + 30,
                            lambda: _notified(sink, "firing", "PlatformDown", PLATFORM))
    assert page, f"no PlatformDown page for {PLATFORM}; notifications: {json.dumps(sink.notifications)[:3000]}"
    notification, alert = page
    page_delay = notification["_received"] - outage_start
    assert notification["receiver"] == "oncall-page" and alert["labels"]["severity"] == "page"
    assert page_delay <= PAGE_BUDGET, f"page {page_delay:.0f} s after the outage started (budget {PAGE_BUDGET} s)"

    # 2. resolved after recovery (keep_firing_for 1m in the test copy of the rules)
    resolved = stack.wait_until(outage_end + 240, lambda: _notified(sink, "resolved", "PlatformDown", PLATFORM))
    assert resolved, f"no resolved notification; notifications: {json.dumps(sink.notifications)[:3000]}"
    resolve_delay = resolved[0]["_received"] - outage_end
    assert resolve_delay > 0, "resolved before the outage ended"

    # 3. the blip: give it the time a page would need (for: 2m + group_wait), then nothing about it
    stack.wait_until(stack.at(BLIP_END) + 150)
    failures = query(stack.prometheus, f'sum by (location) (probe_results_total{{platform="{BLIP}", '
                                        f'result!="success"}})')
    per_location = {r["metric"]["location"]: float(r["value"][1]) for r in failures}
    assert set(per_location) == set(LOCATIONS), per_location
    # one failed probe per location (2 only if a 60 s run fell on the window's edge twice)
    assert all(1 <= count <= 2 for count in per_location.values()), per_location
    ever = query(stack.prometheus, f'max_over_time(ALERTS{{platform="{BLIP}"}}[30m])')
    assert not ever, f"the blip made alerts pending or firing: {ever}"

    # 4. no notification about anything but the platform that was down (other platforms healthy)
    others = [(n["receiver"], a["status"], a["labels"]) for n, a in sink.alerts()
              if a["labels"].get("platform") != PLATFORM]
    assert not others, f"notifications not about {PLATFORM}: {others}"
    pages = {(a["labels"].get("alertname"), a["labels"].get("platform")) for n, a in sink.alerts()
             if a["labels"].get("alertname") == "PlatformDown"}
    assert pages == {("PlatformDown", PLATFORM)}

    first_failure = min(float(r["values"][0][0]) for r in query_range(
        stack.prometheus, f'probe_success{{platform="{PLATFORM}"}} == 0', outage_start - 30, time.time(), 1))
    print(f"\noutage scripted at >= {outage_start:.0f} "
          f"(first failed probe scraped +{first_failure - outage_start:.0f} s);"
          f" page +{page_delay:.0f} s; recovery at {outage_end:.0f}, resolved +{resolve_delay:.0f} s;"
          f" blip failures {per_location}; notifications: "
          + ", ".join(f"{a['labels']['alertname']}/{a['labels'].get('platform')}={a['status']}"
                      f"@+{n['_received'] - outage_start:.0f}s" for n, a in sink.alerts()))


def _rules(prometheus: str) -> list[dict]:
    return [rule for group in api(prometheus, "/api/v1/rules")["groups"] for rule in group["rules"]]


@pytest.mark.timeout(720)
def test_every_rule_and_dashboard_query_returns_data(stack):
    """Every rule is healthy, every recorded series and every series an alert reads has data, and
    every dashboard panel query returns data for the platform that was down."""
    stack.wait_until(stack.at(OUTAGE_END) + 30)
    prometheus, start, end = stack.prometheus, stack.lab_started, time.time()
    problems: list[str] = []

    def empty(expr: str) -> bool | str:
        try:
            return not query_range(prometheus, expr, start, end)
        except urllib.error.HTTPError as error:
            return f"error {error.code}: {error.read().decode(errors='replace')[:300]}"

    rules = _rules(prometheus)
    assert rules, "Prometheus loaded no rules"
    for rule in rules:
        if rule["health"] != "ok" or rule.get("lastError"):
            problems.append(f"rule {rule['name']}: health {rule['health']} {rule.get('lastError', '')}")
    recorded = {rule["name"] for rule in rules if rule["type"] == "recording"}
    # Recording rules: the recorded series has samples.
    for name in sorted(recorded):
        if empty(name):
            problems.append(f"recording rule {name}: no data")
    # Alerting rules (empty unless firing, by design): every series the expression reads has data,
    # i.e. the expression minus its comparisons is not silently empty.
    for rule in rules:
        if rule["type"] != "alerting":
            continue
        for selector in selectors(rule["query"]):
            result = empty(selector)
            if result:
                problems.append(f"alert {rule['name']}: {selector}: {'no data' if result is True else result}")
    # The page itself went through the expression: ALERTS saw it.
    if empty(f'ALERTS{{alertname="PlatformDown", platform="{PLATFORM}"}}'):
        problems.append("ALERTS has no PlatformDown for the platform that was down")

    # Dashboards: every panel target's expr, with Grafana variables substituted.
    files = sorted(DASHBOARDS.glob("*.json"))
    assert files, f"{DASHBOARDS} has no *.json dashboards: nothing to check (the dashboards issue generates them)"
    checked = 0
    for path in files:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        dashboard = dashboard.get("dashboard", dashboard)  # API export wraps it
        values = variable_values(dashboard, PLATFORM)
        for variable in dashboard.get("templating", {}).get("list", []):
            definition = variable.get("query")
            definition = definition.get("query") if isinstance(definition, dict) else definition
            if (variable.get("type") == "query" and isinstance(definition, str)
                    and definition.startswith("label_values(")):
                inner = definition[len("label_values("):-1]
                metric, _, label = inner.rpartition(",")
                metric, label = substitute(metric.strip(), values)[0], label.strip()
                found = api(prometheus, f"/api/v1/label/{label}/values",
                            **({"match[]": metric} if metric else {}), start=start, end=end)
                if not found:
                    problems.append(f"{path.name}: variable {variable['name']}: {definition}: no values")
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []) or []:
                expr = target.get("expr")
                if not expr:
                    continue
                expr, unknown = substitute(expr, values)
                where = f"{path.name}: panel {panel.get('title')!r} ({target.get('refId', '?')})"
                if unknown:
                    problems.append(f"{where}: unknown variable(s) {unknown}: {expr}")
                    continue
                checked += 1
                result = empty(expr)
                if result:
                    problems.append(f"{where}: {'no data' if result is True else result}: {expr}")
    assert checked, f"no panel queries found in {[p.name for p in files]}"
    assert not problems, f"{len(problems)} queries return nothing or fail:\n" + "\n".join(problems)

"""VictoriaMetrics as the long-term store: the dashboards and the alert rules work against it as on Prometheus.

One stack (about 6 minutes of real time), everything on 127.0.0.1:

* the platform lab (``monitor lab --speed 1``) where ``dichvucong`` refuses connections from 60 s to
  540 s after it started (the lab's clock: tests/e2e.py);
* two probers (``monitor run``, hanoi and caobang), every check every 5 s;
* ``deploy/local/start.sh --victoria-metrics``: Prometheus (the repository's rules, remote_write to
  VictoriaMetrics), Alertmanager, VictoriaMetrics (Debian ``victoria-metrics``) and vmalert evaluating
  the same rules (deploy/fleet/vmalert_rules.py) against VictoriaMetrics.

Then (i) every dashboard query (``monitor.grafana.dashboards.queries``, as tests/test_dashboards.py
extracts them) that returns series from Prometheus returns the same series (label sets) from
VictoriaMetrics' Prometheus API over the same range, and (ii) the same fault fires PlatformDown for
``dichvucong``, and nothing else pages, in Prometheus and in vmalert.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from monitor.grafana import dashboards
from tests.e2e import START_SH, Proc, api, derive_checks, free_port, query_range, scenario_yaml

pytestmark = pytest.mark.slow  # minutes of real time: PlatformDown has `for: 2m`

PLATFORM = "dichvucong"
LOCATIONS = ("hanoi", "caobang")
OUTAGE_START = 60
WEEK = "2026-W23"
SCENARIO = [{"id": "vm-dvc-down", "platform": PLATFORM, "kind": "outage_refused", "day": 0,
             "from": "00:01", "to": "00:09"}]
TOOLS = ("prometheus", "victoria-metrics", "vmalert")


class Stack:
    def __init__(self, directory: Path):
        self.dir = directory
        self.procs: list[Proc] = []
        self.lab_started = 0.0
        self.prometheus = self.victoria = self.vmalert = ""

    def start(self) -> None:
        scenario = self.dir / "scenario.yml"
        scenario.write_text(scenario_yaml(SCENARIO), encoding="utf-8")
        lab = Proc("lab", [sys.executable, "-m", "monitor.cli", "lab", "--scenario", str(scenario), "--week", WEEK,
                           "--dir", str(self.dir / "lab"), "--speed", "1"])
        self.procs.append(lab)
        self.lab_started = lab.started
        lab.wait_for(r"^lab ready", timeout=60)
        checks = derive_checks(self.dir / "lab" / "checks.yml", self.dir / "checks.yml", "5s", "2s")
        targets = []
        for location in LOCATIONS:
            prober = Proc(f"monitor-{location}",
                          [sys.executable, "-m", "monitor.cli", "run", "--checks", str(checks),
                           "--store", str(self.dir / f"{location}.db"), "--location", location],
                          env={"MONITOR_LISTEN_PORT": "0", "MONITOR_SHUTDOWN_GRACE": "3"})
            self.procs.append(prober)
            url = prober.wait_for(r"metrics at (http://\S+)/metrics", timeout=60).group(1)
            targets += ["--target", f"{url.removeprefix('http://')}={location}"]
        stack = Proc("start.sh", ["bash", str(START_SH), *targets, "--victoria-metrics",
                                  "--prometheus-port", str(free_port()), "--alertmanager-port", str(free_port()),
                                  "--vm-port", str(free_port()), "--vmalert-port", str(free_port()),
                                  "--data-dir", str(self.dir / "stack"), "--scrape-interval", "5s",
                                  "--eval-interval", "5s"],
                     env={"PYTHON": sys.executable})
        self.procs.append(stack)
        self.prometheus = stack.wait_for(r"^prometheus (http://\S+)", timeout=30).group(1)
        self.victoria = stack.wait_for(r"^victoria-metrics (http://\S+)", timeout=30).group(1)
        self.vmalert = stack.wait_for(r"^vmalert (http://\S+)", timeout=30).group(1)
        stack.wait_for(r"^ready", timeout=90)

    def check_alive(self) -> None:
        dead = [p for p in self.procs if not p.alive()]
        assert not dead, "\n".join(f"{p.name} exited {p.process.returncode}:\n{''.join(p.stderr)[-3000:]}"
                                   for p in dead)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@pytest.fixture(scope="module")
def stack():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install prometheus victoria-metrics; "
                    "scripts/test does it)")
    # Not under pytest's basetemp: a pytest session started meanwhile on this shared machine keeps only
    # the 3 newest basetemps and would delete this stack's data directories under it.
    directory = Path(tempfile.mkdtemp(prefix="ppm-vm-"))
    running = Stack(directory)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(directory, ignore_errors=True)


def prometheus_pages(stack: Stack) -> set[tuple[str, str]]:
    return {(a["labels"]["alertname"], a["labels"].get("platform", "")) for a in api(stack.prometheus, "/api/v1/alerts")
            ["alerts"] if a["state"] == "firing" and a["labels"].get("severity") == "page"}


def vmalert_pages(stack: Stack) -> set[tuple[str, str]]:
    alerts: list[dict[str, Any]] = api(stack.vmalert, "/api/v1/alerts")["alerts"] or []  # null when none
    return {(a["labels"]["alertname"], a["labels"].get("platform", "")) for a in alerts
            if a["state"] == "firing" and a["labels"].get("severity") == "page"}


@pytest.mark.timeout(720)
def test_the_same_fault_fires_platform_down_in_prometheus_and_in_vmalert(stack):
    """PlatformDown for the platform that is down fires in both; every page in either is about it.

    vmalert fires later: it reads each level of recorded series back from VictoriaMetrics, which shows
    samples only after -search.latencyOffset (30 s), where Prometheus evaluates a group in one TSDB.
    """
    deadline = stack.lab_started + OUTAGE_START + 400
    seen: dict[str, set[tuple[str, str]]] = {"prometheus": set(), "vmalert": set()}
    fired: dict[str, float] = {}
    while time.time() < deadline and len(fired) < 2:
        stack.check_alive()
        seen["prometheus"] |= prometheus_pages(stack)
        seen["vmalert"] |= vmalert_pages(stack)
        for backend, pages in seen.items():
            if ("PlatformDown", PLATFORM) in pages:
                fired.setdefault(backend, time.time() - stack.lab_started - OUTAGE_START)
        time.sleep(2)
    print(f"\nPlatformDown fired {', '.join(f'{b} +{s:.0f} s' for b, s in fired.items())} after the outage "
          f"started; pages: {seen}")
    for backend, pages in seen.items():
        assert ("PlatformDown", PLATFORM) in pages, f"{backend}: no PlatformDown for {PLATFORM}: {pages}"
        assert {platform for _, platform in pages} == {PLATFORM}, f"{backend} paged about others: {pages}"
    # vmalert writes its alert state to VictoriaMetrics, as Prometheus keeps ALERTS in its TSDB (visible
    # there after the latency offset)
    expr = f'ALERTS{{alertname="PlatformDown", platform="{PLATFORM}", alertstate="firing"}}'
    deadline = time.time() + 90
    while not query_range(stack.victoria, expr, stack.lab_started, time.time()):
        assert time.time() < deadline, f"no {expr} in VictoriaMetrics 90 s after vmalert fired"
        time.sleep(3)


def label_sets(result: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(series["metric"], sort_keys=True) for series in result}


@pytest.mark.timeout(720)
def test_every_dashboard_query_returns_the_same_series_from_victoriametrics(stack):
    # after the outage page: both backends have a stretch of failures and one of recovery-free data
    while time.time() < stack.lab_started + OUTAGE_START + 150:
        stack.check_alive()
        time.sleep(2)
    # VictoriaMetrics shows samples ~30 s after they arrive (-search.latencyOffset): end the range before that
    start, end = stack.lab_started + 20, time.time() - 45
    problems, compared = [], 0
    for uid, title, expr in dashboards.queries(dashboards.build(), platform=PLATFORM):
        try:
            from_prometheus = query_range(stack.prometheus, expr, start, end, 15)
            from_victoria = query_range(stack.victoria, expr, start, end, 15)
        except urllib.error.HTTPError as error:
            problems.append(f"{uid}: {title}: error {error.code}: {error.read().decode(errors='replace')[:300]}")
            continue
        if not from_prometheus:
            continue  # no data in this run on either side to compare (e.g. no certificate warnings)
        compared += 1
        if not from_victoria:
            problems.append(f"{uid}: {title}: no data from VictoriaMetrics: {expr}")
        elif label_sets(from_victoria) != label_sets(from_prometheus):
            problems.append(f"{uid}: {title}: series differ: Prometheus {sorted(label_sets(from_prometheus))} "
                            f"VictoriaMetrics {sorted(label_sets(from_victoria))}: {expr}")
    print(f"\n{compared} dashboard queries with data compared")
    assert compared >= 10, f"only {compared} dashboard queries returned data from Prometheus"
    assert not problems, f"{len(problems)} of {compared} queries differ:\n" + "\n".join(problems)

"""A fleet on this machine: the lab and three province probers in network namespaces, one central store.

tests/netns.py builds the network: a bridge in the root namespace (central PostgreSQL and Prometheus
listen on its address), the lab in one namespace, a prober per province (hanoi, caobang, hcm) in
others, each with its own address and ``MONITOR_LOCATION``, all writing to the central PostgreSQL.

``test_the_harness_connects_cuts_and_cleans_up`` (seconds, root only) checks the harness itself.

``test_fleet`` (``slow``, about 6 minutes of real time; times are seconds after the lab started):

* 40-110: caobang's link is cut. Its prober can reach neither the lab nor PostgreSQL: its probes fail
  and it spools them (``monitor_store_pending_results`` > 0, read from inside its namespace). Central
  ``monitor incidents`` then shows a location-only incident seen only at caobang, and Prometheus,
  which cannot scrape caobang meanwhile, raises no PlatformDown;
* 120-300: the lab refuses ``dichvucong`` (``outage_refused``): a platform incident seen at every
  location, and PlatformDown fires in Prometheus (``for: 2m``; pending does not count);
* 150-210: PostgreSQL is stopped: every prober spools, and forwards when it is back;
* at the end, nothing is lost: every prober's backlog is empty, the central store holds at least
  every result each prober counted (``probe_results_total`` and, measured while it stalled,
  ``monitor_unreliable_results_total``), each once, and for every check and
  location a result for every scheduled probe time (no gap longer than the interval allows), the
  failed results measured during the cut included.

Skipped with the reason when network namespaces cannot be made here (not root, no ``ip``).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests import postgres as pg
from tests.e2e import START_SH, Proc, api, derive_checks, free_port, query, scenario_yaml

LOCATIONS = ("hanoi", "caobang", "hcm")
CUT_LOCATION = "caobang"
CUT, RESTORE = 40, 110
PLATFORM = "dichvucong"
OUTAGE_START, OUTAGE_END = 120, 300  # lab clock: day 0, 00:02-00:05
DB_STOP, DB_START = 150, 210
INTERVAL = 5.0
WEEK = "2026-W23"
SCENARIO = [{"id": "fleet-dvc-down", "platform": PLATFORM, "kind": "outage_refused", "day": 0,
             "from": "00:02", "to": "00:05"}]
CHECKS_PER_SECOND = 10  # 13 checks every 5 s: a writer batch of a second or two holds fewer
PORT = 9180  # every prober on its own address, so all on the same port


@pytest.fixture(scope="module")
def can_build() -> None:
    reason = netns.unavailable()
    if reason:
        pytest.skip(reason)


def in_namespace(fleet: netns.Fleet, role: str, code: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(fleet.exec_args(role, sys.executable, "-c", code), capture_output=True, text=True,
                          timeout=timeout)


def connects(fleet: netns.Fleet, role: str, address: str, port: int) -> bool:
    code = (f"import socket\ntry:\n socket.create_connection(({address!r}, {port}), timeout=2).close()\n"
            f" print('yes')\nexcept OSError as e:\n print('no', e)")
    return in_namespace(fleet, role, code).stdout.startswith("yes")


def names() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout + \
        subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def test_the_harness_connects_cuts_and_cleans_up(can_build):
    # a crashed run's leftovers (pid 0x3fffff: beyond any pid the kernel hands out here) are removed
    stale = f"{netns.PREFIX_NETNS}3fffff-lab"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    fleet = netns.Fleet(("hanoi", "caobang"))
    with fleet, socket.create_server((fleet.central, 0)) as central:
        assert stale not in names()
        port = central.getsockname()[1]
        for role in ("lab", "hanoi", "caobang"):
            assert connects(fleet, role, fleet.central, port), f"{role} does not reach the central address"
        assert connects(fleet, "hanoi", fleet.addresses["lab"], 9) is False  # nothing listens: refused, not cut
        fleet.cut("caobang")
        assert not connects(fleet, "caobang", fleet.central, port)
        assert connects(fleet, "hanoi", fleet.central, port), "cutting caobang cut hanoi too"
        fleet.restore("caobang")
        deadline = time.monotonic() + 10
        while not connects(fleet, "caobang", fleet.central, port):
            assert time.monotonic() < deadline, "caobang's link did not come back"
        assert fleet.namespaces["caobang"] in names()
    left = names()
    assert not [name for name in (*fleet.namespaces.values(), *fleet.host_links.values(), fleet.bridge)
                if re.search(rf"\b{re.escape(name)}\b", left)], left


# --- the fleet ------------------------------------------------------------------------------------


def postgres_store_missing() -> str | None:
    """Why the probers cannot write to PostgreSQL yet (issue 13, point 1: ``MONITOR_STORE=postgresql://…``)."""
    try:
        import monitor.store.postgres  # noqa: F401
    except ImportError as error:
        return f"no PostgreSQL store in monitor/store/ yet ({error}): the fleet needs MONITOR_STORE=postgresql://"
    return None


def metric(text: str, name: str) -> float:
    """Sum of every sample of ``name`` in a /metrics text (0 when absent)."""
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


class Fleet:
    def __init__(self, directory: Path, network: netns.Fleet):
        self.dir = directory
        self.net = network
        self.procs: dict[str, Proc] = {}
        self.postgres: pg.PostgresServer | None = None
        self.store = ""
        self.lab_started = 0.0
        self.prometheus = ""

    def at(self, offset: float) -> float:
        return self.lab_started + offset

    def until(self, offset: float) -> None:
        while time.time() < self.at(offset):
            self.check_alive()
            time.sleep(min(1.0, max(0.0, self.at(offset) - time.time())))

    def start(self) -> None:
        self.postgres = pg.start(self.dir / "postgres", listen=(self.net.central,), trust=(self.net.network,))
        self.postgres.sql('CREATE DATABASE "fleet"')
        self.store = self.postgres.url("fleet", host=self.net.central)
        scenario = self.dir / "scenario.yml"
        scenario.write_text(scenario_yaml(SCENARIO), encoding="utf-8")
        lab = Proc("lab", self.net.exec_args("lab", sys.executable, "-m", "tests.netns_lab", "--host",
                                             self.net.addresses["lab"], "--scenario", str(scenario), "--week", WEEK,
                                             "--dir", str(self.dir / "lab")))
        self.procs["lab"] = lab
        self.lab_started = float(lab.wait_for(r"^started (\S+)", timeout=60).group(1))
        lab.wait_for(r"^lab ready", timeout=60)
        checks = derive_checks(self.dir / "lab" / "checks.yml", self.dir / "checks.yml", f"{INTERVAL:.0f}s", "2s")
        targets = []
        for location in LOCATIONS:
            home = self.dir / location
            home.mkdir()
            address = self.net.addresses[location]
            self.procs[location] = Proc(
                f"monitor-{location}",
                self.net.exec_args(location, sys.executable, "-m", "monitor.cli", "run", "--checks", str(checks)),
                env={"MONITOR_STORE": self.store, "MONITOR_LOCATION": location,
                     "MONITOR_LISTEN_ADDRESS": address, "MONITOR_LISTEN_PORT": str(PORT),
                     "MONITOR_SHUTDOWN_GRACE": "5"},
                cwd=home)  # anything it keeps locally (its spool) stays in its own directory
            targets += ["--target", f"{address}:{PORT}={location}"]
        for location in LOCATIONS:
            self.procs[location].wait_for(r"metrics at (http://\S+)/metrics", timeout=60)
        stack = Proc("start.sh", ["bash", str(START_SH), *targets, "--listen-address", self.net.central,
                                  "--prometheus-port", str(free_port()), "--alertmanager-port", str(free_port()),
                                  "--data-dir", str(self.dir / "stack"), "--scrape-interval", "5s",
                                  "--eval-interval", "5s"], env={"PYTHON": sys.executable})
        self.procs["start.sh"] = stack
        self.prometheus = stack.wait_for(r"^prometheus (http://\S+)", timeout=30).group(1)
        stack.wait_for(r"^ready", timeout=90)
        assert time.time() < self.at(CUT - 5), "the fleet took too long to start: the link cut is due"

    def check_alive(self) -> None:
        dead = [p for p in self.procs.values() if not p.alive()]
        assert not dead, "\n".join(f"{p.name} exited {p.process.returncode}:\n{''.join(p.stderr)[-3000:]}"
                                   for p in dead)

    def scrape(self, location: str) -> str:
        """The prober's /metrics, fetched from inside its own namespace (works while its link is cut)."""
        url = f"http://{self.net.addresses[location]}:{PORT}/metrics"
        done = in_namespace(self.net, location, f"import urllib.request;print(urllib.request.urlopen({url!r}, "
                                                f"timeout=5).read().decode())")
        assert done.returncode == 0, done.stderr
        return done.stdout

    def monitor(self, *args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "monitor.cli", *args, "--store", self.store,
                               "--checks", str(self.dir / "checks.yml")], capture_output=True,
                              text=True, timeout=120, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, f"monitor {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
        return json.loads(done.stdout)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        if self.postgres is not None:
            self.postgres.stop()


@pytest.fixture(scope="module")
def fleet(can_build):
    reason = postgres_store_missing()
    if reason:
        pytest.skip(reason)
    # Not under pytest's basetemp: a pytest session started meanwhile on this shared machine keeps only
    # the 3 newest basetemps and would delete the PostgreSQL cluster of a run this long.
    directory = Path(tempfile.mkdtemp(prefix="ppm-fleet-"))
    network = netns.Fleet(LOCATIONS)
    try:
        with network:
            running = Fleet(directory, network)
            try:
                running.start()
                yield running
            finally:
                running.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def page_platforms(fleet: Fleet, states: tuple[str, ...] = ("pending", "firing")) -> set[str]:
    """The platforms PlatformDown is pending or firing for (``states``) in Prometheus now."""
    return {a["labels"].get("platform", "") for a in api(fleet.prometheus, "/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == "PlatformDown" and a["state"] in states}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fleet(fleet):
    assert fleet.postgres is not None
    observed: dict[str, Any] = {}

    # (a) a province's link goes down
    fleet.until(CUT)
    fleet.net.cut(CUT_LOCATION)
    pages_during_cut: set[str] = set()
    while time.time() < fleet.at(RESTORE):
        pages_during_cut |= page_platforms(fleet)
        fleet.check_alive()
        time.sleep(2)
    spooled = metric(fleet.scrape(CUT_LOCATION), "monitor_store_pending_results")
    observed["caobang pending at restore"] = spooled
    fleet.net.restore(CUT_LOCATION)
    assert not pages_during_cut, f"PlatformDown while only {CUT_LOCATION}'s link was cut: {pages_during_cut}"
    assert spooled > 0, f"{CUT_LOCATION} kept no backlog while it could not reach PostgreSQL"

    # (c) the central database goes away for a minute
    fleet.until(DB_STOP)
    fleet.postgres.stop()
    fleet.until(DB_START - 5)
    pending = {location: metric(fleet.scrape(location), "monitor_store_pending_results") for location in LOCATIONS}
    observed["pending while PostgreSQL is down"] = pending
    fleet.postgres.start()
    assert all(count > 0 for count in pending.values()), f"a prober kept no backlog without PostgreSQL: {pending}"

    # (b) the platform fails for everyone: PlatformDown fires
    pages: set[str] = set()
    while time.time() < fleet.at(OUTAGE_END) and PLATFORM not in pages:
        pages |= page_platforms(fleet, ("firing",))
        fleet.check_alive()
        time.sleep(2)
    observed["PlatformDown firing, s after the outage started"] = time.time() - fleet.at(OUTAGE_START)
    assert pages == {PLATFORM}, f"PlatformDown for {pages}, expected {PLATFORM} only"

    # the end: every spool forwarded (what is left pending is the writer's batch of the last second),
    # then the probers stop (SIGTERM flushes)
    fleet.until(OUTAGE_END + 20)
    deadline, backlog = time.time() + 120, {}
    while time.time() < deadline:
        texts = {location: fleet.scrape(location) for location in LOCATIONS}
        backlog = {location: (metric(text, "monitor_store_spool_oldest_age_seconds"),
                              metric(text, "monitor_store_pending_results")) for location, text in texts.items()}
        if all(age == 0 and pending < CHECKS_PER_SECOND for age, pending in backlog.values()):
            break
        time.sleep(2)
    observed["backlog at the end (spool age, pending)"] = backlog
    assert all(age == 0 and pending < CHECKS_PER_SECOND for age, pending in backlog.values()), \
        f"spool not forwarded within 2 minutes: {backlog}"
    observed["forwarded from the spool"] = {location: metric(text, "monitor_store_forwarded_results_total")
                                            for location, text in texts.items()}
    # every result counts once: in probe_results_total, or, measured while the prober stalled, only as unreliable
    counted = {location: metric(text, "probe_results_total") + metric(text, "monitor_unreliable_results_total")
               for location, text in texts.items()}
    for location in LOCATIONS:
        fleet.procs[location].stop()
    end = time.time()

    # nothing lost: every result each prober counted is in the central store, once, on schedule
    results = fleet.monitor("results", "-n", "1000000", "--json")
    by_location: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by_location[result["location"]].append(result)
    observed["central results"] = {loc: len(rows) for loc, rows in by_location.items()}
    observed["counted by the probers"] = counted
    for location in LOCATIONS:
        rows = by_location[location]
        assert len(rows) >= counted[location] > 0, (location, len(rows), counted[location])
        keys = [(r["platform"], r["check"], r["started_at"]) for r in rows]
        assert len(keys) == len(set(keys)), f"{location}: a result stored twice"
        per_check: dict[tuple[str, str], list[float]] = defaultdict(list)
        for platform, check, started in keys:
            per_check[(platform, check)].append(started)
        for check, times in per_check.items():
            times.sort()
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert max(gaps) <= 2 * INTERVAL, f"{location} {check}: a {max(gaps):.1f} s gap in the schedule"
    cut_rows = [r for r in by_location[CUT_LOCATION]
                if fleet.at(CUT + 10) <= r["started_at"] <= fleet.at(RESTORE - 5)]
    assert cut_rows and not any(r["success"] for r in cut_rows), "the failed probes measured during the cut"

    # the incidents, on the central store
    incidents = fleet.monitor("incidents", "--from", iso(fleet.lab_started), "--to", iso(end), "--json")
    observed["incidents"] = [(i["platform"], i["scope"], i["locations"], round(i["start_unix"] - fleet.lab_started))
                             for i in incidents]
    local = [i for i in incidents if i["scope"] == "location" and i["locations"] == [CUT_LOCATION]
             and i["start_unix"] < fleet.at(RESTORE) and (i["end_unix"] or end) > fleet.at(CUT)]
    assert local, f"no location-only incident at {CUT_LOCATION} during the cut: {observed['incidents']}"
    platform = [i for i in incidents if i["scope"] == "platform" and i["platform"] == PLATFORM
                and set(i["locations"]) == set(LOCATIONS)]
    assert platform, f"no platform incident of {PLATFORM} seen at every location: {observed['incidents']}"
    others = {i["platform"] for i in incidents if i["scope"] == "platform"} - {PLATFORM}
    assert not others, f"platform incidents for {others} (only {PLATFORM} failed)"
    ever = query(fleet.prometheus, 'max_over_time(ALERTS{alertname="PlatformDown"}[30m])')
    assert {a["metric"]["platform"] for a in ever} == {PLATFORM}
    print("\n" + json.dumps(observed, indent=1, default=str))

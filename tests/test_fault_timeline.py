"""A fault timeline served on loopback and probed by the real ``monitor run``: every fault is found,
with the right kind and edges, live and afterwards; a blip and a healthy platform produce nothing.

Time is compressed: probes every second, faults of 15 s (15 probes), 40 s (40 probes) of normal
service between them — the same shape as 7½ minutes of faults and 20 minutes of service at 30 s.
The servers decide every answer from the wall clock, so the truth is the timeline below.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

from monitor.localtime import VIETNAM
from tests.daemon import Daemon
from tests.servers import OK_PAGE, LoopThread, _response, send

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

INTERVAL = 1.0
SLOW_AFTER = 0.3  # the platform's slow_after; slow answers take 0.6 s
WARMUP = 8.0  # healthy seconds before the first fault
FAULT = 15.0
GAP = 40.0
BLIP_AFTER = 8.0  # a single 503, this long after the 503 outage recovered


@dataclass(frozen=True)
class Fault:
    kind: str  # slow, status_503, hang, refused, status_502
    start: float  # seconds after the timeline's origin
    end: float
    expected: str  # the incident kind it must be reported as


def timeline() -> list[Fault]:
    faults, at = [], WARMUP
    for kind, expected in (("slow", "degraded"), ("status_503", "down"), ("hang", "down"), ("refused", "down"),
                           ("status_502", "down")):
        faults.append(Fault(kind, at, at + FAULT, expected))
        at += FAULT + GAP
    return faults


FAULTS = timeline()
BLIP = FAULTS[1].end + BLIP_AFTER
END = FAULTS[-1].end + 25.0


class TimelineServer:
    """One platform's server: answers (or refuses) as the timeline says at the moment a request arrives."""

    def __init__(self, loop: LoopThread, faults: list[Fault], origin: float):
        self.loop, self.faults, self.origin = loop, faults, origin
        self.blip_sent = False
        self.server = loop.run(asyncio.start_server(self.handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.listening = True

    def fault(self, at: float) -> str | None:
        offset = at - self.origin
        return next((f.kind for f in self.faults if f.start <= offset < f.end), None)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        now = time.time()
        fault = self.fault(now)
        if fault == "slow":
            await asyncio.sleep(2 * SLOW_AFTER)
            data = _response(200, OK_PAGE)
        elif fault == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                writer.close()
            return
        elif fault == "status_503":
            data = _response(503, b"busy")
        elif fault == "status_502":
            data = _response(502, b"bad gateway")
        elif not self.blip_sent and self.faults and now - self.origin >= BLIP:
            self.blip_sent = True
            data = _response(503, b"busy")  # one request, shortly after the recovery
        else:
            data = _response(200, OK_PAGE)
        await send(writer, data)

    async def _listen(self, on: bool) -> None:
        if on and not self.listening:
            self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port, reuse_address=True)
        elif not on and self.listening:
            self.server.close()
        self.listening = on

    async def refuse_when_told(self) -> None:
        """Stop listening during ``refused`` faults (connections are refused), listen again after."""
        while True:
            await self._listen(self.fault(time.time()) != "refused")
            await asyncio.sleep(0.05)


def checks_file(directory, faulty: int, healthy: int):
    lines = ["platforms:"]
    for pid, port in (("dichvucong", faulty), ("pakn", healthy)):
        lines += [f"  - id: {pid}", f"    name: {pid}", f"    slow_after: {SLOW_AFTER}", "    checks:",
                  f'      - {{id: home, kind: http, url: "http://{pid}.dcs.vn/", interval: {INTERVAL}s, '
                  f'timeout: 800ms, resolve: {{{pid}.dcs.vn: "127.0.0.1:{port}"}}}}']
    path = directory / "checks.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, VIETNAM).isoformat(timespec="seconds")


def gauges(url: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("platform_incident_open{"):
            labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
            out[(labels["platform"].strip('"'), labels["kind"].strip('"'))] = float(line.rsplit(" ", 1)[1])
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("timeline")
    loop = LoopThread()
    origin = time.time() + 3.0  # the daemon starts meanwhile
    faulty = TimelineServer(loop, FAULTS, origin)
    healthy = TimelineServer(loop, [], origin)
    refuser = asyncio.run_coroutine_threadsafe(faulty.refuse_when_told(), loop.loop)
    store = directory / "monitor.db"
    daemon = Daemon(checks_file(directory, faulty.port, healthy.port), store)
    samples: list[tuple[float, dict]] = []
    try:
        url = daemon.metrics_url()
        while time.time() < origin + END:
            samples.append((time.time() - origin, gauges(url)))
            time.sleep(0.5)
    finally:
        daemon.process.terminate()
        daemon.process.wait(30)
        refuser.cancel()
        loop.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    listed = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "incidents", "--checks", str(directory / "checks.yml"), "--store",
         str(store), "--from", iso(origin - 60), "--to", iso(origin + END + 60), "--json"],
        capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return origin, samples, json.loads(listed.stdout)


def test_every_fault_is_found_with_its_kind_and_edges_within_two_intervals(run):
    origin, _, incidents = run
    mine = [i for i in incidents if i["platform"] == "dichvucong"]
    found = [(i["kind"], round(i["start_unix"] - origin, 1), round(i["end_unix"] - origin, 1)) for i in mine]
    assert len(mine) == len(FAULTS), found
    for fault, incident in zip(FAULTS, mine, strict=True):
        assert incident["kind"] == fault.expected, (fault, found)
        assert abs(incident["start_unix"] - origin - fault.start) <= 2 * INTERVAL, (fault, found)
        assert abs(incident["end_unix"] - origin - fault.end) <= 2 * INTERVAL, (fault, found)


def test_the_blip_and_the_healthy_platform_produce_nothing(run):
    _, _, incidents = run
    assert not [i for i in incidents if i["platform"] == "pakn"]
    assert not [i for i in incidents if i["start_unix"] - run[0] > FAULTS[1].end + 1
                and i["start_unix"] - run[0] < FAULTS[2].start - 1], "the blip made an incident"


def test_the_live_gauge_says_down_through_every_outage_once_confirmed(run):
    _, samples, _ = run
    confirm = 3 * INTERVAL + 2.0  # three failed probes, then the next recomputation
    for fault in FAULTS:
        during = [g for t, g in samples if fault.start + confirm <= t <= fault.end - 0.5]
        assert during, fault
        kind = fault.expected
        assert all(g[("dichvucong", kind)] == 1 for g in during), (fault, during)
        if kind == "down":
            assert all(g[("dichvucong", "degraded")] == 0 for g in during), (fault, during)
    quiet = [g for t, g in samples if FAULTS[1].end + 5 <= t <= FAULTS[2].start - 1]  # around the blip
    assert quiet and all(g[("dichvucong", k)] == 0 for g in quiet for k in ("down", "degraded"))
    assert all(g[("pakn", k)] == 0 for _, g in samples for k in ("down", "degraded"))

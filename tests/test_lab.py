"""The platform lab with the real probes: every fault a World can plan is produced and seen with its reason.

A scripted World (plans set by each test) drives the real :class:`Lab` on a
background loop; the probes run the lab's own ``checks.yml`` from simulated
source addresses, so the lab's time travel is exercised on every probe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitor.config import Catalog, load_catalog
from monitor.config.model import Check
from monitor.lab import simclock
from monitor.lab.lab import Lab, lab_checks_yaml
from monitor.lab.servers import MARKER
from monitor.lab.world import ConnectionPlan, DnsPlan, ResponsePlan, TruthEvent
from monitor.probes import ProbeContext
from monitor.result import ProbeResult, Reason
from monitor.runner import run_check
from tests.servers import LoopThread
from tests.waiting import wait_until

VIETNAM = dt.timezone(dt.timedelta(hours=7))
EPOCH = dt.datetime(2026, 5, 29, tzinfo=VIETNAM).timestamp()  # a bulletin week starts on a Friday
MONDAY_9 = EPOCH + 3 * 86400 + 9 * 3600
LIVE = EPOCH + 3600.0  # the lab's live clock, frozen: peers outside the simulation network get it
ROOT = Path(__file__).resolve().parent.parent

CATALOG = """
platforms:
  - id: gqthc
    name: Hệ thống giải quyết thủ tục hành chính của Đảng
    domains: [gqthc.dcs.vn]
    aliases: [GQTTHC]
    checks:
      - {id: home, kind: http, url: "https://gqthc.dcs.vn/", interval: 30s, timeout: 5s}
      - {id: h1, kind: http, url: "https://gqthc.dcs.vn/dang-nhap", http_version: "1.1", timeout: 5s}
      - {id: h2, kind: http, url: "https://gqthc.dcs.vn/", http_version: "2", timeout: 5s}
      - {id: cert, kind: tls, host: gqthc.dcs.vn, interval: 5m, timeout: 5s}
      - {id: dns, kind: dns, name: gqthc.dcs.vn, interval: 1m, timeout: 2s}
      - {id: port, kind: tcp, host: gqthc.dcs.vn, port: 443, timeout: 2s}
  - id: pakn
    name: Hệ thống tiếp nhận phản ánh, kiến nghị
    domains: [pakn.dcs.vn]
    checks:
      - {id: cert, kind: tls, host: pakn.dcs.vn, interval: 5m, timeout: 5s}
  - id: hdh-tacnghiep
    name: Hệ điều hành tác nghiệp
    checks: []
"""


class ScriptedWorld:
    """A World whose plans a test sets; it records every instant it was asked about."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.connection_plan = ConnectionPlan()
        self.response_plan = ResponsePlan()
        self.dns_plan = DnsPlan()
        self.after: tuple[float, ResponsePlan] | None = None  # from this instant on, respond so instead
        self.truth: list[TruthEvent] = []
        self.asked: list[tuple[str, str, float, str]] = []  # (what, platform, at, path)

    def connection(self, platform: str, at: float) -> ConnectionPlan:
        self.asked.append(("connection", platform, at, ""))
        return self.connection_plan

    def response(self, platform: str, at: float, path: str) -> ResponsePlan:
        self.asked.append(("response", platform, at, path))
        if self.after is not None and at >= self.after[0]:
            return self.after[1]
        return self.response_plan

    def dns(self, platform: str, at: float) -> DnsPlan:
        self.asked.append(("dns", platform, at, ""))
        return self.dns_plan

    def events(self, start: float, end: float) -> list[TruthEvent]:
        return sorted((e for e in self.truth if e.start < end and e.end > start), key=lambda e: e.start)


@pytest.fixture(scope="module")
def loop():
    thread = LoopThread()
    yield thread
    thread.stop()
    thread.loop.close()


def _start_lab(loop: LoopThread, world: ScriptedWorld, directory: Path) -> Lab:
    source = directory / "source.yml"
    source.write_text(CATALOG, encoding="utf-8")
    lab = Lab(load_catalog([source]), world, directory / "lab", EPOCH, lambda: LIVE,
              certificate_days={"pakn": 10})
    loop.run(lab.start())
    return lab


@pytest.fixture(scope="module")
def module_lab(loop, tmp_path_factory):
    world = ScriptedWorld()
    lab = _start_lab(loop, world, tmp_path_factory.mktemp("lab"))
    yield lab, world
    loop.run(lab.stop())


@pytest.fixture
def lab(module_lab) -> Lab:
    module_lab[1].clear()
    return module_lab[0]


@pytest.fixture
def world(module_lab, lab) -> ScriptedWorld:
    return module_lab[1]


@pytest.fixture(scope="module")
def checks(module_lab) -> dict[str, Check]:
    """The lab's own checks file, loaded: ``platform/check`` -> check."""
    catalog = load_catalog([module_lab[0].checks_file])
    return {f"{p.id}/{c.id}": c for p, c in catalog.checks()}


def probe(check: Check, at: float | None = MONDAY_9, timeout: float | None = None) -> ProbeResult:
    """Run the real probe from the source address that carries ``at`` (None: from 127.0.0.1)."""
    if timeout is not None:
        check = check.model_copy(update={"timeout": timeout})
    source = simclock.source_for(at, EPOCH) if at is not None else None
    return asyncio.run(run_check("lab", check, ProbeContext(location="test", source_address=source)))


def test_checks_file_loads_and_points_at_the_lab(lab, checks):
    port, dns_port = lab.ports["gqthc"], lab.dns.port
    home = checks["gqthc/home"]
    assert home.resolve == {"gqthc.dcs.vn": [("127.0.0.1", port)]} and str(home.url) == "https://gqthc.dcs.vn/"
    assert home.tls.ca_file == lab.ca_file and lab.ca_file.read_text().startswith("-----BEGIN CERTIFICATE")
    assert home.body_contains == [MARKER] and (home.interval, home.timeout) == (30.0, 5.0)
    assert checks["gqthc/h1"].http_version == "1.1" and checks["gqthc/h2"].http_version == "2"
    assert checks["gqthc/cert"].address == ("127.0.0.1", port) and checks["gqthc/cert"].tls.ca_file == lab.ca_file
    assert checks["gqthc/dns"].server == ("127.0.0.1", dns_port) and checks["gqthc/dns"].interval == 60.0
    assert checks["gqthc/port"].address == ("127.0.0.1", port)
    catalog = load_catalog([lab.checks_file])
    assert [p.id for p in catalog.platforms] == ["gqthc", "pakn", "hdh-tacnghiep"]  # unmonitored ones kept
    assert catalog.platform("gqthc").aliases == ["GQTTHC"] and set(lab.ports) == {"gqthc", "pakn"}


def test_the_shipped_catalog_rewrites_into_a_loadable_file(tmp_path):
    catalog = load_catalog([ROOT / "checks" / "dcs.yml"])
    ports = {p.id: 40000 + i for i, p in enumerate(catalog.platforms)}
    path = tmp_path / "checks.yml"
    path.write_text(lab_checks_yaml(catalog, ports, 5353, tmp_path / "ca.pem"), encoding="utf-8")
    rewritten = load_catalog([path])
    assert [(p.id, p.name, p.aliases, [(c.id, c.interval, c.timeout) for c in p.checks])
            for p in rewritten.platforms] == [
        (p.id, p.name, p.aliases, [(c.id, c.interval, c.timeout) for c in p.checks]) for p in catalog.platforms]


def test_healthy_platform_serves_http2_and_http1_and_passes_every_check(world, checks):
    results = {name: probe(check) for name, check in checks.items()}
    assert all(r.success for r in results.values()), {n: r.error for n, r in results.items() if not r.success}
    assert results["gqthc/home"].details["http_version"] == "HTTP/1.1"  # the lab prefers HTTP/1.1 when offered
    assert results["gqthc/h2"].details["http_version"] == "HTTP/2"
    assert results["gqthc/h1"].details["http_version"] == "HTTP/1.1"
    assert ("response", "gqthc", MONDAY_9, "/dang-nhap") in world.asked


def test_one_platform_certificate_expires_soon(lab, checks):
    days = probe(checks["pakn/cert"]).details["days_to_expiry"]
    assert 9.9 < days <= 10 and 364 < probe(checks["gqthc/cert"]).details["days_to_expiry"] <= 365


def test_http2_serves_several_streams_on_one_connection(lab, world):
    async def fetch() -> list[httpx.Response]:
        context = await ProbeContext().ssl_context(True, lab.ca_file, ("h2",))  # offers HTTP/2 only
        context.check_hostname = False  # the URL names 127.0.0.1; the chain is still verified
        async with httpx.AsyncClient(http1=False, http2=True, verify=context) as client:
            base = f"https://127.0.0.1:{lab.ports['gqthc']}"
            return list(await asyncio.gather(*(client.get(f"{base}/{n}") for n in range(4))))

    responses = asyncio.run(fetch())
    assert [(r.status_code, r.http_version, MARKER in r.text) for r in responses] == [(200, "HTTP/2", True)] * 4
    assert sorted(path for what, _, _, path in world.asked if what == "response") == ["/0", "/1", "/2", "/3"]
    assert [what for what, *_ in world.asked].count("connection") == 1


OUTAGE = ConnectionPlan("reset", event="outage")
FAULTS = [
    # (name, connection plan, response plan, checks, expected reason, status, deadline)
    # An RST right after accept breaks the TLS handshake with ECONNRESET; connect_failure maps that
    # OSError like a refused connection: the platform is down, which is what an outage means.
    ("outage reset", OUTAGE, None, ["gqthc/home", "gqthc/h1", "gqthc/cert"], Reason.CONNECT_REFUSED, None, None),
    ("hang at accept", ConnectionPlan("hang"), None, ["gqthc/home", "gqthc/cert"], Reason.READ_TIMEOUT, None, 0.3),
    ("certificate expired", ConnectionPlan(certificate="expired"), None, ["gqthc/home", "gqthc/cert"],
     Reason.TLS_EXPIRED, None, None),
    ("wrong host", ConnectionPlan(certificate="wrong_host"), None, ["gqthc/h1", "gqthc/cert"],
     Reason.TLS_HOSTNAME, None, None),
    ("busy page", None, ResponsePlan(status=503, body="<h1>Hệ thống đang quá tải</h1>".encode()),
     ["gqthc/home", "gqthc/h1"], Reason.HTTP_STATUS, 503, None),
    ("bad gateway", None, ResponsePlan(status=502), ["gqthc/home", "gqthc/h1"], Reason.HTTP_STATUS, 502, None),
    ("gateway timeout", None, ResponsePlan(status=504, delay=0.05), ["gqthc/h2"], Reason.HTTP_STATUS, 504, None),
    ("wrong content", None, ResponsePlan(body="<h1>Trang bảo trì</h1>".encode()), ["gqthc/home", "gqthc/h1"],
     Reason.BODY_MISMATCH, 200, None),
    ("response hang", None, ResponsePlan("hang"), ["gqthc/home", "gqthc/h1"], Reason.READ_TIMEOUT, None, 0.3),
    ("response reset", None, ResponsePlan("reset"), ["gqthc/home", "gqthc/h1"], Reason.PROTOCOL, None, None),
]


@pytest.mark.parametrize("connection, response, names, reason, status, deadline",
                         [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_is_seen_by_the_probes_with_its_reason(world, checks, connection, response, names, reason,
                                                     status, deadline):
    world.connection_plan = connection or ConnectionPlan()
    world.response_plan = response or ResponsePlan()
    for name in names:
        result = probe(checks[name], timeout=deadline)
        assert (name, result.reason, result.status_code) == (name, reason, status), result.error


def test_a_reset_outage_races_with_a_tcp_connect(world, checks):
    # The kernel completes the handshake before the lab can reset, so a TCP check connects unless
    # the RST lands before the client's event loop has seen the connect complete (SO_ERROR then
    # reads ECONNRESET): both outcomes are honest, neither is guaranteed.
    world.connection_plan = OUTAGE
    result = probe(checks["gqthc/port"])
    assert result.success or result.reason is Reason.CONNECT_REFUSED, (result.reason, result.error)


@pytest.mark.parametrize("action", ["servfail", "nxdomain", "drop"])
def test_dns_faults_fail_as_dns(world, checks, action):
    world.dns_plan = DnsPlan(action, event="dns-1")
    result = probe(checks["gqthc/dns"], timeout=0.3 if action == "drop" else None)
    assert result.reason is Reason.DNS, result.error
    if action != "drop":
        assert result.details["rcode"] == action.upper()
    assert ("dns", "gqthc", MONDAY_9, "") in world.asked


def test_slow_response_is_a_success_with_the_delay_in_processing_and_transfer(world, checks):
    world.response_plan = ResponsePlan(delay=0.3, transfer=0.2, event="slow")
    for name in ("gqthc/h2", "gqthc/h1"):
        result = probe(checks[name])
        assert result.success, result.error
        assert abs(result.phases["processing"] - 0.3) < 0.02, result.phases
        assert abs(result.phases["transfer"] - 0.2) < 0.03, result.phases


def test_simulated_time_travels_in_the_source_address(world, checks):
    tuesday_peak = MONDAY_9 + 86400
    world.after = (tuesday_peak, ResponsePlan(status=503, event="busy"))
    assert probe(checks["gqthc/home"], at=MONDAY_9).success
    late = probe(checks["gqthc/home"], at=tuesday_peak + 30)
    live = probe(checks["gqthc/home"], at=None)  # from 127.0.0.1: the live clock
    assert (late.reason, late.status_code, live.success) == (Reason.HTTP_STATUS, 503, True)
    assert [at for what, _, at, _ in world.asked if what == "response"] == [MONDAY_9, tuesday_peak + 30, LIVE]
    assert [at for what, _, at, _ in world.asked if what == "connection"] == [MONDAY_9, tuesday_peak + 30, LIVE]


def test_truth_lists_exactly_the_applied_events(loop, tmp_path):
    world = ScriptedWorld()
    lab = _start_lab(loop, world, tmp_path)
    checks = {f"{p.id}/{c.id}": c for p, c in load_catalog([lab.checks_file]).checks()}
    day = 86400.0
    world.truth = [
        TruthEvent("outage-1", "gqthc", "outage_refused", EPOCH + day, EPOCH + day + 600, {"note": "sập"}),
        TruthEvent("never-seen", "pakn", "gateway_502", EPOCH + day + 60, EPOCH + day + 120, {}),
        TruthEvent("dns-1", "gqthc", "dns_failure", EPOCH + 2 * day, EPOCH + 2 * day + 300, {}),
        TruthEvent("later", "gqthc", "slow", EPOCH + 5 * day, EPOCH + 6 * day, {}),  # after all we saw
    ]
    try:
        world.connection_plan = ConnectionPlan("reset", event="outage-1")
        for offset in (0, 120):
            assert not probe(checks["gqthc/home"], at=EPOCH + day + offset).success
        world.connection_plan = ConnectionPlan()
        world.dns_plan = DnsPlan("servfail", event="dns-1")
        assert not probe(checks["gqthc/dns"], at=EPOCH + 2 * day + 10).success
    finally:
        loop.run(lab.stop())
    rows = [json.loads(line) for line in lab.truth_file.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"id": "outage-1", "platform": "gqthc", "kind": "outage_refused", "start": EPOCH + day,
         "end": EPOCH + day + 600, "params": {"note": "sập"}, "applied": 2,
         "first_applied": EPOCH + day, "last_applied": EPOCH + day + 120},
        {"id": "dns-1", "platform": "gqthc", "kind": "dns_failure", "start": EPOCH + 2 * day,
         "end": EPOCH + 2 * day + 300, "params": {}, "applied": 1,
         "first_applied": EPOCH + 2 * day + 10, "last_applied": EPOCH + 2 * day + 10},
    ]
    assert not (tmp_path / "lab" / "truth.jsonl.tmp").exists()


def test_truth_is_written_periodically_while_running(loop, tmp_path):
    world = ScriptedWorld()
    source = tmp_path / "source.yml"
    source.write_text(CATALOG, encoding="utf-8")
    lab = Lab(Catalog(load_catalog([source]).platforms), world, tmp_path / "lab", EPOCH, lambda: LIVE,
              truth_interval=0.05)
    world.truth = [TruthEvent("outage-1", "gqthc", "outage_refused", EPOCH, EPOCH + 600, {})]
    world.connection_plan = ConnectionPlan("reset", event="outage-1")
    loop.run(lab.start())
    try:
        checks = {f"{p.id}/{c.id}": c for p, c in load_catalog([lab.checks_file]).checks()}
        probe(checks["gqthc/cert"], at=EPOCH + 5)

        def written() -> list[str]:  # written while running (every 50 ms), not at the stop
            if not lab.truth_file.exists():
                return []
            return [json.loads(line)["id"] for line in lab.truth_file.read_text().splitlines()]

        assert wait_until(written, timeout=10, what="the truth file, while the lab runs") == ["outage-1"]
    finally:
        loop.run(lab.stop())


def test_monitor_lab_command_announces_serves_and_writes_truth_on_sigterm(tmp_path):
    directory = tmp_path / "lab"
    command = [sys.executable, "-m", "monitor.cli", "lab", "--week", "2026-W22", "--dir", str(directory),
               "--checks", str(ROOT / "checks" / "dcs.yml")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while (line := process.stdout.readline()) and line.strip() != "lab ready":
            lines.append(line.strip())
        assert line.strip() == "lab ready", process.stderr.read()
        assert lines[0].startswith("gqthc gqthc.dcs.vn -> https://127.0.0.1:")
        assert lines[-2].startswith("dns 127.0.0.1:") and lines[-1] == f"checks {directory / 'checks.yml'}"
        checks = {f"{p.id}/{c.id}": c for p, c in load_catalog([directory / "checks.yml"]).checks()}
        assert probe(checks["pakn/cert"], at=None).success  # from 127.0.0.1: the lab's live clock
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert (directory / "truth.jsonl").exists()

"""The platform lab: every monitored platform simulated on loopback, behaving as a :class:`World` decides.

:class:`Lab` starts a local CA (``ca.pem``), one HTTPS listener per monitored
platform and a DNS responder, all on 127.0.0.1, and writes ``checks.yml``: the
catalog's checks pointed at the lab (``resolve``/``address``/``server``), trusting
its CA and requiring the healthy page's marker text. The real probes run on that
file unchanged, so they see real resets, hangs, bad certificates, error pages and
DNS failures. ``truth.jsonl`` lists the truth events the lab actually applied:
the ground truth that incident detection is scored against.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from monitor.config import Catalog, Check, DnsCheck, HttpCheck, Platform, TcpCheck, TlsCheck, load_catalog
from monitor.config.model import format_duration
from monitor.lab import simclock
from monitor.lab.behaviour import ScenarioWorld
from monitor.lab.dnsd import Behaviour, DnsResponder
from monitor.lab.pki import LabPki
from monitor.lab.scenario import Scenario, load_scenario
from monitor.lab.servers import MARKER, AppliedEvents, PlatformServer
from monitor.lab.world import World
from monitor.workcalendar import bulletin_week

log = logging.getLogger(__name__)

_DNS_BEHAVIOURS = {"nxdomain": Behaviour.NXDOMAIN, "servfail": Behaviour.SERVFAIL, "drop": Behaviour.DROP}


class Lab:
    """Simulated platforms on loopback for the checks of ``catalog``, driven by ``world``.

    ``epoch`` anchors simulated time in source addresses (:mod:`monitor.lab.simclock`);
    ``live_clock`` gives the simulated instant for peers that carry none. ``certificate_days``
    sets, per platform id, how many days its good certificate stays valid (default 365).
    """

    def __init__(self, catalog: Catalog, world: World, directory: Path, epoch: float,
                 live_clock: Callable[[], float], *, host: str = "127.0.0.1",
                 certificate_days: Mapping[str, float] | None = None, truth_interval: float = 10.0) -> None:
        self.catalog = catalog
        self.world = world
        self.directory = directory
        self.epoch = epoch
        self.live_clock = live_clock
        self.host = host
        self.certificate_days = dict(certificate_days or {})
        self.truth_interval = truth_interval
        self.applied = AppliedEvents()
        self.checks_file = directory / "checks.yml"
        self.truth_file = directory / "truth.jsonl"
        self.ca_file = directory / "ca.pem"
        self.servers: dict[str, PlatformServer] = {}
        self.dns = DnsResponder(decide=self._decide_dns)
        self._names = {name: platform.id for platform in catalog.platforms if platform.monitored
                       for name in platform_names(platform)}
        self._truth_task: asyncio.Task[None] | None = None

    @property
    def ports(self) -> dict[str, int]:
        """Platform id -> the port of its HTTPS listener."""
        return {platform: server.port for platform, server in self.servers.items() if server.port is not None}

    async def start(self) -> None:
        """Issue certificates, start every listener and the DNS responder, write ``checks.yml``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        monitored = [p for p in self.catalog.platforms if p.monitored]
        pki = await asyncio.to_thread(self._issue, monitored)  # key generation is CPU work
        try:
            for platform in monitored:
                server = PlatformServer(platform.id, platform.name, self.world,
                                        functools.partial(pki.context, platform.id),
                                        self.epoch, self.live_clock, self.applied)
                self.servers[platform.id] = server
                await server.start(self.host)
            for name in self._names:
                self.dns.set_records(name, "A", [self.host])
            await self.dns.start(self.host)
        except BaseException:
            await self._stop_listeners()
            raise
        text = lab_checks_yaml(self.catalog, self.ports, self.dns.port or 0, self.ca_file, self.host)
        await asyncio.to_thread(_write_atomically, self.checks_file, text)
        self._truth_task = asyncio.create_task(self._keep_writing_truth())

    async def stop(self) -> None:
        """Stop everything and write ``truth.jsonl``."""
        if self._truth_task is not None:
            self._truth_task.cancel()
            await asyncio.gather(self._truth_task, return_exceptions=True)
            self._truth_task = None
        await self._stop_listeners()
        await self.write_truth()

    def announcement(self) -> list[str]:
        """What ``monitor lab`` prints: where each platform, the DNS responder and the checks file are."""
        lines = [f"{platform.id} {', '.join(platform_names(platform))} -> https://{self.host}:{self.ports[platform.id]}"
                 for platform in self.catalog.platforms if platform.id in self.servers]
        lines.append(f"dns {self.host}:{self.dns.port}")
        lines.append(f"checks {self.checks_file}")
        return lines

    def truth(self) -> list[dict[str, Any]]:
        """Every truth event applied at least once, in start order, with how often and when it was applied."""
        if self.applied.latest is None or not self.applied.events:
            return []
        # +1: an event that starts at the very last instant seen is applied but not inside [epoch, latest).
        events = sorted(self.world.events(self.epoch, self.applied.latest + 1), key=lambda e: e.start)
        rows, seen = [], set()
        for event in events:
            applied = self.applied.events.get(event.id)
            if applied is None or event.id in seen:
                continue
            seen.add(event.id)
            rows.append({"id": event.id, "platform": event.platform, "kind": event.kind, "start": event.start,
                         "end": event.end, "params": event.params, "applied": applied.count,
                         "first_applied": applied.first, "last_applied": applied.last})
        missing = set(self.applied.events) - seen
        if missing:  # the World applied events it does not report: its bug, but say so
            log.warning("applied truth events the world does not list: %s", ", ".join(sorted(missing)))
        return rows

    async def write_truth(self) -> None:
        """Write ``truth.jsonl`` atomically (the World is asked on the loop, the file written off it)."""
        text = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in self.truth())
        await asyncio.to_thread(_write_atomically, self.truth_file, text)

    async def _keep_writing_truth(self) -> None:
        """Rewrite the truth every ``truth_interval`` seconds, so a killed lab leaves most of it behind."""
        while True:
            await asyncio.sleep(self.truth_interval)
            try:
                await self.write_truth()
            except Exception:
                log.exception("writing %s failed", self.truth_file)

    async def _stop_listeners(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers.values()), self.dns.stop())

    def _issue(self, platforms: list[Platform]) -> LabPki:
        pki = LabPki(self.directory)
        for platform in platforms:
            pki.issue(platform.id, platform_names(platform), self.certificate_days.get(platform.id, 365.0))
        return pki

    def _decide_dns(self, name: str, peer: str) -> tuple[Behaviour, float] | None:
        """Ask the World about a query for a platform's name, at the instant the peer carries."""
        platform = self._names.get(name.lower())
        if platform is None:
            return None  # not a platform name: the table answers (NXDOMAIN)
        simulated = simclock.time_from(peer, self.epoch)
        at = simulated if simulated is not None else self.live_clock()
        plan = self.world.dns(platform, at)
        self.applied.record(plan.event, at)
        behaviour = _DNS_BEHAVIOURS.get(plan.action)
        return (behaviour, 0.0) if behaviour is not None else None


def platform_names(platform: Platform) -> list[str]:
    """Every host name of a platform: its domains, then names its checks use, lower-case, in order."""
    names = list(platform.domains)
    for check in platform.checks:
        if isinstance(check, HttpCheck) and check.url.host:
            names.append(check.url.host)
        elif isinstance(check, TlsCheck):
            names += [check.host, check.server_name or check.host]
        elif isinstance(check, (DnsCheck, TcpCheck)):
            names.append(check.name if isinstance(check, DnsCheck) else check.host)
    return list(dict.fromkeys(name.lower().rstrip(".") for name in names if name))


def lab_checks_yaml(catalog: Catalog, ports: Mapping[str, int], dns_port: int, ca_file: Path,
                    host: str = "127.0.0.1") -> str:
    """The catalog as check YAML pointed at the lab; loads with :func:`monitor.config.load_catalog`."""
    platforms = []
    for platform in catalog.platforms:
        data: dict[str, Any] = {"id": platform.id, "name": platform.name}
        if platform.domains:
            data["domains"] = list(platform.domains)
        if platform.aliases:
            data["aliases"] = list(platform.aliases)
        data["slow_after"] = format_duration(platform.slow_after)
        data["checks"] = [_lab_check(check, f"{host}:{ports[platform.id]}", f"{host}:{dns_port}", ca_file, host)
                          for check in platform.checks]
        platforms.append(data)
    header = "# Written by the platform lab: the checks below probe its loopback platforms. Do not edit.\n"
    body: str = yaml.safe_dump({"platforms": platforms}, allow_unicode=True, sort_keys=False, width=120)
    return header + body


def _lab_check(check: Check, address: str, dns_server: str, ca_file: Path, host: str) -> dict[str, Any]:
    """One check rewritten for the lab; ids, intervals and timeouts kept."""
    dumped = check.model_dump(mode="json", exclude_defaults=True)
    data: dict[str, Any] = {"id": check.id, "kind": check.kind, "interval": format_duration(check.interval),
                            "timeout": format_duration(check.timeout)}
    data.update((key, value) for key, value in dumped.items() if key not in data)
    if isinstance(check, (HttpCheck, TlsCheck)):
        tls = {"verify": check.tls.verify, "ca_file": str(ca_file)}
    if isinstance(check, HttpCheck):
        # The lab speaks TLS only; the URL keeps its host and path, and resolves to the listener.
        data["url"] = str(check.url).replace("http://", "https://", 1) if check.url.scheme == "http" else str(check.url)
        data["resolve"] = {check.url.host: address}
        data["tls"] = tls
        if "expect_status" in data:  # tuples dump as lists, which the loader does not read back
            data["expect_status"] = [f"{low}-{high}" for low, high in check.expect_status]
        # The real page's content rules mean nothing here; the lab's healthy page carries MARKER.
        data.pop("body_matches", None)
        if check.method != "HEAD":
            data["body_contains"] = [MARKER]
    elif isinstance(check, TlsCheck):
        data["address"], data["tls"] = address, tls
    elif isinstance(check, TcpCheck):
        data["address"] = address
    elif isinstance(check, DnsCheck):
        data["server"] = dns_server
        if check.expect_addresses:
            data["expect_addresses"] = [host]
    return data


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


async def run_lab(scenario: str, week: str, directory: Path, speed: float, checks: list[Path]) -> int:
    """``monitor lab``: serve the scenario's week until SIGTERM/SIGINT, then write the truth; return 0."""
    week_start, week_end = bulletin_week(week)
    catalog = load_catalog(checks)
    world = ScenarioWorld(load_scenario(scenario), week_start, week_end, [p.id for p in catalog.platforms],
                          seed=None)
    started = time.time()

    def live_clock() -> float:
        return week_start + (time.time() - started) * speed

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lab = Lab(catalog, world, directory, epoch=week_start, live_clock=live_clock,
              certificate_days=certificate_days(world.scenario, catalog))
    try:
        await lab.start()
        try:
            _print_lines([*lab.announcement(), "lab ready"])
            await stop.wait()
        finally:
            await lab.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


def certificate_days(scenario: Scenario, catalog: Catalog) -> dict[str, float]:
    """Validity of each platform's normal certificate, from the scenario's profiles."""
    return {p.id: scenario.profile(p.id).certificate_days for p in catalog.platforms}


def _print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, flush=True)  # flushed: a parent process waits for "lab ready" on a pipe

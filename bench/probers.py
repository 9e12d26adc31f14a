"""Run one prober at a fixed rate against a target and collect what it reported.

Ours is the real daemon (``monitor run``) with ``rate × interval`` checks spread over the
interval by its own scheduler. blackbox_exporter is driven through ``/probe`` by a light
driver in this process (pinned to the other CPU, its cost not counted), like Prometheus would.
Both run pinned to one CPU; CPU time comes from the kernel's accounting of the prober process.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.daemon import checks_yaml, running
from bench.procs import cpu_seconds, free_port, memory_mb, pinned, stop, wait_listening
from bench.targets import Stamps

INTERVAL = 2.0  # seconds between runs of each of our checks; rate × INTERVAL checks give the rate
TIMEOUT = 1.5  # per probe, both tools


@dataclass
class Run:
    """What one prober did at one offered rate during the measured window."""

    tool: str
    rate: float  # offered, probes/s
    window: float  # seconds measured
    processing: list[float] = field(default_factory=list)  # reported processing phase of successful probes, s
    held: list[float | None] = field(default_factory=list)  # per success: how long the target held it (None: unknown)
    flagged: list[bool] = field(default_factory=list)  # per success: flagged unreliable by the prober (peer: never)
    failures: int = 0
    unreliable: int = 0  # ours only: results the prober itself flagged as measured during its own stall
    cpu: float = 0.0  # CPU seconds used by the prober process in the window
    peak_rss_mb: float = 0.0
    lag_p99: float | None = None  # ours only: scheduler lag p99, s (from its histogram)
    skipped: int = 0  # ours only: runs the scheduler skipped

    @property
    def completed(self) -> int:
        return len(self.processing) + self.failures

    @property
    def cpu_per_probe(self) -> float | None:
        return self.cpu / self.completed if self.completed else None

    def success(self, processing: float, held: float | None, flagged: bool = False) -> None:
        self.processing.append(processing)
        self.held.append(held)
        self.flagged.append(flagged)


def _scrape(port: int) -> dict[str, list]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _lag_buckets(metrics: dict[str, list]) -> dict[float, float]:
    return {float(s.labels["le"]): s.value for s in metrics["monitor_scheduler_lag_seconds"]
            if s.name.endswith("_bucket")}


def _skipped(metrics: dict[str, list]) -> float:
    return sum(s.value for s in metrics["monitor_probes_skipped"] if s.name.endswith("_total"))


def histogram_quantile(q: float, cumulative: dict[float, float]) -> float | None:
    """Prometheus's histogram_quantile over cumulative bucket counts (upper bound -> count)."""
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(cumulative[bound] - below, 1e-12)
        lower, below = bound, cumulative[bound]
    return lower


def run_ours(workdir: Path, url: str, ca_file: Path, rate: float, warmup: float, window: float, cpu: int | None,
             stamps: Stamps | None = None) -> Run:
    """The real daemon with ``rate × INTERVAL`` checks; measured from ``warmup`` for ``window`` seconds.
    ``stamps``: how long the target held each tagged request (:meth:`bench.targets.Stamps.held`)."""
    workdir.mkdir(parents=True)
    checks = checks_yaml(url, ca_file, max(1, round(rate * INTERVAL)), INTERVAL, TIMEOUT, per_platform=10_000,
                         tagged=stamps is not None)
    run = Run("ours", rate, window)
    with running(workdir, checks, cpu) as (daemon, port):
        time.sleep(warmup)
        before = _scrape(port)
        cpu0, began = cpu_seconds(daemon.pid), time.time()
        time.sleep(window)
        cpu1, ended = cpu_seconds(daemon.pid), time.time()
        after = _scrape(port)
        run.cpu, run.window = cpu1 - cpu0, ended - began
        run.peak_rss_mb = memory_mb(daemon.pid)[1]
    tally(run, workdir, before, after, began, ended, stamps)
    return run


def _held(stamps: list[tuple[float, float]], started: float, duration: float) -> float | None:
    """How long the target held the request of the probe that ran from ``started`` for ``duration`` s: the tagged
    request that ended inside it (nginx's clock is read to the millisecond)."""
    for ended, took in stamps:
        if started - 0.002 <= ended <= started + duration + 0.002:
            return took
    return None


def tally(run: Run, workdir: Path, before: dict[str, list], after: dict[str, list], began: float, ended: float,
          stamps: Stamps | None = None) -> None:
    """Fill ``run`` from the daemon's two scrapes around the window and its stored results inside it, with how
    long the target held each request when ``stamps`` is given."""
    lag0, lag1 = _lag_buckets(before), _lag_buckets(after)
    run.lag_p99 = histogram_quantile(0.99, {le: lag1[le] - lag0.get(le, 0.0) for le in lag1})
    run.skipped = int(_skipped(after) - _skipped(before))
    with sqlite3.connect(workdir / "history.db") as db:
        rows = db.execute("SELECT check_id, started_at, duration, success, processing_s, unreliable FROM results "
                          "WHERE started_at >= ? AND started_at < ?", (began, ended)).fetchall()
    by_tag = stamps.held() if stamps is not None else {}
    for check_id, started, duration, success, processing, unreliable in rows:
        if success and processing is not None:
            run.success(processing, _held(by_tag.get(check_id, []), started, duration), bool(unreliable))
        else:
            run.failures += 1
        run.unreliable += unreliable


_BLACKBOX_CONFIG = """\
modules:
  https:
    prober: http
    timeout: {timeout}s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls_config: {{ca_file: "{ca_file}"}}
"""
_PROCESSING = re.compile(rb'^probe_http_duration_seconds\{phase="processing"\} (\S+)$', re.M)
_SUCCESS = re.compile(rb"^probe_success (\S+)$", re.M)


def run_blackbox(workdir: Path, url: str, ca_file: Path, rate: float, warmup: float, window: float,
                 cpu: int | None, stamps: Stamps | None = None) -> Run:
    """blackbox_exporter driven at ``rate`` probes/s through ``/probe`` (one HTTP/1.0 request per probe);
    ``stamps`` as for :func:`run_ours`."""
    workdir.mkdir(parents=True)
    config = workdir / "blackbox.yml"
    config.write_text(_BLACKBOX_CONFIG.format(timeout=TIMEOUT, ca_file=ca_file))
    port = free_port()
    with open(workdir / "blackbox.log", "w") as log:
        exporter = subprocess.Popen(
            ["prometheus-blackbox-exporter", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            env={**os.environ, "GOMAXPROCS": "1"}, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pinned(cpu))
    run = Run("blackbox_exporter", rate, window)
    try:
        wait_listening(port, exporter)
        asyncio.run(_drive(run, exporter.pid, port, url, warmup, stamps))
        run.peak_rss_mb = memory_mb(exporter.pid)[1]
    finally:
        stop(exporter)
    return run


async def _drive(run: Run, pid: int, port: int, url: str, warmup: float, stamps: Stamps | None) -> None:
    """Ask for ``run.rate`` probes a second for ``warmup + window`` seconds; keep the window's answers."""

    def request(k: int) -> bytes:
        target = f"{url}?probe=b{k}" if stamps is not None else url
        return (f"GET /probe?module=https&target={quote(target, safe='')} HTTP/1.0\r\n"
                f"Host: 127.0.0.1:{port}\r\n\r\n").encode()

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    measure_from, measure_to = start + warmup, start + warmup + run.window
    count = math.ceil(run.rate * (warmup + run.window))
    answers: list[tuple[int, float, bytes | None]] = []

    async def probe(k: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request(k))
            body = await asyncio.wait_for(reader.read(), TIMEOUT + 5)
            writer.close()
        except (OSError, TimeoutError):
            body = None
        answers.append((k, at, body))

    async def sample_cpu(at: float) -> float:
        await asyncio.sleep(max(0.0, at - loop.time()))
        return cpu_seconds(pid)

    cpu_marks = asyncio.gather(sample_cpu(measure_from), sample_cpu(measure_to))
    await asyncio.wait_for(asyncio.gather(*(probe(k, start + k / run.rate) for k in range(count))),
                           warmup + run.window + TIMEOUT + 30)
    cpu0, cpu1 = await cpu_marks
    run.cpu = cpu1 - cpu0
    by_tag = stamps.held() if stamps is not None else {}
    for k, at, body in answers:
        if not measure_from <= at < measure_to:
            continue
        success = body is not None and _SUCCESS.search(body)
        processing = body is not None and _PROCESSING.search(body)
        if success and float(success.group(1)) == 1 and processing:
            took = by_tag.get(f"b{k}")
            run.success(float(processing.group(1)), took[0][1] if took else None)  # blackbox_exporter flags nothing
        else:
            run.failures += 1

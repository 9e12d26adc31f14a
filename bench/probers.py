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

INTERVAL = 2.0  # seconds between runs of each of our checks; rate × INTERVAL checks give the rate
TIMEOUT = 1.5  # per probe, both tools


@dataclass
class Run:
    """What one prober did at one offered rate during the measured window."""

    tool: str
    rate: float  # offered, probes/s
    window: float  # seconds measured
    processing: list[float] = field(default_factory=list)  # reported processing phase of successful probes, s
    failures: int = 0
    unreliable: int = 0  # ours only: results the prober itself flagged as measured during its own stall
    reliable: list[float] = field(default_factory=list)  # processing of the successes not flagged (peer: all), s
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


def run_ours(workdir: Path, url: str, ca_file: Path, rate: float, warmup: float, window: float, cpu: int | None) -> Run:
    """The real daemon with ``rate × INTERVAL`` checks; measured from ``warmup`` for ``window`` seconds."""
    workdir.mkdir(parents=True)
    checks = checks_yaml(url, ca_file, max(1, round(rate * INTERVAL)), INTERVAL, TIMEOUT, per_platform=10_000)
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
    tally(run, workdir, before, after, began, ended)
    return run


def tally(run: Run, workdir: Path, before: dict[str, list], after: dict[str, list], began: float, ended: float) -> None:
    """Fill ``run`` from the daemon's two scrapes around the window and its stored results inside it."""
    lag0, lag1 = _lag_buckets(before), _lag_buckets(after)
    run.lag_p99 = histogram_quantile(0.99, {le: lag1[le] - lag0.get(le, 0.0) for le in lag1})
    run.skipped = int(_skipped(after) - _skipped(before))
    with sqlite3.connect(workdir / "history.db") as db:
        rows = db.execute("SELECT success, processing_s, unreliable FROM results WHERE started_at >= ? "
                          "AND started_at < ?", (began, ended)).fetchall()
    for success, processing, unreliable in rows:
        if success and processing is not None:
            run.processing.append(processing)
            if not unreliable:
                run.reliable.append(processing)
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
                 cpu: int | None) -> Run:
    """blackbox_exporter driven at ``rate`` probes/s through ``/probe`` (one HTTP/1.0 request per probe)."""
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
        asyncio.run(_drive(run, exporter.pid, port, url, warmup))
        run.peak_rss_mb = memory_mb(exporter.pid)[1]
    finally:
        stop(exporter)
    return run


async def _drive(run: Run, pid: int, port: int, url: str, warmup: float) -> None:
    """Ask for ``run.rate`` probes a second for ``warmup + window`` seconds; keep the window's answers."""
    request = (f"GET /probe?module=https&target={quote(url, safe='')} HTTP/1.0\r\n"
               f"Host: 127.0.0.1:{port}\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    measure_from, measure_to = start + warmup, start + warmup + run.window
    count = math.ceil(run.rate * (warmup + run.window))
    answers: list[tuple[float, bytes | None]] = []

    async def probe(at: float) -> None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            body = await asyncio.wait_for(reader.read(), TIMEOUT + 5)
            writer.close()
        except (OSError, TimeoutError):
            body = None
        answers.append((at, body))

    async def sample_cpu(at: float) -> float:
        await asyncio.sleep(max(0.0, at - loop.time()))
        return cpu_seconds(pid)

    cpu_marks = asyncio.gather(sample_cpu(measure_from), sample_cpu(measure_to))
    await asyncio.wait_for(asyncio.gather(*(probe(start + k / run.rate) for k in range(count))),
                           warmup + run.window + TIMEOUT + 30)
    cpu0, cpu1 = await cpu_marks
    run.cpu = cpu1 - cpu0
    for at, body in answers:
        if not measure_from <= at < measure_to:
            continue
        success = body is not None and _SUCCESS.search(body)
        processing = body is not None and _PROCESSING.search(body)
        if success and float(success.group(1)) == 1 and processing:
            run.processing.append(float(processing.group(1)))
            run.reliable.append(run.processing[-1])  # blackbox_exporter flags nothing
        else:
            run.failures += 1

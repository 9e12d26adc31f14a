"""The status page under load while the prober works (issue 16): 500 requests/s for 30 s on ``/status``, p99 ≤ 50 ms,
and no more unreliable results than the same prober without visitors.

The real ``monitor run`` (pinned to the first CPU) probes 200 HTTP checks of the platform lab (``monitor lab``,
10 healthy platforms over TLS, on the second CPU) every 10 s and serves ``/status`` beside ``/metrics``; nginx
with the shipped deploy/nginx/ configuration publishes it from the second CPU (bench/proxy.py). Five windows of
the same length follow each other: quiet (nobody reads the page), the control (the same load on a path nginx
answers itself: what the visitors' load does to the machine without the page), loaded through nginx, loaded on
the prober's own port, quiet again. Loaded means an open-loop client on the second CPU sending requests at a
fixed rate (4 of 5 for the page, 1 for the JSON, gzip accepted, a new connection each). The budget is no more
unreliable results than the most flagged of the quiet windows and the control: neither the prober's drift over
the run nor what the benchmark's own load does to this 2-CPU machine is put on the page. Latency is
measured from the request's planned send time, so a slow server cannot hide its queue. Every loop is bounded in
count and in time. Unreliable results come from the daemon's ``/metrics``.

Before that, in this process: what one computation of the page costs over 30 days of history (648,000 results);
the daemon then starts on that history, so its first computation (on the first request) is measured too.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext
from bench.daemon import environment, running
from bench.model import Budget, Figure
from bench.probing import quantile
from bench.procs import cpu_seconds, pinned, running_on, stop, two_cpus
from bench.proxy import CONTROL, status_proxy
from bench.scale_data import result
from monitor.config import load_catalog
from monitor.domain import IncidentPolicy
from monitor.statuspage import StatusSource
from monitor.store import open_store
from monitor.workcalendar import PeakHours

SECTION = "statuspage"
CHECKS = 200
INTERVAL = 10.0  # s: 20 probes/s
RATE = 500  # requests/s
WINDOW = 30.0  # s
WARMUP = 15.0  # s: every check has run, the page has been computed once
REQUEST_TIMEOUT = 5.0  # s: a request not answered by then counts as failed
P99_LIMIT_MS = 50.0
_COUNTER = re.compile(r"^(probe_results_total|monitor_unreliable_results_total)\{[^}]*\} (\S+)$", re.M)


@contextmanager
def lab_checks(workdir: Path, cpu: int | None, checks: int, per_platform: int) -> Iterator[str]:
    """The platform lab (``monitor lab``, pinned to ``cpu``) serving ``checks`` HTTP checks of healthy platforms,
    ``per_platform`` to a platform, every INTERVAL; yields the checks YAML it wrote for itself (loopback, its CA)."""
    lines = ["platforms:"]
    for p in range(-(-checks // per_platform)):
        lines += [f"  - id: platform-{p:02d}", f"    name: Nền tảng {p}", f"    domains: [p{p:02d}.lab.test]",
                  "    checks:"]
        lines += [f'      - {{id: c{i:03d}, kind: http, url: "https://p{p:02d}.lab.test/c{i:03d}", '
                  f"interval: {INTERVAL:g}s, timeout: 5s}}"
                  for i in range(p * per_platform, min(checks, (p + 1) * per_platform))]
    (workdir / "lab-checks.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (workdir / "scenario.yml").write_text("seed: 16\nevents: []\n", encoding="utf-8")  # healthy, no load model
    with open(workdir / "lab.log", "w") as log:
        lab = subprocess.Popen([sys.executable, "-m", "monitor.cli", "lab", "--scenario", str(workdir / "scenario.yml"),
                                "--dir", str(workdir / "lab"), "--speed", "1", "--checks",
                                str(workdir / "lab-checks.yml")], stdout=log, stderr=subprocess.STDOUT,
                               preexec_fn=pinned(cpu), env=environment())
    try:
        deadline = time.monotonic() + 60
        while "lab ready" not in (workdir / "lab.log").read_text(encoding="utf-8"):
            if lab.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"monitor lab did not start; see {workdir / 'lab.log'}")
            time.sleep(0.1)
        yield (workdir / "lab" / "checks.yml").read_text(encoding="utf-8")
    finally:
        stop(lab)


def counters(port: int) -> tuple[int, int]:
    """(probe results, unreliable results) so far, from the daemon's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    totals = {"probe_results_total": 0.0, "monitor_unreliable_results_total": 0.0}
    for name, value in _COUNTER.findall(text):
        totals[name] += float(value)
    return round(totals["probe_results_total"]), round(totals["monitor_unreliable_results_total"])


async def _one(port: int, path: str, planned: float, out: list[float], failed: list[str]) -> None:
    await asyncio.sleep(max(0.0, planned - time.monotonic()))
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = await reader.read()  # to the end: the server closes after the body
            writer.close()
    except (TimeoutError, OSError) as exc:
        failed.append(type(exc).__name__)
        return
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data[:16]:
        failed.append(data[:16].decode("latin-1"))
        return
    out.append(time.monotonic() - planned)


PAGE_PATHS = ("/status", "/status", "/status", "/status", "/status/api/v1/summary")


async def load(port: int, rate: int, window: float, paths: tuple[str, ...] = PAGE_PATHS
               ) -> tuple[list[float], list[str], float]:
    """``rate`` × ``window`` requests at fixed planned times, on ``paths`` in turn; (latencies s, failures, seconds
    it took)."""
    count = int(rate * window)  # bounded in count …
    began = time.monotonic() + 0.2
    latencies: list[float] = []
    failed: list[str] = []
    tasks = [asyncio.create_task(_one(port, paths[k % len(paths)], began + k / rate, latencies, failed))
             for k in range(count)]
    # … and in time: the last request is planned at ``window``; none may outlive its own timeout after that.
    await asyncio.wait(tasks, timeout=window + REQUEST_TIMEOUT + 5)
    for task in tasks:
        task.cancel()
    return latencies, failed, time.monotonic() - began


def page_size(port: int) -> tuple[int, int]:
    """(bytes of the page, bytes gzipped)."""
    plain = urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30).read()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/status", headers={"Accept-Encoding": "gzip"})
    packed = urllib.request.urlopen(request, timeout=30).read()
    return len(plain), len(packed)


def run(ctx: BenchContext) -> list[Figure]:
    return [*recomputation(ctx), *under_load(ctx)]


def recomputation(ctx: BenchContext) -> list[Figure]:
    """What one computation of the page costs the daemon: the first (every hour of the history read once) and the
    next ones (the last hours, the stored incidents), over 30 days of 5 platforms × 3 checks every minute."""
    platforms, per, days, step = 5, 3, (3 if ctx.quick else 30), 60.0
    lines = ["platforms:"]
    for p in range(platforms):
        lines += [f"  - id: platform-{p}", f"    name: Nền tảng {p}", "    checks:"]
        lines += [f'      - {{id: c{c}, kind: http, url: "https://bench.test/{c}", interval: 1m, timeout: 10s}}'
                  for c in range(per)]
    path = ctx.workdir / "page-checks.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    catalog = load_catalog([path])
    store = open_store(ctx.workdir / "history.db")  # then the daemon's own history in under_load()
    rng = random.Random(16)
    now = time.time()
    first = now - days * 86400.0
    count = int(days * 86400 / step)
    batch: list = []
    for k in range(count):  # bounded: days × 1,440 rounds of 15 checks
        for p in range(platforms):
            for c in range(per):
                batch.append(result(f"platform-{p}", f"c{c}", "hanoi", first + k * step, rng))
        if len(batch) >= 20_000:
            store.add_results(batch)
            batch = []
    store.add_results(batch)
    stored = store.count_results()
    source = StatusSource(store, catalog, IncidentPolicy(), PeakHours())
    timings = []
    for _ in range(4):  # the first, then three more
        wall, cpu = time.perf_counter(), time.process_time()
        source.summary(time.time())
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    store.close()
    steady = max(t for t, _ in timings[1:])
    ctx.say(f"  page over {stored:,} results ({days} days): first {timings[0][0]:.2f}s, then {steady * 1000:.0f} ms")
    note = (f"{stored:,} results: {days} days of {platforms} platforms × {per} checks every minute, 5 % failed; "
            "SQLite; CPU ≈ wall time (one thread)")
    return [
        Figure(SECTION, f"page, first computation ({days} days)", "s", round(timings[0][0], 2), note=note),
        Figure(SECTION, "page, each later computation", "ms", round(steady * 1000, 1),
               note="every status_page.refresh seconds at most, on the page's worker thread"),
    ]


@dataclass(frozen=True)
class Window:
    """One loaded window: the visitors' side and what the prober did meanwhile."""

    latencies: list[float]
    failed: list[str]
    took: float
    probes: int  # reliable results completed
    unreliable: int
    daemon_cpu: float


def loaded(daemon: subprocess.Popen, metrics_port: int, page_port: int, cpu: int | None, window: float,
           paths: tuple[str, ...] = PAGE_PATHS) -> Window:
    """``RATE`` requests/s for ``window`` seconds on ``page_port`` (from ``cpu``), and the daemon's results."""
    probes0, unreliable0 = counters(metrics_port)
    cpu0 = cpu_seconds(daemon.pid)
    with running_on(cpu):
        latencies, failed, took = asyncio.run(load(page_port, RATE, window, paths))
    cpu1 = cpu_seconds(daemon.pid)
    probes1, unreliable1 = counters(metrics_port)
    return Window(latencies, failed, took, probes1 - probes0, unreliable1 - unreliable0, cpu1 - cpu0)


def under_load(ctx: BenchContext) -> list[Figure]:
    window = 5.0 if ctx.quick else WINDOW
    daemon_cpu, driver_cpu = two_cpus()
    with sqlite3.connect(ctx.workdir / "history.db") as db:  # left by recomputation(), if it ran
        history = int(db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'results'").fetchone()[0]
                      and db.execute("SELECT count(*) FROM results").fetchone()[0])
    with lab_checks(ctx.workdir, driver_cpu, CHECKS, per_platform=20) as checks:
        ctx.say(f"statuspage: monitor run with {CHECKS} HTTP checks every {INTERVAL:g}s against the lab; "
                f"{window:g}s quiet, then {window:g}s at {RATE} requests/s on /status through deploy/nginx/, then "
                f"{window:g}s on the prober's own port")
        with running(ctx.workdir, checks, daemon_cpu, MONITOR_LOG_LEVEL="WARNING") as (daemon, port), \
                status_proxy(ctx.workdir / "proxy", port, driver_cpu) as proxy_port:
            time.sleep(WARMUP if not ctx.quick else 5.0)
            probes_a, unreliable_a = counters(port)
            began = time.monotonic()
            size, packed = page_size(port)  # the first request waits for the first computation, over the history
            first = time.monotonic() - began
            probes0, unreliable0 = counters(port)
            time.sleep(window)
            probes1, unreliable1 = counters(port)
            control = loaded(daemon, port, proxy_port, driver_cpu, window, (CONTROL,))
            proxied = loaded(daemon, port, proxy_port, driver_cpu, window)
            direct = loaded(daemon, port, port, driver_cpu, window)
            probes2, unreliable2 = counters(port)
            time.sleep(window)  # quiet again: the prober's drift over the run, not the visitors
            probes3, unreliable3 = counters(port)
            if daemon.poll() is not None:
                raise RuntimeError(f"monitor run exited with {daemon.returncode}; see {ctx.workdir / 'daemon.log'}")
    sent = int(RATE * window)
    quiet_before, quiet_after = unreliable1 - unreliable0, unreliable3 - unreliable2
    quiet_probes = probes1 - probes0 + quiet_before, probes3 - probes2 + quiet_after
    first_unreliable = unreliable0 - unreliable_a
    ctx.say(f"  first computation in the daemon {first:.1f}s: {first_unreliable} unreliable of "
            f"{probes0 - probes_a} probes meanwhile; page {size:,} B ({packed:,} B gzipped); "
            f"quiet: {quiet_before} unreliable of {quiet_probes[0]} probes before, {quiet_after} of "
            f"{quiet_probes[1]} after")
    figures = []
    allowed = max(quiet_before, quiet_after, control.unreliable)  # the machine under the same load, without the page
    for name, w in (("control, nginx alone", control), ("through nginx", proxied), ("on the prober's port", direct)):
        p50, p99 = quantile(w.latencies, 0.5), quantile(w.latencies, 0.99)
        ctx.say(f"  {name}: {len(w.latencies):,} of {sent:,} answered in {w.took:.1f}s, {len(w.failed)} failed; "
                f"p50 {1000 * (p50 or 0):.1f} ms, p99 {1000 * (p99 or 0):.1f} ms; {w.unreliable} unreliable of "
                f"{w.probes}; daemon CPU {w.daemon_cpu:.1f} s")
        if w is control:
            figures.append(Figure(SECTION, "unreliable results, control load (nginx alone)", "results", w.unreliable,
                                  note=f"{RATE} requests/s on a path nginx answers itself, never the prober: what "
                                       f"the visitors' load does to the machine; {w.probes + w.unreliable} probes"))
            continue
        note = (f"`monitor run`, {CHECKS} HTTP checks every {INTERVAL:g}s of the platform lab (10 healthy platforms, "
                f"fresh TLS) on one CPU, the lab and nginx on the other; {sent:,} requests planned at {RATE}/s over "
                f"{window:g}s (4/5 /status, 1/5 the JSON, gzip, a new connection each) from the other CPU, latency "
                f"from the planned send time; {len(w.failed)} failed; daemon CPU {w.daemon_cpu:.1f} s")
        figures += [
            Figure(SECTION, f"/status {name}: p99 at {RATE} req/s", "ms", None if p99 is None else round(1000 * p99, 1),
                   budget=Budget("<=", limit=P99_LIMIT_MS), note=note),
            Figure(SECTION, f"/status {name}: p50", "ms", None if p50 is None else round(1000 * p50, 1)),
            Figure(SECTION, f"/status {name}: answered 200 of {sent:,}", "requests", len(w.latencies),
                   budget=Budget(">=", limit=sent)),
            Figure(SECTION, f"unreliable results, loaded {name}", "results", w.unreliable,
                   budget=Budget("<=", limit=allowed),
                   note=f"budget: no more than the quiet windows ({quiet_before} of {quiet_probes[0]} probes before, "
                        f"{quiet_after} of {quiet_probes[1]} after) or the control ({control.unreliable}); loaded: "
                        f"{w.probes + w.unreliable} probes"),
        ]
    return [
        *figures,
        Figure(SECTION, "unreliable results during the daemon's first computation", "results", first_unreliable,
               budget=Budget("<=", limit=0),
               note=f"the first request to /status computes the page over the history the daemon started with "
                    f"({history:,} results, 30 days unless --quick): {first:.1f} s in the page's process, "
                    f"{probes0 - probes_a} probes meanwhile"),
        Figure(SECTION, "status page size", "KB", round(size / 1000, 1), budget=Budget("<=", limit=100),
               note=f"{packed / 1000:.1f} KB gzipped, {CHECKS // 20} platforms × 90 days"),
    ]

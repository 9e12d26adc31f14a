"""/metrics at scale: 1,000 checks × 3 locations in a real Metrics, served by monitor.metrics.serve, read by curl."""

from __future__ import annotations

import itertools
import random
import shutil
import statistics
import subprocess
import time

from bench.context import BenchContext
from bench.model import Budget, Figure
from bench.probing import quantile
from bench.scale_data import LOCATIONS, check_names, stream
from monitor.metrics import Metrics, serve

SECTION = "scale"
# What Prometheus 2.42 sends; monitor.metrics.serve answers every Accept with the text format 0.0.4.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
SCRAPE_INTERVAL = 15.0  # Prometheus's usual; results recorded between two scrapes: rate × interval


def filled(checks: int, rounds: int = 3) -> tuple[Metrics, object]:
    """A Metrics filled the way the daemon fills it: registered, then ``rounds`` results per series."""
    metrics = Metrics()
    for platform, check in check_names(checks):
        for location in LOCATIONS:
            metrics.register_check(platform, check, location, "http")
    for platform in sorted({platform for platform, _ in check_names(checks)}):
        metrics.register_platform(platform)
    results = stream(checks)
    for result in itertools.islice(results, checks * len(LOCATIONS) * rounds):
        metrics.record(result)
    metrics.scheduler_lag.observe(0.002)
    metrics.loop_lag.observe(0.001)
    metrics.store_pending.set_function(lambda: 0)
    return metrics, results


def scrape(url: str, gzip: bool, timeout: float = 30.0) -> tuple[float, int]:
    """One scrape from a separate process, as Prometheus would: (seconds to the last byte, bytes on the wire)."""
    command = ["curl", "-s", "-o", "/dev/null", "--max-time", str(timeout), "-w", "%{time_total} %{size_download}",
               "-H", f"Accept: {PROMETHEUS_ACCEPT}"]
    if gzip:
        command += ["-H", "Accept-Encoding: gzip"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=timeout + 5, check=True)
    seconds, size = done.stdout.split()
    return float(seconds), int(size)


def run(ctx: BenchContext) -> list[Figure]:
    if not shutil.which("curl"):
        ctx.say("curl missing: no /metrics figures")
        return []
    checks, scrapes = 1000, (5 if ctx.quick else 20)
    ctx.say(f"/metrics: filling {checks} checks × {len(LOCATIONS)} locations")
    metrics, results = filled(checks)
    server, _ = serve(metrics, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    rng = random.Random(3)
    per_scrape = int(checks * len(LOCATIONS) / 30.0 * SCRAPE_INTERVAL)  # results between two scrapes at 30 s
    figures: list[Figure] = []
    try:
        for gzip in (False, True):
            times, sizes, deadline = [], [], time.monotonic() + (20 if ctx.quick else 60)
            for _ in range(scrapes):
                if time.monotonic() > deadline:
                    break
                # What changed since the last scrape: a scrape interval's worth of results, not a frozen registry.
                for result in itertools.islice(results, per_scrape):
                    metrics.record(result)
                seconds, size = scrape(url, gzip)
                times.append(seconds * 1000)
                sizes.append(size)
                time.sleep(rng.uniform(0.05, 0.15))
            label = "gzip" if gzip else "plain"
            size = statistics.median(sizes)
            ctx.say(f"  {label}: {len(times)} scrapes, median {statistics.median(times):.0f} ms, "
                    f"{size / 1e6:.1f} MB")
            note = (f"{len(times)} scrapes by curl with Prometheus's Accept header (served as text 0.0.4), "
                    f"{per_scrape} results recorded between scrapes; body {size / 1e6:.2f} MB"
                    + (" gzipped" if gzip else f", {size // (checks * len(LOCATIONS))} B per series"))
            figures += [
                Figure(SECTION, f"/metrics scrape median, 1,000 checks × 3 locations, {label}", "ms",
                       round(statistics.median(times), 1), budget=Budget("<=", limit=200), note=note),
                Figure(SECTION, f"/metrics scrape p99, 1,000 checks × 3 locations, {label}", "ms",
                       round(quantile(times, 0.99), 1), budget=Budget("<=", limit=200)),
                Figure(SECTION, f"/metrics body, 1,000 checks × 3 locations, {label}", "KB", round(size / 1000)),
            ]
    finally:
        server.shutdown()
        server.server_close()
    return figures

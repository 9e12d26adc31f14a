"""The real daemon with 1,000 HTTP checks against a loopback nginx: its resident memory past the first interval."""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.request

from bench.context import BenchContext
from bench.daemon import checks_yaml, running
from bench.model import Budget, Figure
from bench.procs import memory_mb, two_cpus
from bench.targets import nginx_target

SECTION = "scale"
CHECKS = 1000
_RESULTS = re.compile(r"^probe_results_total\{[^}]*\} (\S+)$", re.M)


def scrape_results(port: int) -> int:
    """Probe results counted in the daemon's /metrics (every outcome)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    return round(sum(float(value) for value in _RESULTS.findall(text)))


def run(ctx: BenchContext) -> list[Figure]:
    interval, seconds = (10.0, 15.0) if ctx.quick else (30.0, 40.0)
    daemon_cpu, target_cpu = two_cpus()
    with nginx_target(ctx.workdir, cpu=target_cpu) as target:
        checks = checks_yaml(target.url, target.ca_file, CHECKS, interval, timeout=5.0, per_platform=10)
        ctx.say(f"daemon: monitor run with {CHECKS} HTTP checks every {interval:g}s against nginx, {seconds:g}s")
        began = time.monotonic()
        with running(ctx.workdir, checks, daemon_cpu, MONITOR_LOG_LEVEL="WARNING") as (daemon, port):
            samples = []
            while (elapsed := time.monotonic() - began) < seconds and daemon.poll() is None:
                samples.append((elapsed, *memory_mb(daemon.pid)))
                time.sleep(1.0)
            if daemon.poll() is not None:
                raise RuntimeError(f"monitor run exited with {daemon.returncode}; see {ctx.workdir / 'daemon.log'}")
            rss, hwm = memory_mb(daemon.pid)
            probes = scrape_results(port)
    with sqlite3.connect(ctx.workdir / "history.db") as db:
        stored = db.execute("SELECT count(*), sum(success) FROM results").fetchone()
    first = next((rss for elapsed, rss, _ in samples if elapsed >= interval), samples[-1][1])
    ctx.say(f"  VmHWM {hwm:.0f} MB, VmRSS {rss:.0f} MB ({first:.0f} MB after the first interval); "
            f"{probes} probes in /metrics, {stored[0]} stored ({stored[1] or 0} successful)")
    note = (f"`monitor run` with {CHECKS} HTTP checks every {interval:g}s (fresh TLS to a loopback nginx, own CA), "
            f"read at {seconds:g}s: {probes:,} probes in /metrics, {stored[0]:,} stored after SIGTERM, "
            f"{stored[1] or 0:,} successful; RSS {first:.0f} MB at {interval:g}s, {rss:.0f} MB at {seconds:g}s")
    return [
        Figure(SECTION, "daemon peak RSS (VmHWM), 1,000 checks", "MB", round(hwm, 1),
               budget=Budget("<=", limit=100), note=note),
        Figure(SECTION, "daemon RSS (VmRSS) at the end, 1,000 checks", "MB", round(rss, 1)),
    ]

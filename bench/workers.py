"""``monitor run --workers N``: fresh-TLS capacity with 1 and 2 workers on the whole machine, and RSS per worker.

Both runs use every CPU the bench may use (nothing pinned: the workers are meant to share the cores), nginx on the
same CPUs, the delayed target and the capacity criteria of the ``fidelity`` section (bench/probing.py). A run's CPU
is the daemon's plus its workers'; the peak RSS of each worker is read from the kernel (VmHWM) before it stops.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.context import BenchContext
from bench.daemon import checks_yaml, running
from bench.model import Budget, Figure
from bench.probers import INTERVAL, TIMEOUT, Run, _scrape, tally
from bench.probing import DELAY, WARMUP, broken, errors_ms, quantile, shortfall
from bench.procs import cpu_seconds, memory_mb
from bench.targets import Stamps, nginx_target

RATES = (100, 200, 300, 400, 500, 600, 800, 1000, 1200)  # probes/s offered, until the run is not sustained
QUICK_RATES = (50, 100)
RSS_RATE = 200  # probes/s at which each worker's peak RSS is read (budget: 60 MB a worker)
RSS_BUDGET = 60.0  # MB
RATIO_BUDGET = 1.8  # two workers sustain at least this many times one worker's rate on a 2-core machine


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its workers, the status page's process, multiprocessing's tracker), from
    /proc."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return []


def workers_of(pid: int) -> list[int]:
    """The worker processes ``pid`` started (``python -m monitor.workers``)."""
    found = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"monitor.workers" in f.read():
                    found.append(child)
        except FileNotFoundError:
            pass
    return found


def run_workers(workdir: Path, url: str, ca_file: Path, rate: float, workers: int, window: float,
                stamps: Stamps | None = None) -> tuple[Run, list[float]]:
    """The daemon with ``workers`` workers at ``rate``; the run and each worker's peak RSS (MB)."""
    workdir.mkdir(parents=True)
    checks = checks_yaml(url, ca_file, max(1, round(rate * INTERVAL)), INTERVAL, TIMEOUT, per_platform=10_000,
                         tagged=stamps is not None)
    run = Run(f"ours, {workers} worker(s)", rate, window)
    with running(workdir, checks, None, MONITOR_WORKERS=str(workers)) as (daemon, port):
        time.sleep(WARMUP)
        before = _scrape(port)
        pids = [daemon.pid, *children(daemon.pid)]
        cpu0, began = sum(cpu_seconds(pid) for pid in pids), time.time()
        time.sleep(window)
        cpu1, ended = sum(cpu_seconds(pid) for pid in pids), time.time()
        after = _scrape(port)
        run.cpu, run.window = cpu1 - cpu0, ended - began
        workers_rss = [memory_mb(pid)[1] for pid in workers_of(daemon.pid)] if workers > 1 else []
        run.peak_rss_mb = memory_mb(daemon.pid)[1]
    tally(run, workdir, before, after, began, ended, stamps)
    return run, workers_rss


def run(ctx: BenchContext) -> list[Figure]:
    """With 1 and with 2 workers: the highest rate sustained (the capacity criteria) and kept up with (all probes
    done, no failures, scheduler lag p99 < 1 s), CPU per probe; the ratios; the workers' RSS at 200/s."""
    window = 4.0 if ctx.quick else 8.0
    sustained: dict[int, tuple[float, str]] = {}
    kept: dict[int, tuple[float, str]] = {}
    cpu: dict[int, float | None] = {}
    rss: list[float] = []
    with nginx_target(ctx.workdir, DELAY) as target:
        for workers in (1, 2):
            best, most, why = 0.0, 0.0, None
            broke = "did not break at the rates tried"
            for rate in QUICK_RATES if ctx.quick else RATES:
                done, workers_rss = run_workers(ctx.workdir / f"w{workers}-{rate}", target.delay_url, target.ca_file,
                                                rate, workers, window, target.stamps)
                reason = shortfall(done)
                p99 = quantile(errors_ms(done), 0.99)
                ctx.say(f"{workers} worker(s) at {rate:>4}/s: {done.completed} probes, error p99 "
                        f"{p99 if p99 is not None else float('nan'):.2f} ms, "
                        f"CPU {done.cpu / done.window:.2f} cores ({(done.cpu_per_probe or 0) * 1000:.2f} ms a probe)"
                        + (f", worker peak RSS {', '.join(f'{mb:.0f}' for mb in workers_rss)} MB" if workers_rss
                           else "") + (f"; not sustained: {reason}" if reason else ""))
                if rate == RSS_RATE or (ctx.quick and rate == QUICK_RATES[-1]):
                    cpu[workers] = done.cpu_per_probe
                    if workers > 1:
                        rss = workers_rss
                if why is None:  # sustained is every rate up to the first one that is not
                    if reason:
                        why = f"at {rate}/s: {reason}"
                    else:
                        best = rate
                if broken(done):
                    broke = f"at {rate}/s: {reason}"
                    break
                most = rate
            sustained[workers] = (best, why or "did not break at the rates tried")
            kept[workers] = (most, broke)
    figures = []
    for label, found, budget in (("sustained (error p99 <= 5 ms)", sustained, Budget(">=", limit=RATIO_BUDGET)),
                                 ("kept up with", kept, None)):
        (one, one_why), (two, two_why) = found[1], found[2]
        figures += [
            Figure("capacity", f"fresh-TLS probes/s {label}, 1 worker (all CPUs)", "/s", one, note=one_why),
            Figure("capacity", f"fresh-TLS probes/s {label}, 2 workers (all CPUs)", "/s", two, note=two_why),
            Figure("capacity", f"2 workers ÷ 1 worker, rate {label}", "×", two / one if one else None,
                   budget=budget, note=f"{two:g}/s ÷ {one:g}/s"),
        ]
    at = QUICK_RATES[-1] if ctx.quick else RSS_RATE
    for workers in (1, 2):
        per_probe = cpu.get(workers)
        figures.append(Figure("cost", f"CPU per probe at {at}/s, {workers} worker(s) (daemon and workers)", "ms",
                              per_probe * 1000 if per_probe is not None else None))
    figures.append(Figure("cost", f"peak RSS per worker at {at}/s (2 workers)", "MB", max(rss) if rss else None,
                          budget=Budget("<=", limit=RSS_BUDGET),
                          note=", ".join(f"{mb:.0f}" for mb in rss) + " MB" if rss else "not reached"))
    return figures

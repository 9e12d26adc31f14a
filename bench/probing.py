"""The prober beside blackbox_exporter: timing fidelity and capacity (delayed target), cost (fast target).

Layout on two CPUs: the prober measured on the first, nginx and the drivers on the second.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bench.context import BenchContext
from bench.model import Budget, Figure
from bench.probers import Run, run_blackbox, run_ours
from bench.procs import running_on, two_cpus
from bench.targets import nginx_target

DELAY = 0.05  # what the target waits before its headers, s
RATES = (10, 50, 200, 250, 300, 400, 500, 600, 800)  # probes/s offered, until both tools break
QUICK_RATES = (10, 50)
COST_RATES = (50, 200)
WARMUP = 3.0  # seconds before measuring: every check has run once, the interpreter is warm
ERROR_P99_LIMITS = {50: 2.0, 200: 5.0}  # ms, from the issue
CAPACITY_ERROR_P99 = 5.0  # ms
CAPACITY_LAG_P99 = 0.100  # s
CAPACITY_FLAGGED = 0.05  # share of results the prober may flag unreliable at a rate it sustains: evidence kept
RELIABLE_ERROR = 5.0  # ms: a result marked reliable must never be further than this from the target's time


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def errors_ms(run: Run, reliable: bool = False) -> list[float]:
    """How far each reported ``processing`` phase is from how long the target held that request by its own log
    (the injected delay when unknown), ms; ``reliable``: only results the prober did not flag."""
    return [(seconds - (DELAY if held is None else held)) * 1000
            for seconds, held, flagged in zip(run.processing, run.held, run.flagged, strict=True)
            if not (reliable and flagged)]


def reliable_off(run: Run) -> int:
    """How many results the prober marked reliable are off the target's time by more than ``RELIABLE_ERROR``.

    blackbox_exporter marks nothing: all its successes count.
    """
    return sum(abs(error) > RELIABLE_ERROR for error in errors_ms(run, reliable=True))


def shortfall(run: Run) -> str | None:
    """Why this run does not count as sustained (None when it does): the issue's capacity criteria."""
    expected = run.rate * run.window
    p99 = quantile(errors_ms(run), 0.99)
    if run.completed < 0.95 * expected:
        return f"completed {run.completed} of {expected:.0f}"
    if run.failures:
        return f"{run.failures} probes failed"
    if run.skipped:
        return f"{run.skipped} runs skipped"
    if run.lag_p99 is not None and run.lag_p99 >= CAPACITY_LAG_P99:
        return f"scheduler lag p99 {run.lag_p99 * 1000:.0f} ms"
    if p99 is None or p99 >= CAPACITY_ERROR_P99:
        return f"error p99 {p99:.1f} ms"
    if run.unreliable > CAPACITY_FLAGGED * run.completed:
        return f"flagged unreliable: {run.unreliable} of {run.completed} results"
    return None


def broken(run: Run) -> bool:
    """Whether the tool no longer keeps up at all (not just misses the error budget): no higher rate is tried."""
    return run.completed < 0.95 * run.rate * run.window or run.failures > 0.01 * run.completed or \
        (run.lag_p99 is not None and run.lag_p99 >= 1.0)


def _window(ctx: BenchContext, rate: float) -> float:
    return 4.0 if ctx.quick else min(20.0, max(10.0, 300 / rate))  # ≥ 300 samples at low rates, within 20 s


def _summary(run: Run) -> str:
    errors = errors_ms(run)
    parts = [f"p50 {quantile(errors, 0.5):.2f} ms" if errors else "no successes", f"{run.completed} probes"]
    if run.lag_p99 is not None:
        parts.append(f"lag p99 {run.lag_p99 * 1000:.0f} ms")
    if run.unreliable:
        parts.append(f"{run.unreliable} flagged unreliable")
    if reliable := errors_ms(run, reliable=True):
        parts.append(f"reliable error p99 {quantile(reliable, 0.99):.2f} ms, {reliable_off(run)} off by more than "
                     f"{RELIABLE_ERROR:g} ms")
    if reason := shortfall(run):
        parts.append(f"not sustained: {reason}")
    return ", ".join(parts)


def fidelity_and_capacity(ctx: BenchContext) -> list[Figure]:
    """Both tools against ``/delay`` at rising rates, each until it no longer keeps up at all."""
    prober_cpu, target_cpu = two_cpus()
    runs: dict[str, list[Run]] = {"ours": [], "blackbox_exporter": []}
    tools: dict[str, Callable[..., Run]] = {"ours": run_ours, "blackbox_exporter": run_blackbox}
    with running_on(target_cpu), nginx_target(ctx.workdir, DELAY, target_cpu) as target:
        for rate in QUICK_RATES if ctx.quick else RATES:
            for tool, run_tool in tools.items():
                if runs[tool] and broken(runs[tool][-1]):
                    continue  # stopped keeping up at a lower rate
                run = run_tool(ctx.workdir / f"{tool}-{rate}", target.delay_url, target.ca_file, rate, WARMUP,
                               _window(ctx, rate), prober_cpu, target.stamps)
                ctx.say(f"{tool:>17} at {rate:>4}/s: error p99 {quantile(errors_ms(run), 0.99) or math.nan:.2f} ms,"
                        f" {_summary(run)}")
                runs[tool].append(run)
            if all(r and broken(r[-1]) for r in runs.values()):
                break
    return [*_fidelity_figures(runs), _capacity_figure(runs)]


def _fidelity_figures(runs: dict[str, list[Run]]) -> list[Figure]:
    peers = {run.rate: run for run in runs["blackbox_exporter"]}
    figures = []
    for ours in runs["ours"]:
        peer = peers.get(ours.rate)
        both = peer is not None and not shortfall(ours) and not shortfall(peer)
        limit = ERROR_P99_LIMITS.get(int(ours.rate))
        budget = None
        if limit is not None or both:
            budget = Budget("<=", limit=limit, factor=1.0 if both else None, offset=1.0 if both else 0.0)
        note = f"ours {_summary(ours)}" + (f"; peer {_summary(peer)}" if peer else "")
        figures.append(Figure("fidelity", f"processing error p99 at {ours.rate:g}/s", "ms",
                              quantile(errors_ms(ours), 0.99), quantile(errors_ms(peer), 0.99) if peer else None,
                              budget, note))
        sustained = "sustained" if not shortfall(ours) else f"not sustained: {shortfall(ours)}"
        figures.append(Figure("fidelity", f"reliable results off by > {RELIABLE_ERROR:g} ms at {ours.rate:g}/s",
                              "results", reliable_off(ours), reliable_off(peer) if peer else None,
                              Budget("<=", limit=0),
                              f"ours: {len(ours.processing) - sum(ours.flagged)} reliable of {len(ours.processing)} "
                              f"successes, {ours.unreliable} flagged ({sustained})"))
    return figures


def _capacity_figure(runs: dict[str, list[Run]]) -> Figure:
    def best(tool: str) -> tuple[float, str]:
        sustained = [run.rate for run in runs[tool] if not shortfall(run)]
        broke = [run for run in runs[tool] if shortfall(run)]
        why = f"at {broke[0].rate:g}/s: {shortfall(broke[0])}" if broke else "did not break at the rates tried"
        return (max(sustained) if sustained else 0.0), why

    ours, ours_why = best("ours")
    peer, peer_why = best("blackbox_exporter")
    return Figure("capacity", "fresh-TLS probes/s sustained on one CPU", "/s", ours, peer, Budget(">=", limit=300),
                  f"ours {ours_why}; peer {peer_why}")


def cost(ctx: BenchContext) -> list[Figure]:
    """CPU per completed probe and peak memory of both tools against ``/`` (answers at once), and CPU per probe
    at the first rate over plain HTTP."""
    prober_cpu, target_cpu = two_cpus()
    figures = []
    with running_on(target_cpu), nginx_target(ctx.workdir, DELAY, target_cpu) as target:
        window = 4.0 if ctx.quick else 10.0
        for rate in COST_RATES[:1] if ctx.quick else COST_RATES:
            ours, peer = (run(ctx.workdir / f"{run.__name__}-{rate}", target.url, target.ca_file, rate, WARMUP,
                              window, prober_cpu) for run in (run_ours, run_blackbox))
            ctx.say(f"at {rate}/s: CPU per probe {ours.cpu_per_probe * 1000:.2f} ms (peer "
                    f"{peer.cpu_per_probe * 1000:.2f} ms), peak RSS {ours.peak_rss_mb:.0f} MB ({peer.peak_rss_mb:.0f})")
            figures += [
                Figure("cost", f"CPU per probe at {rate}/s", "ms", ours.cpu_per_probe * 1000,
                       peer.cpu_per_probe * 1000, Budget("<=", factor=1.3),
                       f"{ours.completed} and {peer.completed} probes"),
                Figure("cost", f"peak RSS at {rate}/s", "MB", ours.peak_rss_mb, peer.peak_rss_mb,
                       note=f"{max(1, round(rate * 2))} checks configured (ours)"),
            ]
        # The same without TLS, at the first rate: what of the difference is the TLS handshake's (no budget)
        rate = COST_RATES[0]
        ours, peer = (run(ctx.workdir / f"{run.__name__}-{rate}-plain", target.plain_url, target.ca_file, rate, WARMUP,
                          window, prober_cpu) for run in (run_ours, run_blackbox))
        ctx.say(f"at {rate}/s over plain HTTP: CPU per probe {ours.cpu_per_probe * 1000:.2f} ms (peer "
                f"{peer.cpu_per_probe * 1000:.2f} ms)")
        figures.append(Figure("cost", f"CPU per probe at {rate}/s over plain HTTP", "ms", ours.cpu_per_probe * 1000,
                              peer.cpu_per_probe * 1000, note=f"{ours.completed} and {peer.completed} probes; "
                              "the TLS figures less these are each tool's TLS handshake"))
    return figures

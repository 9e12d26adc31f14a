"""Store write throughput: ResultWriter over SQLiteStore in a temp file, saturated and at a fixed rate."""

from __future__ import annotations

import itertools
import time
from contextlib import closing

from bench.context import BenchContext
from bench.model import Figure
from bench.scale_data import stream
from monitor.store import ResultWriter, SQLiteStore

SECTION = "scale"
NEED = 1000 * 3 / 30.0  # 1,000 checks × 3 locations every 30 s, results/s


def saturated(ctx: BenchContext, count: int, limit: float) -> tuple[float, int]:
    """Submit ``count`` results at once; (results/s until all committed, committed)."""
    results = list(itertools.islice(stream(1000), count))  # made before the clock starts
    with closing(SQLiteStore(ctx.workdir / "saturated.db")) as store:
        writer = ResultWriter(store, max_pending=count).start()
        began = time.perf_counter()
        for result in results:
            writer.submit(result)
        flushed = writer.flush(timeout=limit)
        elapsed = time.perf_counter() - began
        committed = writer.committed
        writer.close(timeout=5)
    if not flushed:
        ctx.say(f"  saturated: only {committed} of {count} committed in {limit:g} s")
    return committed / elapsed, committed


def sustained(ctx: BenchContext, rate: float, seconds: float) -> tuple[int, int, int, float]:
    """Offer ``rate`` results/s for ``seconds``; (offered, max pending, pending at the end, seconds to drain)."""
    # A pool made before the clock starts, offered round and round: making results costs more than
    # writing them, and it would compete with the writer thread for the GIL.
    pool = list(itertools.islice(stream(1000), 30_000))
    results = itertools.cycle(pool)
    with closing(SQLiteStore(ctx.workdir / "sustained.db")) as store:
        writer = ResultWriter(store).start()
        began, offered, peak, step = time.perf_counter(), 0, 0, 0.01
        while (now := time.perf_counter() - began) < seconds and offered < rate * seconds:
            due = int(rate * now) - offered
            for result in itertools.islice(results, max(0, due)):
                writer.submit(result)
                offered += 1
            peak = max(peak, writer.pending)
            time.sleep(step)
        at_end = writer.pending
        drain = time.perf_counter()
        writer.flush(timeout=30)
        drained = time.perf_counter() - drain
        writer.close(timeout=5)
    return offered, peak, at_end, drained


def run(ctx: BenchContext) -> list[Figure]:
    count, seconds = (20_000, 3.0) if ctx.quick else (100_000, 10.0)
    ctx.say(f"store: {count:,} results into ResultWriter → SQLiteStore at once")
    rate, committed = saturated(ctx, count, limit=60.0)
    ctx.say(f"  saturated: {rate:,.0f} results/s")
    offer = round(rate * 0.8)
    ctx.say(f"  sustained: offering {offer:,}/s for {seconds:g} s")
    offered, peak, at_end, drained = sustained(ctx, offer, seconds)
    ctx.say(f"  max pending {peak:,}, {at_end:,} at the end, drained in {drained:.2f} s")
    return [
        Figure(SECTION, "store writes, saturated", "results/s", round(rate),
               note=f"{committed:,} results submitted at once, timed until all committed (batches of 500, "
                    f"one file in WAL mode); the need at 1,000 checks × 3 locations every 30 s is {NEED:.0f}/s, "
                    f"{rate / NEED:,.0f}× less"),
        Figure(SECTION, "store writes at 80 % of saturated: max pending", "results", peak,
               note=f"{offered:,} results offered at {offer:,}/s over {seconds:g} s; pending sampled every 10 ms; "
                    f"{at_end:,} pending at the end, flushed in {drained:.2f} s (a flush interval is 1 s)"),
    ]

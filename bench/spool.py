"""How long a prober takes to forward an hour of spooled results to the central PostgreSQL over loopback.

The issue's budget: forwarding a 1-hour spool of 1,000 checks (every 30 s: 120,000 results) in at most 60 s.
The spool is built here with the prober's own :class:`~monitor.store.spool.Spool` (results as the HTTP checks
give them: phases, status, peer, a failure in twenty), then :class:`~monitor.store.spool.StoreAndForward` forwards
it into a fresh database of a real PostgreSQL server started for the run (tests/postgres.py: initdb/pg_ctl in a
temporary directory; fsync off, as for the tests), oldest first in batches of 2,000, each deleted from the spool
after its commit. The clock runs from start until the spool is empty; the central count is checked afterwards.
"""

from __future__ import annotations

import random
import time

from bench.context import BenchContext
from bench.model import Budget, Figure
from monitor.result import ProbeResult, Reason
from monitor.store.spool import Spool, StoreAndForward

SECTION = "spool"
CHECKS = 1_000
INTERVAL = 30.0  # seconds
HOUR = 3_600.0
FORWARD_BUDGET = 60.0  # seconds for the hour
BATCH = 2_000  # results per forwarded batch (StoreAndForward's default)
SPOOL_BATCH = 500  # results per spool append (the writer's batch)


def hour_of_results(checks: int, seed: int = 13) -> list[ProbeResult]:
    """``checks`` HTTP checks every 30 s for an hour, in the order a prober produces them."""
    rng = random.Random(seed)
    start = 1_780_000_000.0
    results = []
    for tick in range(int(HOUR / INTERVAL)):
        for check in range(checks):
            platform = f"p{check % 5}"
            at = start + tick * INTERVAL + check * INTERVAL / checks
            if rng.random() < 0.05:
                results.append(ProbeResult(platform, f"c{check}", "http", "hanoi", at, False, 5.0,
                                           reason=Reason.READ_TIMEOUT, error="read timed out",
                                           phases={"resolve": 0.001, "connect": 0.01, "tls": 0.02},
                                           peer="10.0.0.1:443"))
            else:
                total = rng.uniform(0.05, 0.8)
                results.append(ProbeResult(platform, f"c{check}", "http", "hanoi", at, True, total + 0.002,
                                           phases={"resolve": 0.001, "connect": 0.01, "tls": 0.02,
                                                   "processing": total - 0.04, "transfer": 0.009, "total": total},
                                           status_code=200, cert_expiry=1_790_000_000.0, peer="10.0.0.1:443",
                                           details={"http_version": "HTTP/1.1", "tls_version": "TLSv1.3"}))
    return results


def run(ctx: BenchContext) -> list[Figure]:
    checks = 100 if ctx.quick else CHECKS
    note = f"{checks:,} checks × 1 h every 30 s; a real PostgreSQL over loopback (fsync off); shared 2-core machine"
    try:
        from tests import postgres as pg

        server = pg.start(ctx.workdir / "postgres")
    except BaseException as exc:  # pytest.skip where PostgreSQL is not installed
        ctx.say(f"[yellow]spool: no PostgreSQL server ({exc}); skipped")
        return [Figure(SECTION, "forward a 1-hour spool to PostgreSQL", "s", None,
                       budget=Budget("<=", FORWARD_BUDGET), note=f"not measured: {exc}")]
    try:
        return _measure(ctx, server, checks, note)
    finally:
        server.stop()


def _measure(ctx: BenchContext, server, checks: int, note: str) -> list[Figure]:  # type: ignore[no-untyped-def]
    from monitor.store.postgres import PostgresStore

    results = hour_of_results(checks)
    spool = Spool(ctx.workdir / "spool.db")
    began = time.perf_counter()
    for i in range(0, len(results), SPOOL_BATCH):
        spool.append(results[i:i + SPOOL_BATCH])
    spooled = time.perf_counter() - began
    ctx.say(f"spooled {len(results):,} results in {spooled:.1f} s")

    url = server.database("spool")
    central = PostgresStore(url)  # migrated before the clock starts
    relay = StoreAndForward(central, spool, batch_size=BATCH)
    began = time.perf_counter()
    relay.start()
    while relay.pending:
        time.sleep(0.01)
    forwarded = time.perf_counter() - began
    relay.close()
    stored = central.count_results()
    central.close()
    if stored != len(results):
        raise RuntimeError(f"forwarded {len(results):,} results but PostgreSQL holds {stored:,}")
    ctx.say(f"forwarded {len(results):,} results in {forwarded:.1f} s ({len(results) / forwarded:,.0f}/s)")
    return [
        Figure(SECTION, f"forward a 1-hour spool ({len(results):,} results) to PostgreSQL", "s", forwarded,
               budget=Budget("<=", FORWARD_BUDGET if checks == CHECKS else FORWARD_BUDGET * checks / CHECKS),
               note=note),
        Figure(SECTION, "forwarding rate", "results/s", len(results) / forwarded, note=f"batches of {BATCH:,}"),
        Figure(SECTION, "spooling rate (local SQLite, batches of 500)", "results/s", len(results) / spooled,
               note="how fast a prober puts results aside while the central store is away"),
    ]

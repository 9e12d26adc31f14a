"""How fast one prober writes results into each store: SQLite beside PostgreSQL over loopback.

The issue's target: at least 5,000 results/s per prober into PostgreSQL. Each store gets the same results (an hour
of HTTP checks as :mod:`bench.spool` makes them) through ``add_results`` in the writer's batches of 500, each one
transaction (for PostgreSQL: ``COPY`` into a temporary table, then ``INSERT … ON CONFLICT DO NOTHING RETURNING`` the
new keys, and whatever the store writes with them in the same transaction); then the same batches again, all of
them already stored (what a retried or re-forwarded batch costs). PostgreSQL is a real server started for the run
(tests/postgres.py: initdb/pg_ctl in a temporary directory, fsync off, as for the tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.context import BenchContext
from bench.model import Budget, Figure
from bench.spool import hour_of_results
from monitor.result import ProbeResult
from monitor.store import SQLiteStore, Store

SECTION = "pgwrite"
BATCH = 500  # the ResultWriter's default batch
TARGET = 5_000.0  # results/s per prober into PostgreSQL


def _rate(store: Store, results: list[ProbeResult]) -> tuple[float, float]:
    """(results/s writing ``results`` in batches, results/s writing them all again: nothing new)."""
    rates = []
    for expected in (len(results), 0):
        new = 0
        began = time.perf_counter()
        for i in range(0, len(results), BATCH):
            new += len(store.add_results(results[i:i + BATCH]))
        rates.append(len(results) / (time.perf_counter() - began))
        if new != expected:
            raise RuntimeError(f"{type(store).__name__}: {new:,} results new, expected {expected:,}")
    return rates[0], rates[1]


def run(ctx: BenchContext) -> list[Figure]:
    checks = 100 if ctx.quick else 1_000
    results = hour_of_results(checks)
    note = (f"{len(results):,} results ({checks:,} checks × 1 h every 30 s), batches of {BATCH}, one transaction "
            "each; shared 2-core machine")
    figures: list[Figure] = []
    stores: list[tuple[str, Callable[[], Store]]] = [("SQLite", lambda: SQLiteStore(ctx.workdir / "write.db"))]
    server = None
    try:
        from tests import postgres as pg

        server = pg.start(ctx.workdir / "postgres")
        url = server.database("pgwrite")

        def postgres() -> Store:
            from monitor.store.postgres import PostgresStore

            return PostgresStore(url)

        stores.append(("PostgreSQL", postgres))
    except BaseException as exc:  # pytest.skip where PostgreSQL is not installed
        ctx.say(f"[yellow]pgwrite: no PostgreSQL server ({exc}); PostgreSQL not measured")
        figures.append(Figure(SECTION, "PostgreSQL: write results", "results/s", None,
                              budget=Budget(">=", TARGET), note=f"not measured: {exc}"))
    try:
        for name, make in stores:
            store = make()  # created and migrated before the clock starts
            try:
                fresh, again = _rate(store, results)
            finally:
                store.close()
            ctx.say(f"{name}: {fresh:,.0f} results/s new, {again:,.0f} results/s already stored")
            budget = Budget(">=", TARGET) if name == "PostgreSQL" else None
            figures.append(Figure(SECTION, f"{name}: write results", "results/s", fresh, budget=budget, note=note))
            figures.append(Figure(SECTION, f"{name}: write them again (all already stored)", "results/s", again))
    finally:
        if server is not None:
            server.stop()
    return figures

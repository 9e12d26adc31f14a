"""``python -m bench --only scale``: the monitor at 1,000 checks — daemon memory, /metrics scrape, store writes.

Each part lives in its own module: :mod:`bench.scale_daemon`, :mod:`bench.scale_metrics`, :mod:`bench.scale_store`.
"""

from __future__ import annotations

from bench import scale_daemon, scale_metrics, scale_store
from bench.context import BenchContext
from bench.model import Figure


def run(ctx: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    for part in (scale_metrics, scale_store, scale_daemon):  # the daemon last: its nginx and process are the heaviest
        figures += part.run(ctx)
    return figures

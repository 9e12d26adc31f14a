"""The report's chart drawn on the machine's other core while the rest of ``monitor report`` runs.

Importing matplotlib and drawing the chart take about 0.8 s of a weekly report's 5 s, and nothing else waits
for them until the files are written. :func:`chart_aside` forks one worker process before the history is read;
it imports matplotlib while the evidence is gathered, then draws the chart while the terminal table is printed.
Where a worker cannot be started (no ``fork``, a limit on processes) or dies, the chart is drawn here instead:
the same bytes, only later.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial

from monitor.report.chart import render_chart
from monitor.report.model import Report

log = logging.getLogger(__name__)


def _warm() -> None:
    """Import what drawing needs, in the worker, while the parent reads the history."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def _drawn(drawing: Future[bytes], report: Report) -> bytes:
    """The worker's chart; drawn here if the worker died meanwhile."""
    try:
        return drawing.result()
    except BrokenProcessPool:
        log.info("chart drawn in this process: its worker died")
        return render_chart(report)


@contextmanager
def chart_aside() -> Iterator[Callable[[Report], Callable[[], bytes]]]:
    """A function that starts drawing a report's chart in the worker and returns how to get its PNG bytes."""
    pool: ProcessPoolExecutor | None = None
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        pool.submit(_warm)
    except (OSError, ValueError, RuntimeError) as exc:
        log.info("chart drawn in this process: no worker (%s)", exc)
        pool = None

    def start(report: Report) -> Callable[[], bytes]:
        try:
            drawing = pool.submit(render_chart, report) if pool is not None else None
        except BrokenProcessPool:  # its worker died before
            drawing = None
        return partial(render_chart, report) if drawing is None else partial(_drawn, drawing, report)

    try:
        yield start
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

"""``monitor run --workers N``: the plan's checks sharded over worker processes, one machine's cores added up.

The parent (monitor/daemon.py) keeps everything there is one of: the scheduler plan (computed once and split
by :func:`monitor.scheduler.shard`), ``/metrics`` and the status page, the store writer or spool, the live
incident state. :class:`~monitor.workers.pool.WorkerPool` starts the workers, turns what they send back into
results and metrics, and restarts a worker that dies; :mod:`monitor.workers.child` is a worker's life and
:mod:`monitor.workers.wire` what travels between them.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity): the default number of workers."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1

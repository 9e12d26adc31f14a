"""History store: where probe results are kept, behind one interface.

:class:`Store` is the contract, and what callers type against; :class:`SQLiteStore` is the
default (one file, WAL; :func:`open_store`) and a PostgreSQL store for a fleet of probers will
implement the same protocol. :class:`ResultWriter` batches results off the event loop into any
store. Times are unix seconds, UTC.
"""

from __future__ import annotations

from pathlib import Path

from monitor.store.interface import Store
from monitor.store.sqlite import SQLiteStore, StoreNeedsMigration
from monitor.store.writer import ResultWriter

__all__ = ["ResultWriter", "SQLiteStore", "Store", "StoreNeedsMigration", "open_store", "retention_cutoff"]

_DAY = 86400.0


def open_store(path: Path, *, read_only: bool = False) -> Store:
    """Open (creating and migrating as needed) the SQLite history store at ``path``.

    ``read_only``: open an existing store and write nothing (the commands that only read: ``report``,
    ``incidents`` without ``--save``, ``results``, ``complaints list``, ``grafana annotate``), so they
    work on a read-only file or directory and while another process holds the write lock; a store
    that needs a migration raises :class:`StoreNeedsMigration` saying which command to run.
    """
    return SQLiteStore(path, read_only=read_only)


def retention_cutoff(now: float, retention_days: int) -> float:
    """The unix time before which raw results are pruned when keeping ``retention_days`` days.

    Raises ``ValueError`` for fewer than one day: keeping nothing is never what
    an operator means, and pruning everything would erase the evidence.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    return now - retention_days * _DAY

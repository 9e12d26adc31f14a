"""History store: where probe results are kept, behind one interface.

:class:`Store` is the contract, and what callers type against. :class:`SQLiteStore` is the default (one file,
WAL); :class:`PostgresStore` serves a fleet of probers from one PostgreSQL database. :func:`open_store` opens
either from a location (:mod:`monitor.store.location`: a file path or a ``postgresql://`` URL);
:class:`ResultWriter` batches results off the event loop into any store. Times are unix seconds, UTC.
"""

from __future__ import annotations

from pathlib import Path

from monitor.store import location
from monitor.store.interface import Store
from monitor.store.sqlite import SQLiteStore, StoreNeedsMigration
from monitor.store.writer import ResultWriter

__all__ = ["ResultWriter", "SQLiteStore", "Store", "StoreNeedsMigration", "open_store", "retention_cutoff",
           "store_exists"]

_DAY = 86400.0


def open_store(where: Path | str, *, read_only: bool = False) -> Store:
    """Open (creating and migrating as needed) the history store at ``where``: a SQLite file path, or a
    ``postgresql://`` URL (:class:`~monitor.store.postgres.PostgresStore`; the database must exist).

    ``read_only``: open an existing store and write nothing (the commands that only read: ``report``,
    ``incidents`` without ``--save``, ``results``, ``complaints list``, ``grafana annotate``), so they
    work on a read-only file or directory and while another process holds the write lock; a store
    that needs a migration raises :class:`StoreNeedsMigration` saying which command to run. Raises
    :class:`~monitor.errors.StoreError` in one line (password redacted) when the store cannot be opened.
    """
    if location.is_url(where):
        from monitor.store.postgres import PostgresStore

        return PostgresStore(_url(where), read_only=read_only)
    return SQLiteStore(where, read_only=read_only)


def store_exists(where: Path | str) -> bool:
    """Whether a history is stored at ``where``: the SQLite file exists, or the PostgreSQL database answers and
    holds the monitor's tables. An unreachable database raises :class:`~monitor.errors.StoreError` (one line)."""
    if location.is_url(where):
        from monitor.store.postgres import holds_history

        return holds_history(_url(where))
    return Path(where).exists()


def _url(where: Path | str) -> str:
    from monitor.errors import StoreError

    try:
        return str(location.parse(where))
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def retention_cutoff(now: float, retention_days: int) -> float:
    """The unix time before which raw results are pruned when keeping ``retention_days`` days.

    Raises ``ValueError`` for fewer than one day: keeping nothing is never what
    an operator means, and pruning everything would erase the evidence.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    return now - retention_days * _DAY

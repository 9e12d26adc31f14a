"""History store: where probe results are kept, behind one interface.

:class:`Store` is the contract, and what callers type against; :class:`SQLiteStore` is the
default (one file, WAL; :func:`open_store`) and a PostgreSQL store for a fleet of probers will
implement the same protocol. :class:`ResultWriter` batches results off the event loop into any
store. Times are unix seconds, UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from monitor.domain import Classification, Complaint, Incident, Match
from monitor.result import ProbeResult
from monitor.store.sqlite import SQLiteStore, StoreNeedsMigration
from monitor.store.writer import ResultWriter

__all__ = ["ResultWriter", "SQLiteStore", "Store", "StoreNeedsMigration", "open_store", "retention_cutoff"]

_DAY = 86400.0


@runtime_checkable
class Store(Protocol):
    """What the monitor needs from a history store.

    Write errors caused by the environment (disk full, locked too long,
    connection lost) are raised as :class:`monitor.errors.StoreError`: the
    caller may retry them. A result that can never be stored (a field of the
    wrong type) is raised as ``TypeError`` or ``ValueError``.
    """

    def add_results(self, results: Sequence[ProbeResult]) -> None:
        """Store ``results`` in one transaction: all of them or none."""
        ...

    def recent_results(
        self,
        limit: int = 20,
        platform: str | None = None,
        check: str | None = None,
        location: str | None = None,
    ) -> list[ProbeResult]:
        """The ``limit`` newest results matching the given filters, newest first."""
        ...

    def results_between(self, start: float, end: float, platform: str | None = None, *,
                        details: bool = True) -> list[ProbeResult]:
        """Results with ``start <= started_at < end``, oldest first (half-open, so ranges tile).

        ``details=False`` may leave ``details`` empty except for unreliable results (where it holds
        their ``stalled`` seconds): what a period's evidence needs, at less cost.
        """
        ...

    def count_results(self) -> int:
        """How many results are stored."""
        ...

    def prune(self, older_than: float) -> int:
        """Delete results with ``started_at < older_than``; return how many were deleted."""
        ...

    # Evidence: incidents, complaints and their verdicts (monitor/store/sqlite_evidence.py for SQLite).

    def save_incidents(self, incidents: Sequence[Incident], now: float,
                       replacing: tuple[float, float] | None = None) -> None:
        """Insert or update incidents by id; with ``replacing``, drop stored ones of that period not in ``incidents``."""
        ...

    def incidents_between(self, start: float, end: float) -> list[Incident]:
        """Stored incidents overlapping [start, end), by start."""
        ...

    def add_complaints(self, complaints: Sequence[tuple[Complaint, Classification]], source: str, now: float) -> int:
        """Store complaints not stored yet (by id); return how many were new."""
        ...

    def import_complaints(self, complaints: Iterable[tuple[Complaint, Classification]], source: str,
                          now: float) -> int:
        """Store a stream of complaints all or nothing (nothing if iterating raises); return how many were new."""
        ...

    def complaints_between(self, start: float, end: float) -> list[tuple[Complaint, Classification]]:
        """Complaints received in [start, end), by time."""
        ...

    def save_matches(self, matches: Sequence[Match], now: float) -> None:
        """Insert or replace the verdict of each (complaint, platform) pair."""
        ...

    def matches_for(self, complaint_ids: Sequence[str]) -> list[Match]:
        """Stored verdicts of these complaints."""
        ...

    def schema_version(self) -> int:
        """The schema version of the underlying database."""
        ...

    def close(self) -> None:
        """Release the store's connections; the store cannot be used afterwards."""
        ...


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

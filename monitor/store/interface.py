"""The :class:`Store` protocol: what the monitor needs from a history store, and what every caller types against.

:class:`~monitor.store.sqlite.SQLiteStore` implements it; a PostgreSQL store for a fleet of probers will too.
Apart from the package's ``__init__`` so the store's own modules (the writer) import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from monitor.domain import Classification, Complaint, Incident, Match
from monitor.result import ProbeResult
from monitor.rollup import Rollup


@runtime_checkable
class Store(Protocol):
    """What the monitor needs from a history store.

    Write errors caused by the environment (disk full, locked too long,
    connection lost) are raised as :class:`monitor.errors.StoreError`: the
    caller may retry them. A result that can never be stored (a field of the
    wrong type) is raised as ``TypeError`` or ``ValueError``.
    """

    def add_results(self, results: Sequence[ProbeResult]) -> list[ProbeResult]:
        """Store ``results`` in one transaction: all of them or none; return the ones that were new, in order.

        A result is identified by its key (platform, check, location, started_at): one already stored
        under its key, or earlier in the same batch, is skipped, so writing a batch twice stores it once.
        """
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

        ``details=False`` reads only what a period's evidence needs (:data:`monitor.store.rows.LEAN_COLUMNS`), at
        less cost: ``details`` only for unreliable results (their ``stalled`` seconds), and no error text, peer,
        status code or phases other than ``total``.
        """
        ...

    def results_in_ranges(self, ranges: Sequence[tuple[str, Sequence[tuple[float, float]]]]
                          ) -> Iterator[list[ProbeResult]]:
        """For each (platform, its time ranges) in turn, that platform's results in those ranges: the lean read of
        ``results_between(details=False)``, range after range. A store may read the next platform's while the
        caller works on this one's."""
        ...

    def iter_results(self, batch: int = 5_000) -> Iterator[list[ProbeResult]]:
        """Every stored result, oldest first (by ``started_at``, then the order they were stored), ``batch`` at a
        time: a whole history in bounded memory. Each batch is its own read; nothing is held between them."""
        ...

    def rollups_between(self, start: float, end: float, platform: str | None = None) -> list[Rollup]:
        """The 15-minute rollups (:mod:`monitor.rollup`) of the buckets overlapping ``[start, end)``, by bucket;
        written with the results they sum, in the same transaction, and kept longer (``rollup_retention_days``)."""
        ...

    def hourly_counts(self, start: float, end: float) -> dict[tuple[str, float], tuple[int, int]]:
        """(reliable probes, reliable successes) per (platform, clock hour) in ``[start, end)`` (whole hours), from
        the rollups: what the status page's daily bars need, without reading a result."""
        ...

    def prune_rollups(self, older_than: float) -> int:
        """Delete rollups of buckets that ended before ``older_than``; return how many were deleted."""
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
        """Insert or update incidents by id; with ``replacing``, drop stored ones of that period not in
        ``incidents``."""
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

    def set_incident_note(self, incident_id: str, note: str, now: float) -> None:
        """Store the operator's note on an incident, replacing its earlier one; an empty ``note`` removes it."""
        ...

    def incident_notes(self, incident_ids: Sequence[str]) -> dict[str, str]:
        """The notes of those of these incidents that have one, by incident id."""
        ...

    def all_incident_notes(self) -> dict[str, str]:
        """Every stored note, by incident id, whether that incident is stored or not (``monitor store copy``)."""
        ...

    def schema_version(self) -> int:
        """The schema version of the underlying database."""
        ...

    def close(self) -> None:
        """Release the store's connections; the store cannot be used afterwards."""
        ...

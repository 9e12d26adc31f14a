"""Assessing a period: its incidents recomputed from the stored results, its complaints matched to them,
stored, reported; and complaints taken in.

The use-cases behind ``monitor incidents``, ``report``, ``complaints import`` and ``grafana annotate``,
the daemon, ``simulate`` and ``demo``: the I/O edge around the pure functions of :mod:`monitor.incidents`
and :mod:`monitor.matching`, against any :class:`~monitor.store.Store`. The command-line modules parse
arguments and print; the work is here.

:func:`gather` only reads (``monitor report`` and ``monitor incidents`` work on a read-only or
locked store); :func:`save` stores what it found, an explicit step of ``monitor incidents --save``,
the daemon (:func:`save_recent_weeks`, hourly), ``monitor simulate`` and ``monitor demo``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import Catalog, Settings
from monitor.domain import Evidence, Incident, IncidentPolicy, MatchPolicy
from monitor.incidents import certificate_warnings, detect
from monitor.localtime import VIETNAM
from monitor.matching import match, measurements
from monitor.store import Store
from monitor.workcalendar import PeakHours

if TYPE_CHECKING:
    from monitor.complaints.intake import ImportSummary
    from monitor.report import Report

LOOKBACK = 6 * 3600.0  # results read before a period, so an incident already open at its start keeps its start
LOOKAHEAD = 3600.0  # and after it, so one still open at its end closes as it did


def overlapping(incidents: list[Incident], start: float, end: float) -> list[Incident]:
    """Incidents overlapping [start, end)."""
    return [i for i in incidents if i.start < end and (i.end is None or i.end > start)]


def gather(store: Store, catalog: Catalog, start: float, end: float, now: float,
           policy: IncidentPolicy, match_policy: MatchPolicy) -> Evidence:
    """Read the period's results and complaints, recompute its incidents and matches; write nothing."""
    around = store.results_between(start - LOOKBACK, min(end + LOOKAHEAD, max(now, end)), details=False)
    found = detect(around, catalog.slow_after(), policy)  # also those just before: early complaints mean them
    incidents = overlapping(found, start, end)
    results = [r for r in around if start <= r.started_at < end]
    complaints = store.complaints_between(start, end)
    monitored = {p.id for p in catalog.platforms if p.monitored}
    named = {p for _, k in complaints if k.measurable for p in k.platforms}  # only these need their measurements
    measured = measurements((r for r in around if r.platform in named), catalog.slow_after())
    matches = match(complaints, found, monitored, measured, match_policy)
    return Evidence(start, end, results, incidents, certificate_warnings(results, policy), complaints, matches, now)


def save(store: Store, evidence: Evidence) -> None:
    """Store the evidence's incidents (replacing those stored for its period) and its complaints' verdicts."""
    store.save_incidents(evidence.incidents, evidence.now, replacing=(evidence.start, evidence.end))
    store.save_matches(evidence.matches, evidence.now)


def recent_weeks(now: float, week_start: int) -> list[tuple[float, float]]:
    """[start, end) of the previous bulletin week and of the one ``now`` is in (see :func:`bulletin_week`)."""
    today = dt.datetime.fromtimestamp(now, VIETNAM).date()
    first = dt.datetime.combine(today - dt.timedelta(days=(today.weekday() - week_start) % 7), dt.time(), VIETNAM)
    previous, following = first - dt.timedelta(days=7), first + dt.timedelta(days=7)
    return [(previous.timestamp(), first.timestamp()), (first.timestamp(), following.timestamp())]


def save_recent_weeks(store: Store, catalog: Catalog, now: float, policy: IncidentPolicy,
                      match_policy: MatchPolicy, week_start: int) -> tuple[int, int]:
    """Gather and save the previous and the current bulletin week (complaints of the last week are often
    imported after it ended); return how many incidents and verdicts were stored."""
    incidents = matches = 0
    for start, end in recent_weeks(now, week_start):
        evidence = gather(store, catalog, start, end, now, policy, match_policy)
        save(store, evidence)
        incidents, matches = incidents + len(evidence.incidents), matches + len(evidence.matches)
    return incidents, matches


def gather_stored(settings: Settings, catalog: Catalog, start: float, end: float, now: float, *,
                  write: bool = False) -> Evidence:
    """The evidence of [start, end) from the store at ``settings.store``, opened read-only (it may be read-only,
    or locked by the daemon); ``write``: opened for writing (migrated if needed), and the incidents and verdicts
    stored. Raises ``FileNotFoundError`` when there is no store yet."""
    from monitor.errors import StoreError
    from monitor.store import open_store, store_exists
    from monitor.store.location import describe

    if not store_exists(settings.store):
        raise FileNotFoundError(f"no history at {describe(settings.store)}: run `monitor run` or `monitor simulate` "
                                "first")
    store = open_store(settings.store, read_only=not write)
    try:
        evidence = gather(store, catalog, start, end, now, settings.incidents, settings.matching)
        if write:
            try:
                save(store, evidence)
            except StoreError as exc:
                raise StoreError(f"{exc} (without --save, `monitor incidents` only reads)") from exc
        return evidence
    finally:
        store.close()


def peak_hours(settings: Settings) -> PeakHours:
    """The peak windows of the settings (``peak_hours``)."""
    return PeakHours.parse(settings.peak_hours)


def import_complaints(path: Path, settings: Settings, catalog: Catalog, now: float) -> ImportSummary:
    """Read, scrub, classify and store one PAKN export, streamed and all or nothing; write its rejects file.

    Returns the summary (see :func:`monitor.complaints.intake.import_export`).
    """
    from monitor.complaints.intake import import_export
    from monitor.store import open_store

    def open_for_import() -> Store:
        if isinstance(settings.store, Path):  # a SQLite file: its directory is made; a database must exist
            settings.store.parent.mkdir(parents=True, exist_ok=True)
        return open_store(settings.store)

    return import_export(path, open_for_import, catalog.platforms, peak_hours(settings), now,
                         {str(field): names for field, names in settings.complaint_columns.items()} or None)


def weekly_report(evidence: Evidence, catalog: Catalog, settings: Settings, now: float) -> Report:
    """The report of ``evidence`` (see :mod:`monitor.report`): titled as a bulletin week when it is one."""
    from monitor.report import ReportInput, build_report
    from monitor.workcalendar import is_bulletin_week

    return build_report(ReportInput(
        start=evidence.start, end=evidence.end, platforms=catalog.platforms, results=evidence.results,
        incidents=evidence.incidents, certificate_warnings=evidence.certificate_warnings,
        complaints=evidence.complaints, matches=evidence.matches, peak=peak_hours(settings), generated_at=now,
        bulletin_week=is_bulletin_week(evidence.start, evidence.end, settings.week_start),
        location_names=settings.location_names))

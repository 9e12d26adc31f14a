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

import bisect
import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import hotranges
from monitor.config import Catalog, Settings
from monitor.domain import Classification, Complaint, Evidence, Incident, IncidentPolicy, MatchPolicy
from monitor.gcpause import no_collection
from monitor.incidents import detect, minus, rollup_certificate_warnings, union
from monitor.localtime import VIETNAM
from monitor.matching import Measurements, match, measurements, needs_measurements, window
from monitor.result import ProbeResult
from monitor.rollup import BUCKET, Rollup, fold
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
    """Read the period's rollups and complaints, and the raw results around its bad stretches and complaints
    (:mod:`monitor.hotranges`); recompute its incidents and matches; write nothing.

    The incidents and verdicts are those reading every raw result would give (tests/test_hot_detection.py);
    the figures come from the rollups (``Evidence.rollups``).
    """
    lo, hi = start - LOOKBACK, min(end + LOOKAHEAD, max(now, end))  # early complaints mean incidents just before
    slow = catalog.slow_after()
    with no_collection():  # hundreds of thousands of objects, none in a cycle
        rollups = store.rollups_between(lo, hi)
        edges = hotranges.partial_buckets(lo, hi, (start, end))
        edge_raw = [r for a, b in edges for r in store.results_between(a, b, details=False)]
        intervals = hotranges.intervals(rollups, edge_raw, edges)
        plan = hotranges.ranges(rollups, intervals, lo, hi, slow, policy, edges=edges)
        complaints = store.complaints_between(start, end)
        monitored = {p.id for p in catalog.platforms if p.monitored}
        named = {p for _, k in complaints if k.measurable for p in k.platforms}
        own: dict[str, list[Rollup]] = defaultdict(list)
        for r in rollups:
            own[r.platform].append(r)
        at_edges: dict[str, list[ProbeResult]] = defaultdict(list)
        for raw in edge_raw:
            at_edges[raw.platform].append(raw)
        found: list[Incident] = []
        measured: dict[str, Measurements] = {}
        results: list[ProbeResult] = []
        platforms = sorted(set(plan) | set(at_edges) | (named & set(own)))  # one platform's raw at a time
        hot = store.results_in_ranges([(platform, plan.get(platform, [])) for platform in platforms])
        for platform, hot_raw in zip(platforms, hot, strict=True):
            found_p, measured_p, kept = _platform(store, platform, own[platform], at_edges[platform] + hot_raw,
                                                  len(at_edges[platform]), plan, edges, intervals, complaints,
                                                  monitored, (lo, hi, start, end, now), slow, policy, match_policy)
            found += found_p
            measured.update(measured_p)
            results += kept
        found.sort(key=lambda i: (i.start, i.platform, i.scope, i.locations))  # as detect() orders them
        matches = match(complaints, found, monitored, measured, match_policy)
        results.sort(key=lambda r: r.started_at)
        period = [r for r in rollups if start <= r.bucket and r.bucket + BUCKET <= end]
        period += fold(r for r in edge_raw if start <= r.started_at < end).values()
    return Evidence(start, end, results, overlapping(found, start, end), rollup_certificate_warnings(period, policy),
                    complaints, matches, now, rollups=period)


def _platform(store: Store, platform: str, rollups: list[Rollup], raw: list[ProbeResult], at_edges: int,
              plan: dict[str, list[tuple[float, float]]], edges: list[tuple[float, float]],
              intervals: dict[tuple[str, str, str], float], complaints: list[tuple[Complaint, Classification]],
              monitored: set[str], period: tuple[float, float, float, float, float], slow: dict[str, float],
              policy: IncidentPolicy, match_policy: MatchPolicy
              ) -> tuple[list[Incident], dict[str, Measurements], list[ProbeResult]]:
    """One platform of :func:`gather`, given its raw results at the period's edges (the first ``at_edges``) and in
    its hot ranges: its incidents, what its complaints' verdicts measure, and the raw results the report's incident
    p95 needs (successful HTTP probes near its incidents)."""
    lo, hi, start, end, now = period
    mine = {key: value for key, value in intervals.items() if key[0] == platform}
    facts = hotranges.facts(rollups, raw, mine, edges, slow)
    if len(raw) - at_edges < hotranges.expected(rollups, plan.get(platform, ())):
        # Raw results pruned (retention_days) while the rollups stay: detection would find nothing where the
        # rollups show failures. The incidents stored for that time (the daemon saves them hourly) stand instead.
        found = [i for i in store.incidents_between(lo, hi) if i.platform == platform]
    else:
        found = detect(raw, slow, policy, facts=facts)
    windows = []  # of the complaints no incident explains: their verdicts read the measurements there
    for complaint, classification in complaints:
        if platform in needs_measurements(complaint, classification, found, monitored, match_policy):
            around = window(complaint, classification, match_policy)
            windows.append((max(lo, around[0]), min(hi, around[1] + 1.0)))  # window() is closed
    measured: dict[str, Measurements] = {}
    if windows:
        extra = []
        for a, b in minus(union(windows), union([*plan.get(platform, []), *edges])):
            extra += store.results_between(a, b, platform, details=False)
        finest = min((known.interval for known in facts.values()), default=None)
        measured = measurements(raw + extra, slow, intervals={} if finest is None else {platform: finest})
    near = union((i.start - NEAR, i.until(now) + NEAR) for i in found if i.scope == "platform")
    starts = [a for a, _ in near]
    kept = []
    for r in raw if near else ():
        t = r.started_at
        k = bisect.bisect_right(starts, t) - 1
        if k >= 0 and t < near[k][1] and r.success and not r.unreliable and start <= t < end:
            kept.append(r)
    return found, measured, kept


NEAR = 600.0  # seconds around an incident whose successful probes the report's incident p95 may read (its slots)


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

    with no_collection():
        return build_report(ReportInput(
            start=evidence.start, end=evidence.end, platforms=catalog.platforms, results=evidence.results,
            rollups=evidence.rollups,
            incidents=evidence.incidents, certificate_warnings=evidence.certificate_warnings,
            complaints=evidence.complaints, matches=evidence.matches, peak=peak_hours(settings), generated_at=now,
            bulletin_week=is_bulletin_week(evidence.start, evidence.end, settings.week_start),
            location_names=settings.location_names))

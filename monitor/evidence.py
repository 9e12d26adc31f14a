"""The evidence of a period, from the store: incidents recomputed from results, complaints matched.

The I/O edge around the pure functions of :mod:`monitor.incidents` and :mod:`monitor.matching`.
:func:`gather` only reads (``monitor report`` and ``monitor incidents`` work on a read-only or
locked store); :func:`save` stores what it found, an explicit step of ``monitor incidents --save``,
the daemon (:func:`save_recent_weeks`, hourly), ``monitor simulate`` and ``monitor demo``.
"""

from __future__ import annotations

import datetime as dt

from monitor.config import Catalog
from monitor.domain import Evidence, Incident, IncidentPolicy, MatchPolicy
from monitor.incidents import certificate_warnings, detect
from monitor.localtime import VIETNAM
from monitor.matching import match, measurements
from monitor.store import SQLiteStore

LOOKBACK = 6 * 3600.0  # results read before a period, so an incident already open at its start keeps its start
LOOKAHEAD = 3600.0  # and after it, so one still open at its end closes as it did


def overlapping(incidents: list[Incident], start: float, end: float) -> list[Incident]:
    """Incidents overlapping [start, end)."""
    return [i for i in incidents if i.start < end and (i.end is None or i.end > start)]


def gather(store: SQLiteStore, catalog: Catalog, start: float, end: float, now: float,
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


def save(store: SQLiteStore, evidence: Evidence) -> None:
    """Store the evidence's incidents (replacing those stored for its period) and its complaints' verdicts."""
    store.save_incidents(evidence.incidents, evidence.now, replacing=(evidence.start, evidence.end))
    store.save_matches(evidence.matches, evidence.now)


def recent_weeks(now: float, week_start: int) -> list[tuple[float, float]]:
    """[start, end) of the previous bulletin week and of the one ``now`` is in (see :func:`bulletin_week`)."""
    today = dt.datetime.fromtimestamp(now, VIETNAM).date()
    first = dt.datetime.combine(today - dt.timedelta(days=(today.weekday() - week_start) % 7), dt.time(), VIETNAM)
    previous, following = first - dt.timedelta(days=7), first + dt.timedelta(days=7)
    return [(previous.timestamp(), first.timestamp()), (first.timestamp(), following.timestamp())]


def save_recent_weeks(store: SQLiteStore, catalog: Catalog, now: float, policy: IncidentPolicy,
                      match_policy: MatchPolicy, week_start: int) -> tuple[int, int]:
    """Gather and save the previous and the current bulletin week (complaints of the last week are often
    imported after it ended); return how many incidents and verdicts were stored."""
    incidents = matches = 0
    for start, end in recent_weeks(now, week_start):
        evidence = gather(store, catalog, start, end, now, policy, match_policy)
        save(store, evidence)
        incidents, matches = incidents + len(evidence.incidents), matches + len(evidence.matches)
    return incidents, matches

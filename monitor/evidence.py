"""The evidence of a period, from the store: incidents recomputed from results, complaints matched.

The I/O edge around the pure functions of :mod:`monitor.incidents` and :mod:`monitor.matching`.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.complaints.model import Classification, Complaint
from monitor.config import Catalog
from monitor.incidents import CertificateWarning, Incident, IncidentPolicy, certificate_warnings, detect
from monitor.matching import Match, MatchPolicy, match, measurements
from monitor.result import ProbeResult
from monitor.store import SQLiteStore

LOOKBACK = 6 * 3600.0  # results read before a period, so an incident already open at its start keeps its start
LOOKAHEAD = 3600.0  # and after it, so one still open at its end closes as it did


@dataclass(frozen=True)
class Evidence:
    """Everything measured and reported about a period [start, end)."""

    start: float
    end: float
    results: list[ProbeResult]  # in the period
    incidents: list[Incident]  # overlapping the period
    certificate_warnings: list[CertificateWarning]
    complaints: list[tuple[Complaint, Classification]]  # received in the period
    matches: list[Match]
    now: float  # when it was gathered: an open incident is ongoing only if its data reaches near it


def overlapping(incidents: list[Incident], start: float, end: float) -> list[Incident]:
    """Incidents overlapping [start, end)."""
    return [i for i in incidents if i.start < end and (i.end is None or i.end > start)]


def gather(store: SQLiteStore, catalog: Catalog, start: float, end: float, now: float,
           policy: IncidentPolicy, match_policy: MatchPolicy) -> Evidence:
    """Recompute the period's incidents and matches, store them, and return the whole evidence."""
    around = store.results_between(start - LOOKBACK, min(end + LOOKAHEAD, max(now, end)), details=False)
    found = detect(around, catalog.slow_after(), policy)  # also those just before: early complaints mean them
    incidents = overlapping(found, start, end)
    store.save_incidents(incidents, now, replacing=(start, end))
    results = [r for r in around if start <= r.started_at < end]
    complaints = store.complaints_between(start, end)
    monitored = {p.id for p in catalog.platforms if p.monitored}
    matches = match(complaints, found, monitored, measurements(around, catalog.slow_after()), match_policy)
    store.save_matches(matches, now)
    return Evidence(start, end, results, incidents, certificate_warnings(results, policy), complaints, matches, now)

"""The status page's inputs from any :class:`~monitor.store.Store` (SQLite, or a fleet's store with many locations).

Reads are bounded so the page never weighs on probing: each recomputation reads the last ``RECENT`` seconds of
results (for the incident detection and today's figures), the stored incidents of the listed days and their
notes. Finished hours are read once and kept as per-platform tallies (a few numbers per hour), since a finished
hour's results do not change: the days before today as counts summed from the rollups (one query for the first
computation's 90 days), today's finished hours from their results (the peak-hour latency needs each one).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from monitor.config import Catalog
from monitor.domain import Incident, IncidentPolicy
from monitor.incidents import detect
from monitor.result import ProbeResult
from monitor.statuspage.model import Summary, Tally
from monitor.statuspage.state import DAY, HOUR, Inputs, day_of, hour_of, merge_incidents, summarize, tally
from monitor.store import Store
from monitor.workcalendar import PeakHours

RECENT = 3 * HOUR  # results read at every recomputation: detection needs 20 probes of a 5-minute check
STALE_INTERVALS = 3  # a platform whose latest result is older than 3 intervals (plus a timeout) has no current data


def _hours(start: float, end: float) -> list[float]:
    """The clock hours from ``start`` (an hour's start) to before ``end``."""
    return [start + k * HOUR for k in range(max(0, math.ceil((end - start) / HOUR)))]


class StatusSource:
    """Gathers :class:`~monitor.statuspage.state.Inputs` from a store and summarizes them; keeps finished hours."""

    def __init__(self, store: Store, catalog: Catalog, policy: IncidentPolicy, peak: PeakHours, *,
                 days: int = 90, incident_days: int = 7, location_names: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.policy = policy
        self.peak = peak
        self.days = days
        self.incident_days = incident_days
        self.location_names = dict(location_names or {})
        self._slow_after = catalog.slow_after()
        self._closed: dict[float, dict[str, Tally]] = {}  # finished hour -> platform -> tally
        self._stale_after = {
            p.id: STALE_INTERVALS * max(c.interval for c in p.checks) + max(c.timeout for c in p.checks)
            for p in catalog.platforms if p.monitored}

    def summary(self, now: float) -> Summary:
        return summarize(self.inputs(now))

    def incidents(self, now: float) -> list[Incident]:
        """The incidents the page lists at ``now`` (stored, and detected in the recent results), newest first."""
        fresh_from = hour_of(now - RECENT)
        return self._incidents(now, self.store.results_between(fresh_from, now + HOUR, details=False), fresh_from)

    def _incidents(self, now: float, recent: list[ProbeResult], fresh_from: float) -> list[Incident]:
        fresh = detect(recent, self._slow_after, self.policy)
        stored = self.store.incidents_between(now - self.incident_days * DAY, now + HOUR)
        listed_from = now - self.incident_days * DAY
        return [i for i in merge_incidents(stored, fresh, fresh_from) if i.until(now) >= listed_from]

    def inputs(self, now: float) -> Inputs:
        fresh_from = hour_of(now - RECENT)
        first_hour = day_of(now) - (self.days - 1) * DAY
        self._closed = {h: t for h, t in self._closed.items() if h >= first_hour}
        today = day_of(now)
        earlier = [h for h in _hours(first_hour, min(today, fresh_from)) if h not in self._closed]
        if earlier:  # the days before today need counts only: from the rollups, summed by the database
            counts = self.store.hourly_counts(earlier[0], earlier[-1] + HOUR)
            read: dict[float, dict[str, Tally]] = {h: {} for h in earlier}
            for (platform, h), (probes, ok) in counts.items():
                if h in read:  # not an hour kept from before
                    read[h][platform] = Tally(probes, ok)
            self._closed.update(read)
        for hour in _hours(today, fresh_from):  # today's finished hours: results, for the peak-hour latency
            if hour not in self._closed:
                found = self.store.results_between(hour, hour + HOUR, details=False)
                self._closed[hour] = {p: t for (p, _), t in tally(found, self.peak).items()}
        recent = self.store.results_between(fresh_from, now + HOUR, details=False)
        hours: dict[str, dict[float, Tally]] = defaultdict(dict)
        for h, platforms in self._closed.items():
            for platform, t in platforms.items():
                hours[platform][h] = t
        for (platform, h), t in tally(recent, self.peak).items():
            hours[platform][h] = t
        latest: dict[str, dict[str, float]] = defaultdict(dict)
        for r in recent:
            seen = latest[r.platform]
            if r.started_at > seen.get(r.location, 0.0):
                seen[r.location] = r.started_at
        for p in self.catalog.platforms:
            if p.monitored and p.id not in latest:  # nothing recent: when was it last measured, if ever
                for r in self.store.recent_results(limit=1, platform=p.id):
                    latest[p.id][r.location] = r.started_at
        incidents = self._incidents(now, recent, fresh_from)
        notes: Mapping[str, str] = self.store.incident_notes([i.id for i in incidents]) if incidents else {}
        return Inputs(now=now, platforms=self.catalog.platforms, hours=hours, latest=latest, incidents=incidents,
                      notes=notes, stale_after=self._stale_after, peak=self.peak, days=self.days,
                      incident_days=self.incident_days, location_names=self.location_names)

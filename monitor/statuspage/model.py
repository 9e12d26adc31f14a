"""The facts a status page shows: data only, built by :mod:`monitor.statuspage.state`, rendered by
:mod:`monitor.statuspage.render` (HTML) and :mod:`monitor.statuspage.api` (JSON).

Nothing here is free text but an operator's note: names come from the checks, reasons from the closed set of
:class:`monitor.result.Reason` (plus ``slow``), locations from the probers' ``location`` setting. Times are
unix seconds (UTC), shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from monitor.domain import Incident

State = Literal["ok", "degraded", "down", "no_data", "unmonitored"]
"""hoạt động bình thường / chậm / gián đoạn / chưa có số liệu (monitored, nothing recent) / chưa giám sát."""


@dataclass
class Tally:
    """Reliable results of one platform in one clock hour: how many, how many succeeded, the peak-hour latencies."""

    probes: int = 0
    ok: int = 0
    peak_totals: list[float] = field(default_factory=list)  # successful HTTP totals during peak hours, seconds

    def add(self, other: Tally) -> None:
        self.probes += other.probes
        self.ok += other.ok
        self.peak_totals.extend(other.peak_totals)


@dataclass(frozen=True)
class DayBar:
    """One local day of one platform: ``probes`` 0 means no data that day (never shown as available)."""

    day_start: float  # local midnight
    probes: int
    ok: int

    @property
    def availability(self) -> float | None:
        """Share of reliable probes that succeeded, 0..1; None without data."""
        return self.ok / self.probes if self.probes else None


@dataclass(frozen=True)
class PeakLatency:
    """Today's response time during peak hours: p50 and p95 of successful HTTP probes (seconds)."""

    status: Literal["measured", "no_data", "not_yet", "no_peak_today"]
    p50: float | None = None
    p95: float | None = None
    probes: int = 0


@dataclass(frozen=True)
class LocationState:
    location: str
    state: State
    name: str = ""  # what the page calls it: a province's name (monitor.provinces), else the id


@dataclass(frozen=True)
class PlatformStatus:
    id: str
    name: str
    state: State
    since: float | None  # when the state began (an incident's start, the last incident's end); None: not known
    latest: float | None  # the platform's latest result
    locations: tuple[LocationState, ...]  # per reporting location; a location-only incident shows here
    days: tuple[DayBar, ...]  # oldest first, ending today
    peak: PeakLatency


@dataclass(frozen=True)
class IncidentView:
    """An incident as published: the closed reason set, and the operator's note (the only free text)."""

    incident: Incident
    platform_name: str
    note: str | None
    places: tuple[str, ...] = ()  # the names of its locations (monitor.provinces), in its locations' order


@dataclass(frozen=True)
class Summary:
    generated_at: float
    platforms: tuple[PlatformStatus, ...]
    incidents: tuple[IncidentView, ...]  # in progress or overlapping the last days, newest first
    days: int  # how many daily bars per platform
    incident_days: int  # how far back incidents are listed

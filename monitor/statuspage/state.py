"""What the status page says, decided by pure functions: hourly tallies of results, daily bars, today's peak-hour
latency, the incidents to list and each platform's state.

The state comes from the project's incident detection (:func:`monitor.incidents.detect`, run by
:mod:`monitor.statuspage.source` over recent results): a platform is ``down`` or ``degraded`` exactly while a
platform-wide incident of that kind is ongoing (:meth:`monitor.domain.Incident.ongoing`), so the page, the
``platform_incident_open`` gauge and ``monitor incidents`` never disagree. An incident of scope ``location``
changes only that location's state ("chỉ gián đoạn tại Cao Bằng": locations are named by
:mod:`monitor.provinces`). A monitored platform without a recent result
is ``no_data``, never "bình thường"; a platform without checks is ``unmonitored``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from monitor.config.model import Platform
from monitor.domain import Incident
from monitor.localtime import local
from monitor.provinces import location_name
from monitor.result import ProbeResult
from monitor.statuspage.model import (
    DayBar,
    IncidentView,
    LocationState,
    PeakLatency,
    PlatformStatus,
    State,
    Summary,
    Tally,
)
from monitor.workcalendar import PeakHours, is_peak, is_working_day

HOUR = 3600.0
DAY = 86400.0
SEVERITY: dict[State, int] = {"down": 3, "degraded": 2, "no_data": 1, "ok": 0, "unmonitored": 0}


def hour_of(unix_time: float) -> float:
    """The start of the clock hour (Asia/Ho_Chi_Minh is a whole number of hours from UTC, without DST)."""
    return math.floor(unix_time / HOUR) * HOUR


def day_of(unix_time: float) -> float:
    """Local midnight of the day ``unix_time`` falls on."""
    moment = local(unix_time)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def tally(results: Iterable[ProbeResult], peak: PeakHours) -> dict[tuple[str, float], Tally]:
    """Reliable results per (platform, hour): probes, successes, peak-hour latencies of HTTP successes.

    Unreliable results (the prober stalled, or its own network failed) are left out: they say nothing about
    the platform's availability.
    """
    out: dict[tuple[str, float], Tally] = {}
    for r in results:
        if r.unreliable:
            continue
        key = (r.platform, hour_of(r.started_at))
        t = out.get(key)
        if t is None:
            t = out[key] = Tally()
        t.probes += 1
        if r.success:
            t.ok += 1
            total = r.phases.get("total")
            if r.kind == "http" and total is not None and is_peak(r.started_at, peak):
                t.peak_totals.append(total)
    return out


def day_bars(hours: Mapping[float, Tally], today: float, days: int) -> tuple[DayBar, ...]:
    """``days`` local days ending with the one starting at ``today``, oldest first, from one platform's hours."""
    bars = []
    for k in range(days - 1, -1, -1):
        start = today - k * DAY
        probes = ok = 0
        for h in range(24):
            t = hours.get(start + h * HOUR)
            if t is not None:
                probes += t.probes
                ok += t.ok
        bars.append(DayBar(start, probes, ok))
    return tuple(bars)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` (nearest rank)."""
    return values[max(0, math.ceil(q * len(values)) - 1)]


def peak_latency(hours: Mapping[float, Tally], today: float, now: float, peak: PeakHours) -> PeakLatency:
    """Today's peak-hour latency from one platform's hours (p50, p95), or why there is none."""
    if not is_working_day(local(now).date()):
        return PeakLatency("no_peak_today")
    if now < today + min(start for start, _ in peak.seconds()):
        return PeakLatency("not_yet")
    totals = sorted(v for h in range(24) if (t := hours.get(today + h * HOUR)) for v in t.peak_totals)
    if not totals:
        return PeakLatency("no_data")
    return PeakLatency("measured", quantile(totals, 0.5), quantile(totals, 0.95), len(totals))


def merge_incidents(stored: Iterable[Incident], fresh: Iterable[Incident], fresh_from: float) -> list[Incident]:
    """The stored incidents that ended before ``fresh_from`` (the first result recomputation read), and the freshly
    detected ones; a fresh one that starts at the edge of what was read and continues a stored one keeps the
    stored start and id (so an operator's note stays on it). Newest first."""
    old = [i for i in stored if i.end is not None and i.end <= fresh_from]
    rest = [i for i in stored if i not in old]
    out = list(old)
    for i in fresh:
        edge = i.start <= fresh_from + 2 * i.interval
        earlier = [s for s in rest if edge and s.platform == i.platform and s.scope == i.scope and s.start < i.start
                   and (s.end is None or s.end >= i.start) and set(s.locations) & set(i.locations)]
        if earlier:
            first = min(earlier, key=lambda s: s.start)
            i = dataclasses.replace(i, id=first.id, start=first.start)
        out.append(i)
    return sorted(out, key=lambda i: (-i.start, i.platform, i.scope, i.locations))


def _open(incidents: Iterable[Incident], now: float) -> list[Incident]:
    return [i for i in incidents if i.end is None and i.ongoing(now)]


def platform_state(platform: str, open_incidents: Sequence[Incident], latest: float | None, stale_after: float,
                   now: float) -> State:
    """``down`` or ``degraded`` while a platform-wide incident of that kind is ongoing (down wins); ``no_data`` when
    the latest result is older than ``stale_after`` seconds (or there is none); else ``ok``."""
    kinds = {i.kind for i in open_incidents if i.platform == platform and i.scope == "platform"}
    if "down" in kinds:
        return "down"
    if "degraded" in kinds:
        return "degraded"
    if latest is None or now - latest > stale_after:
        return "no_data"
    return "ok"


def location_states(platform: str, latest: Mapping[str, float], open_incidents: Sequence[Incident],
                    stale_after: float, now: float,
                    names: Mapping[str, str] | None = None) -> tuple[LocationState, ...]:
    """Each reporting location's state: the worst incident open there (platform-wide or its own), else ``ok``,
    or ``no_data`` when its latest result is stale; named by :func:`monitor.provinces.location_name` (``names``:
    the ``location_names`` setting)."""
    out = []
    for location in sorted(latest):
        kinds = {i.kind for i in open_incidents if i.platform == platform and location in i.locations}
        state: State = ("down" if "down" in kinds else "degraded" if "degraded" in kinds
                        else "no_data" if now - latest[location] > stale_after else "ok")
        out.append(LocationState(location, state, location_name(location, names)))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What :func:`summarize` decides from (gathered by :mod:`monitor.statuspage.source`)."""

    now: float
    platforms: Sequence[Platform]
    hours: Mapping[str, Mapping[float, Tally]]  # platform -> hour start -> tally, covering the days shown
    latest: Mapping[str, Mapping[str, float]]  # platform -> location -> latest result's start
    incidents: Sequence[Incident]  # stored and fresh, merged (merge_incidents)
    notes: Mapping[str, str]  # incident id -> operator's note
    stale_after: Mapping[str, float]  # platform -> seconds without a result before it is "no data"
    peak: PeakHours
    days: int = 90
    incident_days: int = 7
    location_names: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the setting: id -> name


def summarize(inputs: Inputs) -> Summary:
    """The page's facts, from the inputs alone."""
    now = inputs.now
    today = day_of(now)
    listed_from = now - inputs.incident_days * DAY
    incidents = [i for i in inputs.incidents if i.until(now) >= listed_from]
    open_now = _open(incidents, now)
    statuses = []
    for p in inputs.platforms:
        hours = inputs.hours.get(p.id, {})
        if not p.monitored:
            statuses.append(PlatformStatus(p.id, p.name, "unmonitored", None, None, (), (), PeakLatency("no_data")))
            continue
        latest_by_location = inputs.latest.get(p.id, {})
        latest = max(latest_by_location.values(), default=None)
        stale = inputs.stale_after.get(p.id, 120.0)
        state = platform_state(p.id, open_now, latest, stale, now)
        mine = [i for i in incidents if i.platform == p.id and i.scope == "platform"]
        since: float | None
        if state in ("down", "degraded"):
            since = min(i.start for i in open_now if i.platform == p.id and i.scope == "platform" and i.kind == state)
        elif state == "ok":
            since = max((i.until(now) for i in mine), default=None)
        else:
            since = latest
        statuses.append(PlatformStatus(
            p.id, p.name, state, since, latest,
            location_states(p.id, latest_by_location, open_now, stale, now, inputs.location_names),
            day_bars(hours, today, inputs.days), peak_latency(hours, today, now, inputs.peak)))
    names = {p.id: p.name for p in inputs.platforms}
    views = tuple(IncidentView(i, names.get(i.platform, i.platform), inputs.notes.get(i.id),
                               tuple(location_name(loc, inputs.location_names) for loc in i.locations))
                  for i in incidents)
    return Summary(now, tuple(statuses), views, inputs.days, inputs.incident_days)

"""The week's figures: a pure function of :class:`ReportInput`, one pass over its 15-minute rollups.

Fast by construction (a week of millions of results is about 100,000 rollups, :mod:`monitor.rollup`):
local day and hour come from integer arithmetic on the fixed UTC+7 offset (Vietnam has no DST), peak
hours from a per-minute table built once per period (a bucket is judged by its first minute: peak hours
to the quarter hour), counts are added in plain lists and latencies merged as sketches, so every
percentile is within 1 % of the exact one. Only the p95 during an incident reads raw results: those
the incident detection read around the period's bad stretches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from monitor.domain import CertificateWarning, Classification, Complaint, Incident, Match, MatchStatus
from monitor.provinces import location_names
from monitor.report.coverage import coverage
from monitor.report.findings import findings, recommendations
from monitor.report.locations import LocationFigures
from monitor.report.model import ComplaintRow, Concentration, PlatformFigures, Report, ReportInput
from monitor.rollup import MINUTES, Rollup, Sketch, fold, merge_matrix
from monitor.workcalendar import PeakHours, is_working_day

OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh, no daylight saving time
DAY = 86400
SLOT = 1800  # concentration is reported to the half hour
SPAN_SHARE = 0.5  # the busiest run of half hours must hold more than this share of the incident time
MAX_SPAN = 6 * 3600  # a wider span is no concentration
SLOT_MINUTES = 5  # raw latencies around incidents are kept per 5 minutes of the period: the incidents' p95


def quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of a sorted, non-empty list."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _p50_p95(sketch: Sketch) -> tuple[float, float] | None:
    p50, p95 = sketch.quantiles((0.5, 0.95))
    return None if p50 is None or p95 is None else (p50, p95)


class _Calendar:
    """Local days and a per-minute peak table for one period."""

    def __init__(self, start: float, end: float, peak: PeakHours) -> None:
        self.first_day = (int(start) + OFFSET) // DAY
        last_day = (int(end - 1) + OFFSET) // DAY if end > start else self.first_day
        self.ndays = last_day - self.first_day + 1
        self.base_minute = self.first_day * 1440
        self.base = float(self.first_day * DAY - OFFSET)  # unix time of the first local midnight
        self.working: list[bool] = []
        self.peak = bytearray(self.ndays * 1440)  # minute of the period's local days -> in peak hours
        windows = peak.seconds()
        for index in range(self.ndays):
            day = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + self.first_day + index)
            working = is_working_day(day)
            self.working.append(working)
            if working:
                for begin, finish in windows:
                    lo, hi = index * 1440 + begin // 60, index * 1440 + -(-finish // 60)
                    self.peak[lo:hi] = b"\x01" * (hi - lo)
        self.day_starts = tuple(max(float(start), float((self.first_day + i) * DAY - OFFSET))
                                for i in range(self.ndays))


class _Acc:
    __slots__ = ("day_n", "day_ok", "hours", "locations", "n", "off", "ok", "peak", "seen", "slots")

    def __init__(self, ndays: int) -> None:
        self.n = self.ok = 0
        self.day_n = [0] * ndays
        self.day_ok = [0] * ndays
        self.peak = Sketch()
        self.off = Sketch()
        self.hours = [Sketch() for _ in range(24)]  # local hour of day
        self.slots: dict[int, list[float]] = {}  # 5-minute slot of the period -> raw latencies around incidents
        self.seen = bytearray(ndays * 1440)  # minute of the period's local days -> any reliable result
        self.locations: set[str] = set()


def _scan(data: ReportInput, rollups: Iterable[Rollup], cal: _Calendar, ids: set[str]
          ) -> tuple[dict[str, _Acc], dict[tuple[str, str], tuple[int, int, Sketch]]]:
    """One pass over the period's rollups (then their sketches merged at once); then the raw results given (those
    around incidents) into 5-minute latency slots for the incidents' p95. Also each (platform, location)'s
    probes, successes and latencies, for the table per location.

    A 15-minute bucket is in peak hours when its first minute is (peak hours judged to the quarter hour).
    """
    accs = {pid: _Acc(cal.ndays) for pid in ids}
    start, end, base_minute, peak = data.start, data.end, cal.base_minute, cal.peak
    order = {pid: k for k, pid in enumerate(sorted(ids))}
    quarters = 24 * 2  # (local hour of the day, in peak hours) of each platform: its latency targets
    places: dict[tuple[str, str], int] = {}  # (platform, location) -> its target, after the platforms'
    sketches: list[Sketch] = []
    by_time: list[int] = []  # the target of each sketch: its platform's hour of day and peak flag
    by_place: list[int] = []  # and its (platform, location)
    located: dict[tuple[str, str], list[int]] = {}
    masks: dict[tuple[str, int], int] = {}
    for r in rollups:
        acc = accs.get(r.platform)
        if acc is None or not r.probes or not start <= r.bucket < end:
            continue
        m = (r.bucket + OFFSET) // 60 - base_minute
        d = m // 1440
        acc.day_n[d] += r.probes
        acc.day_ok[d] += r.successes
        acc.locations.add(r.location)
        masks[(r.platform, m)] = masks.get((r.platform, m), 0) | r.minutes
        counts = located.setdefault((r.platform, r.location), [0, 0])
        counts[0] += r.probes
        counts[1] += r.successes
        if r.successes:
            sketches.append(r.sketch)
            by_time.append(order[r.platform] * quarters + (m % 1440) // 60 * 2 + peak[m])
            by_place.append(places.setdefault((r.platform, r.location), len(ids) * quarters + len(places)))
    for (pid, m), mask in masks.items():
        accs[pid].seen[m:m + MINUTES] = _minutes(mask)
    first, counts_, zeros = merge_matrix(sketches, (by_time, by_place), len(ids) * quarters + len(places))
    for pid, k in order.items():
        acc = accs[pid]
        rows = counts_[k * quarters:(k + 1) * quarters]
        zero = zeros[k * quarters:(k + 1) * quarters]
        acc.peak = Sketch.from_counts(first, rows[1::2].sum(axis=0), sum(zero[1::2]))
        acc.off = Sketch.from_counts(first, rows[0::2].sum(axis=0), sum(zero[0::2]))
        hourly = rows.reshape(24, 2, -1).sum(axis=1)
        acc.hours = [Sketch.from_counts(first, hourly[h], zero[2 * h] + zero[2 * h + 1]) for h in range(24)]
    for acc in accs.values():
        acc.n, acc.ok = sum(acc.day_n), sum(acc.day_ok)
    for raw in data.results:
        if raw.unreliable or not raw.success or raw.kind != "http" or not start <= raw.started_at < end:
            continue
        total = raw.phases.get("total")
        acc = accs.get(raw.platform)
        if total is not None and acc is not None:
            slot = ((int(raw.started_at) + OFFSET) // 60 - base_minute) // SLOT_MINUTES
            acc.slots.setdefault(slot, []).append(total)
    per_place = {key: (n, ok, Sketch.from_counts(first, counts_[places[key]], zeros[places[key]])
                       if key in places else Sketch()) for key, (n, ok) in located.items()}
    return accs, per_place


@functools.cache
def _minutes(mask: int) -> bytes:
    """A rollup's minute mask as one byte a minute (1: a reliable result started in it)."""
    return bytes(mask >> bit & 1 for bit in range(MINUTES))


def _location_table(places: dict[tuple[str, str], tuple[int, int, Sketch]]) -> dict[str, tuple[LocationFigures, ...]]:
    """Per platform measured from two locations or more: each location's availability and p95 (from the sketches,
    within 1 %), by location id (see :mod:`monitor.report.locations`)."""
    out: dict[str, tuple[LocationFigures, ...]] = {}
    for platform in sorted({p for p, _ in places}):
        keys = sorted(k for k in places if k[0] == platform)
        if len(keys) >= 2:
            rows = []
            for key in keys:
                probes, successes, sketch = places[key]
                rows.append(LocationFigures(key[1], probes, successes, 100.0 * successes / probes,
                                            sketch.quantile(0.95), sketch.count))
            out[platform] = tuple(rows)
    return out


@dataclass
class _Counts:
    """One platform's complaints: named, measurable, and the verdicts of the measurable ones; named per local hour."""

    complaints: int = 0
    measurable: int = 0
    corroborated: int = 0
    not_measured: int = 0
    no_data: int = 0
    sporadic: int = 0
    hourly: list[int] = field(default_factory=lambda: [0] * 24)


def _clip(incident: Incident, start: float, end: float, now: float) -> tuple[float, float]:
    """The incident's time inside [start, end): to its end, to ``now`` while ongoing, else to its last bad probe."""
    return max(incident.start, start), min(incident.until(now), end)


def _overlaps(incident: Incident, start: float, end: float, now: float) -> bool:
    lo, hi = _clip(incident, start, end, now)
    return hi > lo


def _merged_seconds(spans: list[tuple[float, float]]) -> float:
    total, current_start = 0.0, 0.0
    current_end: float | None = None
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if current_end is None or lo > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = lo, hi
        else:
            current_end = max(current_end, hi)
    if current_end is not None:
        total += current_end - current_start
    return total


def _concentration(spans: list[tuple[float, float]], cal: _Calendar) -> Concentration | None:
    """The busiest run of local half hours (no wrap at midnight) if it holds most of the incident time."""
    slots = [0.0] * (DAY // SLOT)
    working = peak = total = 0.0
    for lo, hi in spans:
        t = lo
        while t < hi:  # minute by minute: incidents are few and a week has 10,080 minutes
            local_t = int(t) + OFFSET
            step = min(hi, (local_t // 60 + 1) * 60 - OFFSET) - t
            minute = local_t // 60 - cal.base_minute
            day = minute // 1440
            slots[(local_t % DAY) // SLOT] += step
            total += step
            if 0 <= day < cal.ndays:
                working += step if cal.working[day] else 0.0
                peak += step if cal.peak[minute] else 0.0
            t += step
    if total <= 0:
        return None
    runs: list[tuple[int, int, float]] = []  # contiguous half hours with incident time: (first, width, time)
    for index, value in enumerate(slots):
        if value <= 0:
            continue
        if runs and runs[-1][0] + runs[-1][1] == index:
            first, width, time_ = runs[-1]
            runs[-1] = (first, width + 1, time_ + value)
        else:
            runs.append((index, 1, value))
    first, width, busiest = max(runs, key=lambda run: run[2])
    share = busiest / total
    if share <= SPAN_SHARE or width * SLOT > MAX_SPAN:
        return Concentration(None, 0.0, working / total > 0.5, peak / total)
    return Concentration((first * SLOT, (first + width) * SLOT), share, working / total > 0.5, peak / total)


def _precise_concentration(spans: list[tuple[float, float]], cal: _Calendar) -> Concentration | None:
    """Tighten the span's edges to the minute where incidents start and end inside it."""
    found = _concentration(spans, cal)
    if found is None or found.span is None:
        return found
    span_lo, span_hi = found.span
    starts = [(int(lo) + OFFSET) % DAY for lo, hi in spans]
    ends = [(int(hi) + OFFSET - 1) % DAY + 1 for lo, hi in spans]
    lo = min((s for s in starts if span_lo <= s < span_hi), default=span_lo) // 60 * 60
    hi = -(-max((e for e in ends if span_lo < e <= span_hi), default=span_hi) // 60) * 60
    return Concentration((lo, hi), found.share, found.working_days, found.peak_share) if lo < hi else found


def _certificates(warnings: Iterable[CertificateWarning]) -> tuple[CertificateWarning, ...]:
    earliest: dict[tuple[str, str], CertificateWarning] = {}
    for warning in warnings:
        key = (warning.platform, warning.check)
        if key not in earliest or warning.expires_at < earliest[key].expires_at:
            earliest[key] = warning
    return tuple(sorted(earliest.values(), key=lambda w: (w.expires_at, w.platform, w.check)))


def build_report(data: ReportInput) -> Report:
    """Compute every figure, finding and recommendation of the week. Pure: no I/O, no clock."""
    cal = _Calendar(data.start, data.end, data.peak)
    ids = {p.id for p in data.platforms}
    rollups = list(fold(data.results).values()) if data.rollups is None else data.rollups
    accs, per_place = _scan(data, rollups, cal, ids)

    now = data.generated_at or data.end
    overlapping = (i for i in data.incidents if i.platform in ids and _overlaps(i, data.start, data.end, now))
    incidents = tuple(sorted(overlapping, key=lambda i: (i.start, i.platform, i.id)))
    complaints = [(c, k) for c, k in data.complaints if data.start <= c.received_at < data.end]
    kept = {c.id for c, _ in complaints}
    status = {(m.complaint_id, m.platform): m.status for m in data.matches if m.complaint_id in kept}

    hourly_all = [0] * 24
    symptoms: dict[str, int] = {}
    per_platform = {pid: _Counts() for pid in ids}
    for complaint, cls in complaints:
        hour = (int(complaint.received_at) + OFFSET) // 3600 % 24
        hourly_all[hour] += 1
        symptoms[cls.symptom] = symptoms.get(cls.symptom, 0) + 1
        for pid in dict.fromkeys(cls.platforms):
            counts = per_platform.get(pid)
            if counts is None:
                continue
            counts.complaints += 1
            counts.hourly[hour] += 1
            if cls.measurable:
                counts.measurable += 1
                verdict = status.get((complaint.id, pid))
                counts.corroborated += verdict == MatchStatus.CORROBORATED
                counts.not_measured += verdict == MatchStatus.NOT_MEASURED
                counts.no_data += verdict == MatchStatus.NO_DATA
                counts.sporadic += verdict == MatchStatus.SPORADIC

    figures = []
    for platform in data.platforms:
        acc = accs[platform.id]
        own = [i for i in incidents if i.platform == platform.id and i.scope == "platform"]
        down = [_clip(i, data.start, data.end, now) for i in own if i.kind == "down"]
        slow = [_clip(i, data.start, data.end, now) for i in own if i.kind == "degraded"]
        counts = per_platform[platform.id]
        hours = [_p50_p95(sketch) for sketch in acc.hours]
        figures.append(PlatformFigures(
            id=platform.id, name=platform.name, monitored=platform.monitored,
            probes=acc.n, successes=acc.ok,
            availability=100.0 * acc.ok / acc.n if acc.n else None,
            downtime=_merged_seconds(down),
            incidents_down=len(down), incidents_degraded=len(slow),
            incidents_location=sum(1 for i in incidents if i.platform == platform.id and i.scope == "location"),
            latency_peak=_p50_p95(acc.peak), latency_offpeak=_p50_p95(acc.off),
            complaints=counts.complaints, measurable=counts.measurable, corroborated=counts.corroborated,
            not_measured=counts.not_measured, no_data=counts.no_data, sporadic=counts.sporadic,
            daily_availability=tuple(100.0 * ok / n if n else None
                                     for ok, n in zip(acc.day_ok, acc.day_n, strict=True)),
            hourly_latency=tuple(pair[1] if pair else None for pair in hours),
            coverage=coverage(acc.seen, acc.locations, cal.base, data.start, data.end),
            hourly_complaints=tuple(counts.hourly),
            down_concentration=_precise_concentration(down, cal),
            degraded_concentration=_precise_concentration(slow, cal),
        ))
    figures_t = tuple(figures)
    latency = {i.id: _incident_p95(accs[i.platform].slots, cal, *_clip(i, data.start, data.end, now))
               for i in incidents if i.scope == "platform"}
    certificates = _certificates(w for w in data.certificate_warnings if w.platform in ids)
    names = {p.id: p.name for p in data.platforms}
    per_location = _location_table(per_place)
    places = location_names(sorted({loc for i in incidents for loc in i.locations}
                                   | {loc for f in figures_t for loc in f.coverage.locations}), data.location_names)
    return Report(
        start=data.start, end=data.end, generated_at=data.generated_at, days=cal.day_starts,
        bulletin_week=data.bulletin_week, peak=data.peak.seconds(), incident_p95=latency,
        complaint_rows=_complaint_rows(complaints, data.matches),
        platforms=figures_t, incidents=incidents, certificate_warnings=certificates,
        complaints_by_incident=dict(Counter(m.incident_id for m in data.matches
                                            if m.status is MatchStatus.CORROBORATED and m.incident_id)),
        complaints_total=len(complaints), symptoms=symptoms, hourly_complaints=tuple(hourly_all),
        findings=findings(figures_t, incidents, certificates, complaints, names, now=now, p95=latency,
                          week=data.bulletin_week, places=places),
        locations={pid: rows for pid, rows in per_location.items() if pid in ids}, location_names=places,
        recommendations=recommendations(figures_t, incidents, certificates, complaints, names,
                                        week=data.bulletin_week),
    )


def _incident_p95(slots: dict[int, list[float]], cal: _Calendar, lo: float, hi: float) -> float | None:
    """p95 of the successful HTTP probes' total during [lo, hi), to the 5-minute slot.

    Slots at least half inside the span count; a span shorter than that takes the slots it touches.
    None when no probe succeeded then (an outage).
    """
    width = SLOT_MINUTES * 60
    first = max(0, int((lo - cal.base) // width))
    last = min(cal.ndays * 1440 // SLOT_MINUTES, -(-int(hi - cal.base) // width))
    inside: list[float] = []
    touched: list[float] = []
    for index in range(first, last):
        slot_lo = cal.base + index * width
        overlap = min(hi, slot_lo + width) - max(lo, slot_lo)
        if overlap > 0:
            touched.extend(slots.get(index, ()))
            if overlap * 2 >= width:
                inside.extend(slots.get(index, ()))
    values = sorted(inside or touched)
    return quantile(values, 0.95) if values else None


def _complaint_rows(complaints: Sequence[tuple[Complaint, Classification]],
                    matches: Iterable[Match]) -> tuple[ComplaintRow, ...]:
    """Every complaint of the period with its verdict per platform, by receipt: no text, no unit, no person."""
    verdicts: dict[str, list[tuple[str | None, MatchStatus, str | None]]] = {}
    for m in matches:
        verdicts.setdefault(m.complaint_id, []).append((m.platform, m.status, m.incident_id))
    rows = [ComplaintRow(c.id, c.received_at, tuple(dict.fromkeys(cls.platforms)), cls.symptom,
                         tuple(verdicts.get(c.id, ()))) for c, cls in complaints]
    return tuple(sorted(rows, key=lambda row: (row.received_at, row.id)))

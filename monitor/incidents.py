"""Incidents (sự cố) from stored results: a pure function of results and policy.

How a stretch of bad measurements becomes an incident, in four steps:

1. **Per stream** (one check at one location), each probe is ``ok``, ``slow`` (an HTTP probe
   that succeeded slower than the platform's ``slow_after``) or ``failed``. A result measured
   while the prober stalled (``unreliable``, with the seconds ``stalled``) counts only for what
   the stall cannot explain (:func:`usable`): a stall makes a probe look slower, never faster,
   and never invents an answer. Dropping all of them would favour fast answers, because a slow
   probe overlaps more stalls than a fast one.

   - *down*: ``failures_to_open`` consecutive failed probes open it (at the first of them),
     ``successes_to_close`` consecutive probes that did not fail close it (at the first of
     them), like gatus's failure and success thresholds: one lost packet is no incident.
   - *degraded*: a slow or failed probe opens it when at least ``bad_share`` of the probes
     in the trailing ``window``, and at least ``failures_to_open`` of them, were slow or
     failed; it starts at the earliest of those. ``successes_to_close`` good probes in a row
     close it, at the first of them. A window rather than a streak, because congestion makes
     *some* requests slow or fail, not all of them.
2. **Per location**, the bad stretches of all the platform's streams are joined, and
   stretches less than ``merge_within`` apart are one: a flapping platform is one incident.
3. **Per platform**, a stretch is a platform incident while at least ``location_share``
   of the locations reporting the platform were in one, and at least two of them (unless
   only one location reports it). A location's stretch no platform incident overlaps is an
   incident of scope ``location``: a problem of that location's network, not an outage.
4. **Kind**: ``down`` when at least ``down_share`` of some check's probes inside the incident
   failed (the page was unreachable more often than not), else ``degraded``.

Ids are the platform, the start and (for location scope) the location, so recomputing
a period finds the same ids. A certificate about to expire is a :class:`CertificateWarning`,
never downtime; an expired one fails the probes and so opens a down incident.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from dataclasses import dataclass, field
from typing import Literal

from monitor.localtime import local
from monitor.result import ProbeResult

Kind = Literal["down", "degraded"]
Scope = Literal["platform", "location"]
Span = tuple[float, float]  # [start, end); end is math.inf while still open
OPEN = math.inf
_STARTED_AT = attrgetter("started_at")


@dataclass(frozen=True)
class IncidentPolicy:
    """How measurements become incidents; the defaults suit 30 s probes."""

    failures_to_open: int = 3
    successes_to_close: int = 2
    window: int = 20  # trailing probes of a check judged for "degraded" (10 minutes at 30 s)
    bad_share: float = 0.3  # share of slow or failed probes in the window that makes it bad
    merge_within: float = 600.0  # stretches closer than this are one incident
    location_share: float = 0.5  # share of reporting locations that makes it the platform's incident
    down_share: float = 0.5  # share of a check's probes that failed for the incident to be "down"
    cert_warning_days: float = 21.0

    def __post_init__(self) -> None:
        if self.failures_to_open < 1 or self.successes_to_close < 1:
            raise ValueError("failures_to_open and successes_to_close must be at least 1")
        if self.window < self.failures_to_open:
            raise ValueError("window must hold at least failures_to_open probes")
        for name in ("bad_share", "location_share", "down_share"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")


DEFAULT_POLICY = IncidentPolicy()


@dataclass(frozen=True)
class Incident:
    """A stretch in which a platform was down (gián đoạn) or degraded (chậm, nghẽn).

    ``scope`` is ``platform`` when enough locations saw it, ``location`` when only some
    did (a problem of that location's network, not a platform outage).
    """

    id: str  # stable: recomputing the same period gives the same id
    platform: str
    kind: Kind
    scope: Scope
    start: float  # first bad probe of the confirming streak
    end: float | None  # first good probe of the recovering streak; None while open
    locations: tuple[str, ...]
    reasons: dict[str, int] = field(default_factory=dict)  # failure reason (or "slow") -> probes
    worst_latency: float | None = None  # slowest successful probe's total, seconds
    probes: int = 0  # reliable probes inside the incident
    failed: int = 0

    def duration(self, until: float) -> float:
        """Seconds from start to end (or to ``until`` while open)."""
        return (self.end if self.end is not None else until) - self.start


@dataclass(frozen=True)
class CertificateWarning:
    """A certificate that expires soon: a warning for on-call, never downtime."""

    platform: str
    check: str
    location: str
    expires_at: float
    seen_at: float

    @property
    def days_left(self) -> float:
        return (self.expires_at - self.seen_at) / 86400


# --- step 1: one stream ------------------------------------------------------------------

def _is_slow(result: ProbeResult, slow_after: float) -> bool:
    return result.success and result.kind == "http" and result.phases.get("total", 0.0) > slow_after


_DEADLINES = frozenset({"connect_timeout", "read_timeout", "timeout", "dns"})  # dns: may be a timeout


def usable(result: ProbeResult, slow_after: float) -> bool:
    """Whether ``result`` is evidence: reliable, or unreliable in a way its stall cannot explain.

    An unreliable success counts when it was fast anyway, or slow even without the stalled
    seconds; a failure that is an answer (status, reset, certificate, content) counts; a
    deadline counts when the platform was slow even without the stalled seconds.
    """
    if not result.unreliable:
        return True
    stalled = float(result.details.get("stalled", math.inf))
    if result.success:
        total = result.phases.get("total", result.duration)
        return result.kind != "http" or total <= slow_after or total - stalled > slow_after
    if result.outcome in _DEADLINES:
        return result.duration - stalled > slow_after
    return True


def down_spans(probes: Sequence[ProbeResult], policy: IncidentPolicy) -> list[Span]:
    """Spans confirmed by ``failures_to_open`` failures in a row, closed by ``successes_to_close`` non-failures."""
    spans: list[Span] = []
    streak_start: float | None = None
    failures = passes = 0
    opened: float | None = None
    closing: float | None = None
    for probe in probes:
        if opened is None:
            if probe.success:
                failures, streak_start = 0, None
                continue
            if failures == 0:
                streak_start = probe.started_at
            failures += 1
            if failures >= policy.failures_to_open:
                opened, passes = streak_start, 0
        elif probe.success:
            if passes == 0:
                closing = probe.started_at
            passes += 1
            if passes >= policy.successes_to_close:
                spans.append((opened, closing))
                opened, failures, streak_start = None, 0, None
        else:
            passes = 0
    if opened is not None:
        spans.append((opened, OPEN))
    return spans


def degraded_spans(probes: Sequence[ProbeResult], slow_after: float, policy: IncidentPolicy) -> list[Span]:
    """Spans opened by a bad probe in a bad trailing window, closed by ``successes_to_close`` good probes."""
    bad = [not p.success or _is_slow(p, slow_after) for p in probes]
    spans: list[Span] = []
    first = 0  # index of the window's oldest probe
    bad_in_window = 0
    opened: float | None = None
    passes = 0
    for i, probe in enumerate(probes):
        bad_in_window += bad[i]
        while i - first >= policy.window:
            bad_in_window -= bad[first]
            first += 1
        if bad[i]:
            passes = 0
            if opened is None and bad_in_window >= max(policy.failures_to_open, policy.bad_share * (i - first + 1)):
                opened = probes[next(j for j in range(first, i + 1) if bad[j])].started_at
        elif opened is not None:
            passes += 1
            if passes >= policy.successes_to_close:
                spans.append((opened, probes[i - passes + 1].started_at))
                opened = None
    if opened is not None:
        spans.append((opened, OPEN))
    return spans


# --- interval arithmetic -------------------------------------------------------------------

def union(spans: Iterable[Span], gap: float = 0.0) -> list[Span]:
    """Sorted, disjoint spans covering ``spans``; spans less than ``gap`` apart are joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def at_least(span_sets: Sequence[list[Span]], count: int) -> list[Span]:
    """Where at least ``count`` of the span sets cover the time (a sweep over their edges)."""
    edges: list[tuple[float, int]] = []
    for spans in span_sets:
        for start, end in union(spans):
            edges += [(start, 1), (end, -1)]
    edges.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    out: list[Span] = []
    active, opened = 0, None
    for at, step in edges:
        active += step
        if active >= count and opened is None:
            opened = at
        elif active < count and opened is not None:
            if at > opened:
                out.append((opened, at))
            opened = None
    return out


def _overlaps(span: Span, other: Span) -> bool:
    return span[0] < other[1] and other[0] < span[1]


# --- steps 2 to 4 --------------------------------------------------------------------------

@dataclass
class _Location:
    bad: list[Span] = field(default_factory=list)  # merged bad stretches
    streams: list[list[ProbeResult]] = field(default_factory=list)  # one per check, each by start time


def required_locations(reporting: int, share: float) -> int:
    """How many failing locations make a platform incident: ``share`` of them, and at least two of several."""
    return max(min(2, reporting), math.ceil(share * reporting - 1e-9))


def detect(results: Iterable[ProbeResult], slow_after: Mapping[str, float],
           policy: IncidentPolicy = DEFAULT_POLICY, default_slow_after: float = 2.5) -> list[Incident]:
    """Incidents found in ``results`` (any order), by start time.

    ``slow_after`` maps platform ids to the latency (seconds) above which an HTTP probe
    counts as slow; platforms not in it use ``default_slow_after``.
    """
    streams: dict[tuple[str, str, str], list[ProbeResult]] = defaultdict(list)
    for result in results:
        if not result.unreliable or usable(result, slow_after.get(result.platform, default_slow_after)):
            streams[(result.platform, result.location, result.check)].append(result)
    by_platform: dict[str, dict[str, _Location]] = defaultdict(lambda: defaultdict(_Location))
    for (platform, location, _check), probes in streams.items():
        probes.sort(key=_STARTED_AT)
        threshold = slow_after.get(platform, default_slow_after)
        place = by_platform[platform][location]
        place.bad += down_spans(probes, policy) + degraded_spans(probes, threshold, policy)
        place.streams.append(probes)
    incidents: list[Incident] = []
    for platform, locations in by_platform.items():
        for place in locations.values():
            place.bad = union(place.bad, policy.merge_within)
        incidents += _platform_incidents(platform, locations, slow_after.get(platform, default_slow_after), policy)
    return sorted(incidents, key=lambda i: (i.start, i.platform, i.scope, i.locations))


def _platform_incidents(platform: str, locations: Mapping[str, _Location], threshold: float,
                        policy: IncidentPolicy) -> list[Incident]:
    names = sorted(locations)
    need = required_locations(len(names), policy.location_share)
    stretches = union(at_least([locations[n].bad for n in names], need), policy.merge_within)
    out = []
    for span in stretches:
        involved = [n for n in names if any(_overlaps(span, s) for s in locations[n].bad)]
        out.append(_incident(platform, "platform", span, involved, locations, threshold, policy))
    for name in names:
        for span in locations[name].bad:
            if not any(_overlaps(span, s) for s in stretches):
                out.append(_incident(platform, "location", span, [name], locations, threshold, policy))
    return out


def _incident(platform: str, scope: Scope, span: Span, involved: list[str], locations: Mapping[str, _Location],
              threshold: float, policy: IncidentPolicy) -> Incident:
    start, end = span
    reasons: Counter[str] = Counter()
    per_check: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # check -> [probes, failed]
    worst = None
    probes = failed = 0
    for name in involved:
        for stream in locations[name].streams:
            first = bisect.bisect_left(stream, start, key=_STARTED_AT)
            for p in itertools.islice(stream, first, bisect.bisect_left(stream, end, lo=first, key=_STARTED_AT)):
                probes += 1
                per_check[p.check][0] += 1
                if not p.success:
                    failed += 1
                    per_check[p.check][1] += 1
                    reasons[p.outcome] += 1
                elif _is_slow(p, threshold):
                    reasons["slow"] += 1
                if p.success and "total" in p.phases and p.kind == "http" and not p.unreliable:
                    worst = max(worst or 0.0, p.phases["total"])
    is_down = any(bad >= policy.down_share * count for count, bad in per_check.values())
    suffix = "" if scope == "platform" else f"-{involved[0]}"
    return Incident(
        id=f"{platform}-{local(start):%Y%m%dT%H%M%S}{suffix}", platform=platform,
        kind="down" if is_down else "degraded", scope=scope, start=start, end=None if end == OPEN else end,
        locations=tuple(involved), reasons=dict(reasons.most_common()), worst_latency=worst, probes=probes,
        failed=failed)


def certificate_warnings(results: Iterable[ProbeResult], policy: IncidentPolicy = DEFAULT_POLICY
                         ) -> list[CertificateWarning]:
    """Certificates whose latest observation expires within ``cert_warning_days`` (and has not expired)."""
    latest: dict[tuple[str, str, str], ProbeResult] = {}
    for r in results:
        if r.cert_expiry is not None:
            key = (r.platform, r.check, r.location)
            seen = latest.get(key)
            if seen is None or seen.started_at < r.started_at:
                latest[key] = r
    warnings = [CertificateWarning(p, c, loc, r.cert_expiry, r.started_at)
                for (p, c, loc), r in latest.items()
                if r.cert_expiry is not None and 0 < r.cert_expiry - r.started_at <= policy.cert_warning_days * 86400]
    return sorted(warnings, key=lambda w: (w.expires_at, w.platform, w.check, w.location))

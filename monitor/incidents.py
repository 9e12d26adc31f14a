"""Incidents (sự cố) from stored results: a pure function of results and policy.

How a stretch of bad measurements becomes an incident, in four steps. Every rule counts
probes, not seconds, so the answer does not change with the check interval.

1. **Per stream** (one check at one location), each probe is ``ok``, ``slow`` (an HTTP probe
   that succeeded slower than the platform's ``slow_after``) or ``failed``. A result measured
   while the prober stalled (``unreliable``, with the seconds ``stalled``) counts only for what
   the stall cannot explain (:func:`usable`): a stall makes a probe look slower, never faster,
   and never invents an answer.

   - *down*: ``failures_to_open`` consecutive failed probes open it (at the first of them),
     ``successes_to_close`` consecutive probes that did not fail close it (at the first of
     them), like gatus's failure and success thresholds: one lost packet is no incident.
     Inside congestion (a bad trailing window, or a slowdown open for a while), where a few
     failures in a row happen by chance, it takes ``congested_failures`` in a row.
   - *bad* (degraded or worse): ``failures_to_open`` slow or failed probes in a row open it, and
     so does a slow or failed probe when at least ``bad_share`` of the probes in the trailing
     ``window``, and at least ``failures_to_open`` of them, were slow or failed; it starts at the
     earliest of those. ``successes_to_close`` good probes in a row close it, at the first of
     them. The window never reaches back past the close of the previous stretch, nor past
     ``merge_degraded_probes`` good probes in a row, so one failed request after a recovery
     opens nothing.
   - Stretches of one stream separated by fewer than ``merge_probes`` probe intervals are one
     (a flapping platform is one incident).
2. **Per location**, the stretches of all the platform's streams are joined.
3. **Per platform**, a stretch is a platform stretch while at least ``location_share`` of the
   locations reporting the platform were in one, and at least two of them (unless only one
   location reports it). A location's stretch no platform incident overlaps is an incident of
   scope ``location``: a problem of that location's network, not an outage.
4. **Kind**: every down stretch is an incident of kind ``down`` of its own. What is left of a
   bad stretch around it is ``degraded`` (chậm, nghẽn) when it still holds ``failures_to_open``
   slow or failed probes of one check, and ``down`` when at least ``down_share`` of some check's
   probes in it failed (the page was unreachable more often than not). So an outage is never
   called "chậm, nghẽn", and the slowness before it is not called an outage.

An incident ends at its first good probe after the last bad one (at most one interval after
it). One still bad at the end of the data has ``end`` None: it is *ongoing* only while the
platform's latest result is recent (:meth:`Incident.ongoing`); otherwise the data stopped and
its end is unknown (:meth:`Incident.until` is then its last bad probe plus one interval).

Ids are the platform, the start and (for location scope) the location, so recomputing
a period finds the same ids. A certificate about to expire is a :class:`~monitor.domain.CertificateWarning`,
never downtime; an expired one fails the probes and so opens a down incident.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import cast

from monitor.domain import DEFAULT_INTERVAL, DEFAULT_POLICY, CertificateWarning, Incident, IncidentPolicy, Kind, Scope
from monitor.localtime import local
from monitor.result import PROBER_NETWORK, ProbeResult
from monitor.rollup import Rollup

Span = tuple[float, float]  # [start, end); end is math.inf while still open
OPEN = math.inf
_STARTED_AT = attrgetter("started_at")


# --- step 1: one stream ------------------------------------------------------------------

def _is_slow(result: ProbeResult, slow_after: float) -> bool:
    return result.success and result.kind == "http" and result.phases.get("total", 0.0) > slow_after


def is_bad(result: ProbeResult, slow_after: float) -> bool:
    """Failed, or an HTTP probe that succeeded slower than ``slow_after``."""
    return not result.success or _is_slow(result, slow_after)


_DEADLINES = frozenset({"connect_timeout", "read_timeout", "timeout", "dns"})  # dns: may be a timeout


def usable(result: ProbeResult, slow_after: float) -> bool:
    """Whether ``result`` is evidence: reliable, or unreliable in a way its stall cannot explain.

    An unreliable success counts when it was fast anyway, or slow even without the stalled
    seconds; a failure that is an answer (status, reset, certificate, content) counts; a
    deadline counts when the platform was slow even without the stalled seconds.
    """
    if not result.unreliable:
        return True
    stalled = float(cast(float, result.details.get("stalled", math.inf)))  # seconds (monitor.looplag)
    if result.success:
        total = result.phases.get("total", result.duration)
        return result.kind != "http" or total <= slow_after or total - stalled > slow_after
    if result.outcome in _DEADLINES:
        return result.duration - stalled > slow_after
    return True


def is_evidence(result: ProbeResult, slow_after: float) -> bool:
    """Whether ``result`` says something about the platform: not the prober's own network failing
    (:mod:`monitor.selfcheck`), and :func:`usable` despite any stall."""
    if result.unreliable and PROBER_NETWORK in result.details:
        return False
    return usable(result, slow_after)


def down_spans(probes: Sequence[ProbeResult], policy: IncidentPolicy, bad: Sequence[bool] | None = None,
               slowdowns: Sequence[Span] = (), interval: float = DEFAULT_INTERVAL) -> list[Span]:
    """Spans confirmed by ``failures_to_open`` failures in a row, closed by ``successes_to_close`` non-failures.

    Inside congestion (at least ``bad_share`` of the ``window`` probes before the streak were slow or
    failed, by ``bad``; or one of ``slowdowns`` had been open for ``merge_degraded_probes`` intervals
    when the streak began), a streak of that length happens by chance: an outage then needs
    ``congested_failures`` failures in a row, and what is shorter stays part of the slowdown. As for
    :func:`degraded_spans`, the window never reaches back past ``merge_degraded_probes`` good probes in a
    row: congestion that ended is no reason to doubt an outage.
    """
    settled = policy.merge_degraded_probes * interval
    flags = list(bad) if bad is not None else [not p.success for p in probes]
    before = [0]  # before[k]: bad probes among probes[:k]
    calm_from = [0]  # calm_from[k]: where the window before probes[k] may begin (after the last calm run)
    good_run = 0
    for k, flag in enumerate(flags):
        before.append(before[-1] + flag)
        good_run = 0 if flag else good_run + 1
        calm_from.append(k - good_run + 1 if good_run >= policy.merge_degraded_probes else calm_from[-1])
    spans: list[Span] = []
    streak_start = closing = 0.0
    first = failures = passes = 0
    outage_bad = [0]  # outage_bad[k]: failures of confirmed outages among probes[:k] (an outage is not congestion)
    opened: float | None = None
    for i, probe in enumerate(probes):
        outage_bad.append(outage_bad[-1])
        if opened is None:
            if probe.success:
                failures = 0
                continue
            if failures == 0:
                streak_start, first = probe.started_at, i
            failures += 1
            if failures >= policy.failures_to_open:
                lo = max(0, first - policy.window, calm_from[first])
                congestion = before[first] - before[lo] - (outage_bad[first] - outage_bad[lo])
                congested = (first > lo and congestion >= policy.bad_share * (first - lo)) or any(
                    start <= streak_start - settled and streak_start < end for start, end in slowdowns)
                if failures >= (policy.congested_failures if congested else policy.failures_to_open):
                    opened, passes = streak_start, 0
                    for k in range(first, i + 1):  # the streak's failures are the outage's
                        outage_bad[k + 1] += k - first + 1
        elif probe.success:
            if passes == 0:
                closing = probe.started_at
            passes += 1
            if passes >= policy.successes_to_close:
                spans.append((opened, closing))
                opened, failures = None, 0
        else:
            passes = 0
            outage_bad[-1] += 1
    if opened is not None:
        spans.append((opened, OPEN))
    return spans


def degraded_spans(probes: Sequence[ProbeResult], slow_after: float, policy: IncidentPolicy,
                   bad: Sequence[bool] | None = None) -> list[Span]:
    """Spans opened by ``failures_to_open`` bad probes in a row, or by a bad probe in a bad trailing window;
    closed by ``successes_to_close`` good probes.

    The window starts no earlier than the close of the previous span, nor before a run of
    ``merge_degraded_probes`` good probes: probes of a stretch that already ended never help open
    the next one.
    """
    if bad is None:
        bad = [is_bad(p, slow_after) for p in probes]
    spans: list[Span] = []
    first = 0  # index of the window's oldest probe
    bad_in_window = streak = good_run = passes = 0
    opened: float | None = None
    for i in range(len(probes)):
        bad_in_window += bad[i]
        while i - first >= policy.window:
            bad_in_window -= bad[first]
            first += 1
        if bad[i]:
            passes = good_run = 0
            streak += 1
            if opened is None and (streak >= policy.failures_to_open or bad_in_window >= max(
                    policy.failures_to_open, policy.bad_share * (i - first + 1))):
                opened = probes[next(j for j in range(first, i + 1) if bad[j])].started_at
            continue
        streak = 0
        good_run += 1
        if opened is not None:
            passes += 1
            if passes >= policy.successes_to_close:
                spans.append((opened, probes[i - passes + 1].started_at))
                opened, first, bad_in_window = None, i - passes + 1, 0
        elif good_run == policy.merge_degraded_probes:  # once per run: the window holds only good probes since
            first, bad_in_window = i - good_run + 1, 0
    if opened is not None:
        spans.append((opened, OPEN))
    return spans


BUCKET = 900  # seconds: the 15-minute buckets of monitor.rollup, which a stream's interval is computed from

Buckets = Sequence[tuple[int, int, float, float]]
"""A stream's reliable probes per 15-minute bucket: (bucket start, probes, first start, last start), by bucket."""


def interval_from_buckets(buckets: Buckets) -> float:
    """The median spacing of a stream's reliable probes, seen through 15-minute buckets.

    Inside a bucket of ``n`` probes, its ``n - 1`` spacings count as their mean (``(last - first) /
    (n - 1)``); between consecutive buckets with probes, the spacing from one's last to the next's first
    counts as it is. The median of those spacings (the mean of the middle two when their number is even).
    The same from raw probes (:func:`interval_of`) and from rollups (:mod:`monitor.rollup`), so incident
    detection that reads only the hot ranges of a period finds what reading all of it finds.
    """
    weighted: list[tuple[float, int]] = []
    previous: float | None = None
    for _, n, first, last in buckets:
        if previous is not None:
            weighted.append((first - previous, 1))
        if n >= 2:
            weighted.append(((last - first) / (n - 1), n - 1))
        previous = last
    total = sum(w for _, w in weighted)
    if not total:
        return DEFAULT_INTERVAL
    weighted.sort()
    wanted = (total - 1) // 2, total // 2  # the middle one (twice) or the middle two
    picked: list[float] = []
    seen = 0
    for value, weight in weighted:
        while len(picked) < 2 and wanted[len(picked)] < seen + weight:
            picked.append(value)
        seen += weight
        if len(picked) == 2:
            break
    return (picked[0] + picked[1]) / 2 or DEFAULT_INTERVAL


def buckets_of(probes: Iterable[ProbeResult]) -> list[tuple[int, int, float, float]]:
    """The reliable probes of one stream (sorted by start) per 15-minute bucket (see :data:`Buckets`)."""
    return buckets_of_starts(p.started_at for p in probes if not p.unreliable)


def buckets_of_starts(starts: Iterable[float]) -> list[tuple[int, int, float, float]]:
    """The starts of a stream's reliable probes (in order) per 15-minute bucket (see :data:`Buckets`)."""
    out: list[tuple[int, int, float, float]] = []
    for t in starts:
        b = int(t // BUCKET) * BUCKET
        if out and out[-1][0] == b:
            _, n, first, _ = out[-1]
            out[-1] = (b, n + 1, first, t)
        else:
            out.append((b, 1, t, t))
    return out


def interval_of(probes: Sequence[ProbeResult]) -> float:
    """The stream's probe interval (its probes sorted by start): :func:`interval_from_buckets` of its reliable
    probes."""
    return interval_from_buckets(buckets_of(probes))


@dataclass(frozen=True)
class StreamFacts:
    """What detection needs of a stream beyond the probes it is given: when only some of its probes are read
    (the hot ranges), these come from its 15-minute rollups (see :func:`detect`)."""

    interval: float  # interval_from_buckets of all its reliable probes in the data
    last: float  # start of its latest probe that is evidence


# --- interval arithmetic -------------------------------------------------------------------

def union(spans: Iterable[Span], gap: float = 0.0) -> list[Span]:
    """Sorted, disjoint spans covering ``spans``; spans at most ``gap`` apart are joined."""
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


def minus(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """What of ``spans`` (disjoint, sorted) lies outside ``holes`` (disjoint, sorted)."""
    out: list[Span] = []
    for start, end in spans:
        for lo, hi in holes:
            if hi <= start or lo >= end:
                continue
            if lo > start:
                out.append((start, lo))
            start = max(start, hi)
            if start >= end:
                break
        if start < end:
            out.append((start, end))
    return out


def _overlaps(span: Span, other: Span) -> bool:
    return span[0] < other[1] and other[0] < span[1]


# --- steps 2 to 4 --------------------------------------------------------------------------

@dataclass
class _Stream:
    probes: list[ProbeResult]  # by start time
    bad: list[bool]  # slow or failed, per probe
    interval: float
    last: float  # start of the stream's latest probe (of the data, even when only some probes were read)

    def inside(self, span: Span) -> range:
        lo = bisect.bisect_left(self.probes, span[0], key=_STARTED_AT)
        return range(lo, bisect.bisect_left(self.probes, span[1], lo=lo, key=_STARTED_AT))


@dataclass
class _Location:
    down: list[Span] = field(default_factory=list)  # merged down stretches
    bad: list[Span] = field(default_factory=list)  # merged bad stretches (down ones included)
    streams: list[_Stream] = field(default_factory=list)


def required_locations(reporting: int, share: float) -> int:
    """How many failing locations make a platform incident: ``share`` of them, and at least two of several."""
    return max(min(2, reporting), math.ceil(share * reporting - 1e-9))


StreamKey = tuple[str, str, str]
"""(platform, location, check)."""


def detect(results: Iterable[ProbeResult], slow_after: Mapping[str, float],
           policy: IncidentPolicy = DEFAULT_POLICY, default_slow_after: float = 2.5,
           facts: Mapping[StreamKey, StreamFacts] | None = None) -> list[Incident]:
    """Incidents found in ``results`` (any order), by start time.

    ``slow_after`` maps platform ids to the latency (seconds) above which an HTTP probe
    counts as slow; platforms not in it use ``default_slow_after``.

    ``facts``: every stream of the data, with its interval and latest probe, when ``results`` are only
    the hot ranges of it (:mod:`monitor.hotranges`): a stream without results there still counts (its
    location reports the platform, its interval sets the merge gaps).
    """
    streams: dict[StreamKey, list[ProbeResult]] = defaultdict(list)
    for key in facts or ():
        streams[key] = []
    for result in results:
        if not result.unreliable or is_evidence(result, slow_after.get(result.platform, default_slow_after)):
            streams[(result.platform, result.location, result.check)].append(result)
    by_platform: dict[str, dict[str, _Location]] = defaultdict(lambda: defaultdict(_Location))
    for key, probes in streams.items():
        platform, location, _check = key
        probes.sort(key=_STARTED_AT)
        threshold = slow_after.get(platform, default_slow_after)
        known = facts.get(key) if facts is not None else None
        if known is None:
            known = StreamFacts(interval_of(probes), probes[-1].started_at)
        stream = _Stream(probes, [is_bad(p, threshold) for p in probes], known.interval, known.last)
        slowdowns = degraded_spans(probes, threshold, policy, stream.bad)
        down = union(down_spans(probes, policy, stream.bad, slowdowns, stream.interval),
                     policy.merge_probes * stream.interval)
        place = by_platform[platform][location]
        place.down += down
        place.bad += union(slowdowns + down, policy.merge_degraded_probes * stream.interval)
        place.streams.append(stream)
    incidents: list[Incident] = []
    for platform, locations in by_platform.items():
        for place in locations.values():
            place.down, place.bad = union(place.down), union(place.bad)
        incidents += _platform_incidents(platform, locations, slow_after.get(platform, default_slow_after), policy)
    return sorted(incidents, key=lambda i: (i.start, i.platform, i.scope, i.locations))


def _platform_incidents(platform: str, locations: Mapping[str, _Location], threshold: float,
                        policy: IncidentPolicy) -> list[Incident]:
    names = sorted(locations)
    need = required_locations(len(names), policy.location_share)
    interval = min(s.interval for place in locations.values() for s in place.streams)
    gap = policy.merge_probes * interval
    down = union(at_least([locations[n].down for n in names], need), gap)
    bad = union(at_least([locations[n].bad for n in names], need), policy.merge_degraded_probes * interval)
    out = []
    for span, kind in _kinds(down, bad, [s for n in names for s in locations[n].streams], policy, gap):
        involved = [n for n in names if any(_overlaps(span, s) for s in locations[n].bad)]
        out.append(_incident(platform, "platform", kind, span, involved, locations, threshold))
    taken = [(i.start, OPEN if i.end is None else i.end) for i in out]
    for name in names:
        place = locations[name]
        for span, kind in _kinds(place.down, place.bad, place.streams, policy, gap):
            if not any(_overlaps(span, s) for s in taken):
                out.append(_incident(platform, "location", kind, span, [name], locations, threshold))
    return out


def _kinds(down: list[Span], bad: list[Span], streams: Sequence[_Stream], policy: IncidentPolicy, gap: float
           ) -> list[tuple[Span, Kind]]:
    """Down stretches, and what is left of the bad ones around them, each with its kind (step 4).

    A leftover too small to be an incident of its own joins a down stretch that starts less than
    ``gap`` after it (the failed request just before an outage is part of it), else it is dropped.
    """
    outages = list(down)
    rest: list[tuple[Span, Kind]] = []
    for piece in minus(bad, down):
        trimmed = _trim(piece, streams)
        if trimmed is None:
            continue
        counts = [(len(r), sum(s.bad[k] for k in r), sum(not s.probes[k].success for k in r))
                  for s in streams if (r := s.inside(trimmed))]
        if any(nbad >= policy.failures_to_open for _, nbad, _ in counts):
            is_down = any(failed >= max(policy.failures_to_open, policy.down_share * n) for n, _, failed in counts)
            rest.append((trimmed, "down" if is_down else "degraded"))
            continue
        for k, outage in enumerate(outages):  # only backwards: nothing after a recovery extends an outage
            if trimmed[1] <= outage[0] and outage[0] - trimmed[1] < gap:
                outages[k] = (trimmed[0], outage[1])
    return _join(sorted([(span, "down") for span in outages] + rest), gap)


def _join(pieces: list[tuple[Span, Kind]], gap: float) -> list[tuple[Span, Kind]]:
    """Consecutive pieces of one kind at most ``gap`` apart are one (an outage judged in two ways is one)."""
    out: list[tuple[Span, Kind]] = []
    for span, kind in pieces:
        if out and out[-1][1] == kind and span[0] - out[-1][0][1] <= gap:
            out[-1] = ((out[-1][0][0], max(out[-1][0][1], span[1])), kind)
        else:
            out.append((span, kind))
    return out


def _trim(piece: Span, streams: Sequence[_Stream]) -> Span | None:
    """The piece from its first bad probe to the first good probe after its last bad one (or its end)."""
    first, last_end = OPEN, -OPEN
    for s in streams:
        r = s.inside(piece)
        bad = [k for k in r if s.bad[k]]
        if not bad:
            continue
        first = min(first, s.probes[bad[0]].started_at)
        after = bad[-1] + 1
        last_end = max(last_end, s.probes[after].started_at if after < len(s.probes) and after < r.stop else piece[1])
    return (first, last_end) if first < last_end else None


def _incident(platform: str, scope: Scope, kind: Kind, span: Span, involved: list[str],
              locations: Mapping[str, _Location], threshold: float) -> Incident:
    start, end = span
    reasons: Counter[str] = Counter()
    worst = last_bad = data_until = None
    probes = failed = 0
    per_check: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # check -> [probes, failed]
    interval = math.inf
    for name in involved:
        for stream in locations[name].streams:
            interval = min(interval, stream.interval)
            data_until = max(data_until or stream.last, stream.last)
            for k in stream.inside(span):
                p = stream.probes[k]
                probes += 1
                per_check[p.check][0] += 1
                per_check[p.check][1] += not p.success
                if stream.bad[k]:
                    last_bad = max(last_bad or p.started_at, p.started_at)
                if not p.success:
                    failed += 1
                    reasons[p.outcome] += 1
                elif _is_slow(p, threshold):
                    reasons["slow"] += 1
                if p.success and "total" in p.phases and p.kind == "http" and not p.unreliable:
                    worst = max(worst or 0.0, p.phases["total"])
    suffix = "" if scope == "platform" else f"-{involved[0]}"
    return Incident(
        id=f"{platform}-{local(start):%Y%m%dT%H%M%S}{suffix}", platform=platform, kind=kind, scope=scope,
        start=start, end=None if end == OPEN else end, locations=tuple(involved),
        reasons=dict(reasons.most_common()), worst_latency=worst, probes=probes, failed=failed,
        failed_share=max((bad / n for n, bad in per_check.values()), default=0.0), last_bad=last_bad,
        data_until=data_until, interval=interval if interval < OPEN else DEFAULT_INTERVAL)


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


def rollup_certificate_warnings(rollups: Iterable[Rollup], policy: IncidentPolicy = DEFAULT_POLICY
                                ) -> list[CertificateWarning]:
    """:func:`certificate_warnings` of the results the rollups sum: each keeps the certificate seen last."""
    latest: dict[tuple[str, str, str], tuple[float, float]] = {}
    for r in rollups:
        if r.cert_seen is not None and r.cert_expiry is not None:
            key = (r.platform, r.check, r.location)
            seen = latest.get(key)
            if seen is None or seen[0] < r.cert_seen:
                latest[key] = (r.cert_seen, r.cert_expiry)
    warnings = [CertificateWarning(p, c, loc, expiry, at) for (p, c, loc), (at, expiry) in latest.items()
                if 0 < expiry - at <= policy.cert_warning_days * 86400]
    return sorted(warnings, key=lambda w: (w.expires_at, w.platform, w.check, w.location))

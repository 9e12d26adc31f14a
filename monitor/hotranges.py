"""Which raw results incident detection must read: the hot ranges around bad stretches, from 15-minute rollups.

Pure functions; :func:`monitor.assessment.gather` does the reading. Detection (:mod:`monitor.incidents`)
runs one state machine per stream over its probes. Where a stream's probes are all good, far from any
bad one, the machines sit in their resting state, so they need not be read: a bucket is **hot** for a
stream when its rollup holds a failed, slow (its slowest HTTP total above the platform's ``slow_after``)
or unreliable probe, and it is read only when enough of its neighbours' probes may be bad to open
something (a lone failed request is never read: every stretch needs ``failures_to_open`` bad probes
within one ``window``). Around each such bucket the range read reaches back over at least :func:`lead`
reliable probes of that stream (the trailing window and the congestion look-back see only good probes
there, as they would in the full history) and forward over at least :func:`trail` (every stretch it
opened has closed). A platform's ranges, of all its streams, are joined when less than
:func:`join_gap` apart (the merge gaps of its streams), so every incident lies inside one range,
and every stream of the platform is read over all of it: an incident's counts are exact.

What reading everything would give that the hot ranges lack comes from the rollups
(:class:`~monitor.incidents.StreamFacts`): each stream's interval (the same function of its
15-minute buckets either way, :func:`monitor.incidents.interval_from_buckets`), its latest probe,
and that it exists at all (its location reports the platform). A bucket only partly inside the
data's range (or the period's) is read raw whole: a rollup cannot be cut.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from monitor.domain import IncidentPolicy
from monitor.incidents import (
    BUCKET,
    Span,
    StreamFacts,
    StreamKey,
    buckets_of,
    interval_from_buckets,
    is_evidence,
    minus,
    union,
)
from monitor.result import ProbeResult
from monitor.rollup import Rollup


def lead(policy: IncidentPolicy) -> int:
    """Good probes read before a hot bucket: the trailing window and the congestion look-back (``window``),
    the run of good probes that resets the window (``merge_degraded_probes``), and one more."""
    return max(policy.window, policy.merge_degraded_probes, policy.congested_failures, policy.failures_to_open) + 1


def trail(policy: IncidentPolicy) -> int:
    """Probes read after a hot bucket: enough good ones to close whatever it opened, and one more."""
    return policy.successes_to_close + 1


def join_gap(intervals: Iterable[float], policy: IncidentPolicy) -> float:
    """Ranges of one platform closer than this are read as one: the widest merge gap of its streams."""
    return max(policy.merge_probes, policy.merge_degraded_probes) * max(intervals, default=0.0) + BUCKET


def partial_buckets(lo: float, hi: float, edges: Iterable[float]) -> list[Span]:
    """The buckets only partly inside ``[lo, hi)`` or cut by one of ``edges`` (the period's start and end),
    clipped to ``[lo, hi)``, sorted and disjoint: always read raw."""
    spans = []
    for t in (lo, hi, *edges):
        b = int(t // BUCKET) * BUCKET
        if b != t and lo < b + BUCKET and b < hi:
            spans.append((max(lo, float(b)), min(hi, float(b + BUCKET))))
    return union(spans)


def _buckets(spans: Sequence[Span]) -> set[int]:
    """The buckets that ``spans`` (partial buckets) touch."""
    return {b for lo, hi in spans for b in range(int(lo // BUCKET) * BUCKET, int(hi), BUCKET)}


def intervals(rollups: Iterable[Rollup], edge_results: Iterable[ProbeResult], edges: Sequence[Span]
              ) -> dict[StreamKey, float]:
    """Each stream's interval, from the rollups of whole buckets and the raw reliable results of the partial
    ones: what :func:`monitor.incidents.interval_of` gives on all of the stream's results."""
    per: dict[StreamKey, dict[int, tuple[int, float, float]]] = defaultdict(dict)
    cut = _buckets(edges)
    for r in rollups:
        if r.probes and r.bucket not in cut and r.first is not None and r.last is not None:
            _add(per[(r.platform, r.location, r.check)], r.bucket, r.probes, r.first, r.last)
    streams: dict[StreamKey, list[ProbeResult]] = defaultdict(list)
    for p in edge_results:
        streams[(p.platform, p.location, p.check)].append(p)
    for key, probes in streams.items():
        probes.sort(key=lambda p: p.started_at)
        for bucket, n, first, last in buckets_of(probes):
            _add(per[key], bucket, n, first, last)
    return {key: interval_from_buckets([(b, *v) for b, v in sorted(buckets.items())]) for key, buckets in per.items()}


def _add(buckets: dict[int, tuple[int, float, float]], bucket: int, n: int, first: float, last: float) -> None:
    """A bucket's probes (two rollups of one stream and bucket: a check whose kind changed) folded in."""
    seen = buckets.get(bucket)
    buckets[bucket] = (n, first, last) if seen is None else (seen[0] + n, min(seen[1], first), max(seen[2], last))


def _bad_at_most(r: Rollup, threshold: float) -> int:
    """At most how many of the bucket's probes are bad: failed, unreliable (maybe evidence), or slow (a successful
    HTTP total in a sketch bin that may hold a value above ``threshold``)."""
    bad = r.probes - r.successes + r.unreliable
    if r.slowest is not None and r.slowest > threshold:
        bad += r.sketch.count_from(threshold)
    return bad


def ranges(rollups: Iterable[Rollup], stream_intervals: Mapping[StreamKey, float], lo: float, hi: float,
           slow_after: Mapping[str, float], policy: IncidentPolicy, default_slow_after: float = 2.5,
           extra: Mapping[str, Sequence[Span]] | None = None, edges: Sequence[Span] = ()) -> dict[str, list[Span]]:
    """Per platform, the sorted disjoint ranges of ``[lo, hi)`` to read raw, without ``edges`` (read already).

    A hot bucket is left out when its bad probes cannot take part in opening anything: fewer than
    ``failures_to_open`` probes can be bad within ``window`` probes either side of it (a lone failed
    request, a stalled probe), every stretch needs that many within one window. Unless its stream has no
    reliable probe (it exists only through them) or it is the stream's last (it may hold its latest probe).
    ``extra``: more ranges per platform to read anyway (the complaints' windows, for their verdicts).
    """
    need_before, need_after, reach = lead(policy), trail(policy), policy.window - 1
    per: dict[StreamKey, dict[int, list[int]]] = defaultdict(dict)  # stream -> bucket -> [probes, hot, bad, unreliable]
    for r in rollups:
        threshold = slow_after.get(r.platform, default_slow_after)
        hot = r.probes > r.successes or r.unreliable > 0 or (r.slowest is not None and r.slowest > threshold)
        cell = per[(r.platform, r.location, r.check)].setdefault(r.bucket, [0, 0, 0, 0])
        cell[0] += r.probes
        cell[1] |= hot
        cell[3] += r.unreliable
        if hot:
            cell[2] += _bad_at_most(r, threshold)
    wanted: dict[str, list[Span]] = defaultdict(list)
    for (platform, _, _), cells in per.items():
        buckets = sorted(cells)
        before, bad = [0], [0]
        for b in buckets:
            before.append(before[-1] + cells[b][0])
            bad.append(bad[-1] + cells[b][2])
        reliable = before[-1] > 0
        for k, b in enumerate(buckets):
            if not cells[b][1]:
                continue
            if reliable and not (k == len(buckets) - 1 and cells[b][3]):
                j = bisect.bisect_right(before, before[k] - reach) - 1
                m = bisect.bisect_left(before, before[k + 1] + reach) - 1
                if bad[min(m, len(buckets) - 1) + 1] - bad[max(j, 0)] < policy.failures_to_open:
                    continue  # nothing can open here
            # the latest bucket j < k with at least need_before probes in buckets j..k-1
            j = bisect.bisect_right(before, before[k] - need_before) - 1
            start = lo if j < 0 else max(lo, float(buckets[j]))
            # the earliest bucket m > k with at least need_after probes in buckets k+1..m
            m = bisect.bisect_left(before, before[k + 1] + need_after) - 1
            end = hi if m >= len(buckets) else min(hi, float(buckets[m] + BUCKET))
            wanted[platform].append((start, end))
    for platform, spans in (extra or {}).items():
        wanted[platform] += [(max(lo, a), min(hi, b)) for a, b in spans if a < hi and b > lo]
    by_platform: dict[str, list[float]] = defaultdict(list)
    for (platform, _, _), interval in stream_intervals.items():
        by_platform[platform].append(interval)
    return {platform: minus(union(spans, join_gap(by_platform.get(platform, ()), policy)), edges)
            for platform, spans in wanted.items() if spans}


def facts(rollups: Iterable[Rollup], raw: Iterable[ProbeResult], stream_intervals: Mapping[StreamKey, float],
          edges: Sequence[Span], slow_after: Mapping[str, float], default_slow_after: float = 2.5
          ) -> dict[StreamKey, StreamFacts]:
    """Every stream of the data with its interval and latest evidence probe (see :class:`StreamFacts`): the
    rollups of whole buckets say which streams have reliable probes and when the last was; ``raw`` (every
    unreliable result is in a hot bucket, so read) adds the rest."""
    last: dict[StreamKey, float] = {}
    cut = _buckets(edges)
    for r in rollups:
        if r.probes and r.last is not None and r.bucket not in cut:
            key = (r.platform, r.location, r.check)
            seen = last.get(key)
            if seen is None or r.last > seen:
                last[key] = r.last
    for p in raw:
        if not p.unreliable and (not cut or int(p.started_at // BUCKET) * BUCKET not in cut):
            continue  # a reliable result of a whole bucket: its rollup knows it
        if not p.unreliable or is_evidence(p, slow_after.get(p.platform, default_slow_after)):
            key = (p.platform, p.location, p.check)
            last[key] = max(last.get(key, p.started_at), p.started_at)
    return {key: StreamFacts(stream_intervals.get(key) or interval_from_buckets(()), when)
            for key, when in last.items()}


def expected(rollups: Iterable[Rollup], spans: Sequence[Span]) -> int:
    """How many results the rollups of the buckets wholly inside ``spans`` sum: reading ``spans`` raw must give at
    least as many, or the raw results were pruned (``retention_days``) while the rollups were kept."""
    total = 0
    for r in rollups:
        k = bisect.bisect_right(spans, (float(r.bucket), float("inf"))) - 1
        if k >= 0 and spans[k][0] <= r.bucket and r.bucket + BUCKET <= spans[k][1]:
            total += r.probes + r.unreliable
    return total

"""Complaints matched to measured incidents: a pure function, tested with tables.

For each platform a complaint names, in this order:

- ``not_measurable``: the symptom is not one probes see (data, feature, local, other), or
  the complaint names no platform (platform None);
- ``unmonitored``: the platform has no checks;
- ``corroborated``: a platform-wide incident of a compatible kind overlaps the complaint's
  window. The window is what the text says ("từ 10h sáng", "từ tối qua") widened by
  ``margin``, else the ``before`` hours before receipt (complaints arrive after the pain)
  and ``after`` minutes past it (the pain may start between two probes);
- ``location_only``: only an incident of some locations overlaps (their network, not the platform);
- ``sporadic``: no incident, but some probes in the window failed or were slow ("ghi nhận lỗi
  rời rạc"): the platform was not fine, though not enough to confirm an incident;
- ``not_measured``: every result in the window was good, and the platform was measured densely
  enough (:func:`dense`: at least ``min_probes`` results, and from the window's start to the
  receipt no stretch without one longer than 3 probe intervals, bounded to 5–30 minutes):
  likely the commune's connection, an account or data problem;
- ``no_data``: too few measurements in the window to say anything.

Kinds: ``tls`` complaints need an incident whose probes failed on the certificate; slow,
unavailable and login complaints take any incident (congestion also refuses logins).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.domain import DEFAULT_MATCH_POLICY, Classification, Complaint, Incident, Match, MatchPolicy, MatchStatus
from monitor.incidents import interval_of, is_bad, is_evidence
from monitor.result import ProbeResult

_TLS_REASONS = frozenset({"tls_expired", "tls_hostname", "tls_untrusted", "tls_handshake"})


@dataclass(frozen=True)
class Measurements:
    """What was measured of one platform: the sorted start times of its usable results, which were bad."""

    times: Sequence[float]
    bad: Sequence[bool]  # failed or slow, in the order of ``times``
    interval: float  # the finest probe interval of its checks, seconds


def measurements(results: Iterable[ProbeResult], slow_after: Mapping[str, float],
                 default_slow_after: float = 2.5, intervals: Mapping[str, float] | None = None
                 ) -> dict[str, Measurements]:
    """Per platform, what :func:`match` needs to tell "measured and fine" from "not measured".

    One pass over ``results`` (the store returns them by start time; others are sorted here).
    ``intervals``: each platform's interval (the finest of its streams'), when ``results`` are only the
    stretches around complaints (:func:`monitor.assessment.gather` takes them from the rollups); a
    platform in it without results there is measured, with no measurement in those stretches.
    """
    times: dict[str, list[float]] = defaultdict(list)
    bad: dict[str, list[bool]] = defaultdict(list)
    streams: dict[tuple[str, str, str], list[ProbeResult]] = defaultdict(list)
    for r in results:
        threshold = slow_after.get(r.platform, default_slow_after)
        if not is_evidence(r, threshold):
            continue
        times[r.platform].append(r.started_at)
        bad[r.platform].append(is_bad(r, threshold))
        streams[(r.platform, r.check, r.location)].append(r)
    known = intervals or {}
    finest: dict[str, float] = dict(known)
    for platform in known:
        times[platform], bad[platform] = times[platform], bad[platform]  # measured, maybe not in these stretches
    for (platform, _, _), stream in streams.items():
        if platform not in known:
            stream.sort(key=lambda r: r.started_at)
            finest[platform] = min(finest.get(platform, math.inf), interval_of(stream))
    out = {}
    for platform, when in times.items():
        flags = bad[platform]
        if any(a > b for a, b in itertools.pairwise(when)):
            order = sorted(range(len(when)), key=when.__getitem__)
            when, flags = [when[k] for k in order], [flags[k] for k in order]
        out[platform] = Measurements(when, flags, finest[platform])
    return out


def dense(measured: Measurements, start: float, end: float, policy: MatchPolicy = DEFAULT_MATCH_POLICY) -> bool:
    """Whether [start, end] was measured often enough to call the platform fine (see the module docstring)."""
    lo, hi = bisect.bisect_left(measured.times, start), bisect.bisect_right(measured.times, end)
    if hi - lo < policy.min_probes:
        return False
    limit = min(max(policy.max_gap_intervals * measured.interval, policy.min_gap), policy.max_gap)
    edges = [start, *measured.times[lo:hi], end]
    return all(b - a <= limit for a, b in itertools.pairwise(edges))


def window(complaint: Complaint, classification: Classification, policy: MatchPolicy = DEFAULT_MATCH_POLICY
           ) -> tuple[float, float]:
    """[start, end] in which an incident would explain the complaint."""
    if classification.pain_from is not None:
        end = classification.pain_to if classification.pain_to is not None else complaint.received_at
        return classification.pain_from - policy.margin, min(end + policy.margin, complaint.received_at + policy.after)
    return complaint.received_at - policy.before, complaint.received_at + policy.after


def _compatible(symptom: str, incident: Incident) -> bool:
    if symptom == "tls":
        return any(reason in _TLS_REASONS for reason in incident.reasons)
    return True


def _overlapping(incidents: Sequence[Incident], platform: str, start: float, end: float) -> list[Incident]:
    return [i for i in incidents if i.platform == platform and i.start <= end
            and (i.end is None or i.end >= start)]


def _closest(candidates: list[Incident], classification: Classification, received_at: float) -> Incident:
    """The incident the complaint most likely means: nearest the stated time, else the latest before receipt."""
    pain_from = classification.pain_from
    if pain_from is not None:
        def distance(i: Incident) -> float:
            end = i.end if i.end is not None else received_at
            return max(0.0, i.start - pain_from, pain_from - end)
        return min(candidates, key=lambda i: (distance(i), i.start, i.id))
    return max(candidates, key=lambda i: (i.start, i.id))


def match(complaints: Sequence[tuple[Complaint, Classification]], incidents: Sequence[Incident],
          monitored: Collection[str], measured: Mapping[str, Measurements],
          policy: MatchPolicy = DEFAULT_MATCH_POLICY) -> list[Match]:
    """One :class:`Match` per (complaint, named platform), or one with platform None when none is named.

    ``measured`` (from :func:`measurements`) tells "measured and fine" from "errors seen" and
    from "too few measurements to say".
    """
    out: list[Match] = []
    for complaint, classification in complaints:
        if not classification.platforms:
            out.append(Match(complaint.id, None, MatchStatus.NOT_MEASURABLE))  # nothing to measure against
            continue
        start, end = window(complaint, classification, policy)
        for platform in classification.platforms:
            out.append(_verdict(complaint, classification, platform, start, end, incidents, monitored, measured,
                                policy))
    return out


def _verdict(complaint: Complaint, classification: Classification, platform: str, start: float, end: float,
             incidents: Sequence[Incident], monitored: Collection[str],
             measured: Mapping[str, Measurements], policy: MatchPolicy) -> Match:
    if not classification.measurable:
        return Match(complaint.id, platform, MatchStatus.NOT_MEASURABLE)
    if platform not in monitored:
        return Match(complaint.id, platform, MatchStatus.UNMONITORED)
    near = _overlapping(incidents, platform, start, end)
    wide = [i for i in near if i.scope == "platform" and _compatible(classification.symptom, i)]
    if wide:
        chosen = _closest(wide, classification, complaint.received_at)
        return Match(complaint.id, platform, MatchStatus.CORROBORATED, chosen.id)
    local = [i for i in near if i.scope == "location" and _compatible(classification.symptom, i)]
    if local:
        chosen = _closest(local, classification, complaint.received_at)
        return Match(complaint.id, platform, MatchStatus.LOCATION_ONLY, chosen.id)
    seen = measured.get(platform)
    if seen is None:
        return Match(complaint.id, platform, MatchStatus.NO_DATA)
    lo, hi = bisect.bisect_left(seen.times, start), bisect.bisect_right(seen.times, end)
    if any(seen.bad[lo:hi]):
        return Match(complaint.id, platform, MatchStatus.SPORADIC)
    fine = dense(seen, start, min(end, complaint.received_at), policy)
    return Match(complaint.id, platform, MatchStatus.NOT_MEASURED if fine else MatchStatus.NO_DATA)


def needs_measurements(complaint: Complaint, classification: Classification, incidents: Sequence[Incident],
                       monitored: Collection[str], policy: MatchPolicy = DEFAULT_MATCH_POLICY) -> list[str]:
    """The platforms named whose verdict :func:`match` would take from the measurements (no incident explains the
    complaint there): only their results in the complaint's :func:`window` need reading."""
    if not classification.measurable:
        return []
    start, end = window(complaint, classification, policy)
    return [p for p in classification.platforms if p in monitored
            and not any(_compatible(classification.symptom, i) for i in _overlapping(incidents, p, start, end))]


def unexplained(incidents: Sequence[Incident], matches: Sequence[Match]) -> list[Incident]:
    """Incidents no complaint was matched to (people may not have noticed, or not written)."""
    explained = {m.incident_id for m in matches if m.status is MatchStatus.CORROBORATED}
    return [i for i in incidents if i.scope == "platform" and i.id not in explained]

"""Open incidents while probing: the detector (:func:`monitor.incidents.detect`) over recent results.

The daemon and the demo feed every result in; :meth:`LiveIncidents.open` recomputes from what
is kept, so live and after-the-fact detection can never disagree about what is open now.

Only what decides whether an incident is open is kept: the last few degraded windows of
each check, each result cut down to the fields detection reads, as a tuple. At 1,000 checks the full
results of the 16 hours kept before took about a gigabyte and seconds of CPU per
recomputation. The start of an incident older than what is kept shows as the oldest kept
probe here; ``monitor incidents`` reads the whole history from the store.

Only platforms whose latest probes have not settled are computed, and of those only the streams
that kept a bad probe (failed, or slow, if only by a stall of ours) are given as results: the
others, good throughout, are given as the facts detection takes of streams it is not given probes
of (their interval and latest probe), as for the hot ranges of a period. With 400 checks on one
platform and one of them unsettled that is 14 ms instead of 110 ms of CPU, every few seconds.
"""

from __future__ import annotations

from collections import defaultdict, deque

from monitor.config import Catalog
from monitor.domain import Incident, IncidentPolicy
from monitor.incidents import StreamFacts, buckets_of_starts, detect, interval_from_buckets
from monitor.result import PROBER_NETWORK, ProbeResult, Reason

WINDOWS_KEPT = 3  # degraded windows of results kept per check and location

# What detection reads of a result, as a tuple: a few dozen bytes where a ProbeResult is several hundred.
# (started_at, success, duration, reason, total, stalled, unreliable, cert_expiry)
_Kept = tuple[float, bool, float, Reason | None, float | None, object, bool, float | None]


def _keep(result: ProbeResult) -> _Kept:
    return (result.started_at, result.success, result.duration, result.reason, result.phases.get("total"),
            result.details.get("stalled"), result.unreliable, result.cert_expiry)


def _result(key: tuple[str, str, str, str], kept: _Kept) -> ProbeResult:
    """A result holding only what detection reads (no error text, peer or other phases)."""
    platform, check, location, kind = key
    started_at, success, duration, reason, total, stalled, unreliable, cert_expiry = kept
    return ProbeResult(platform=platform, check=check, kind=kind, location=location, started_at=started_at,
                       success=success, duration=duration, reason=reason,
                       phases={} if total is None else {"total": total},
                       details={} if stalled is None else {"stalled": stalled},
                       unreliable=unreliable, cert_expiry=cert_expiry)


class LiveIncidents:
    """Recent results per check and location, and the incidents open among them."""

    def __init__(self, catalog: Catalog, policy: IncidentPolicy) -> None:
        self.slow_after = catalog.slow_after()
        self.policy = policy
        keep = WINDOWS_KEPT * policy.window
        self._recent: dict[tuple[str, str, str, str], deque[_Kept]] = defaultdict(lambda: deque(maxlen=keep))

    def add(self, result: ProbeResult) -> None:
        if result.unreliable and PROBER_NETWORK in result.details:
            return  # the prober's own failure: detection skips it anyway (monitor/selfcheck.py)
        self._recent[(result.platform, result.check, result.location, result.kind)].append(_keep(result))

    def open(self) -> list[Incident]:
        """Incidents still open at the latest results."""
        streams = list(self._recent.items())
        needed = self.policy.successes_to_close  # good probes in a row that close every kind of incident
        unsettled = {key[0] for key, stream in streams if not self._good(key[0], list(stream)[-needed:], needed)}
        results: list[ProbeResult] = []
        facts: dict[tuple[str, str, str], StreamFacts] = {}
        for key, stream in streams:
            platform, check, location, _ = key
            if platform not in unsettled:
                continue
            kept = list(stream)
            if self._good(platform, kept, 1):  # nothing to detect in it: what it tells is its interval and latest
                reliable = (started for started, _, _, _, _, _, unreliable, _ in kept if not unreliable)
                facts[(platform, location, check)] = StreamFacts(interval_from_buckets(buckets_of_starts(reliable)),
                                                                 kept[-1][0])
            else:
                results += [_result(key, one) for one in kept]
        return [i for i in detect(results, self.slow_after, self.policy, facts=facts) if i.end is None]

    def _good(self, platform: str, kept: list[_Kept], needed: int) -> bool:
        """Whether all these kept probes (at least ``needed``) succeeded in time: good probes to detection, even
        one measured during a stall of ours (fast anyway, so evidence: :func:`monitor.incidents.usable`).

        Detection closes every kind of incident after ``successes_to_close`` good probes, so a
        platform whose every stream ends that way has nothing open; only the others are computed,
        which keeps this cheap while all is well.
        """
        threshold = self.slow_after.get(platform, 0.0)  # unknown platform: never good, always computed
        return len(kept) >= needed and all(
            success and (total if total is not None else duration) <= threshold
            for _, success, duration, _, total, _, _, _ in kept)

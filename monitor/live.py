"""Open incidents while probing: the detector (:func:`monitor.incidents.detect`) over recent results.

The daemon and the demo feed every result in; :meth:`LiveIncidents.open` recomputes from what
is kept, so live and after-the-fact detection can never disagree about what is open now.

Only what decides whether an incident is open is kept: the last few degraded windows of
each check, each result cut down to the fields detection reads. At 1,000 checks the full
results of the 16 hours kept before took about a gigabyte and seconds of CPU per
recomputation. The start of an incident older than what is kept shows as the oldest kept
probe here; ``monitor incidents`` reads the whole history from the store.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import replace

from monitor.config import Catalog
from monitor.incidents import Incident, IncidentPolicy, detect
from monitor.result import ProbeResult

WINDOWS_KEPT = 3  # degraded windows of results kept per check and location
_NONE: dict = {}  # shared by every slimmed result; results are never mutated


def slim(result: ProbeResult) -> ProbeResult:
    """``result`` with only what detection reads: no error text, peer, or phases other than ``total``."""
    total = result.phases.get("total")
    stalled = result.details.get("stalled")
    return replace(result, error=None, peer=None, phases=_NONE if total is None else {"total": total},
                   details=_NONE if stalled is None else {"stalled": stalled})


class LiveIncidents:
    """Recent results per check and location, and the incidents open among them."""

    def __init__(self, catalog: Catalog, policy: IncidentPolicy):
        self.slow_after = catalog.slow_after()
        self.policy = policy
        keep = WINDOWS_KEPT * policy.window
        self._recent: dict[tuple[str, str, str], deque[ProbeResult]] = defaultdict(lambda: deque(maxlen=keep))

    def add(self, result: ProbeResult) -> None:
        self._recent[(result.platform, result.check, result.location)].append(slim(result))

    def open(self) -> list[Incident]:
        """Incidents still open at the latest results."""
        results = [r for stream in list(self._recent.values()) for r in list(stream)]
        return [i for i in detect(results, self.slow_after, self.policy) if i.end is None]

"""Open incidents while probing: the detector (:func:`monitor.incidents.detect`) over recent results.

The daemon and the demo feed every result in; :meth:`LiveIncidents.open` recomputes from what
is kept, so live and after-the-fact detection can never disagree.
"""

from __future__ import annotations

from collections import defaultdict, deque

from monitor.config import Catalog
from monitor.incidents import Incident, IncidentPolicy, detect
from monitor.result import ProbeResult

KEEP = 2000  # results per check and location: enough to keep the start of a long incident (16 h at 30 s)


class LiveIncidents:
    """Recent results per check and location, and the incidents open among them."""

    def __init__(self, catalog: Catalog, policy: IncidentPolicy):
        self.slow_after = catalog.slow_after()
        self.policy = policy
        self._recent: dict[tuple[str, str, str], deque[ProbeResult]] = defaultdict(lambda: deque(maxlen=KEEP))

    def add(self, result: ProbeResult) -> None:
        self._recent[(result.platform, result.check, result.location)].append(result)

    def open(self) -> list[Incident]:
        """Incidents still open at the latest results."""
        results = [r for stream in list(self._recent.values()) for r in list(stream)]
        return [i for i in detect(results, self.slow_after, self.policy) if i.end is None]

"""How well detection and matching agree with the lab's ground truth (pure functions).

Truth events of one platform that touch or overlap are one *truth window* (the 504s before an
outage, the outage and the 504s after it are one stretch of pain). A window is *expected* when
it lasts longer than the confirmation time. Detection is scored per window (found, start and
end error, how many incidents it took) and per event (the kind of the incident that overlaps
it most against :func:`expected_kind`), and per incident (does any truth window explain it);
matching per complaint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.domain import MEASURABLE, Incident, Kind, Match, MatchStatus
from monitor.incidents import union
from monitor.lab.world import TruthEvent

if TYPE_CHECKING:
    from monitor.lab.complaints import ComplaintTruth

_ALWAYS_DEGRADED = frozenset({"slow", "congestion"})  # answers come, late
_SHARED = frozenset({"gateway_502", "gateway_504", "wrong_content"})  # a share of the requests fail


def expected_kind(event: TruthEvent) -> Kind:
    """What detection should call the event: ``degraded`` for slowness and a minority of failed
    requests, ``down`` when most requests fail (refused, DNS, certificate, most 50x)."""
    if event.kind in _ALWAYS_DEGRADED:
        return "degraded"
    if event.kind in _SHARED and float(event.params.get("share", 1.0)) < 0.5:
        return "degraded"
    return "down"



@dataclass(frozen=True)
class TruthWindow:
    platform: str
    start: float
    end: float
    events: tuple[TruthEvent, ...]

    @property
    def load_induced(self) -> bool:
        """Only congestion: its edges are a load level, not a moment anything changed."""
        return all(e.kind == "congestion" for e in self.events)


@dataclass(frozen=True)
class WindowScore:
    window: TruthWindow
    incident: Incident | None  # the platform incident overlapping it most
    start_error: float | None  # first overlapping incident's start − true start, seconds
    end_error: float | None  # last overlapping incident's end − true end
    pieces: int = 0  # platform incidents overlapping it (one per event at most: an outage is its own)
    kinds: tuple[tuple[TruthEvent, Kind | None], ...] = ()  # per event: the kind of the incident overlapping it most


@dataclass(frozen=True)
class DetectionScore:
    windows: tuple[WindowScore, ...]  # expected windows only
    unexplained: tuple[Incident, ...]  # platform incidents no truth window overlaps

    @property
    def missed(self) -> list[WindowScore]:
        return [w for w in self.windows if w.incident is None]


@dataclass(frozen=True)
class MatchingScore:
    expected: int  # complaints the truth ties to an event, with a measurable symptom
    corroborated: int  # complaints the matcher corroborated
    correct: int  # corroborated with an incident that overlaps the complaint's true event

    @property
    def precision(self) -> float:
        return self.correct / self.corroborated if self.corroborated else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


def truth_windows(events: Sequence[TruthEvent], merge_within: float = 0.0) -> list[TruthWindow]:
    """Events per platform joined into windows (see the module docstring), by start."""
    out = []
    for platform in sorted({e.platform for e in events}):
        mine = [e for e in events if e.platform == platform]
        for start, end in union(((e.start, e.end) for e in mine), merge_within):
            inside = tuple(e for e in mine if start <= e.start and e.end <= end)
            out.append(TruthWindow(platform, start, end, inside))
    return sorted(out, key=lambda w: (w.start, w.platform))


def _overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def score_detection(incidents: Sequence[Incident], events: Sequence[TruthEvent], confirmation: float,
                    data_end: float, merge_within: float = 0.0) -> DetectionScore:
    """Each truth window longer than ``confirmation``: found or not, and by how much its edges are off."""
    windows = truth_windows(events, merge_within)
    wide = [i for i in incidents if i.scope == "platform"]
    scores = []
    for window in windows:
        if window.end - window.start <= confirmation:
            continue
        overlapping = [(i, share) for i in wide if i.platform == window.platform
                       and (share := _overlap(window.start, window.end, i.start, i.until(data_end))) > 0]
        if not overlapping:
            scores.append(WindowScore(window, None, None, None))
            continue
        best = max(overlapping, key=lambda pair: pair[1])[0]
        first = min(i.start for i, _ in overlapping)
        last = max(i.until(data_end) for i, _ in overlapping)
        kinds = tuple((e, _kind_over(e, [i for i, _ in overlapping], data_end)) for e in window.events)
        scores.append(WindowScore(window, best, first - window.start, last - window.end, len(overlapping), kinds))
    unexplained = tuple(i for i in wide if not any(
        w.platform == i.platform and _overlap(w.start, w.end, i.start, i.until(data_end)) > 0 for w in windows))
    return DetectionScore(tuple(scores), unexplained)


def _kind_over(event: TruthEvent, incidents: Sequence[Incident], data_end: float) -> Kind | None:
    """The kind of the incident overlapping ``event`` most, None when none does."""
    shares = [(_overlap(event.start, event.end, i.start, i.until(data_end)), i.kind) for i in incidents]
    shares = [pair for pair in shares if pair[0] > 0]
    return max(shares)[1] if shares else None


def score_matching(truth: Sequence[ComplaintTruth], matches: Sequence[Match], incidents: Sequence[Incident],
                   events: Sequence[TruthEvent], data_end: float) -> MatchingScore:
    """Precision and recall of ``corroborated`` against the complaint truth (rows of complaints-truth.jsonl)."""
    by_event = {e.id: e for e in events}
    by_incident: dict[str | None, Incident] = {i.id: i for i in incidents}  # a match's incident_id may be None
    corroborating: dict[str, list[Match]] = {}
    for m in matches:
        if m.status is MatchStatus.CORROBORATED:
            corroborating.setdefault(m.complaint_id, []).append(m)
    expected = corroborated = correct = 0
    for row in truth:
        if row.get("defect"):
            continue
        event = by_event.get(row.get("event_id") or "")
        is_expected = event is not None and row["symptom"] in MEASURABLE
        expected += is_expected
        found = corroborating.get(row["id"], [])
        corroborated += bool(found)
        if is_expected and event is not None and any(
                m.platform == event.platform and _explains(by_incident.get(m.incident_id), event, data_end)
                for m in found):
            correct += 1
    return MatchingScore(expected, corroborated, correct)


def _explains(incident: Incident | None, event: TruthEvent, data_end: float) -> bool:
    if incident is None:
        return False
    return _overlap(incident.start, incident.until(data_end), event.start, event.end) > 0

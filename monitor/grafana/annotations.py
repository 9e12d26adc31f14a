"""What Grafana should show for a period's evidence: one :class:`Annotation` per incident and complaint.

A pure function of the evidence (:func:`desired`); :mod:`monitor.grafana.sync` makes Grafana agree.

- An incident is a region from its start to its end (or to ``now`` while open), tagged
  ``incident``, the platform id, the kind and ``incident-id:<id>``.
- A complaint is a point at its receipt, tagged ``complaint``, the platform ids it names, its
  symptom, the match statuses and ``complaint-id:<id>``. Its text says only the id, the province,
  the symptom and what the measurements say: never the complaint's text or sending unit.

The ``…-id:`` tag is the idempotency key: re-running finds the annotation by it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor import provinces
from monitor.config import Catalog
from monitor.domain import Classification, Complaint, Incident, Match, MatchStatus
from monitor.report import text

Json = dict[str, Any]
"""A JSON object as Grafana's HTTP API takes and gives it."""

INCIDENT_TAG, COMPLAINT_TAG = "incident", "complaint"
INCIDENT_ID, COMPLAINT_ID = "incident-id:", "complaint-id:"

STATUS = {  # what the measurements say about a complaint, as the annotation's text says it
    MatchStatus.CORROBORATED: "trùng với sự cố đo được",
    MatchStatus.LOCATION_ONLY: "chỉ một số điểm đo ghi nhận sự cố",
    MatchStatus.SPORADIC: "ghi nhận lỗi rời rạc, chưa đủ để xác nhận sự cố",
    MatchStatus.NOT_MEASURED: "các điểm đo ghi nhận nền tảng hoạt động bình thường",
    MatchStatus.NO_DATA: text.NO_DATA,
    MatchStatus.UNMONITORED: text.UNMONITORED,
    MatchStatus.NOT_MEASURABLE: "không đối chiếu được bằng số liệu đo",
}


@dataclass(frozen=True)
class Annotation:
    """An organisation annotation as Grafana stores it: times in ms, ``time_end == time`` for a point."""

    key: str  # the idempotency tag, e.g. "incident-id:sotaydangvien-20260602T140000"
    time: int
    time_end: int
    tags: tuple[str, ...]  # the key is one of them
    text: str

    def body(self) -> Json:
        """The JSON of POST /api/annotations and PUT /api/annotations/:id."""
        return {"time": self.time, "timeEnd": self.time_end, "tags": list(self.tags), "text": self.text}

    def same_as(self, stored: Mapping[str, Any]) -> bool:
        """Whether an annotation returned by GET /api/annotations already says exactly this."""
        return (stored.get("time") == self.time and (stored.get("timeEnd") or stored.get("time")) == self.time_end
                and sorted(stored.get("tags") or ()) == sorted(self.tags) and stored.get("text") == self.text)


def _ms(unix_seconds: float) -> int:
    return round(unix_seconds * 1000)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def incident_annotation(incident: Incident, catalog: Catalog, now: float,
                        location_names: Mapping[str, str] | None = None) -> Annotation:
    """A region over the incident; an ongoing one ends at ``now``, one whose data stopped at its last bad probe.
    Its locations by name (:func:`monitor.provinces.location_name`, ``location_names``: the setting)."""
    platform = catalog.platform(incident.platform)
    name = platform.name if platform else incident.platform
    places = [provinces.location_name(loc, location_names) for loc in incident.locations]
    parts = [f"Sự cố {text.KIND[incident.kind]} — {name}"]
    if incident.scope == "location":
        parts[0] += f" ({text.only_at(places)})"
    parts.append(f"điểm đo: {', '.join(places) or '—'}")
    parts.append(f"nguyên nhân: {text.reasons(incident.reasons)}")
    if incident.worst_latency is not None:
        parts.append(f"chậm nhất: {text.seconds(incident.worst_latency)} giây")
    if incident.end is None:
        parts.append(text.incident_end(incident, now))
    key = INCIDENT_ID + incident.id
    end = incident.until(now)
    return Annotation(key, _ms(incident.start), _ms(end),
                      _unique((INCIDENT_TAG, incident.platform, incident.kind, key)), "; ".join(parts))


def complaint_annotation(complaint: Complaint, classification: Classification, matches: Sequence[Match],
                         catalog: Catalog) -> Annotation:
    """A point at the complaint's receipt: id, province, symptom and verdicts; no text, no unit."""
    key = COMPLAINT_ID + complaint.id
    symptom = text.SYMPTOM.get(classification.symptom, classification.symptom)
    parts = [f"Phản ánh {complaint.id}" + (f" ({complaint.province})" if complaint.province else ""),
             f"biểu hiện: {symptom}" + ("; giờ cao điểm" if classification.peak else "")]
    for m in matches:
        platform = catalog.platform(m.platform) if m.platform else None
        name = platform.name if platform else (m.platform or "không nêu nền tảng")
        parts.append(f"{name}: {STATUS[m.status]}")
    tags = _unique((COMPLAINT_TAG, *classification.platforms, classification.symptom,
                    *(m.status.value for m in matches), key))
    when = _ms(complaint.received_at)
    return Annotation(key, when, when, tags, "; ".join(parts))


class Evidence(Protocol):
    """What Grafana shows of a period's evidence, as gathered from the store: its incidents, complaints, verdicts."""

    @property
    def incidents(self) -> Sequence[Incident]: ...
    @property
    def complaints(self) -> Sequence[tuple[Complaint, Classification]]: ...
    @property
    def matches(self) -> Sequence[Match]: ...


def desired(evidence: Evidence, catalog: Catalog, now: float,
            location_names: Mapping[str, str] | None = None) -> list[Annotation]:
    """Every annotation the evidence of a period calls for: incidents first, then complaints."""
    by_complaint: dict[str, list[Match]] = defaultdict(list)
    for m in evidence.matches:
        by_complaint[m.complaint_id].append(m)
    out = [incident_annotation(i, catalog, now, location_names) for i in evidence.incidents]
    out += [complaint_annotation(c, k, by_complaint.get(c.id, []), catalog) for c, k in evidence.complaints]
    return out

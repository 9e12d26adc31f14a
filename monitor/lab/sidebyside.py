"""The lab's truth beside what the monitor found, for ``monitor simulate`` and ``monitor demo``.

Pure rows (:func:`event_rows`, :func:`complaint_rows`) and one rich rendering (:func:`render`), so an
operator sees at the end of a run whether each scripted fault was found, with which kind and how
far off its edges were, and what verdict each complaint got against what truly caused it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from monitor.domain import Incident, Match, MatchStatus
from monitor.lab.evaluate import expected_kind
from monitor.lab.world import TruthEvent
from monitor.localtime import local

if TYPE_CHECKING:
    from monitor.lab.complaints import ComplaintCause


@dataclass(frozen=True)
class EventRow:
    """One scripted event and the platform incident that overlaps it most (None: not found)."""

    event: TruthEvent
    expected: str  # down or degraded
    found: Incident | None
    confirmable: bool  # longer than the confirmation time at this interval: it should be found
    start_error: float | None = None  # found.start − event.start, seconds
    end_error: float | None = None  # found's end (or last bad probe + one interval) − event.end

    @property
    def verdict(self) -> str:
        """``đúng``, ``sai loại``, ``bỏ sót`` or ``quá ngắn`` (shorter than the confirmation time)."""
        if self.found is None:
            return "bỏ sót" if self.confirmable else "quá ngắn"
        return "đúng" if self.found.kind == self.expected else "sai loại"


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def event_rows(events: Sequence[TruthEvent], incidents: Sequence[Incident], start: float, end: float,
               confirmation: float, now: float) -> list[EventRow]:
    """Scripted (not load-induced) events inside [start, end), each beside its incident."""
    rows = []
    for event in sorted(events, key=lambda e: (e.start, e.platform)):
        if event.kind == "congestion" or event.start >= end or event.end <= start:
            continue
        span = (max(event.start, start), min(event.end, end))
        scored = [(_overlap(span, (i.start, i.until(now))), i) for i in incidents
                  if i.platform == event.platform and i.scope == "platform"]
        scored = [pair for pair in scored if pair[0] > 0]
        confirmable = span[1] - span[0] > confirmation
        if not scored:
            rows.append(EventRow(event, expected_kind(event), None, confirmable))
            continue
        found = max(scored, key=lambda pair: (pair[0], pair[1].kind == expected_kind(event)))[1]
        rows.append(EventRow(event, expected_kind(event), found, confirmable, found.start - event.start,
                             found.until(now) - event.end))
    return rows


def complaint_rows(truth: Sequence[ComplaintCause], matches: Sequence[Match]) -> dict[str, Counter[str]]:
    """Verdicts of the complaints the lab caused (``event``) and of the others (``no_event``)."""
    by_complaint: dict[str, list[Match]] = {}
    for m in matches:
        by_complaint.setdefault(m.complaint_id, []).append(m)
    out: dict[str, Counter[str]] = {"event": Counter(), "no_event": Counter()}
    for row in truth:
        if row.get("defect"):
            continue
        verdicts = [m.status.value for m in by_complaint.get(row["id"], []) if m.platform == row.get("platform")]
        out["event" if row.get("event_id") else "no_event"][verdicts[0] if verdicts else "không nhập"] += 1
    return out


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:+.0f}"


def render(rows: Sequence[EventRow], complaints: Mapping[str, Counter[str]]) -> Group:
    """Two tables: scripted events against incidents; complaint verdicts against their true cause."""
    events = Table(title="Sự kiện của lab và sự cố phát hiện được", box=box.SIMPLE_HEAD, padding=(0, 1))
    for column in ("nền tảng", "sự kiện", "lúc", "cần/thấy", "lệch phút", "kết quả"):
        events.add_column(column)
    for row in rows:
        style = {"đúng": "green", "quá ngắn": "dim"}.get(row.verdict, "bold red")
        when = f"{local(row.event.start):%d/%m %H:%M}–{local(row.event.end):%H:%M}"
        errors = "—" if row.found is None else f"{_minutes(row.start_error)}/{_minutes(row.end_error)}"
        events.add_row(row.event.platform, row.event.kind, when,
                       f"{row.expected}/{row.found.kind if row.found else '—'}", errors, Text(row.verdict, style=style))
    verdicts = Table(title="Phản ánh tổng hợp: kết luận so với nguyên nhân thật", box=box.SIMPLE_HEAD,
                     padding=(0, 1))
    statuses = [s.value for s in MatchStatus] + ["không nhập"]
    used = [s for s in statuses if any(complaints[k][s] for k in complaints)]
    verdicts.add_column("phản ánh")
    for status in used:
        verdicts.add_column(status, justify="right")
    for key, label in (("event", "do sự kiện của lab"), ("no_event", "không do sự kiện nào")):
        verdicts.add_row(label, *(str(complaints[key][s]) for s in used))
    wrong = complaints["event"][MatchStatus.NOT_MEASURED.value] + complaints["no_event"][MatchStatus.CORROBORATED.value]
    summary = Text(f"{wrong} kết luận trái với sự thật (not_measured cho phản ánh do sự kiện, "
                   "corroborated cho phản ánh không do sự kiện nào)", style="green" if not wrong else "bold red")
    return Group(events, verdicts, summary)

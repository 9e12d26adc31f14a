"""``monitor complaints import`` and ``list``: what an import did; what was imported, how it was classified
and what the measurements said.

``list`` reads from the store only (no incidents or matches are recomputed: ``monitor incidents`` or
``monitor report`` store the verdicts). Never the complaint's text, sender or province: only the
id, the times, and the phrases (from the scrubbed text) that decided platform and symptom. The import
itself is :func:`monitor.assessment.import_complaints`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.config import Catalog, Settings
from monitor.domain import Classification, Complaint, Match, MatchStatus
from monitor.localtime import format_datetime

if TYPE_CHECKING:
    from monitor.complaints.intake import ImportSummary

PENDING = "pending"  # no verdict stored yet: imported, not yet matched by `monitor incidents` or `monitor report`
NO_PLATFORM = "none"  # the complaint names no platform
STATUSES = (*(s.value for s in MatchStatus), PENDING)
VERDICT = {"corroborated": "trùng sự cố", "location_only": "chỉ tại một số điểm đo",
           "not_measured": "đo không thấy lỗi",
           "no_data": "không có số liệu đo", "unmonitored": "chưa được giám sát",
           "not_measurable": "không đo được", "sporadic": "lỗi rời rạc", PENDING: "chưa đối chiếu"}


class VerdictRow(TypedDict):
    """A stored verdict of a complaint about one platform (None: it names none)."""

    platform: str | None
    status: str
    incident: str | None


class ComplaintRow(TypedDict):
    """One complaint as ``complaints list`` shows it (``--json`` prints these): no text, unit or province."""

    id: str
    received: str  # local time, dd/mm/yyyy HH:MM
    received_unix: float
    platforms: list[str]
    platform_phrases: list[str]
    symptom: str
    symptom_phrase: str | None
    peak: bool
    stated_time: str | None  # the phrase that stated when the problem happened
    stated_from: str | None
    stated_to: str | None
    verdicts: list[VerdictRow]


Span = tuple[float, float, str]  # [start, end) and the period's name


class FilterError(ValueError):
    """A --platform or --status that names nothing; the message lists the valid ones."""


def check_filters(platform: str | None, status: str | None, catalog: Catalog) -> None:
    """Refuse an unknown ``--platform`` or ``--status`` with one line listing the valid values."""
    platforms = [p.id for p in catalog.platforms] + [NO_PLATFORM]
    if platform is not None and platform not in platforms:
        raise FilterError(f"unknown --platform {platform!r} (valid: {', '.join(platforms)})")
    if status is not None and status not in STATUSES:
        raise FilterError(f"unknown --status {status!r} (valid: {', '.join(STATUSES)})")


def complaint_rows(complaints: Sequence[tuple[Complaint, Classification]], matches: Sequence[Match],
                   platform: str | None = None, status: str | None = None) -> list[ComplaintRow]:
    """One JSON-ready row per complaint (no text, unit or province), filtered by platform and verdict."""
    verdicts: dict[str, list[Match]] = defaultdict(list)
    for m in matches:
        verdicts[m.complaint_id].append(m)
    rows: list[ComplaintRow] = []
    for complaint, k in complaints:
        found = verdicts.get(complaint.id, [])
        statuses = {m.status.value for m in found} or {PENDING}
        if platform is not None and platform not in (k.platforms or (NO_PLATFORM,)):
            continue
        if status is not None and status not in statuses:
            continue
        rows.append({
            "id": complaint.id, "received": format_datetime(complaint.received_at, seconds=False),
            "received_unix": complaint.received_at, "platforms": list(k.platforms),
            "platform_phrases": list(k.platform_phrases), "symptom": k.symptom, "symptom_phrase": k.symptom_phrase,
            "peak": k.peak, "stated_time": k.time_phrase,
            "stated_from": format_datetime(k.pain_from, seconds=False) if k.pain_from is not None else None,
            "stated_to": format_datetime(k.pain_to, seconds=False) if k.pain_to is not None else None,
            "verdicts": [{"platform": m.platform, "status": m.status.value, "incident": m.incident_id}
                         for m in found]})
    return rows


def list_complaints(args: argparse.Namespace, settings: Settings, catalog: Catalog) -> tuple[list[ComplaintRow], Span]:
    """The period's stored complaints as rows (see :func:`complaint_rows`), and (start, end, name)."""
    from monitor.cli_assessment import period
    from monitor.store import open_store, store_exists
    from monitor.store.location import describe

    check_filters(args.platform, args.status, catalog)
    start, end, name = period(args, settings, time.time())
    if not store_exists(settings.store):
        raise FileNotFoundError(f"no history at {describe(settings.store)}: run `monitor complaints import` first")
    store = open_store(settings.store, read_only=True)  # verdicts as stored: `monitor incidents --save`, the daemon
    try:
        complaints = store.complaints_between(start, end)
        matches = store.matches_for([c.id for c, _ in complaints])
    finally:
        store.close()
    return complaint_rows(complaints, matches, args.platform, args.status), (start, end, name)


def show_complaints(rows: list[ComplaintRow], span: Span, console: Console, as_json: bool) -> None:
    """Print the rows: a table (text from files escaped) or JSON."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    start, end, _ = span
    table = Table(title=f"Phản ánh {format_datetime(start, seconds=False)} – {format_datetime(end, seconds=False)} "
                        "(giờ Việt Nam)")
    for column in ("mã PAKN", "tiếp nhận", "nền tảng", "biểu hiện (cụm từ quyết định)", "cao điểm", "kết luận",
                   "sự cố"):
        table.add_column(column, overflow="fold")
    for row in rows:
        symptom = row["symptom"] + (f" «{escape(row['symptom_phrase'])}»" if row["symptom_phrase"] else "")
        verdicts = row["verdicts"] or [{"platform": None, "status": PENDING, "incident": None}]
        table.add_row(escape(row["id"]), row["received"], escape(", ".join(row["platforms"]) or "—"), symptom,
                      "có" if row["peak"] else "không",
                      "\n".join(escape((f"{v['platform']}: " if v["platform"] and len(verdicts) > 1 else "")
                                       + f"{v['status']} · {VERDICT.get(v['status'], '')}") for v in verdicts),
                      "\n".join(escape(v["incident"] or "—") for v in verdicts))
    console.print(table)
    console.print(f"{len(rows)} phản ánh." if rows else "Không có phản ánh nào trong khoảng thời gian này.")


def show_import(summary: ImportSummary, console: Console) -> None:
    """What an import did (see :func:`monitor.assessment.import_complaints`): counts, bad rows, the rejects file."""
    console.print(f"{summary['file']}: {summary['rows']} dòng; nhập mới {summary['new']}, "
                  f"đã có từ trước {summary['already_stored']}, bị loại {summary['rejected']}, "
                  f"trùng mã {summary['duplicates']}")
    for problem in summary["problems"]:
        console.print(f"  dòng {problem['row']}: {problem['reason']}: {problem['detail']}", markup=False)
    if summary["rejects_file"]:
        console.print(f"các dòng bị loại được lưu tại {summary['rejects_file']}", markup=False)
    if summary["symptoms"]:
        console.print("biểu hiện: " + ", ".join(f"{k} {v}" for k, v in summary["symptoms"].items()))
        console.print("nền tảng: " + ", ".join(f"{k} {v}" for k, v in summary["platforms"].items()))

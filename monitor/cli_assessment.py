"""``monitor incidents`` and ``monitor report``: their arguments and what they print, over :mod:`monitor.assessment`.

Also the period every evidence command takes (``--week``, ``--from``/``--to``): :func:`add_period_arguments`
and :func:`period`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor import assessment, provinces
from monitor.config import Catalog, Settings
from monitor.domain import Evidence, Incident, MatchStatus
from monitor.localtime import VIETNAM, format_datetime
from monitor.matching import unexplained
from monitor.report import text
from monitor.store.location import store_argument
from monitor.workcalendar import bulletin_week

_DATE_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y")


class PeriodError(ValueError):
    """A period on the command line that names no time."""


_YEARS = (1970, 3000)  # outside these a moment has no Unix time, or is a typo


def parse_moment(text: str, end_of_day: bool = False) -> float:
    """``dd/mm/yyyy`` (local; the whole day when ``end_of_day``), ``dd/mm/yyyy HH:MM`` or ISO 8601."""
    low, high = (dt.datetime(year, 1, 1, tzinfo=VIETNAM).timestamp() for year in _YEARS)
    try:
        moment = _parse_moment(text, end_of_day)
    except OverflowError:
        moment = -1.0
    if not low <= moment < high:
        raise PeriodError(f"time {text!r} is out of range (use a date between {_YEARS[0]} and {_YEARS[1] - 1})")
    return moment


def _parse_moment(text: str, end_of_day: bool) -> float:
    for fmt in _DATE_FORMATS:
        try:
            moment = dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=VIETNAM)
        except ValueError:
            continue
        if end_of_day and fmt == "%d/%m/%Y":
            moment += dt.timedelta(days=1)
        return moment.timestamp()
    try:
        moment = dt.datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)).timestamp()
    except (ValueError, OverflowError):
        raise PeriodError(f"invalid time {text!r} (use dd/mm/yyyy, dd/mm/yyyy HH:MM or ISO 8601)") from None


def period(args: argparse.Namespace, settings: Settings, now: float) -> tuple[float, float, str]:
    """[start, end) and a name for files: ``--week``, ``--from/--to`` (dates inclusive) or the last bulletin week."""
    if args.week and (args.from_ or args.to):
        raise PeriodError("give --week or --from/--to, not both")
    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise PeriodError("--from and --to go together")
        start, end = parse_moment(args.from_), parse_moment(args.to, end_of_day=True)
        if end <= start:
            raise PeriodError("--to must come after --from")
        return start, end, f"{dt.datetime.fromtimestamp(start, VIETNAM):%Y%m%d}-" \
                           f"{dt.datetime.fromtimestamp(end - 1, VIETNAM):%Y%m%d}"
    week = args.week or _last_complete_week(now, settings.week_start)
    try:
        start, end = bulletin_week(week, settings.week_start)
    except ValueError as exc:
        raise PeriodError(str(exc)) from None
    return start, end, week


def _last_complete_week(now: float, week_start: int) -> str:
    """The ISO name of the latest bulletin week that has ended by ``now``."""
    day = dt.datetime.fromtimestamp(now, VIETNAM).date() - dt.timedelta(days=7)
    while True:
        year, number, _ = day.isocalendar()
        name = f"{year}-W{number:02d}"
        if bulletin_week(name, week_start)[1] <= now:
            return name
        day -= dt.timedelta(days=7)


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--week", help="bulletin week, e.g. 2026-W23 (default: the last complete one)")
    parser.add_argument("--from", dest="from_", metavar="DATE", help="first day, dd/mm/yyyy (or a time)")
    parser.add_argument("--to", metavar="DATE", help="last day, included, dd/mm/yyyy (or a time)")
    parser.add_argument("--store", type=store_argument, metavar="STORE",
                        help="history store: a SQLite file or a postgresql:// URL (default: the store setting)")


def gather_period(args: argparse.Namespace, settings: Settings, catalog: Catalog, *,
                  save: bool = False) -> tuple[Evidence, str]:
    """The evidence of the period the arguments name, and the period's name for files (see
    :func:`monitor.assessment.gather_stored`; ``save``: ``--save``)."""
    now = time.time()
    start, end, name = period(args, settings, now)
    return assessment.gather_stored(settings, catalog, start, end, now, write=save), name


def incident_dict(incident: Incident, now: float, location_names: Mapping[str, str] | None = None) -> dict[str, object]:
    """One incident as ``monitor incidents --json`` prints it: ``locations`` are ids, ``location_names`` their names
    (:func:`monitor.provinces.location_name`)."""
    return {"id": incident.id, "platform": incident.platform, "kind": incident.kind, "scope": incident.scope,
            "location_names": provinces.location_names(incident.locations, location_names),
            "start": format_datetime(incident.start), "end": format_datetime(incident.end) if incident.end else None,
            "start_unix": incident.start, "end_unix": incident.end, "locations": list(incident.locations),
            "ongoing": incident.ongoing(now), "last_bad": incident.last_bad, "data_until": incident.data_until,
            "interval": incident.interval,
            "duration_seconds": incident.duration(now),
            "reasons": incident.reasons, "worst_latency": incident.worst_latency, "probes": incident.probes,
            "failed": incident.failed, "failed_share": incident.failed_share}


def scope_words(incident: Incident, location_names: Mapping[str, str] | None = None) -> str:
    """``toàn nền tảng``; ``chỉ ghi nhận tại Cao Bằng`` (``… tại Cao Bằng và Lạng Sơn``) for a location incident."""
    if incident.scope == "platform":
        return "toàn nền tảng"
    return text.only_at([provinces.location_name(loc, location_names) for loc in incident.locations])


def show_incidents(evidence: Evidence, catalog: Catalog, console: Console, as_json: bool,
                   location_names: Mapping[str, str] | None = None) -> None:
    """The period's incidents as a table (or JSON), locations by name (``location_names``: the setting)."""
    now = evidence.now
    if as_json:
        console.print_json(json.dumps([incident_dict(i, now, location_names) for i in evidence.incidents],
                                      ensure_ascii=False))
        return
    names = {p.id: p.name for p in catalog.platforms}
    table = Table(title=f"Sự cố {format_datetime(evidence.start, seconds=False)} – "
                        f"{format_datetime(evidence.end, seconds=False)} (giờ Việt Nam)")
    for column in ("bắt đầu", "kết thúc", "thời lượng", "nền tảng", "loại", "phạm vi", "điểm đo", "nguyên nhân",
                   "phản ánh trùng"):
        table.add_column(column, overflow="fold")
    explained = Counter(m.incident_id for m in evidence.matches if m.status is MatchStatus.CORROBORATED)
    for i in evidence.incidents:
        table.add_row(format_datetime(i.start, seconds=False),
                      Text(text.incident_end(i, now), style="" if i.end else "red"),
                      text.duration(i.duration(now)), i.platform, text.KIND[i.kind],
                      scope_words(i, location_names),
                      ", ".join(provinces.location_name(loc, location_names) for loc in i.locations),
                      ", ".join(f"{k} {v}" for k, v in list(i.reasons.items())[:3]), str(explained[i.id]))
    console.print(table)
    quiet = unexplained(evidence.incidents, evidence.matches)
    if quiet:
        console.print(f"{len(quiet)}/{sum(i.scope == 'platform' for i in evidence.incidents)} sự cố của nền tảng "
                      "không có phản ánh nào trùng khớp.")
    if not evidence.incidents:
        console.print("Không có sự cố nào trong khoảng thời gian này." if evidence.results or evidence.rollups
                      else "Không có số liệu đo trong khoảng thời gian này.")
    for warning in evidence.certificate_warnings:
        console.print(f"[yellow]Cảnh báo:[/] chứng chỉ {names.get(warning.platform, warning.platform)} "
                      f"({warning.check}) hết hạn {format_datetime(warning.expires_at, seconds=False)}, "
                      f"còn {warning.days_left:.0f} ngày")


# --- report -------------------------------------------------------------------------------

def parse_formats(text: str) -> tuple[str, ...]:
    from monitor.report.write import FORMATS

    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise PeriodError(f"unknown report format {', '.join(unknown) or text!r} (use {', '.join(FORMATS)})")
    return formats

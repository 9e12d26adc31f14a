"""Sentences of section 5 built from single facts: one incident, one platform's coverage, the opening paragraph.

Everything here is pure and returns NFC-ready Vietnamese in the bulletin's voice ("Trong tuần,
Hệ thống PAKN–SKGP ghi nhận …"). Counts are written "12 trên 12 phản ánh" or "cả 12 phản ánh",
never "12/12"; lists whose items may hold commas are joined with semicolons.
"""

from __future__ import annotations

from monitor.domain import Incident, MatchStatus
from monitor.localtime import local
from monitor.report import text
from monitor.report.coverage import Coverage
from monitor.report.model import Report

DETAILED = 5  # incidents of one platform described one by one in the findings; more are counted


def of(part: int, whole: int) -> str:
    """``cả 12 phản ánh`` when all, else ``3 trên 12 phản ánh`` (``1 phản ánh`` for one of one)."""
    if whole == 1 and part == 1:
        return "1 phản ánh"
    if whole > 1 and part == whole:
        return f"cả {whole} phản ánh"
    return f"{part} trên {whole} phản ánh"


def incident(i: Incident, now: float, p95: float | None) -> str:
    """``sáng 29/5, từ 7h29 đến 11h14 (3 giờ 45 phút), p95 2,10 giây, 38 % lần đo lỗi``.

    An incident whose data stopped says so ("chưa rõ thời điểm kết thúc; số liệu đến …") and one still
    going on says "đang diễn ra"; neither is ever stretched to ``now``.
    """
    start = local(i.start)
    if i.end is not None:
        end = i.end
        same_day = local(end - 1).date() == start.date()
        to = f"đến {text.hm(end)}" if same_day else f"đến {text.at(end)}"
        when = f"{text.day_part(i.start)}, từ {text.hm(i.start)} {to} ({text.duration(end - i.start)})"
    elif i.ongoing(now):
        when = f"{text.day_part(i.start)}, từ {text.hm(i.start)}, đang diễn ra ({text.duration(i.duration(now))})"
    else:
        when = (f"{text.day_part(i.start)}, từ {text.hm(i.start)} ({text.incident_end(i, now)}; "
                f"ghi nhận ít nhất {text.duration(i.duration(now))})")
    parts = [when]
    if p95 is not None:
        parts.append(f"p95 {text.seconds(p95)} giây")
    elif i.kind == "down" and i.failed_share >= 1:
        parts.append("không có lần đo thành công")
    if i.probes:
        parts.append(f"{text.share(i.failed_share)} lần đo lỗi")
    return ", ".join(parts)


def incidents(items: list[Incident], now: float, p95: dict[str, float | None]) -> str:
    """The first :data:`DETAILED` incidents, ``; ``-separated, and how many more are in the incident table."""
    shown = [incident(i, now, p95.get(i.id)) for i in items[:DETAILED]]
    more = len(items) - len(shown)
    return "; ".join(shown) + (f"; và {more} sự cố khác (xem bảng sự cố)" if more > 0 else "")


def coverage_span(c: Coverage) -> str:
    """``từ 8h00 ngày 29/05/2026 đến 18h05 ngày 30/05/2026``."""
    first, last = c.span
    return f"từ {text.at(first)} đến {text.at(last)}"


def days(days_start: tuple[float, ...], shares: tuple[float, ...]) -> str:
    """Days not fully covered: ``29/05: 42 %; 31/05–04/06: không có số liệu``; empty when every day is covered."""
    parts: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            first, last = text.date(days_start[run[0]])[:5], text.date(days_start[run[-1]])[:5]
            parts.append(f"{first}: không có số liệu" if first == last else f"{first}–{last}: không có số liệu")
            run.clear()

    for index, share in enumerate(shares):
        if share <= 0:
            run.append(index)
            continue
        flush()
        if share < 0.995:
            parts.append(f"{text.date(days_start[index])[:5]}: {text.share(share)}")
    flush()
    return text.items(parts)


def gaps(c: Coverage, listed: int = 3) -> str:
    """``2 khoảng (tổng 3 giờ 10 phút): 10h05–12h00 ngày 30/05/2026; …``; ``không`` when none."""
    if not c.gaps:
        return "không"
    spans = [f"{text.hm(lo)}–{text.at(hi)}" if local(lo).date() == local(hi - 1).date()
             else f"{text.at(lo)} – {text.at(hi)}" for lo, hi in c.gaps[:listed]]
    more = f"; và {len(c.gaps) - listed} khoảng khác" if len(c.gaps) > listed else ""
    return f"{len(c.gaps)} khoảng (tổng {text.duration(c.gap_seconds)}): {text.items(spans)}{more}"


def _where_only(report: Report) -> str:
    """`` (Cao Bằng, Lạng Sơn)``: the locations of the incidents complaints were found ``location_only`` with."""
    ids = {incident for row in report.complaint_rows for _, verdict, incident in row.verdicts
           if verdict is MatchStatus.LOCATION_ONLY and incident}
    found = sorted({loc for i in report.incidents if i.id in ids for loc in i.locations})
    return f" ({text.names([report.place(loc) for loc in found])})" if found else ""


def opening(report: Report) -> tuple[str, ...]:
    """The opening paragraphs of section 5, in the bulletin's voice: the complaints received (in total, by
    platform, by symptom) and what the measurements show about them and about the platforms."""
    period = text.in_period(report.bulletin_week)
    opening_word = period[0].upper() + period[1:]
    total = report.complaints_total
    if not total:
        first = f"{opening_word}, Hệ thống PAKN–SKGP không ghi nhận phản ánh nào về các nền tảng số của Đảng."
    else:
        by_platform = [f"{p.complaints} phản ánh về {p.name}" for p in
                       sorted(report.platforms, key=lambda p: -p.complaints) if p.complaints]
        unnamed = sum(1 for row in report.complaint_rows if not row.platforms)
        if unnamed:
            by_platform.append(f"{unnamed} phản ánh không nêu nền tảng cụ thể")
        by_symptom = [f"{n} phản ánh về {'tình trạng ' if s in ('slow', 'unavailable') else ''}{text.SYMPTOM[s]}"
                      for s, n in sorted(report.symptoms.items(), key=lambda kv: (-kv[1], kv[0]))]
        first = (f"{opening_word}, Hệ thống PAKN–SKGP ghi nhận {total} phản ánh liên quan đến các nền tảng số của "
                 f"Đảng, trong đó {text.items(by_platform)}. Theo nội dung: {text.items(by_symptom)}.")
    monitored = [p for p in report.platforms if p.monitored]
    counted = {p.id for p in monitored}
    status: dict[str, int] = {}
    for row in report.complaint_rows:  # (complaint, platform) pairs of monitored platforms
        for platform, verdict, _ in row.verdicts:
            if platform in counted:
                status[verdict.value] = status.get(verdict.value, 0) + 1
    measurable = sum(n for s, n in status.items() if s not in ("not_measurable", "unmonitored"))
    verdicts = []
    if measurable:
        corroborated = status.get("corroborated", 0)
        verdicts.append(f"{measurable} phản ánh đối chiếu được với số liệu đo, trong đó "
                        + (f"{of(corroborated, measurable)} trùng với sự cố đo được" if corroborated else
                           "không phản ánh nào trùng với sự cố đo được"))
        for key, words in (("location_only", "trùng với sự cố chỉ ghi nhận tại một số điểm đo"
                            + _where_only(report)),
                           ("sporadic", "trùng với thời điểm ghi nhận lỗi rời rạc, chưa đủ để xác nhận sự cố"),
                           ("not_measured", "rơi vào thời gian nền tảng hoạt động bình thường tại mọi điểm đo"),
                           ("no_data", "rơi vào thời gian không có số liệu đo")):
            if status.get(key):
                verdicts.append(f"{status[key]} phản ánh {words}")
    down = sum(p.incidents_down for p in monitored)
    slow = sum(p.incidents_degraded for p in monitored)
    measured = [p for p in monitored if p.has_data]
    if not measured:
        shown = f"Hệ thống giám sát không có số liệu đo {period}, chưa đối chiếu được với số liệu đo."
    else:
        found = text.names([f"{n} sự cố {kind}" for n, kind in ((down, "gián đoạn"), (slow, "chậm, nghẽn")) if n])
        hit = len({i.platform for i in report.incidents if i.scope == "platform"})
        shown = (f"Số liệu đo của hệ thống giám sát ghi nhận {found} tại {hit} trên {len(measured)} nền tảng có "
                 "số liệu" if found else
                 f"Số liệu đo của hệ thống giám sát không ghi nhận sự cố gián đoạn hay chậm, nghẽn tại "
                 f"{len(measured)} nền tảng có số liệu")
        partial = [p for p in measured if not p.coverage.nearly_all]
        if partial:
            which = "các nền tảng" if len(partial) == len(measured) else text.names([p.name for p in partial])
            shown += (f" (số liệu đo của {which} chỉ bao phủ một phần thời gian của "
                      f"{period.removeprefix('trong ')}, xem mục 5.3)")
        shown += (f"; đối chiếu với phản ánh: {text.items(verdicts)}." if verdicts else ".")
    return first, shown

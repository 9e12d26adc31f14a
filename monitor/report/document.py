"""The report laid out once, as titled sections of paragraphs, tables and bullets.

Markdown, HTML, DOCX and the terminal all render this same layout, so they say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.domain import MatchStatus
from monitor.report import phrases, text
from monitor.report.model import PlatformFigures, Report

TITLE = "SỐ LIỆU GIÁM SÁT CÁC NỀN TẢNG SỐ CỦA ĐẢNG"
PLATFORM_HEADERS = (
    "Nền tảng", "Tỷ lệ truy cập thành công", "Thời gian gián đoạn", "Sự cố gián đoạn", "Sự cố chậm, nghẽn",
    "p50/p95 giờ cao điểm", "p50/p95 ngoài giờ cao điểm", "Phản ánh: tiếp nhận / đo được / trùng sự cố",
)
COVERAGE_HEADERS = ("Nền tảng", "Có số liệu", "Tỷ lệ thời gian có số liệu", "Số lần đo", "Điểm đo",
                    "Khoảng không có số liệu", "Ngày thiếu số liệu")
LOCATION_HEADERS = ("Điểm đo", "Tỷ lệ truy cập thành công", "p95", "Số lần đo")
INCIDENT_HEADERS = ("Số", "Nền tảng", "Loại", "Bắt đầu", "Kết thúc", "Thời lượng", "p95", "Lần đo lỗi", "Điểm đo",
                    "Nguyên nhân", "Phản ánh trùng")
COMPLAINT_HEADERS = ("Mã phản ánh", "Thời điểm tiếp nhận", "Nền tảng", "Nội dung phản ánh (phân loại)",
                     "Kết quả đối chiếu", "Sự cố")
CHART_CAPTION = ("Biểu đồ: độ trễ p95 theo giờ trong ngày (nền xám: giờ cao điểm), số phản ánh theo giờ và tỷ lệ truy "
                 "cập thành công theo ngày (gạch chéo: không có số liệu)")


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None
    bullets: tuple[str, ...] = ()
    chart: bool = False  # the chart goes here
    level: int = 2  # 2: a numbered section (5.1, 5.2, …); 3: inside the one before it (5.2.1, …)


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str  # (TUẦN TỪ 29/5/2026 - 04/6/2026)
    sections: tuple[Section, ...]
    notes: tuple[str, ...]


def _platform_row(p: PlatformFigures) -> tuple[str, ...]:
    complaints = f"{p.complaints} / {p.measurable} / {p.corroborated if p.monitored else '—'}"
    if not p.monitored:
        return (p.name, text.UNMONITORED, "—", "—", "—", "—", "—", complaints)
    if not p.has_data:
        return (p.name, text.NO_DATA, "—", "—", "—", "—", "—", complaints)
    availability = text.percent(p.availability)
    if not p.coverage.nearly_all:  # a percentage of the measured time only: say how much that was
        availability += f" (số liệu bao phủ {text.share(p.coverage.share)} thời gian)"
    return (
        p.name, availability, text.duration(p.downtime), str(p.incidents_down),
        str(p.incidents_degraded), text.latency(p.latency_peak), text.latency(p.latency_offpeak), complaints,
    )


def _coverage_row(p: PlatformFigures, report: Report) -> tuple[str, ...]:
    c = p.coverage
    if not c.has_data:
        return (p.name, text.NO_DATA, "0 %", "0", "—", "—", "—")
    return (p.name, phrases.coverage_span(c), text.share(c.share), _count(p.probes),
            f"{len(c.locations)} ({', '.join(report.place(loc) for loc in c.locations)})", phrases.gaps(c),
            phrases.days(report.days, c.daily) or "không")


def _count(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _location_sections(report: Report) -> tuple[Section, ...]:
    """5.2.1, 5.2.2, …: per platform measured from two locations or more, each location's availability, p95 and
    probes (one location would repeat the platform's row)."""
    out: list[Section] = []
    for p in report.platforms:
        rows = report.locations.get(p.id, ())
        if not rows:
            continue
        table = Table(LOCATION_HEADERS, tuple(
            (report.place(r.location), text.percent(r.availability),
             f"{text.seconds(r.p95)} giây" if r.p95 is not None else "—", _count(r.probes)) for r in rows))
        out.append(Section(f"5.2.{len(out) + 1}. {p.name}: số liệu đo theo điểm đo", table=table, level=3))
    return tuple(out)


def incident_numbers(report: Report) -> dict[str, int]:
    """The number of each incident in the incident table (1, 2, …), by start."""
    return {i.id: n for n, i in enumerate(report.incidents, 1)}


def _incident_rows(report: Report) -> tuple[tuple[str, ...], ...]:
    names = {p.id: p.name for p in report.platforms}
    p95 = report.incident_p95 or {}
    rows = []
    for n, i in enumerate(report.incidents, 1):
        places = [report.place(loc) for loc in i.locations]
        kind = text.KIND[i.kind] + ("" if i.scope == "platform" else f" ({text.only_at(places)})")
        latency = p95.get(i.id)
        rows.append((str(n), names[i.platform], kind, text.moment(i.start), text.incident_end(i, report.generated_at
                                                                                              or report.end),
                     text.duration(i.duration(report.generated_at or report.end)),
                     f"{text.seconds(latency)} giây" if latency is not None else "—",
                     text.share(i.failed_share) if i.probes else "—",
                     ", ".join(places) or "—", text.reasons(i.reasons),
                     str(report.complaints_by_incident.get(i.id, 0))))
    return tuple(rows)


def _verdict(report: Report, status: MatchStatus, incident_id: str | None, numbers: dict[str, int]) -> str:
    if status is MatchStatus.LOCATION_ONLY and incident_id:
        found = next((i for i in report.incidents if i.id == incident_id), None)
        if found is not None:
            return text.only_at([report.place(loc) for loc in found.locations])
    return text.VERDICT[status.value]


def _incident_ref(report: Report, incident_id: str | None, numbers: dict[str, int]) -> str:
    if not incident_id:
        return ""
    found = next((i for i in report.incidents if i.id == incident_id), None)
    if found is None:
        return incident_id
    return f"số {numbers[incident_id]}: {text.KIND[found.kind]}, {text.moment(found.start)}"


def _complaint_rows(report: Report) -> tuple[tuple[str, ...], ...]:
    names = {p.id: p.name for p in report.platforms}
    numbers = incident_numbers(report)
    rows = []
    for row in report.complaint_rows:
        several = len(row.verdicts) > 1
        verdicts, refs = [], []
        for platform, status, incident_id in row.verdicts:
            prefix = f"{names.get(platform, platform)}: " if several and platform else ""
            verdicts.append(prefix + _verdict(report, status, incident_id, numbers))
            ref = _incident_ref(report, incident_id, numbers)
            if ref:
                refs.append(prefix + ref)
        rows.append((row.id, text.moment(row.received_at),
                     text.items([names.get(p, p) for p in row.platforms]) or "không nêu",
                     text.SYMPTOM.get(row.symptom, row.symptom), text.items(verdicts) or "chưa đối chiếu",
                     text.items(refs) or "—"))
    return tuple(rows)


def layout(report: Report) -> Document:
    """The report as section 5 of the bulletin (5.1, 5.2, …) and an appendix, every string NFC."""
    period = text.in_period(report.bulletin_week)
    summary = Section("5.1. Tổng hợp phản ánh và kết quả đo", paragraphs=phrases.opening(report),
                      bullets=report.findings)
    platforms = Section("5.2. Số liệu đo theo nền tảng", table=Table(PLATFORM_HEADERS, tuple(
        _platform_row(p) for p in report.platforms)))
    if not report.has_data:
        platforms = Section(platforms.title, paragraphs=(f"{period.capitalize()} {text.NO_DATA} tin cậy.",),
                            table=platforms.table)
    by_location = _location_sections(report)
    monitored = [p for p in report.platforms if p.monitored]
    coverage = Section("5.3. Phạm vi số liệu đo", paragraphs=(
        "Khoảng không có số liệu: không có lần đo tin cậy nào của nền tảng lâu hơn 3 chu kỳ đo và hơn 15 phút; "
        "ngày, giờ không có số liệu chưa đánh giá được.",),
        table=Table(COVERAGE_HEADERS, tuple(_coverage_row(p, report) for p in monitored)) if monitored else None)
    rows = _incident_rows(report)
    incidents = Section(f"5.4. Sự cố {period}", table=Table(INCIDENT_HEADERS, rows) if rows else None,
                        paragraphs=() if rows else ("Không ghi nhận sự cố trong thời gian có số liệu đo."
                                                    if report.has_data else f"Không đánh giá được: {text.NO_DATA}.",))
    recommendations = Section("5.5. Đề xuất, kiến nghị", bullets=report.recommendations, paragraphs=() if
                              report.recommendations else (f"Số liệu đo {period} không phát sinh đề nghị mới.",))
    chart = Section("5.6. Biểu đồ", paragraphs=(CHART_CAPTION + ".",), chart=True)
    complaint_rows = _complaint_rows(report)
    appendix = Section(f"Phụ lục. Danh sách phản ánh {period}", table=Table(COMPLAINT_HEADERS, complaint_rows)
                       if complaint_rows else None,
                       paragraphs=("Mã, thời điểm tiếp nhận, nền tảng, phân loại nội dung và kết quả đối chiếu với số "
                                   "liệu đo; không nêu nội dung phản ánh và thông tin cá nhân.",) if complaint_rows
                       else (f"Không có phản ánh {period}.",))
    notes = [
        "Tỷ lệ truy cập thành công: số lần đo thành công trên tổng số lần đo tin cậy (mọi kiểm tra, mọi điểm đo) "
        "trong thời gian có số liệu; các lần đo khi bản thân máy đo bị quá tải không được tính.",
        "p50/p95: thời gian phản hồi trang chủ (HTTP) mà 50%/95% số lần đo không vượt quá, tính từ số liệu gộp "
        "theo từng 15 phút (sai số dưới 1 %); giờ cao điểm theo ngày làm việc, giờ Việt Nam, xét theo từng 15 phút. "
        "p95 của một sự cố: các lần đo thành công trong thời gian sự cố (theo 5 phút).",
        "Lần đo lỗi của một sự cố: tỷ lệ lần đo lỗi của kiểm tra lỗi nhiều nhất (thường là trang chủ) trong thời "
        "gian sự cố; gián đoạn khi quá nửa số lần đo của một kiểm tra bị lỗi.",
        "Phản ánh: một phản ánh nêu nhiều nền tảng được tính cho từng nền tảng.",
    ]
    if by_location:
        notes.append("Số liệu đo theo điểm đo (mục 5.2.1 trở đi): chỉ với nền tảng được đo từ hai điểm đo trở lên; tỷ "
                     "lệ truy cập thành công và số lần đo tin cậy tại điểm đo đó, p95 của các lần đo trang chủ (HTTP) "
                     "thành công tại điểm đo đó.")
    if report.generated_at:
        notes.append(f"Số liệu lập lúc {text.moment(report.generated_at)} (giờ Việt Nam).")
    document = Document(TITLE, f"({text.period_heading(report.start, report.end, report.bulletin_week)})",
                        (summary, platforms, *by_location, coverage, incidents, recommendations, chart, appendix),
                        tuple(notes))
    return _nfc(document)


def _nfc(document: Document) -> Document:
    def fix(section: Section) -> Section:
        table = section.table and Table(tuple(map(text.nfc, section.table.headers)),
                                        tuple(tuple(map(text.nfc, row)) for row in section.table.rows))
        return Section(text.nfc(section.title), tuple(map(text.nfc, section.paragraphs)), table,
                       tuple(map(text.nfc, section.bullets)), section.chart, section.level)
    return Document(text.nfc(document.title), text.nfc(document.subtitle),
                    tuple(fix(s) for s in document.sections), tuple(map(text.nfc, document.notes)))

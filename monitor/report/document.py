"""The report laid out once, as titled sections of paragraphs, tables and bullets.

Markdown, HTML, DOCX and the terminal all render this same layout, so they say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.report import text
from monitor.report.model import PlatformFigures, Report

TITLE = "SỐ LIỆU GIÁM SÁT CÁC NỀN TẢNG SỐ CỦA ĐẢNG"
PLATFORM_HEADERS = (
    "Nền tảng", "Tỷ lệ truy cập thành công", "Thời gian gián đoạn", "Sự cố gián đoạn", "Sự cố chậm, nghẽn",
    "p50/p95 giờ cao điểm", "p50/p95 ngoài giờ cao điểm", "Phản ánh: tiếp nhận / đo được / trùng sự cố",
)
INCIDENT_HEADERS = ("Nền tảng", "Loại", "Bắt đầu", "Kết thúc", "Thời lượng", "Điểm đo", "Nguyên nhân",
                    "Phản ánh trùng")
CHART_CAPTION = "Biểu đồ: độ trễ p95 theo giờ trong ngày, số phản ánh theo giờ và tỷ lệ truy cập thành công theo ngày"


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
    return (
        p.name, text.percent(p.availability), text.duration(p.downtime), str(p.incidents_down),
        str(p.incidents_degraded), text.latency(p.latency_peak), text.latency(p.latency_offpeak), complaints,
    )


def _incident_rows(report: Report) -> tuple[tuple[str, ...], ...]:
    names = {p.id: p.name for p in report.platforms}
    rows = []
    for i in report.incidents:
        kind = text.KIND[i.kind] + ("" if i.scope == "platform" else " (chỉ tại điểm đo)")
        end = text.moment(i.end) if i.end is not None else "chưa kết thúc"
        rows.append((names[i.platform], kind, text.moment(i.start), end, text.duration(i.duration(report.end)),
                     ", ".join(i.locations) or "—", text.reasons(i.reasons),
                     str(report.complaints_by_incident.get(i.id, 0))))
    return tuple(rows)


def layout(report: Report) -> Document:
    """The report as sections, every string NFC."""
    platforms = Section("1. Số liệu đo theo nền tảng", table=Table(PLATFORM_HEADERS, tuple(
        _platform_row(p) for p in report.platforms)))
    if not report.has_data:
        platforms = Section(platforms.title, paragraphs=(f"Trong tuần {text.NO_DATA} tin cậy.",), table=platforms.table)
    rows = _incident_rows(report)
    incidents = Section("2. Sự cố trong tuần", table=Table(INCIDENT_HEADERS, rows) if rows else None,
                        paragraphs=() if rows else ("Không ghi nhận sự cố." if report.has_data else
                                                    f"Không đánh giá được: {text.NO_DATA}.",))
    findings = Section("3. Nhận định", bullets=report.findings)
    recommendations = Section("4. Đề xuất, kiến nghị", bullets=report.recommendations, paragraphs=() if
                              report.recommendations else ("Số liệu đo trong tuần không phát sinh đề nghị mới.",))
    chart = Section("5. Biểu đồ", paragraphs=(CHART_CAPTION + ".",), chart=True)
    notes = [
        "Tỷ lệ truy cập thành công: số lần đo thành công trên tổng số lần đo tin cậy (mọi kiểm tra, mọi điểm đo); "
        "các lần đo khi bản thân máy đo bị quá tải không được tính.",
        "p50/p95: thời gian phản hồi trang chủ (HTTP) mà 50%/95% số lần đo không vượt quá; giờ cao điểm theo "
        "ngày làm việc, giờ Việt Nam.",
        "Phản ánh: một phản ánh nêu nhiều nền tảng được tính cho từng nền tảng.",
    ]
    if report.generated_at:
        notes.append(f"Số liệu lập lúc {text.moment(report.generated_at)} (giờ Việt Nam).")
    document = Document(TITLE, f"({text.week_heading(report.start, report.end)})",
                        (platforms, incidents, findings, recommendations, chart), tuple(notes))
    return _nfc(document)


def _nfc(document: Document) -> Document:
    def fix(section: Section) -> Section:
        table = section.table and Table(tuple(map(text.nfc, section.table.headers)),
                                        tuple(tuple(map(text.nfc, row)) for row in section.table.rows))
        return Section(text.nfc(section.title), tuple(map(text.nfc, section.paragraphs)), table,
                       tuple(map(text.nfc, section.bullets)), section.chart)
    return Document(text.nfc(document.title), text.nfc(document.subtitle),
                    tuple(fix(s) for s in document.sections), tuple(map(text.nfc, document.notes)))

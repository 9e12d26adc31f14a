"""monitor.report renderers: Markdown, HTML, DOCX, chart, terminal and write_report, read as a reader would."""

from __future__ import annotations

import base64
import io
import os
import signal
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from monitor.report import (
    ReportInput,
    build_report,
    render_chart,
    render_html,
    render_markdown,
    render_rich,
    write_report,
)
from monitor.report.text import duration, percent, week_heading
from tests.test_report_figures import END, PLATFORMS, START, week_input

HEADING = "(TUẦN TỪ 29/5/2026 - 04/6/2026)"


@pytest.fixture(scope="module")
def report():
    return build_report(week_input())


@pytest.fixture(scope="module")
def chart(report):
    return render_chart(report)


def test_week_heading_copies_the_bulletin():
    assert week_heading(START, END) == "TUẦN TỪ 29/5/2026 - 04/6/2026"


@pytest.mark.parametrize("seconds, text", [(0, "0 phút"), (20, "dưới 1 phút"), (45 * 60, "45 phút"),
                                           (3900, "1 giờ 05 phút"), (26 * 3600 + 29, "26 giờ 00 phút")])
def test_durations_in_vietnamese(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("value, text", [(None, "không có số liệu đo"), (100.0, "100%"), (99.999, "99,99%"),
                                         (99.5535, "99,55%"), (99.99, "99,99%"),
                                         (100 * 4014 / 4032, "99,55%"), (0.0, "0,00%")])
def test_percentages_never_round_up_to_100(value, text):
    assert percent(value) == text


def test_markdown_reads_like_the_bulletin(report):
    md = render_markdown(report, chart_name="bao-cao-2026-W23.png")
    lines = md.splitlines()
    assert lines[0] == "# SỐ LIỆU GIÁM SÁT CÁC NỀN TẢNG SỐ CỦA ĐẢNG"
    assert lines[2] == f"**{HEADING}**"
    assert ("| 4 | Hệ thống giải quyết thủ tục hành chính của Đảng | gián đoạn | 02/06/2026 14:00 | 02/06/2026 14:45 | "
            "45 phút | — | 100 % | Hà Nội, Cao Bằng | máy chủ từ chối kết nối (18 lần đo) | 1 |") in lines
    assert ("| 6 | Hệ thống giải quyết thủ tục hành chính của Đảng | gián đoạn (chỉ ghi nhận tại Cao Bằng) | "
            "04/06/2026 20:00 | 04/06/2026 20:20 | 20 phút | — | 100 % | Cao Bằng | "
            "quá thời gian chờ kết nối (4 lần đo) | 0 |") in lines
    slow = [line for line in lines if "| chậm, nghẽn |" in line]
    assert len(slow) == 4 and [line.endswith("| 1 |") for line in slow] == [True, True, True, False]
    assert "![Biểu đồ tuần](bao-cao-2026-W23.png)" in lines
    assert "- Đề nghị nâng cấp, tối ưu hóa năng lực xử lý của Sổ tay đảng viên điện tử" in md
    assert md == unicodedata.normalize("NFC", md)


def test_markdown_for_an_empty_week():
    md = render_markdown(build_report(ReportInput(START, END, PLATFORMS, [], [], [], [], [], bulletin_week=True)))
    assert "100" not in md
    assert "Trong tuần không có số liệu đo tin cậy." in md
    assert "Không đánh giá được: không có số liệu đo." in md


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lang = None
        self.tables, self.images, self.headings, self._cell, self._in = [], [], [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs)
        elif tag in ("h1", "h2"):
            self._in = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        elif tag in ("h1", "h2"):
            self.headings.append(self._in)
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in is not None:
            self._in += data


def test_html_is_self_contained(report, chart):
    page = render_html(report, chart)
    parser = _Collector()
    parser.feed(page)
    assert parser.lang == "vi" and '<meta charset="utf-8">' in page
    assert "SỐ LIỆU GIÁM SÁT CÁC NỀN TẢNG SỐ CỦA ĐẢNG" in parser.headings
    platforms = parser.tables[0]
    assert platforms[0][0] == "Nền tảng" and len(platforms) == 1 + len(PLATFORMS)
    gqthc = next(row for row in platforms if row[0].startswith("Hệ thống giải quyết"))
    assert gqthc[1:3] == ["99,55%", "45 phút"]
    (image,) = parser.images
    prefix = "data:image/png;base64,"
    assert image["src"].startswith(prefix)
    assert base64.b64decode(image["src"][len(prefix):]) == chart
    assert HEADING in page and page == unicodedata.normalize("NFC", page)


def test_docx_has_heading_table_and_real_picture(report, chart, tmp_path):
    docx = pytest.importorskip("docx")
    (path,) = [p for p in write_report(report, tmp_path, formats=("docx",), stem="w") if p.suffix == ".docx"]
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == "SỐ LIỆU GIÁM SÁT CÁC NỀN TẢNG SỐ CỦA ĐẢNG"
    assert "5.1. Tổng hợp phản ánh và kết quả đo" in headings and "5.5. Đề xuất, kiến nghị" in headings
    assert HEADING in [p.text for p in document.paragraphs]
    table = document.tables[0]  # 5.2
    assert table.rows[0].cells[1].text == "Tỷ lệ truy cập thành công"
    assert [c.text for c in table.rows[2].cells][:3] == ["Hệ thống giải quyết thủ tục hành chính của Đảng", "99,55%",
                                                         "45 phút"]
    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert any(b.startswith("Đề nghị gia hạn chứng chỉ số") for b in bullets)
    images = [part for part in document.part.package.parts if part.content_type == "image/png"]
    assert len(images) == 1
    picture = Image.open(io.BytesIO(images[0].blob))
    assert picture.format == "PNG" and picture.width >= 800 and picture.height >= 600


def test_chart_is_a_png(chart):
    picture = Image.open(io.BytesIO(chart))
    assert picture.format == "PNG" and picture.size == (1100, 825)


def test_chart_without_data_still_renders():
    picture = Image.open(io.BytesIO(render_chart(build_report(ReportInput(START, END, PLATFORMS, [], [], [], [], [])))))
    assert picture.format == "PNG"


def test_write_report_writes_every_format(report, tmp_path):
    paths = write_report(report, tmp_path / "out", stem="bao-cao-2026-W23")
    assert sorted(p.name for p in paths) == ["bao-cao-2026-W23.docx", "bao-cao-2026-W23.html", "bao-cao-2026-W23.md",
                                             "bao-cao-2026-W23.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert "](bao-cao-2026-W23.png)" in (tmp_path / "out" / "bao-cao-2026-W23.md").read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob("*.tmp"))
    with pytest.raises(ValueError, match="pdf"):
        write_report(report, tmp_path, formats=("pdf",))


def test_rich_terminal(report):
    console = Console(record=True, width=200, color_system=None)
    render_rich(report, console)
    out = console.export_text()
    assert HEADING in out
    assert "99,55%" in out and "không có số liệu đo" in out and "chưa được giám sát" in out
    assert "Đề nghị gia hạn chứng chỉ số" in out


def _effective(run, paragraph, attribute):
    """A run's font name or size as Word resolves it: the run, then its paragraph style and the styles it is based
    on."""
    value = getattr(run.font, attribute)
    style = paragraph.style
    while value is None and style is not None:
        value = getattr(style.font, attribute)
        style = style.base_style
    return value


def test_docx_is_a4_with_administrative_typography(report, chart):
    docx = pytest.importorskip("docx")
    from docx.shared import Cm, Pt

    from monitor.report import render_docx

    def between(value, low, high):  # Word stores lengths in twips: a hundredth of a millimetre of rounding
        return Cm(low) - Cm(0.01) <= value <= Cm(high) + Cm(0.01)

    document = docx.Document(io.BytesIO(render_docx(report, chart)))
    for section in document.sections:
        assert between(section.page_width, 21, 21) and between(section.page_height, 29.7, 29.7)
        assert between(section.top_margin, 2, 2.5) and between(section.bottom_margin, 2, 2.5)
        assert between(section.left_margin, 3, 3.5) and between(section.right_margin, 1.5, 2)
    runs = [(run, p) for p in document.paragraphs for run in p.runs if run.text.strip()]
    assert len(runs) > 20
    for run, paragraph in runs:
        assert _effective(run, paragraph, "name") == "Times New Roman", run.text
        assert Pt(13) <= _effective(run, paragraph, "size") <= Pt(14), run.text
    cells = [(run, p) for table in document.tables for row in table.rows for cell in row.cells
             for p in cell.paragraphs for run in p.runs]
    assert cells and all(_effective(run, p, "name") == "Times New Roman" for run, p in cells)
    (picture,) = document.inline_shapes
    assert picture.width <= Cm(21 - 3 - 1.5)


def test_docx_table_cells_keep_markup_breaks_and_spaces_as_text():
    docx = pytest.importorskip("docx")
    from docx.shared import Pt

    from monitor.report.word import _add_table

    document = docx.Document()
    _add_table(document, ["Nền tảng", "<b>Ghi chú</b>"], [[" a & <i>b</i>\nc", "x\ty"], ["Đ", ""]])
    saved = io.BytesIO()
    document.save(saved)
    (table,) = docx.Document(io.BytesIO(saved.getvalue())).tables
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Nền tảng", "<b>Ghi chú</b>"], [" a & <i>b</i>\nc", "x\ty"], ["Đ", ""]]
    header = table.rows[0].cells[1].paragraphs[0].runs[0]
    assert header.bold and header.font.name == "Times New Roman" and header.font.size == Pt(11)
    assert table.style.name == "Table Grid"


def _children() -> list[int]:
    me = os.getpid()
    return [int(pid) for pid in Path(f"/proc/{me}/task/{me}/children").read_text().split()]


def test_the_chart_drawn_aside_is_the_chart_and_survives_its_worker(report, chart):
    from monitor.report.aside import chart_aside

    before = set(_children())
    with chart_aside() as draw:
        workers = set(_children()) - before
        assert len(workers) == 1  # forked before the history is read, importing matplotlib meanwhile
        assert draw(report)() == chart
        os.kill(workers.pop(), signal.SIGKILL)
        assert draw(report)() == chart  # its worker died: drawn here instead, the same bytes
    assert set(_children()) == before

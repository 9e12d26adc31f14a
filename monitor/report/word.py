"""The report as an editable Word document (python-docx), chart embedded.

Typography of Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP, Phụ lục I): A4 portrait
(21 × 29,7 cm), margins top 2 cm, bottom 2 cm, left 3 cm, right 1,5 cm; Times New Roman everywhere,
13 pt for text and headings (14 pt for the title), 11 pt inside the wide tables, black headings.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from monitor.report.document import layout
from monitor.report.model import Report

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.styles.style import CharacterStyle


FONT = "Times New Roman"
TEXT_PT, TITLE_PT, TABLE_PT = 13, 14, 11
PAGE = (21.0, 29.7)  # A4, cm
MARGINS = {"top": 2.0, "bottom": 2.0, "left": 3.0, "right": 1.5}  # cm, Nghị định 30/2020/NĐ-CP
_FONTS = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}"/>'
_TABLE_RPR = f'<w:rPr>{_FONTS}<w:sz w:val="{2 * TABLE_PT}"/></w:rPr>'
_TABLE_RPR_BOLD = f'<w:rPr>{_FONTS}<w:b/><w:sz w:val="{2 * TABLE_PT}"/></w:rPr>'


def _font(style: CharacterStyle, size: int) -> None:
    """Times New Roman at ``size`` pt, black, for every script (Vietnamese is Latin, but Word also reads eastAsia)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    style.font.name = FONT
    style.font.size = Pt(size)
    style.font.color.rgb = RGBColor(0, 0, 0)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)


def _run(text: str, bold: bool = False) -> str:
    """A ``w:r`` in the tables' font, as python-docx's ``run.text`` writes it: tabs and line breaks as elements."""
    parts = []
    for piece in re.split(r"(\t|\r|\n)", text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if piece != piece.strip() else ""
            parts.append(f"<w:t{space}>{escape(piece)}</w:t>")
    return f"<w:r>{_TABLE_RPR_BOLD if bold else _TABLE_RPR}{''.join(parts)}</w:r>"


def _add_table(word: DocxDocument, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A "Table Grid" table: bold headers, then the rows, all at :data:`TABLE_PT`.

    python-docx adds the table (its properties and column widths); the rows are written as one XML string
    and parsed once. Adding them cell by cell through python-docx took most of a second for a 50-platform week.
    """
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    table = word.add_table(rows=0, cols=len(headers))
    table.style = "Table Grid"
    widths = [f'<w:tcPr><w:tcW w:type="dxa" w:w="{column.w.twips}"/></w:tcPr>'
              for column in table._tbl.tblGrid.gridCol_lst]

    def row(values: Sequence[str], bold: bool) -> str:
        cells = (f"<w:tc>{width}<w:p>{_run(value, bold)}</w:p></w:tc>"
                 for width, value in zip(widths, values, strict=True))
        return f"<w:tr>{''.join(cells)}</w:tr>"

    body = row(headers, True) + "".join(row(values, False) for values in rows)
    for tr in parse_xml(f"<w:tbl {nsdecls('w')}>{body}</w:tbl>"):
        table._tbl.append(tr)


def render_docx(report: Report, chart_png: bytes | None = None) -> bytes:
    """DOCX bytes: headings, the tables, bullets and (when given) the chart picture."""
    from docx import Document  # optional dependency: only the DOCX output needs it
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    doc = layout(report)
    word = Document()
    for page in word.sections:
        page.page_width, page.page_height = Cm(PAGE[0]), Cm(PAGE[1])
        page.top_margin, page.bottom_margin = Cm(MARGINS["top"]), Cm(MARGINS["bottom"])
        page.left_margin, page.right_margin = Cm(MARGINS["left"]), Cm(MARGINS["right"])
    for name, size in (("Normal", TEXT_PT), ("Heading 1", TITLE_PT), ("Heading 2", TEXT_PT), ("Heading 3", TEXT_PT),
                       ("List Bullet", TEXT_PT)):
        _font(word.styles[name], size)
    word.add_heading(doc.title, level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = word.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.add_run(doc.subtitle).bold = True
    for section in doc.sections:
        if section.chart and chart_png is None:
            continue
        word.add_heading(section.title, level=section.level)
        for paragraph in section.paragraphs:
            word.add_paragraph(paragraph)
        if section.table is not None:
            _add_table(word, section.table.headers, section.table.rows)
        for bullet in section.bullets:
            word.add_paragraph(bullet, style="List Bullet")
        if section.chart and chart_png is not None:
            word.add_picture(io.BytesIO(chart_png), width=Cm(PAGE[0] - MARGINS["left"] - MARGINS["right"]))
    for note in doc.notes:
        word.add_paragraph().add_run(note).italic = True
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()

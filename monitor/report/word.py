"""The report as an editable Word document (python-docx), chart embedded.

Typography of Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP, Phụ lục I): A4 portrait
(21 × 29,7 cm), margins top 2 cm, bottom 2 cm, left 3 cm, right 1,5 cm; Times New Roman everywhere,
13 pt for text and headings (14 pt for the title), 11 pt inside the wide tables, black headings.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from monitor.report.document import layout
from monitor.report.model import Report

if TYPE_CHECKING:
    from docx.styles.style import CharacterStyle


FONT = "Times New Roman"
TEXT_PT, TITLE_PT, TABLE_PT = 13, 14, 11
PAGE = (21.0, 29.7)  # A4, cm
MARGINS = {"top": 2.0, "bottom": 2.0, "left": 3.0, "right": 1.5}  # cm, Nghị định 30/2020/NĐ-CP


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


def render_docx(report: Report, chart_png: bytes | None = None) -> bytes:
    """DOCX bytes: headings, the tables, bullets and (when given) the chart picture."""
    from docx import Document  # optional dependency: only the DOCX output needs it
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

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
            table = word.add_table(rows=1, cols=len(section.table.headers))
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, section.table.headers, strict=True):
                cell.text = ""
                cell.paragraphs[0].add_run(header).bold = True
            for row in section.table.rows:
                for cell, value in zip(table.add_row().cells, row, strict=True):
                    cell.text = value
            for row in table.rows:
                for cell in row.cells:
                    for paragraph in cell.paragraphs:
                        for run in paragraph.runs:
                            run.font.name, run.font.size = FONT, Pt(TABLE_PT)
        for bullet in section.bullets:
            word.add_paragraph(bullet, style="List Bullet")
        if section.chart and chart_png is not None:
            word.add_picture(io.BytesIO(chart_png), width=Cm(PAGE[0] - MARGINS["left"] - MARGINS["right"]))
    for note in doc.notes:
        word.add_paragraph().add_run(note).italic = True
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()

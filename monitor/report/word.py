"""The report as an editable Word document (python-docx), chart embedded."""

from __future__ import annotations

import io

from monitor.report.document import layout
from monitor.report.model import Report


def render_docx(report: Report, chart_png: bytes | None = None) -> bytes:
    """DOCX bytes: headings, the tables, bullets and (when given) the chart picture."""
    from docx import Document  # optional dependency: only the DOCX output needs it
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = layout(report)
    word = Document()
    word.styles["Normal"].font.name = "Times New Roman"
    word.styles["Normal"].font.size = Pt(12)
    word.add_heading(doc.title, level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = word.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.add_run(doc.subtitle).bold = True
    for section in doc.sections:
        if section.chart and chart_png is None:
            continue
        word.add_heading(section.title, level=2)
        for paragraph in section.paragraphs:
            word.add_paragraph(paragraph)
        if section.table is not None:
            table = word.add_table(rows=1, cols=len(section.table.headers))
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, section.table.headers):
                cell.text = ""
                cell.paragraphs[0].add_run(header).bold = True
            for row in section.table.rows:
                for cell, value in zip(table.add_row().cells, row):
                    cell.text = value
        for bullet in section.bullets:
            word.add_paragraph(bullet, style="List Bullet")
        if section.chart and chart_png is not None:
            word.add_picture(io.BytesIO(chart_png), width=Cm(16))
    for note in doc.notes:
        word.add_paragraph().add_run(note).italic = True
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()

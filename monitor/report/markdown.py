"""The report as paste-ready Markdown."""

from __future__ import annotations

from monitor.report.document import Table, layout
from monitor.report.model import Report
from monitor.report.text import nfc


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, table.headers)) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in table.rows]
    return lines


def render_markdown(report: Report, chart_name: str | None = "bao-cao.png") -> str:
    """Markdown; ``chart_name`` is the PNG written next to it (None: no image reference)."""
    doc = layout(report)
    lines = [f"# {doc.title}", "", f"**{doc.subtitle}**", ""]
    for section in doc.sections:
        if section.chart and chart_name is None:
            continue
        lines += [f"{'#' * section.level} {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        if section.table is not None:
            lines += [*_table(section.table), ""]
        if section.bullets:
            lines += [f"- {bullet}" for bullet in section.bullets] + [""]
        if section.chart:
            lines += [f"![Biểu đồ tuần]({chart_name})", ""]
    for note in doc.notes:
        lines += [f"_{note}_", ""]
    return nfc("\n".join(lines).rstrip() + "\n")

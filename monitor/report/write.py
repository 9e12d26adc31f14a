"""Writing the report's files: the only I/O in the package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from monitor.private import write_private
from monitor.report.chart import render_chart
from monitor.report.html import render_html
from monitor.report.markdown import render_markdown
from monitor.report.model import Report
from monitor.report.word import render_docx

FORMATS = ("md", "docx", "html")


def write_report(report: Report, directory: Path, formats: Sequence[str] = ("md", "docx", "html"),
                 stem: str = "bao-cao-2026-W23", chart: bytes | None = None) -> list[Path]:
    """Write ``<stem>.<format>`` for each format (plus ``<stem>.png``, Markdown's chart) and return the paths.

    ``chart``: the report's chart, already drawn (:mod:`monitor.report.aside`); else it is drawn here.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)} (use {', '.join(FORMATS)})")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not formats:
        return written
    if chart is None:
        chart = render_chart(report)

    def put(name: str, data: bytes) -> None:
        path = directory / name
        tmp = path.with_name(path.name + ".tmp")
        write_private(tmp, data)  # owner-only (0600): the report quotes complaints
        tmp.replace(path)
        written.append(path)

    for fmt in dict.fromkeys(formats):
        if fmt == "md":
            put(f"{stem}.png", chart)
            put(f"{stem}.md", render_markdown(report, chart_name=f"{stem}.png").encode("utf-8"))
        elif fmt == "html":
            put(f"{stem}.html", render_html(report, chart).encode("utf-8"))
        else:
            put(f"{stem}.docx", render_docx(report, chart))
    return written

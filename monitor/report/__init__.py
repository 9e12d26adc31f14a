"""``monitor report``: the week's measured evidence for section 5 of the bulletin, in Vietnamese.

Build once with :func:`build_report` (pure), render with any of the renderers, write with
:func:`write_report`.
"""

from monitor.report.chart import render_chart
from monitor.report.figures import build_report
from monitor.report.html import render_html
from monitor.report.markdown import render_markdown
from monitor.report.model import Concentration, PlatformFigures, Report, ReportInput
from monitor.report.terminal import render_rich
from monitor.report.word import render_docx
from monitor.report.write import write_report

__all__ = [
    "Concentration", "PlatformFigures", "Report", "ReportInput", "build_report", "render_chart", "render_docx",
    "render_html", "render_markdown", "render_rich", "write_report",
]

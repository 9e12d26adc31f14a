"""The report as one self-contained HTML page (UTF-8, chart embedded as a base64 PNG)."""

from __future__ import annotations

import base64
from html import escape

from monitor.report.document import layout
from monitor.report.model import Report
from monitor.report.text import nfc

_STYLE = """
body { font-family: "Times New Roman", "DejaVu Serif", serif; max-width: 72em; margin: 2em auto; }
h1 { font-size: 1.3em; text-align: center; margin-bottom: 0; } .week { text-align: center; font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } th, td { border: 1px solid #444; padding: 0.25em 0.5em; }
th { background: #eee; } td { vertical-align: top; } img { max-width: 100%; } .notes { font-size: 0.9em; color: #444; }
"""


def render_html(report: Report, chart_png: bytes | None = None) -> str:
    """A complete ``<html lang="vi">`` document; the chart is embedded when ``chart_png`` is given."""
    doc = layout(report)
    out = ['<!DOCTYPE html>', '<html lang="vi">', "<head>", '<meta charset="utf-8">',
           f"<title>{escape(doc.title)} {escape(doc.subtitle)}</title>", f"<style>{_STYLE}</style>", "</head>",
           "<body>",
           f"<h1>{escape(doc.title)}</h1>", f'<p class="week">{escape(doc.subtitle)}</p>']
    for section in doc.sections:
        if section.chart and chart_png is None:
            continue
        out.append(f"<h{section.level}>{escape(section.title)}</h{section.level}>")
        out += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
        if section.table is not None:
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in section.table.headers) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in section.table.rows]
            out.append("</table>")
        if section.bullets:
            out.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in section.bullets) + "</ul>")
        if section.chart and chart_png is not None:
            data = base64.b64encode(chart_png).decode("ascii")
            out.append(f'<img src="data:image/png;base64,{data}" alt="Biểu đồ tuần">')
    out.append('<div class="notes">' + "".join(f"<p>{escape(n)}</p>" for n in doc.notes) + "</div>")
    out += ["</body>", "</html>", ""]
    return nfc("\n".join(out))

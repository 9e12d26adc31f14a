"""The report in the terminal with rich."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from monitor.report.document import layout
from monitor.report.model import Report


def render_rich(report: Report, console: Console) -> None:
    """Print the report: tables as rich tables, findings and recommendations as bullets (no chart)."""
    doc = layout(report)
    console.print(f"[bold]{escape(doc.title)}[/bold]", justify="center")
    console.print(f"[bold]{escape(doc.subtitle)}[/bold]", justify="center")
    for section in doc.sections:
        if section.chart:
            continue
        console.print()
        if section.level > 2:
            console.print(f"[bold]{escape(section.title)}[/bold]")
        else:
            console.rule(f"[bold]{escape(section.title)}[/bold]", align="left")
        for paragraph in section.paragraphs:
            console.print(escape(paragraph))
        if section.table is not None:
            table = RichTable(show_lines=True)
            for header in section.table.headers:
                table.add_column(escape(header), overflow="fold")
            for row in section.table.rows:
                table.add_row(*(escape(cell) for cell in row))
            console.print(table)
        for bullet in section.bullets:
            console.print(f"  • {escape(bullet)}")
    console.print()
    for note in doc.notes:
        console.print(f"[dim]{escape(note)}[/dim]")

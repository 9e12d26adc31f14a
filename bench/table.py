"""The one table ``python -m bench`` prints, with each figure's note below it."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from bench.model import PEER, Figure


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def render(figures: list[Figure], seconds: float) -> Group:
    table = Table(title=f"Benchmark ({seconds:.0f} s)", caption=f"peer: {PEER}, same targets, same run")
    for column in ("", "section", "measure", "ours", "peer", "ours/peer", "budget", "met"):
        table.add_column(column, justify="right" if column in ("ours", "peer", "ours/peer") else "left")
    notes = []
    for f in figures:
        ratio = f"{f.ours / f.peer:.2f}" if f.ours is not None and f.peer else "—"
        met = {True: "[green]yes", False: "[red]NO", None: ""}[f.met]
        mark = ""
        if f.note:
            notes.append(Text(f"[{len(notes) + 1}] {f.note}"))
            mark = f"[{len(notes)}]"
        table.add_row(mark, f.section, f.name, f"{_number(f.ours)} {f.unit}",
                      f"{_number(f.peer)} {f.unit}" if f.peer is not None else "—", ratio,
                      f.budget.text(f.unit) if f.budget else "", met)
    return Group(table, *notes)

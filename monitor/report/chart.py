"""The period's chart as PNG bytes (matplotlib, Agg; no pyplot global state).

Honest about coverage: an hour of the day or a day without any reliable result is hatched and
labelled "không có số liệu" (never drawn as 100 %); a partly measured day says its share under
its date. Peak hours are shaded; the legend sits below the plots, never on the data.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, TypedDict

from monitor.report.model import Report
from monitor.report.text import date, share

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NO_DATA = "Không có số liệu"
PEAK = "Giờ cao điểm (ngày làm việc)"


class _Hatch(TypedDict):
    facecolor: str
    edgecolor: str
    hatch: str
    linewidth: float


_HATCH: _Hatch = {"facecolor": "#dddddd", "edgecolor": "#888888", "hatch": "//", "linewidth": 0}


def hours_without_data(report: Report) -> list[int]:
    """Local hours of the day (0..23) in which no monitored platform has a latency measurement."""
    measured = [p for p in report.platforms if p.monitored and p.has_data]
    return [h for h in range(24) if all(p.hourly_latency[h] is None for p in measured)]


def days_without_data(report: Report) -> list[int]:
    """Indexes of the period's days on which no monitored platform has a reliable result."""
    measured = [p for p in report.platforms if p.monitored and p.has_data]
    return [d for d in range(len(report.days)) if all(p.daily_availability[d] is None for p in measured)]


def day_labels(report: Report) -> list[str]:
    """``29/05``; a day measured only in part adds its best platform's share (``29/05\\nsố liệu 42 %``)."""
    measured = [p for p in report.platforms if p.monitored and p.has_data]
    labels = []
    for index, start in enumerate(report.days):
        covered = max((p.coverage.daily[index] for p in measured), default=0.0)
        label = date(start)[:5]
        if 0 < covered < 0.995:
            label += f"\nsố liệu {share(covered)}"
        labels.append(label)
    return labels


def build_figure(report: Report, dpi: int = 110) -> Figure:
    """The matplotlib Figure: p95 by hour of day with complaints by hour (top), availability by day (bottom)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # optional dependency: only the chart needs it
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(10, 7.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1)
    measured = [p for p in report.platforms if p.monitored and p.has_data]
    colors = {p.id: f"C{n % 10}" for n, p in enumerate(measured)}
    hours = list(range(24))
    comma = FuncFormatter(lambda v, _: f"{v:g}".replace(".", ","))
    extra: list[Patch] = []

    for lo, hi in report.peak:  # an hour h is drawn from h - 0.5 to h + 0.5
        top.axvspan(lo / 3600 - 0.5, hi / 3600 - 0.5, color="#fff2cc", zorder=0)
    if report.peak:
        extra.append(Patch(color="#fff2cc", label=PEAK))
    empty_hours = hours_without_data(report)
    for h in empty_hours:
        top.axvspan(h - 0.5, h + 0.5, zorder=0.5, **_HATCH)
    bars = top.twinx()
    bars.bar(hours, report.hourly_complaints, color="#f4a582", alpha=0.5, width=0.8)
    if any(report.hourly_complaints):
        extra.append(Patch(color="#f4a582", alpha=0.5, label="Số phản ánh theo giờ"))
    bars.set_ylabel("Số phản ánh")
    bars.yaxis.get_major_locator().set_params(integer=True)
    top.set_zorder(bars.get_zorder() + 1)
    top.patch.set_visible(False)
    for p in measured:
        values = [v if v is not None else float("nan") for v in p.hourly_latency]
        top.plot(hours, values, marker="o", markersize=3, color=colors[p.id])
    top.set_title("Độ trễ p95 theo giờ trong ngày và số phản ánh theo giờ")
    top.set_xlabel("Giờ trong ngày (giờ Việt Nam)")
    top.set_ylabel("Độ trễ p95 (giây)")
    top.set_xticks(hours)
    top.set_xlim(-0.5, 23.5)
    top.yaxis.set_major_formatter(comma)

    days = list(range(len(report.days)))
    for p in measured:
        values = [v if v is not None else float("nan") for v in p.daily_availability]
        bottom.plot(days, values, marker="o", color=colors[p.id])
    bottom.set_title("Tỷ lệ truy cập thành công theo ngày")
    bottom.set_ylabel("Tỷ lệ (%)")
    bottom.set_xticks(days, day_labels(report), fontsize="small")
    bottom.set_xlim(-0.5, len(days) - 0.5)
    bottom.yaxis.set_major_formatter(comma)
    empty_days = days_without_data(report)
    for d in empty_days:
        bottom.axvspan(d - 0.5, d + 0.5, zorder=0.5, **_HATCH)
        bottom.text(d, 0.5, "không có\nsố liệu", transform=bottom.get_xaxis_transform(), ha="center",
                    va="center", fontsize="small", color="#444444")
    if empty_hours or empty_days:
        extra.append(Patch(label=NO_DATA, **_HATCH))
    if not measured:
        for axis in (top, bottom):
            axis.text(0.5, 0.5, "Không có số liệu đo", transform=axis.transAxes, ha="center", va="center")
    handles = [Patch(color=colors[p.id], label=p.name) for p in measured] + extra
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    return figure


def render_chart(report: Report, dpi: int = 110) -> bytes:
    """PNG bytes of :func:`build_figure`. Platforms without data are left out."""
    buffer = io.BytesIO()
    build_figure(report, dpi).savefig(buffer, format="png")
    return buffer.getvalue()

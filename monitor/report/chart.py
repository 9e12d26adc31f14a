"""The week's chart as PNG bytes (matplotlib, Agg; no pyplot global state)."""

from __future__ import annotations

import io

from monitor.report.model import Report
from monitor.report.text import date


def render_chart(report: Report, dpi: int = 110) -> bytes:
    """Top: p95 latency by local hour of day, a line per platform, complaints by hour as bars (right axis).

    Bottom: availability per day, a line per platform. Platforms without data are left out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # optional dependency: only the chart needs it
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(10, 7.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1)
    measured = [p for p in report.platforms if p.monitored and p.has_data]
    hours = list(range(24))

    bars = top.twinx()
    bars.bar(hours, report.hourly_complaints, color="#f4a582", alpha=0.5, width=0.8, label="Số phản ánh")
    bars.set_ylabel("Số phản ánh")
    bars.yaxis.get_major_locator().set_params(integer=True)
    top.set_zorder(bars.get_zorder() + 1)
    top.patch.set_visible(False)
    for p in measured:
        values = [v if v is not None else float("nan") for v in p.hourly_latency]
        top.plot(hours, values, marker="o", markersize=3, label=p.name)
    top.set_title("Độ trễ p95 theo giờ trong ngày và số phản ánh theo giờ")
    top.set_xlabel("Giờ trong ngày (giờ Việt Nam)")
    top.set_ylabel("Độ trễ p95 (giây)")
    top.set_xticks(hours)
    top.set_xlim(-0.5, 23.5)
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace(".", ",")))
    handles, labels = top.get_legend_handles_labels()
    more_handles, more_labels = bars.get_legend_handles_labels()
    if handles or more_handles:
        top.legend(handles + more_handles, labels + more_labels, fontsize="small", loc="upper left")

    days = list(range(len(report.days)))
    for p in measured:
        values = [v if v is not None else float("nan") for v in p.daily_availability]
        bottom.plot(days, values, marker="o", label=p.name)
    bottom.set_title("Tỷ lệ truy cập thành công theo ngày")
    bottom.set_ylabel("Tỷ lệ (%)")
    bottom.set_xticks(days, [date(d)[:5] for d in report.days])
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace(".", ",")))
    if measured:
        bottom.legend(fontsize="small", loc="lower left")
    else:
        for axis in (top, bottom):
            axis.text(0.5, 0.5, "Không có số liệu đo", transform=axis.transAxes, ha="center", va="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

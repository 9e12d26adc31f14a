"""``monitor demo``: the offline showcase — the lab and the live monitor together, time compressed.

The real scheduler, metrics server and store probe the lab on loopback; one
compressed clock (``speed`` simulated seconds per real second, from Monday 08:00
of the current bulletin week) drives both the lab's behaviour and the results'
timestamps, so a few real seconds show a morning's peak.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from monitor.config import Catalog, load_catalog
from monitor.domain import IncidentPolicy
from monitor.lab.behaviour import ScenarioWorld
from monitor.lab.complaints import as_complaints
from monitor.lab.lab import Lab, certificate_days
from monitor.lab.scenario import load_scenario
from monitor.lab.week import p50_p95_ms
from monitor.live import LiveIncidents
from monitor.localtime import VIETNAM, format_datetime
from monitor.looplag import LoopLagMonitor
from monitor.metrics import Metrics, serve
from monitor.probes import ProbeContext
from monitor.report.text import KIND
from monitor.result import ProbeResult
from monitor.scheduler import Prober, spread
from monitor.store import ResultWriter, open_store
from monitor.workcalendar import bulletin_week

DEMO_INTERVAL = 1.0  # real seconds between runs of each check: 2½ simulated minutes at the default speed
# The lab's delays are real seconds while the calendar is compressed, so the demo's checks judge
# latency on a compressed scale too: a timeout inside the 1 s interval, "slow" above 0.3 s (the
# demo scenario's slow event adds 0.5 s).
DEMO_TIMEOUT = 0.9
DEMO_SLOW_AFTER = 0.3
RECENT = 30  # results per platform kept for the live percentiles


class DemoView:
    """What the live table shows, per platform, from the results seen so far."""

    def __init__(self, catalog: Catalog, clock: Callable[[], float], metrics_url: str):
        self.catalog = catalog
        self.live = LiveIncidents(catalog, IncidentPolicy())
        self.clock = clock
        self.metrics_url = metrics_url
        self.recent: dict[str, deque[ProbeResult]] = {p.id: deque(maxlen=RECENT) for p in catalog.platforms}
        self.last_failure: dict[str, ProbeResult] = {}
        self.counts: dict[str, int] = {p.id: 0 for p in catalog.platforms}

    def add(self, result: ProbeResult) -> None:
        """Account for one result."""
        self.recent[result.platform].append(result)
        self.live.add(result)
        self.counts[result.platform] += 1
        if not result.success:
            self.last_failure[result.platform] = result

    def status(self, platform: str) -> Text:
        """Trạng thái hiện tại: the latest result of each check of the platform."""
        latest: dict[str, ProbeResult] = {}
        for result in self.recent[platform]:
            latest[result.check] = result
        if not latest:
            return Text("chưa đo", style="dim")
        failing = [r for r in latest.values() if not r.success]
        if not failing:
            return Text("bình thường", style="green")
        if len(failing) == len(latest):
            return Text("gián đoạn", style="bold red")
        return Text(f"lỗi {len(failing)}/{len(latest)} kiểm tra", style="yellow")

    def table(self) -> Group:
        """The rich renderable for one refresh."""
        table = Table(title=f"Giờ mô phỏng: {format_datetime(self.clock(), seconds=False)} (Asia/Ho_Chi_Minh)")
        for column in ("nền tảng", "trạng thái", "HTTP p50 ms", "HTTP p95 ms", "lỗi gần nhất", "số lần đo"):
            table.add_column(column, justify="right" if column.endswith(("ms", "đo")) else "left")
        for platform in self.catalog.platforms:
            if not platform.monitored:
                table.add_row(platform.name, Text("không giám sát (chưa có địa chỉ)", style="dim"), "—", "—", "—", "0")
                continue
            totals = [r.phases["total"] for r in self.recent[platform.id]  # page loads, not handshakes
                      if r.kind == "http" and r.success and "total" in r.phases]
            p50, p95 = p50_p95_ms(totals)
            failure = self.last_failure.get(platform.id)
            last = f"{failure.outcome} lúc {format_datetime(failure.started_at, seconds=False)}" if failure else "—"
            table.add_row(platform.name, self.status(platform.id), p50, p95, last, str(self.counts[platform.id]))
        names = {p.id: p.name for p in self.catalog.platforms}
        incidents = [Text(f"Sự cố đang diễn ra: {names.get(i.platform, i.platform)} — {KIND[i.kind]} từ "
                          f"{format_datetime(i.start, seconds=False)}", style="bold red") for i in self.live.open()]
        return Group(table, *incidents, Text(f"metrics: {self.metrics_url}   (Ctrl-C để dừng)", style="dim"))


def demo_catalog(catalog: Catalog) -> Catalog:
    """The lab's checks on the demo's compressed scale: every :data:`DEMO_INTERVAL` real seconds, with
    :data:`DEMO_TIMEOUT` and :data:`DEMO_SLOW_AFTER` (see there)."""
    return Catalog(tuple(
        p.model_copy(update={"slow_after": DEMO_SLOW_AFTER, "checks": [
            c.model_copy(update={"interval": DEMO_INTERVAL, "timeout": min(c.timeout, DEMO_TIMEOUT)})
            for c in p.checks]})
        for p in catalog.platforms))


def monday_morning(week_start: float) -> float:
    """Monday 08:00 local of the bulletin week starting at ``week_start`` (a local midnight)."""
    day = dt.datetime.fromtimestamp(week_start, VIETNAM)
    days_to_monday = (7 - day.weekday()) % 7
    return (day + dt.timedelta(days=days_to_monday)).replace(hour=8).timestamp()


async def run_demo(directory: Path, checks: list[Path], duration: float | None, scenario: str = "demo",
                   speed: float = 150.0, console: Console | None = None) -> int:
    """Run until ``duration`` real seconds pass or SIGINT/SIGTERM; return the exit code."""
    console = console or Console()
    year, number, _ = dt.date.today().isocalendar()
    week = f"{year}-W{number:02d}"
    week_start, week_end = bulletin_week(week)
    origin, real_origin = monday_morning(week_start), time.time()

    def clock() -> float:
        return origin + (time.time() - real_origin) * speed

    source = load_catalog(checks)
    world = ScenarioWorld(load_scenario(scenario), week_start, week_end, [p.id for p in source.platforms])
    lab = Lab(source, world, directory, epoch=week_start, live_clock=clock,
              certificate_days=certificate_days(world.scenario, source))
    await lab.start()
    catalog = demo_catalog(load_catalog([directory / "checks.yml"]))
    history = open_store(directory / "demo.db")
    writer = ResultWriter(history).start()
    metrics = Metrics()
    metrics.store_pending.set_function(lambda: writer.pending)
    server, _ = serve(metrics, "127.0.0.1", 0)
    view = DemoView(catalog, clock, f"http://127.0.0.1:{server.server_port}/metrics")

    def sink(result: ProbeResult) -> None:
        writer.submit(result)
        view.add(result)

    prober = Prober(spread((p.id, c) for p, c in catalog.checks()), ProbeContext(location="demo", wall_clock=clock),
                    metrics, sink, loop_lag=LoopLagMonitor(0.05, observe=metrics.loop_lag.observe))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console.print(f"lab: {directory}; metrics at {view.metrics_url}")
    prober.start()
    try:
        with Live(view.table(), console=console, refresh_per_second=2) as live:
            deadline = None if duration is None else loop.time() + duration
            while not stop.is_set() and (deadline is None or loop.time() < deadline):
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except TimeoutError:
                    pass
                live.update(view.table())
    finally:
        await prober.stop(grace=3)
        await asyncio.to_thread(writer.close, 10)
        server.shutdown()
        server.server_close()
        history.close()
        await lab.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    console.print(f"\n{writer.committed} results stored in {directory / 'demo.db'}; "
                  f"truth in {directory / 'truth.jsonl'}")
    paths, truth = write_demo_report(directory, catalog, origin, clock(), DEMO_INTERVAL * speed)
    console.print(truth)
    for path in paths:
        console.print(f"báo cáo: {path}")
    return 0


def write_demo_report(directory: Path, catalog: Catalog, start: float, end: float, interval: float = 0.0
                      ) -> tuple[list[Path], Group]:
    """Complaints the lab's faults would have caused, imported; the report of the simulated span; and the
    lab's truth beside what was found (scripted events, complaint verdicts), to print."""
    from monitor.assessment import gather, save, weekly_report
    from monitor.complaints.classify import classify
    from monitor.config import Settings
    from monitor.lab.complaints import ComplaintCause, synthesize
    from monitor.lab.sidebyside import complaint_rows, event_rows, render
    from monitor.lab.week import read_truth
    from monitor.report import write_report

    settings = Settings(store=directory / "demo.db")
    truth = read_truth(directory / "truth.jsonl")
    complaints = synthesize(truth, catalog.platforms, start, end)
    store = open_store(settings.store)
    try:
        store.add_complaints([(c, classify(c, catalog.platforms)) for c in as_complaints(complaints)], "demo", end)
        evidence = gather(store, catalog, start, end, end, settings.incidents, settings.matching)
        save(store, evidence)  # the demo owns its store
    finally:
        store.close()
    report = weekly_report(evidence, catalog, settings, end)
    paths = write_report(report, directory / "reports", ("md", "docx", "html"), stem="bao-cao-demo")
    confirmation = settings.incidents.failures_to_open * interval
    rows = event_rows(truth, evidence.incidents, start, end, confirmation, end)
    causes: list[ComplaintCause] = [{"id": c.id, "event_id": c.event_id, "platform": c.platform} for c in complaints]
    return paths, render(rows, complaint_rows(causes, evidence.matches))

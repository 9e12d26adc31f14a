"""``monitor simulate``: a whole bulletin week against the lab, in minutes.

The lab runs as a subprocess (``monitor lab``), so on two cores it serves on one
while the probes run on the other. The driver (:mod:`monitor.lab.simulate`) stores
results stamped with simulated time; stopping the lab writes its ground truth,
from which a synthetic PAKN export for the week is written.
"""

from __future__ import annotations

import asyncio
import json
import selectors
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from monitor.config import Catalog, load_catalog
from monitor.lab.complaints import synthesize, write_export, write_truth
from monitor.lab.simulate import count_runs, drive
from monitor.lab.world import TruthEvent
from monitor.probes import ProbeContext
from monitor.result import ProbeResult
from monitor.scheduler import spread
from monitor.store import ResultWriter, open_store
from monitor.workcalendar import bulletin_week

LAB_READY_TIMEOUT = 60.0


@dataclass
class WeekSummary:
    """What a simulated week produced."""

    truth: Path  # the lab's ground truth (JSON lines)
    export: Path  # the synthetic PAKN export
    complaint_truth: Path  # what each synthetic complaint is about (JSON lines)
    results: int = 0
    unreliable: int = 0  # measured while the prober itself was stalled; excluded from figures
    seconds: float = 0.0
    by_platform: dict[str, list[ProbeResult]] = field(default_factory=dict)
    start: float = 0.0  # the simulated span [start, end)
    end: float = 0.0
    interval: float = 0.0  # the finest check interval probed, seconds


def coarsen(catalog: Catalog, interval: float) -> Catalog:
    """The same checks at a coarser interval (timeouts kept below it), for short runs."""
    platforms = []
    for platform in catalog.platforms:
        checks = [c.model_copy(update={"interval": interval, "timeout": min(c.timeout, interval / 2)})
                  for c in platform.checks]
        platforms.append(platform.model_copy(update={"checks": checks}))
    return Catalog(tuple(platforms))


class LabProcess:
    """``monitor lab`` as a subprocess, ready once it says so."""

    def __init__(self, scenario: str, week: str, directory: Path, checks: list[Path], speed: float = 1.0):
        directory.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "monitor.cli", "lab", "--scenario", scenario, "--week", week,
                   "--dir", str(directory), "--speed", str(speed)]
        for path in checks:
            command += ["--checks", str(path)]
        self.log = (directory / "lab.log").open("w", encoding="utf-8")
        # Unbuffered bytes: wait_ready selects on the pipe, and a buffer would hide lines already read.
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, bufsize=0)
        self.directory = directory

    def wait_ready(self, timeout: float = LAB_READY_TIMEOUT) -> list[str]:
        """The lab's announcement lines; raises if it exits or stays silent."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as waiting:  # a silent lab must not block us past the deadline
            waiting.register(self.process.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0 and waiting.select(left):
                raw = self.process.stdout.readline()  # the lab prints whole, flushed lines
                if not raw:
                    break
                lines.append(raw.decode("utf-8").rstrip())
                if lines[-1] == "lab ready":
                    return lines
        self.stop()
        log = (self.directory / "lab.log").read_text(encoding="utf-8")
        raise RuntimeError(f"the lab did not start: {' | '.join(lines)} {log[-2000:]}")

    def stop(self) -> int:
        """SIGTERM (the lab writes its ground truth) and wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        return self.process.returncode


def read_truth(path: Path) -> list[TruthEvent]:
    """Truth events from the lab's JSONL file."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            events.append(TruthEvent(data["id"], data["platform"], data["kind"], data["start"], data["end"],
                                     data.get("params", {})))
    return events


async def simulate_week(scenario: str, week: str, directory: Path, store: Path, checks: list[Path],
                        location: str = "sim", days: float | None = None, interval: float | None = None,
                        concurrency: int = 200, seed: int = 0, console: Console | None = None) -> WeekSummary:
    """Run the week (or its first ``days``) against a fresh lab; store results; write truth and complaints."""
    console = console or Console()
    start, end = bulletin_week(week)
    if days is not None:
        end = min(end, start + days * 86400)
    lab = LabProcess(scenario, week, directory, checks)
    summary = WeekSummary(truth=directory / "truth.jsonl", export=directory / f"pakn-{week}.csv",
                          complaint_truth=directory / "complaints-truth.jsonl", start=start, end=end)
    try:
        lab.wait_ready()
        catalog = load_catalog([directory / "checks.yml"])
        if interval is not None:
            catalog = coarsen(catalog, interval)
        jobs = spread((p.id, c) for p, c in catalog.checks())
        summary.interval = min(c.interval for _, c in catalog.checks())
        total = count_runs(jobs, start, end)
        history = open_store(store)
        writer = ResultWriter(history, batch_size=2000).start()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        began = time.monotonic()
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"tuần {week}: probing the lab", total=total)

            def collect(result: ProbeResult) -> None:
                writer.submit(result)
                summary.by_platform.setdefault(result.platform, []).append(result)
                progress.advance(task)

            summary.results = await drive(jobs, start, end, start, collect, ProbeContext(location=location),
                                          concurrency=concurrency)
        summary.unreliable = sum(r.unreliable for rs in summary.by_platform.values() for r in rs)
        summary.seconds = time.monotonic() - began
        await asyncio.to_thread(writer.close, 60)
        history.close()
    finally:
        lab.stop()
    complaints = synthesize(read_truth(summary.truth), catalog.platforms, start, end, seed=seed)
    write_export(summary.export, complaints)
    write_truth(summary.complaint_truth, complaints)
    return summary


def p50_p95_ms(seconds: list[float]) -> tuple[str, str]:
    """Median and 95th percentile in whole milliseconds, "—" where there are too few values."""
    p50 = f"{statistics.median(seconds) * 1000:.0f}" if seconds else "—"
    p95 = f"{statistics.quantiles(seconds, n=20)[-1] * 1000:.0f}" if len(seconds) >= 2 else "—"
    return p50, p95


def platform_lines(summary: WeekSummary) -> list[tuple[str, int, str, str, str, str]]:
    """Per platform: results, availability, p50/p95 of successful totals (ms), top failure reasons."""
    rows = []
    for platform, results in sorted(summary.by_platform.items()):
        results = [r for r in results if not r.unreliable]
        ok = [r.phases["total"] for r in results if r.success and "total" in r.phases]
        reasons: dict[str, int] = {}
        for r in results:
            if not r.success:
                reasons[r.outcome] = reasons.get(r.outcome, 0) + 1
        top = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        p50, p95 = p50_p95_ms(ok)
        rows.append((platform, len(results), f"{100 * len(ok) / len(results):.2f} %", p50, p95, top or "—"))
    return rows

"""How long ``monitor report`` takes for a week of 50 platforms × 3 locations at 30 s (≈3 million results).

The issue's budget: at most 5 s on the project's 2-core machine. The week is generated
straight into a history store (:mod:`bench.history`), its PAKN export imported with the real
``monitor complaints import``, then the real CLI ``monitor report`` runs as a subprocess on
it, the way an editor runs it; wall clock (best of 3) and peak RSS of the child are reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.context import BenchContext
from bench.daemon import environment
from bench.history import WEEK, generate
from bench.model import Budget, Figure

SECTION = "report"
RUNS = 3
BUDGET = 5.0  # seconds
TIMEOUT = 600.0  # seconds per CLI run: a bound, far above any plausible time


def _environment(history_dir: Path) -> dict[str, str]:
    return environment(MONITOR_STORE=str(history_dir / "monitor.db"),
                       MONITOR_CHECKS=f'["{history_dir / "checks.yml"}"]',
                       MONITOR_REPORTS=str(history_dir / "reports"), COLUMNS="160")


def _monitor(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``monitor ARGS`` to the end; return (wall seconds, the child's peak RSS in MB).

    The peak is the child's ``VmHWM`` (``/proc/PID/status``), read every 2 ms until it exits: the
    high-water mark of the program after ``exec``. ``wait4``'s ``ru_maxrss`` (used when /proc cannot
    be read) also counts the moment between fork and exec, when the child still maps this process's
    memory: after generating a week, that was 578 MB for a report that peaks at 240 MB.
    Output goes to files, so no pipe can fill.
    """
    out, err = cwd / "monitor.out", cwd / "monitor.err"
    status_file = None
    hwm = 0.0
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "monitor.cli", *args], cwd=cwd, env=env,
                                   stdout=stdout, stderr=stderr)
        status_file = Path(f"/proc/{process.pid}/status")
        while True:
            try:
                for line in status_file.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm = float(line.split()[1]) / 1024  # kB; the latest read is the peak after exec
            except OSError:
                pass
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - began > TIMEOUT:
                process.kill()
                os.wait4(process.pid, 0)
                raise RuntimeError(f"monitor {' '.join(args)} did not finish in {TIMEOUT:.0f} s")
            time.sleep(0.002)
        elapsed = time.perf_counter() - began
    process.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if code:
        raise RuntimeError(f"monitor {' '.join(args)} failed ({code}): {err.read_text(errors='replace')[-2000:]}")
    return elapsed, hwm or usage.ru_maxrss / 1024  # both in kilobytes on Linux


def run(ctx: BenchContext) -> list[Figure]:
    platforms = 5 if ctx.quick else 50
    history_dir = ctx.workdir / "history"
    ctx.say(f"generating a week of {platforms} platforms × 3 locations at 30 s …")
    history = generate(history_dir, platforms=platforms, say=ctx.say)
    ctx.say(f"{history.results:,} results and {len(history.events)} faults in {history.seconds:.1f} s")
    env = _environment(history_dir)
    if history.complaints is not None:
        _monitor(["complaints", "import", str(history.complaints)], history_dir, env)
    args = ["report", "--week", WEEK]  # shown (to a file) and written, as an editor runs it
    times, peaks = [], []
    for attempt in range(1, RUNS + 1):
        elapsed, peak = _monitor(args, history_dir, env)
        times.append(elapsed)
        peaks.append(peak)
        ctx.say(f"monitor report, run {attempt}/{RUNS}: {elapsed:.2f} s, peak RSS {peak:.0f} MB")
        if elapsed > 2 * BUDGET:
            break  # far over the budget: more runs would only make the benchmark slower
    note = (f"best of {len(times)} ({', '.join(f'{t:.2f}' for t in times)} s); md, docx, html; "
            f"history generated in {history.seconds:.0f} s")
    return [
        Figure(SECTION, f"weekly report over {history.results:,} results", "s", min(times),
               budget=Budget("<=", limit=BUDGET), note=note),
        Figure(SECTION, f"weekly report peak RSS ({history.results:,} results)", "MB", max(peaks),
               note="the monitor report process, largest of the runs"),
    ]


FLEET_LOCATIONS = tuple(f"tinh{n:02d}" for n in range(34))  # a prober per province
FLEET_BUDGET = 15.0  # seconds (issue 13: on PostgreSQL; this measures the SQLite store)


def fleet(ctx: BenchContext) -> list[Figure]:
    """The weekly report over a fleet week: 20 checks (one per platform) × 34 locations × 30 s ≈ 13.7 M results,
    on SQLite, run once (generating the week takes minutes). Not a section of ``python -m bench``; run it with
    ``python -c "from bench.report_time import main_fleet; main_fleet()"``."""
    history_dir = ctx.workdir / "fleet"
    ctx.say("generating a fleet week: 20 checks × 34 locations at 30 s …")
    history = generate(history_dir, platforms=20, say=ctx.say, locations=FLEET_LOCATIONS)
    ctx.say(f"{history.results:,} results and {len(history.events)} faults in {history.seconds:.1f} s")
    env = _environment(history_dir)
    if history.complaints is not None:
        _monitor(["complaints", "import", str(history.complaints)], history_dir, env)
    elapsed, peak = _monitor(["report", "--week", WEEK], history_dir, env)
    ctx.say(f"monitor report: {elapsed:.2f} s, peak RSS {peak:.0f} MB")
    return [
        Figure(SECTION, f"fleet weekly report over {history.results:,} results (SQLite)", "s", elapsed,
               budget=Budget("<=", limit=FLEET_BUDGET), note="one run; the budget is for PostgreSQL"),
        Figure(SECTION, f"fleet weekly report peak RSS ({history.results:,} results)", "MB", peak),
    ]


def main_fleet() -> None:
    """Run :func:`fleet` in a temporary directory and print its figures."""
    import tempfile

    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        ctx = BenchContext(workdir=Path(tmp) / "fleet-report", quick=False, console=console)
        ctx.workdir.mkdir()
        for figure in fleet(ctx):
            console.print(figure)

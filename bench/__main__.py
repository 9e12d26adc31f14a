"""``python -m bench``: measure the prober beside blackbox_exporter, and the rest at scale.

Prints one table and writes the same figures as JSON. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.context import BenchContext
from bench.model import Figure
from bench.table import render

# section -> "module:function"; each function takes a BenchContext and returns its figures
SECTIONS = {
    "fidelity": "bench.probing:fidelity_and_capacity",
    "cost": "bench.probing:cost",
    "scale": "bench.scale:run",
    "report": "bench.report_time:run",
    "intake": "bench.intake:run",
    "statuspage": "bench.statuspage:run",
    "spool": "bench.spool:run",
    "pgwrite": "bench.pg_write:run",
    "workers": "bench.workers:run",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="shorter runs and smaller data (a smoke run, not figures)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="where to write the figures")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    console = Console(stderr=True)
    figures: list[Figure] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        for name in chosen:
            module, function = SECTIONS[name].split(":")
            ctx = BenchContext(workdir=Path(tmp) / name, quick=args.quick, console=console)
            ctx.workdir.mkdir()
            console.rule(f"[bold]{name}")
            figures += getattr(importlib.import_module(module), function)(ctx)
    elapsed = time.monotonic() - began

    Console(width=max(Console().width, 140)).print(render(figures, elapsed))
    args.json.write_text(json.dumps({
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": _cpus()},
        "quick": args.quick, "seconds": round(elapsed, 1), "figures": [f.as_json() for f in figures],
    }, ensure_ascii=False, indent=2) + "\n")
    console.print(f"figures written to {args.json}")
    return 0


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())

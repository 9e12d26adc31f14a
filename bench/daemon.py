"""The real ``monitor run`` as the benchmark starts it: generated checks, its own settings, pinned, stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.procs import free_port, pinned, stop, wait_listening


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without the caller's ``MONITOR_*`` (they would point elsewhere), plus ``settings``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | settings


def checks_yaml(url: str, ca_file: Path, count: int, interval: float, timeout: float, per_platform: int,
                tagged: bool = False) -> str:
    """``count`` HTTP checks of ``url`` trusting ``ca_file``, ``per_platform`` to a platform; ``tagged``: each
    check's URL ends in ``?probe=<its id>``, for the target's log of how long it held each request."""
    lines = ["platforms:"]
    for p in range(-(-count // per_platform)):
        lines += [f"  - id: platform-{p:03d}", f"    name: Nền tảng {p}", "    domains: [bench.test]", "    checks:"]
        lines += [f'      - {{id: c{i:04d}, kind: http, url: "{url}{f"?probe=c{i:04d}" if tagged else ""}", '
                  f'interval: {interval:g}s, timeout: {timeout:g}s, '
                  f'tls: {{ca_file: "{ca_file}"}}}}'
                  for i in range(p * per_platform, min(count, (p + 1) * per_platform))]
    return "\n".join(lines) + "\n"


@contextmanager
def running(workdir: Path, checks: str, cpu: int | None, **settings: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """``monitor run`` on ``checks`` (YAML text) with its store in ``workdir``; yields (process, metrics port).

    Its output goes to ``workdir/daemon.log``; SIGTERM at the end of the block.
    """
    path = workdir / "checks.yml"
    path.write_text(checks, encoding="utf-8")
    port = free_port()
    env = environment(MONITOR_CHECKS=json.dumps([str(path)]), MONITOR_STORE=str(workdir / "history.db"),
                      MONITOR_LISTEN_PORT=str(port), MONITOR_LOCATION="bench",
                      MONITOR_REPORTS=str(workdir / "reports"), **settings)
    with open(workdir / "daemon.log", "w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run"], env=env, cwd=workdir, stdout=log,
                                  stderr=subprocess.STDOUT, preexec_fn=pinned(cpu))
    try:
        wait_listening(port, daemon, timeout=60)
        yield daemon, port
    finally:
        stop(daemon)

"""Run ``monitor`` as a real subprocess, as an operator would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path


def write_checks(directory: Path, port: int, interval: str = "1s", timeout: str = "500ms", count: int = 2) -> Path:
    """A checks file with ``count`` HTTP checks of the real name pinned to the loopback server."""
    lines = ["platforms:", "  - id: sotaydangvien", "    name: Sổ tay đảng viên điện tử", "    checks:"]
    for i in range(count):
        lines.append(f'      - {{id: c{i}, kind: http, url: "http://sotaydangvien.dcs.vn/ok", interval: {interval}, '
                     f'timeout: {timeout}, resolve: {{sotaydangvien.dcs.vn: "127.0.0.1:{port}"}}}}')
    path = directory / "checks.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Daemon:
    """``monitor run`` in a subprocess; stdout and stderr collected line by line."""

    def __init__(self, checks: Path, store: Path, *extra: str):
        env = {**os.environ, "COLUMNS": "400", "MONITOR_LISTEN_PORT": "0", "MONITOR_SHUTDOWN_GRACE": "3"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--checks", str(checks), "--store", str(store), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, sink in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()

    def wait_for(self, pattern: str, stream: str = "stdout", timeout: float = 15.0) -> re.Match:
        """The first line matching ``pattern``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        lines = self.stdout if stream == "stdout" else self.stderr
        while time.monotonic() < deadline:
            for line in list(lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None and not lines:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in {stream}: {''.join(lines)}\nstderr: {''.join(self.stderr)}")

    def metrics_url(self) -> str:
        return self.wait_for(r"metrics at (http://\S+/metrics)").group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

"""CPU per probe of the two HTTP paths, side by side in one process: ``python -m bench.http_paths``.

The benchmark's target (nginx over TLS, pinned to the second CPU) is probed with a fresh connection and
TLS handshake per probe, as the daemon does, by ``run_check`` on each path (lean, and httpx forced by
``MONITOR_HTTP_PATH=httpx``) for ``http_version: auto`` (the default) and ``"1.1"``. The paths take
turns in short rounds so a busy moment of the machine falls on all of them; each round's CPU time (this
process, all threads) is divided by its probes, and the median round is printed. ``--rate`` paces
probes (the daemon's case: an idle CPU between probes costs more per probe), 0 runs them back to back.

The ``floor`` row is what no probe in Python can go under with this stream: a fresh connection and TLS
handshake on the probe's own stream (:mod:`monitor.probes._stream`), one fixed request written and one read
of its answer, nothing parsed, no phases, no result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.procs import running_on, two_cpus
from bench.targets import nginx_target
from monitor.config.model import HttpCheck
from monitor.probes import ProbeContext
from monitor.probes._stream import connect
from monitor.probes.http import lean_eligible
from monitor.runner import run_check

PATHS = {"lean auto": ("auto", "lean"), "httpx auto": ("auto", "httpx"), "lean 1.1": ("1.1", "lean"),
         "httpx 1.1": ("1.1", "httpx")}


async def _round(check: HttpCheck, ctx: ProbeContext, probes: int, rate: float) -> tuple[float, int]:
    """(CPU seconds, failures) of ``probes`` probes, paced at ``rate`` per second (0: back to back)."""
    loop = asyncio.get_running_loop()
    failures = 0
    began_cpu, began = time.process_time(), loop.time()
    for n in range(probes):
        if rate:
            await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
        failures += not (await run_check("bench", check, ctx)).success
    return time.process_time() - began_cpu, failures


async def _floor_round(url: str, ctx: ProbeContext, ca_file: Path, probes: int, rate: float) -> tuple[float, int]:
    """As :func:`_round`, for the floor: connect, handshake, one request, one read, close."""
    loop = asyncio.get_running_loop()
    host, port = url.split("//")[1].strip("/").split(":")
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    context = await ctx.ssl_context(True, ca_file)
    failures = 0
    began_cpu, began = time.process_time(), loop.time()
    for n in range(probes):
        if rate:
            await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
        stream = await connect(host, int(port), None, lambda window: None, lambda ago: None)
        try:
            await stream.start_tls(context, server_hostname=host)
            await stream.write(request)
            failures += not (await stream.read(65536)).startswith(b"HTTP/1.1 200")
        finally:
            stream.abort()
    return time.process_time() - began_cpu, failures


async def _measure(url: str, ca_file: Path, rounds: int, probes: int, rate: float) -> dict[str, list[float]]:
    ctx = ProbeContext(location="bench")
    per_probe: dict[str, list[float]] = {name: [] for name in (*PATHS, "floor")}
    checks = {name: HttpCheck.model_validate({"id": "c", "kind": "http", "url": url, "http_version": version,
                                              "tls": {"ca_file": str(ca_file)}, "timeout": 2, "interval": 30})
              for name, (version, _) in PATHS.items()}
    assert all(lean_eligible(check) for check in checks.values())
    for name, check in checks.items():  # warm up: imports, the SSL context, caches
        os.environ["MONITOR_HTTP_PATH"] = PATHS[name][1]
        await _round(check, ctx, 20, 0)
    await _floor_round(url, ctx, ca_file, 20, 0)
    for _ in range(rounds):
        for name, check in checks.items():
            os.environ["MONITOR_HTTP_PATH"] = PATHS[name][1]
            cpu, failures = await _round(check, ctx, probes, rate)
            if failures:
                raise SystemExit(f"{failures} of {probes} probes failed on the {name} path: is nginx serving?")
            per_probe[name].append(cpu / probes)
        cpu, failures = await _floor_round(url, ctx, ca_file, probes, rate)
        if failures:
            raise SystemExit(f"{failures} of {probes} requests failed on the floor: is nginx serving?")
        per_probe["floor"].append(cpu / probes)
    os.environ.pop("MONITOR_HTTP_PATH", None)
    return per_probe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_paths", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--probes", type=int, default=200, help="probes per path per round")
    parser.add_argument("--rate", type=float, default=0, help="probes per second (0: back to back)")
    args = parser.parse_args(argv)
    measured, driver = two_cpus()
    with tempfile.TemporaryDirectory() as workdir, nginx_target(Path(workdir), cpu=driver) as target, \
            running_on(measured):
        per_probe = asyncio.run(_measure(target.url, target.ca_file, args.rounds, args.probes, args.rate))
    medians = {name: statistics.median(values) for name, values in per_probe.items()}
    pace = f"{args.rate:g}/s" if args.rate else "back to back"
    print(f"CPU per probe, fresh TLS, {args.rounds} rounds of {args.probes} probes per path, {pace} "
          "(median round; min-max):")
    for name, values in per_probe.items():
        print(f"  {name:<10} {medians[name] * 1000:.2f} ms ({min(values) * 1000:.2f}-{max(values) * 1000:.2f})")
    print(f"  lean / httpx: auto {medians['lean auto'] / medians['httpx auto']:.2f}, "
          f"1.1 {medians['lean 1.1'] / medians['httpx 1.1']:.2f}; lean 1.1 / floor "
          f"{medians['lean 1.1'] / medians['floor']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

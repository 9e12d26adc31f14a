"""Realistic probe results for the scale benchmarks: 1,000 checks, successes with every phase, some failures."""

from __future__ import annotations

import random
from collections.abc import Iterator

from monitor.result import ProbeResult, Reason

LOCATIONS = ("hanoi", "caobang", "hcm")
CHECKS_PER_PLATFORM = 10
FAILURE_SHARE = 0.05  # of results; a bad day on a few platforms, not an outage everywhere
# Failures as probes really report them: the phases that completed before the failure, none after.
FAILURES = (
    (Reason.READ_TIMEOUT, ("resolve", "connect", "tls"), "deadline of 10s exceeded during processing", None),
    (Reason.HTTP_STATUS, ("resolve", "connect", "tls", "processing", "transfer"), "status 503 not in 200-399", 503),
    (Reason.CONNECT_REFUSED, ("resolve",), "connection refused", None),
    (Reason.TLS_HANDSHAKE, ("resolve", "connect"), "handshake failed: unexpected eof", None),
)


def check_names(count: int) -> list[tuple[str, str]]:
    """``count`` (platform, check) pairs: 10 checks per platform, ids like the shipped ones."""
    return [(f"platform-{i // CHECKS_PER_PLATFORM:03d}", f"home-{i % CHECKS_PER_PLATFORM}") for i in range(count)]


def result(platform: str, check: str, location: str, started_at: float, rng: random.Random) -> ProbeResult:
    """One HTTP result: usually a success with all six phases; sometimes a failure with the phases it completed."""
    resolve, connect, tls = rng.uniform(0.0005, 0.02), rng.uniform(0.002, 0.06), rng.uniform(0.01, 0.12)
    processing, transfer = rng.lognormvariate(-2.0, 0.8), rng.uniform(0.001, 0.2)
    timings = {"resolve": resolve, "connect": connect, "tls": tls, "processing": processing, "transfer": transfer}
    common = dict(platform=platform, check=check, kind="http", location=location, started_at=started_at,
                  peer="127.0.0.1:443", cert_expiry=started_at + 60 * 86400,
                  details={"http_version": "HTTP/1.1", "tls_version": "TLSv1.3", "body_bytes": 5120})
    if rng.random() >= FAILURE_SHARE:
        total = sum(timings.values())
        return ProbeResult(**common, success=True, duration=total + 0.001, status_code=200,
                           phases={**timings, "total": total})
    reason, completed, error, status = rng.choice(FAILURES)
    phases = {phase: timings[phase] for phase in completed}
    duration = 10.0 if reason == Reason.READ_TIMEOUT else sum(phases.values()) + 0.001
    return ProbeResult(**common, success=False, duration=duration, reason=reason, error=error,
                       status_code=status, phases=phases)


def stream(checks: int, started_at: float = 1_780_000_000.0, seed: int = 7) -> Iterator[ProbeResult]:
    """Results round after round over ``checks`` checks × the locations; endless (callers bound it)."""
    rng = random.Random(seed)
    names = [(p, c, loc) for p, c in check_names(checks) for loc in LOCATIONS]
    moment = started_at
    while True:
        for platform, check, location in names:
            yield result(platform, check, location, moment, rng)
        moment += 30.0

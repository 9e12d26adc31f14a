"""Probes: one module per check kind, each ``async def probe(check, ctx, obs) -> None``.

A probe describes what it saw in the :class:`Observation` and raises
:class:`monitor.errors.ProbeFailure` with a closed-set reason on failure. The
runner (:mod:`monitor.runner`) does the shared work: deadline, timing, result.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from monitor.probes import dns, http, tcp, tls
from monitor.probes.base import Observation, ProbeContext

ProbeFn = Callable[[Any, ProbeContext, Observation], Awaitable[None]]

PROBES: dict[str, ProbeFn] = {
    "http": http.probe,
    "tls": tls.probe,
    "dns": dns.probe,
    "tcp": tcp.probe,
}

__all__ = ["PROBES", "Observation", "ProbeContext", "ProbeFn"]

"""The prober checks its own network, so its own outage is never reported as the platforms'.

A :class:`SelfCheck` probes a reference target you configure (``self_check.url``: any HTTP
answer means the uplink works, e.g. the central Prometheus or a gateway) and asks the
prober's resolver for a name (``self_check.resolve_name``; the system resolver or
``self_check.resolver``). It runs every ``interval`` seconds, and once more whenever a probe
fails: a failed result is only accepted as the platform's once a self-check that *started
after that probe started* has passed. When it fails, the failed result is marked as the
prober's own failure: ``unreliable`` with ``details["prober_network"]`` = why, stored as
such, kept out of the ``probe_*`` series (it counts in ``monitor_unreliable_results_total``)
and never opens an incident (:func:`monitor.incidents.detect` skips it). A success stays
evidence: the platform answered. ``monitor_self_check_ok{location}`` says the latest verdict.

At most one self-check runs at a time; failures arriving while one runs wait for the next,
so a platform outage of a thousand checks costs a self-check after another, not a thousand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from monitor.config.model import DnsCheck, HttpCheck
from monitor.config.selfcheck import SelfCheckSettings
from monitor.probes import ProbeContext
from monitor.result import PROBER_NETWORK as FLAG
from monitor.result import ProbeResult
from monitor.runner import run_check

log = logging.getLogger(__name__)


def own_failure(result: ProbeResult) -> bool:
    """Whether ``result`` failed because the prober's own network was down (see the module doc)."""
    return bool(result.details.get(FLAG))


class SelfCheck:
    """Runs the self-check periodically and on demand; exports the verdict through ``on_verdict``."""

    def __init__(self, settings: SelfCheckSettings, ctx: ProbeContext,
                 on_verdict: Callable[[bool], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.ctx = ctx
        self._on_verdict = on_verdict
        self._clock = clock
        common = {"interval": settings.interval, "timeout": settings.timeout}
        self.checks: list[HttpCheck | DnsCheck] = []
        if settings.url is not None:
            self.checks.append(HttpCheck.model_validate({
                "id": "self-check-target", "kind": "http", "url": str(settings.url), "follow_redirects": False,
                "expect_status": ["100-599"], **common}))
        if settings.resolve_name is not None:
            fields = {"id": "self-check-resolver", "kind": "dns", "name": settings.resolve_name, **common}
            if settings.resolver is not None:
                fields["server"] = settings.resolver
            self.checks.append(DnsCheck.model_validate(fields))
        self.ok: bool | None = None  # the latest verdict; None before the first
        self.reason: str | None = None  # why the latest failed
        self._task: asyncio.Task[str | None] | None = None
        self._task_started = -float("inf")

    def now(self) -> float:
        """A reading of this object's clock, for :meth:`confirm`'s ``started``."""
        return self._clock()

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            await self.verdict(self._clock())
            await asyncio.sleep(self.settings.interval)

    async def verdict(self, since: float) -> str | None:
        """Why the network is down (``None``: it works), from a self-check started at or after ``since``
        (a reading of this object's clock)."""
        while True:
            task = self._task
            if task is not None and not task.done():
                if self._task_started >= since:
                    return await asyncio.shield(task)
                await asyncio.wait([task])  # started too early to judge this failure: wait for the next one
                continue
            if task is not None and self._task_started >= since:
                return task.result()
            self._task_started = self._clock()
            self._task = asyncio.get_running_loop().create_task(self._check())

    async def confirm(self, result: ProbeResult, started: float) -> ProbeResult:
        """``result`` as is, or marked as the prober's own failure when it failed and the self-check
        started after the probe (``started``, this object's clock) fails too."""
        if result.success:
            return result
        reason = await self.verdict(started)
        if reason is None:
            return result
        return replace(result, unreliable=True, details={**result.details, FLAG: reason})

    async def _check(self) -> str | None:
        results = await asyncio.gather(*(run_check("self-check", check, self.ctx) for check in self.checks))
        failed = [f"{'resolver' if r.kind == 'dns' else 'target'}: {r.error or r.outcome}"
                  for r in results if not r.success]
        reason = "; ".join(failed) or None
        ok = reason is None
        if ok != self.ok:
            if ok:
                log.info("self-check ok: the prober's own network works (location %s)", self.ctx.location)
            else:
                log.warning("self-check failed at location %s: %s; failed probes are marked as the prober's "
                            "own failure and open no incident", self.ctx.location, reason)
        self.ok, self.reason = ok, reason
        if self._on_verdict is not None:
            self._on_verdict(ok)
        return reason

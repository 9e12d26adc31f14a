"""Run one check once: deadline, timing and the resulting :class:`ProbeResult`."""

from __future__ import annotations

import asyncio
import logging

from monitor.config.model import Check, format_duration
from monitor.errors import ProbeFailure
from monitor.ownlag import unreliable_phases
from monitor.probes import PROBES, Observation, ProbeContext
from monitor.result import ProbeResult, Reason

log = logging.getLogger(__name__)

# Which reason a deadline gets, by the phase it interrupted.
_DEADLINE_REASONS = {
    "resolve": Reason.DNS,
    "connect": Reason.CONNECT_TIMEOUT,
    "tls": Reason.READ_TIMEOUT,
    "processing": Reason.READ_TIMEOUT,
    "transfer": Reason.READ_TIMEOUT,
}


# Failures a clock decides, besides the probe's own deadline: a timer that fired, perhaps late because of us. Any
# other failure (refused, reset, a certificate, a status code, a body) is what the target did, however late we
# read it: its own delay is not judged, and it is never unreliable on that account.
_TIMED = frozenset({Reason.CONNECT_TIMEOUT, Reason.READ_TIMEOUT, Reason.TIMEOUT})


async def run_check(platform: str, check: Check, ctx: ProbeContext) -> ProbeResult:
    """Probe ``check`` once within its total deadline. Never raises for a target's failure.

    With ``ctx.late``, the result is marked unreliable when the prober's own delay is a material
    share of a phase or of the total (:mod:`monitor.ownlag`), its seconds in ``details["stalled"]``.
    """
    obs = Observation(ctx.clock, ctx.late)
    started_at = ctx.wall_clock()
    start = ctx.clock()
    reason: Reason | None = None
    error: str | None = None
    expired = False  # the probe's deadline decided the failure
    try:
        async with asyncio.timeout(check.timeout) as deadline:
            await PROBES[check.kind](check, ctx, obs)
    except ProbeFailure as failure:
        reason, error = failure.reason, failure.detail
    except TimeoutError:
        if not deadline.expired():
            raise
        expired = True
        reason = _DEADLINE_REASONS.get(obs.phase or "", Reason.TIMEOUT)
        error = f"deadline of {format_duration(check.timeout)} exceeded during {obs.phase or 'probe'}"
    except Exception as exc:  # a bug or an unmapped library error: keep the prober alive
        log.exception("probe %s/%s raised", platform, check.id)
        reason, error = Reason.OTHER, f"{type(exc).__name__}: {exc}"
    duration = ctx.clock() - start
    phases = dict(obs.phases)
    if reason is None:
        phases["total"] = obs.total() or duration
    else:
        log.info("probe failed platform=%s check=%s location=%s reason=%s error=%s",
                 platform, check.id, ctx.location, reason.value, error)
    details = dict(obs.details)
    timed = reason is not None and (expired or reason in _TIMED)
    stalled = _own_delay(obs, ctx, phases, duration, start, failed=timed) if reason is None or timed else None
    if stalled is not None:
        details["stalled"] = round(stalled, 4)
    return ProbeResult(
        platform=platform, check=check.id, kind=check.kind, location=ctx.location,
        started_at=started_at, success=reason is None, reason=reason, error=error,
        duration=duration, phases=phases, status_code=obs.status_code,
        cert_expiry=obs.cert_expiry, peer=obs.peer, details=details, unreliable=stalled is not None,
    )


def _own_delay(obs: Observation, ctx: ProbeContext, phases: dict[str, float], duration: float, start: float,
               failed: bool) -> float | None:
    """The prober's own seconds inside this probe when they are material to what it reports, else None."""
    if ctx.late is None:
        return None
    own = dict(obs.own)
    if failed:  # judged by its duration; the failure itself (a deadline's timer) is read late as well
        judged = {**phases, "total": duration}
        own["total"] = sum(obs.own.values()) + ctx.late(start)
    else:  # each end read late delays the total by as much
        judged = phases
        own["total"] = sum(obs.own.values())
    return own["total"] if unreliable_phases(judged, own) else None

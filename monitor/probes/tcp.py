"""TCP probe: connect time."""

from __future__ import annotations

from monitor.config.model import TcpCheck
from monitor.probes._net import peer_text, resolve
from monitor.probes.base import Observation, ProbeContext
from monitor.probes.tls import _close, _connect


async def probe(check: TcpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Open a TCP connection to the check's host and port, timed as ``connect``."""
    if check.address:
        ip, port = check.address[0], check.address[1] or check.port
    else:
        ip, port = await resolve(check.host, check.port, obs)
    obs.peer = peer_text(ip, port)
    with obs.timing("connect"):
        writer = await _connect(ip, port)
    await _close(writer)

"""TCP probe: connect time."""

from __future__ import annotations

from monitor.config.model import TcpCheck
from monitor.probes._net import close_stream, locate, open_stream, peer_text
from monitor.probes.base import Observation, ProbeContext


async def probe(check: TcpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Open a TCP connection to the check's host and port, timed as ``connect``."""
    ip, port = await locate(check.host, check.port, check.address, obs)
    obs.peer = peer_text(ip, port)
    with obs.timing("connect"):
        writer = await open_stream(ip, port, ctx.source_address)
    await close_stream(writer)

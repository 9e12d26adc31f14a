"""TCP probe: connect time, ended when the server's SYN-ACK came (by the kernel's clock where it can tell)."""

from __future__ import annotations

from monitor.config.model import TcpCheck
from monitor.probes._net import connect_timed, locate, peer_text
from monitor.probes.base import Observation, ProbeContext


async def probe(check: TcpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Open a TCP connection to the check's host and port, timed as ``connect``."""
    ip, port = await locate(check.host, check.port, check.address, obs)
    obs.peer = peer_text(ip, port)
    stream = await connect_timed(ip, port, ctx.source_address, ctx, obs)
    stream.goodbye()

"""TLS probe: TCP connect and handshake only; certificate expiry, chain, host name, protocol version."""

from __future__ import annotations

import httpcore

from monitor.config.model import TlsCheck
from monitor.probes._net import connect_failure, connect_timed, earliest_expiry, locate, peer_text
from monitor.probes._stream import connect
from monitor.probes.base import Observation, ProbeContext
from monitor.result import Reason

_CERT_REASONS = {Reason.TLS_EXPIRED, Reason.TLS_HOSTNAME, Reason.TLS_UNTRUSTED}


async def _unverified_expiry(ctx: ProbeContext, ip: str, port: int, name: str) -> float | None:
    """Handshake again without verification, only to read the expiry of a rejected certificate."""
    try:
        context = await ctx.ssl_context(verify=False, ca_file=None)
        stream = await connect(ip, port, ctx.source_address, wrote=lambda _: None, arrived=None)  # not timed
        try:
            await stream.start_tls(context, server_hostname=name)
            return earliest_expiry(stream.get_extra_info("ssl_object"), verified=False)
        finally:
            stream.abort()
    except Exception:  # best effort: the failure reason is already known
        return None


async def probe(check: TlsCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Connect and complete a TLS handshake; raise ProbeFailure with the certificate problem if any.

    On our own stream, as the HTTP probe's: ``connect`` ends when the SYN-ACK came and ``tls`` as if each of the
    server's flights had been read as it came, by the kernel's clock where it can tell."""
    name = check.server_name or check.host
    context = await ctx.ssl_context(check.tls.verify, check.tls.ca_file)
    ip, port = await locate(check.host, check.port, check.address, obs)
    obs.peer = peer_text(ip, port)
    stream = await connect_timed(ip, port, ctx.source_address, ctx, obs)
    try:
        obs.begin("tls")
        try:
            await stream.start_tls(context, server_hostname=name)
        except httpcore.ConnectError as exc:  # the handshake's SSLError, or the OSError of a reset, inside
            failure = connect_failure(exc)
            if failure.reason in _CERT_REASONS:
                obs.expiry(await _unverified_expiry(ctx, ip, port, name))
            raise failure from exc
        obs.end("tls", on_arrival=True)
        ssl_object = stream.get_extra_info("ssl_object")
        obs.expiry(earliest_expiry(ssl_object))
        obs.details.update(
            tls_version=ssl_object.version(),
            chain_verified=check.tls.verify,
            hostname_matched=check.tls.verify,
        )
        if obs.cert_expiry is not None:
            obs.details["days_to_expiry"] = round((obs.cert_expiry - ctx.wall_clock()) / 86400, 2)
    finally:
        stream.goodbye()

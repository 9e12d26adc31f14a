"""TLS probe: TCP connect and handshake only; certificate expiry, chain, host name, protocol version."""

from __future__ import annotations

import ssl

from monitor.config.model import TlsCheck
from monitor.probes._net import (
    close_stream,
    connect_failure,
    earliest_expiry,
    locate,
    open_stream,
    peer_text,
    tls_failure,
)
from monitor.probes.base import Observation, ProbeContext
from monitor.result import Reason

_CERT_REASONS = {Reason.TLS_EXPIRED, Reason.TLS_HOSTNAME, Reason.TLS_UNTRUSTED}


async def _unverified_expiry(ctx: ProbeContext, ip: str, port: int, name: str) -> float | None:
    """Handshake again without verification, only to read the expiry of a rejected certificate."""
    try:
        context = await ctx.ssl_context(verify=False, ca_file=None)
        writer = await open_stream(ip, port, ctx.source_address)
        try:
            await writer.start_tls(context, server_hostname=name)
            return earliest_expiry(writer.get_extra_info("ssl_object"), verified=False)
        finally:
            await close_stream(writer, graceful=False)
    except Exception:  # best effort: the failure reason is already known
        return None


async def probe(check: TlsCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Connect and complete a TLS handshake; raise ProbeFailure with the certificate problem if any."""
    name = check.server_name or check.host
    context = await ctx.ssl_context(check.tls.verify, check.tls.ca_file)
    ip, port = await locate(check.host, check.port, check.address, obs)
    obs.peer = peer_text(ip, port)
    with obs.timing("connect"):
        writer = await open_stream(ip, port, ctx.source_address)
    graceful = False
    try:
        try:
            with obs.timing("tls"):
                await writer.start_tls(context, server_hostname=name)
        except ssl.SSLError as exc:
            failure = tls_failure(exc)
            if failure.reason in _CERT_REASONS:
                obs.expiry(await _unverified_expiry(ctx, ip, port, name))
            raise failure from exc
        except OSError as exc:
            raise connect_failure(exc) from exc
        ssl_object = writer.get_extra_info("ssl_object")
        obs.expiry(earliest_expiry(ssl_object))
        obs.details.update(
            tls_version=ssl_object.version(),
            chain_verified=check.tls.verify,
            hostname_matched=check.tls.verify,
        )
        if obs.cert_expiry is not None:
            obs.details["days_to_expiry"] = round((obs.cert_expiry - ctx.wall_clock()) / 86400, 2)
        graceful = True
    finally:
        await close_stream(writer, graceful)

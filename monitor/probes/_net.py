"""Network steps shared by probes: resolve, connect, and mapping OS/TLS errors to reasons."""

from __future__ import annotations

import _ssl
import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

from monitor.errors import ProbeFailure
from monitor.probes._stream import SocketStream, connect
from monitor.probes.base import Observation, ProbeContext
from monitor.result import Reason

# OpenSSL X509_V_ERR_* codes that have a reason of their own.
_EXPIRED = {9, 10}  # CERT_NOT_YET_VALID, CERT_HAS_EXPIRED
_HOSTNAME = {62}  # HOSTNAME_MISMATCH


_Address = TypeVar("_Address", bound="tuple[str, int | None]")  # (ip, port): a port is optional in overrides


def is_ip(host: str) -> bool:
    """True for an IPv4/IPv6 literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def pick(host: str, addresses: Sequence[_Address], prefer: str | None, fallback: bool = True) -> _Address:
    """The first address, or the first of the ``prefer``red family (``ip4``/``ip6``), like blackbox_exporter's
    ``preferred_ip_protocol``: else the first of the other family when ``fallback``, else a ``dns`` failure."""
    if prefer is None:
        return addresses[0]
    want_v6 = prefer == "ip6"
    for address in addresses:
        if (":" in address[0]) is want_v6:
            return address
    if fallback:
        return addresses[0]
    raise ProbeFailure(Reason.DNS, f"{host}: no IPv{6 if want_v6 else 4} address (ip_protocol {prefer}, no fallback)")


async def resolve(host: str, port: int, obs: Observation, prefer: str | None = None,
                  fallback: bool = True) -> tuple[str, int]:
    """Resolve ``host`` with the system resolver, timed as the ``resolve`` phase; ``prefer`` an address family.

    Runs in the loop's thread pool (getaddrinfo blocks). Names under ``.invalid``
    fail at once without a query, as RFC 6761 asks of resolver libraries.
    """
    if is_ip(host):
        return host, port
    if host.rstrip(".").lower().endswith(".invalid") or host.lower() == "invalid":
        raise ProbeFailure(Reason.DNS, f"{host}: names under .invalid never resolve (RFC 6761)")
    loop = asyncio.get_running_loop()
    try:
        with obs.timing("resolve"):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeFailure(Reason.DNS, f"{host}: {exc.strerror or exc}") from exc
    if not infos:
        raise ProbeFailure(Reason.DNS, f"{host}: no addresses")
    # A stream socket to a name: AF_INET (ip, port) or AF_INET6 (ip, port, flow, scope) addresses, never AF_UNIX's.
    if prefer is not None:
        found = [(info[4][0], info[4][1]) for info in infos]
        return pick(host, cast("list[tuple[str, int]]", found), prefer, fallback)
    address = infos[0][4]
    return cast("tuple[str, int]", (address[0], address[1]))


async def locate(host: str, port: int, address: tuple[str, int | None] | None, obs: Observation) -> tuple[str, int]:
    """Where to connect: the configured address override (no lookup), else ``host`` resolved (timed)."""
    if address is not None:
        return address[0], address[1] or port
    return await resolve(host, port, obs)


def peer_text(ip: str, port: int) -> str:
    """``ip:port``, with brackets for IPv6."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def tls_failure(exc: ssl.SSLError) -> ProbeFailure:
    """Map a TLS error to ``tls_expired``/``tls_hostname``/``tls_untrusted``/``tls_handshake``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        reason = (
            Reason.TLS_EXPIRED if code in _EXPIRED
            else Reason.TLS_HOSTNAME if code in _HOSTNAME
            else Reason.TLS_UNTRUSTED
        )
        return ProbeFailure(reason, f"certificate verify failed: {exc.verify_message}")
    return ProbeFailure(Reason.TLS_HANDSHAKE, f"TLS handshake failed: {exc.reason or exc}")


def connect_failure(exc: BaseException) -> ProbeFailure:
    """Map a failed connect (any wrapper around an OSError) to a reason."""
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLError):
            return tls_failure(cause)
        if isinstance(cause, ConnectionRefusedError):
            return ProbeFailure(Reason.CONNECT_REFUSED, f"connection refused: {cause}")
        if isinstance(cause, OSError) and cause.errno is not None:
            return ProbeFailure(Reason.CONNECT_REFUSED, f"cannot connect: {cause}")
    return ProbeFailure(Reason.OTHER, f"cannot connect: {exc!r}")


def earliest_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, verified: bool = True) -> float | None:
    """Unix time of the earliest ``notAfter`` in the peer's chain (the leaf alone if the chain is unavailable)."""
    if ssl_object is None:
        return None
    inner = getattr(ssl_object, "_sslobj", ssl_object)
    # Python 3.13 makes these public; 3.10-3.12 have them on the private object.
    getter = getattr(inner, "get_verified_chain" if verified else "get_unverified_chain", None)
    times: list[float] = []
    if getter is not None:
        try:
            times = [t for t in (_not_after(cert) for cert in getter() or []) if t is not None]
        except (ssl.SSLError, ValueError):
            times = []
    if not times:
        peer = ssl_object.getpeercert()
        if peer and "notAfter" in peer:
            times.append(ssl.cert_time_to_seconds(cast(str, peer["notAfter"])))
    return min(times) if times else None


_NOT_AFTER: dict[bytes, float | None] = {}  # DER -> notAfter; the same few certificates come back at every probe


def _not_after(cert: Any) -> float | None:
    """A certificate's ``notAfter`` as unix time. Decoding one (``get_info`` and ``strptime``) cost a tenth of a
    millisecond per probe; it is remembered by the certificate's bytes."""
    der = cert.public_bytes(_ssl.ENCODING_DER)  # the private chain API's constant (public from 3.13)
    if der not in _NOT_AFTER:
        if len(_NOT_AFTER) >= 4096:
            _NOT_AFTER.clear()
        info = cert.get_info()
        _NOT_AFTER[der] = ssl.cert_time_to_seconds(info["notAfter"]) if "notAfter" in info else None
    return _NOT_AFTER[der]


async def connect_timed(ip: str, port: int, source: str | None, ctx: ProbeContext, obs: Observation) -> SocketStream:
    """A TCP connection (from ``source`` if given) on our own stream, timed as ``connect``: it ends when the
    server's SYN-ACK came, by the kernel's clock where it can tell (:mod:`monitor.probes._stream`)."""
    obs.begin("connect")
    try:
        stream = await connect(ip, port, source, obs.wrote, obs.arrived if ctx.arrival_stamps else None, obs.answered)
    except OSError as exc:
        raise connect_failure(exc) from exc
    obs.end("connect", on_arrival=True)
    return stream

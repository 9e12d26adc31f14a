"""DNS probe: one query (system resolver or a configured server); record type, rcode, latency, addresses."""

from __future__ import annotations

import functools
import ipaddress
from typing import cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from monitor.config.model import DnsCheck
from monitor.errors import ProbeFailure
from monitor.probes._net import peer_text
from monitor.probes.base import Observation, ProbeContext
from monitor.result import Reason


@functools.cache
def _system_server() -> str:
    """The first nameserver of /etc/resolv.conf (read once)."""
    try:
        return cast(str, dns.resolver.Resolver().nameservers[0])  # from resolv.conf: an address, never an object
    except (dns.resolver.NoResolverConfiguration, IndexError) as exc:
        raise ProbeFailure(Reason.DNS, "no system nameserver configured") from exc


def _canonical(value: str) -> str:
    """An IP address in its one canonical spelling (``2001:0DB8::1`` -> ``2001:db8::1``); other text unchanged."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def _is_invalid(name: str) -> bool:
    name = name.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


async def _query(check: DnsCheck, ip: str, port: int, source: str | None) -> dns.message.Message:
    query = dns.message.make_query(check.name, check.record_type)
    try:
        response = await dns.asyncquery.udp(query, ip, port=port, source=source)
        if response.flags & dns.flags.TC:
            response = await dns.asyncquery.tcp(query, ip, port=port, source=source)
    except (dns.exception.DNSException, OSError) as exc:
        raise ProbeFailure(Reason.DNS, f"query to {peer_text(ip, port)} failed: {exc}") from exc
    return response


async def probe(check: DnsCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Ask for ``check.name``/``check.record_type``; the query's round trip is the ``resolve`` phase."""
    if check.server is None and _is_invalid(check.name):
        rcode, answers = "NXDOMAIN", []  # RFC 6761: answered locally, never sent
    else:
        ip, port = check.server if check.server else (_system_server(), None)
        port = port or 53
        obs.peer = peer_text(ip, port)
        with obs.timing("resolve"):
            response = await _query(check, ip, port, ctx.source_address)
        rcode = dns.rcode.to_text(response.rcode())
        answers = [item.to_text() for rrset in response.answer for item in rrset
                   if dns.rdatatype.to_text(rrset.rdtype) == check.record_type]
    obs.details.update(rcode=rcode, answers=answers)
    if rcode != check.expect_rcode:
        raise ProbeFailure(Reason.DNS,
                           f"{check.name} {check.record_type}: rcode {rcode}, expected {check.expect_rcode}")
    if rcode == "NOERROR" and not answers:
        raise ProbeFailure(Reason.DNS, f"{check.name}: no {check.record_type} records")
    # Compare addresses, not spellings: config may write an IPv6 address uncompressed or in capitals.
    got = {_canonical(answer) for answer in answers}
    missing = sorted(expected for expected in set(check.expect_addresses) if _canonical(expected) not in got)
    if missing:
        raise ProbeFailure(Reason.DNS,
                           f"{check.name}: expected {', '.join(missing)}, got {', '.join(answers) or 'nothing'}")

"""A small authoritative DNS responder on loopback, for tests and the platform lab.

It answers only from its own table of records and never forwards a query
anywhere. UDP and TCP listen on the same port. Behaviours can be switched per
name at run time to play a sick DNS service: SERVFAIL, REFUSED, NXDOMAIN,
silence, slowness, or a truncated UDP answer that forces a retry over TCP.
A ``decide`` hook may instead choose the behaviour per query from the name and
the client's address (the platform lab asks its World, with the simulated time
the address carries).
"""

from __future__ import annotations

import asyncio
import enum
import struct
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

_UDP_PAYLOAD = 512  # the RFC 1035 limit for a query without EDNS
_MAX_CNAME_CHAIN = 8


class Behaviour(enum.StrEnum):
    """How the responder treats queries for one name."""

    NORMAL = "normal"  # answer from the table; NXDOMAIN when the name has no records at all
    NXDOMAIN = "nxdomain"  # NXDOMAIN even if the name has records
    SERVFAIL = "servfail"
    REFUSED = "refused"
    DROP = "drop"  # never answer
    DELAY = "delay"  # answer normally, after the delay (any behaviour but drop honours a delay)
    TRUNCATE = "truncate"  # over UDP an empty answer with the TC bit; over TCP a normal answer


@dataclass(frozen=True)
class Query:
    """One query the responder received, kept so a test can see what was asked and how."""

    transport: str  # "udp" or "tcp"
    name: str  # without the final dot
    rtype: str
    peer: str = ""  # the client's IP address (in the lab it carries the simulated time)


Decide = Callable[[str, str], "tuple[Behaviour, float] | None"]
"""``decide(name, peer_ip)`` -> (behaviour, delay) for this query, or None for the table's behaviour."""


class DnsResponder:
    """An authoritative responder answering from a mutable table.

    ``set_records``/``set_behaviour`` may be called from another thread while
    it runs (single dict assignments, atomic under the GIL). ``decide``, when
    given, is asked first for every query and overrides ``set_behaviour``.
    """

    def __init__(self, ttl: int = 60, decide: Decide | None = None) -> None:
        self.ttl = ttl
        self.decide = decide
        self.port: int | None = None
        self.queries: list[Query] = []
        self._records: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], list[str]] = {}
        self._behaviours: dict[dns.name.Name, tuple[Behaviour, float]] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def set_records(self, name: str, rtype: str, values: Iterable[str]) -> None:
        """Serve ``values`` (rdata text, e.g. ``"127.0.0.1"``) for ``name``/``rtype``; empty removes them."""
        key = (dns.name.from_text(name), dns.rdatatype.from_text(rtype))
        values = list(values)
        if values:
            self._rrset(key[0], key[1], values)  # a bad value fails here, not at query time
            self._records[key] = values
        else:
            self._records.pop(key, None)

    def set_behaviour(self, name: str, behaviour: Behaviour | str, delay: float = 0.0) -> None:
        """Treat queries for ``name`` as ``behaviour``, waiting ``delay`` seconds before any answer."""
        self._behaviours[dns.name.from_text(name)] = (Behaviour(behaviour), delay)

    def clear(self) -> None:
        """Forget every record, behaviour and received query."""
        self._records.clear()
        self._behaviours.clear()
        self.queries.clear()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host`` over UDP and TCP on one port (0 picks a free one); return the port."""
        loop = asyncio.get_running_loop()
        for _ in range(20 if port == 0 else 1):
            tcp = await asyncio.start_server(self._serve_tcp, host, port)
            chosen: int = tcp.sockets[0].getsockname()[1]
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(host, chosen))
            except OSError:  # the UDP twin of a free TCP port is taken: try another
                tcp.close()
                await tcp.wait_closed()
                if port:
                    raise
                continue
            self._tcp, self.port = tcp, chosen
            return chosen
        raise OSError(f"no port free for both UDP and TCP on {host}")

    async def stop(self) -> None:
        """Close both listeners and cancel answers still pending (delayed or dropped)."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
        self._udp = self._tcp = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rrset(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, values: list[str]) -> dns.rrset.RRset:
        return dns.rrset.from_text_list(name, self.ttl, dns.rdataclass.IN, rdtype, values)

    async def answer(self, wire: bytes, transport: str, peer: str = "") -> bytes | None:
        """The wire answer to one query in wire form from ``peer`` (an IP), or None to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not a DNS message: nothing sensible to answer
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True)
        self.queries.append(Query(transport, name, dns.rdatatype.to_text(question.rdtype), peer))
        decided = self.decide(name, peer) if self.decide is not None else None
        behaviour, delay = decided or self._behaviours.get(question.name, (Behaviour.NORMAL, 0.0))
        if behaviour is Behaviour.DROP:
            return None
        if delay > 0:
            await asyncio.sleep(delay)
        response.flags |= dns.flags.AA
        if behaviour is Behaviour.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif behaviour is Behaviour.REFUSED or question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
        elif behaviour is Behaviour.NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif behaviour is Behaviour.TRUNCATE and transport == "udp":
            response.flags |= dns.flags.TC
        else:
            self._fill(response, question.name, question.rdtype)
        if transport == "tcp":
            return response.to_wire()
        limit = max(_UDP_PAYLOAD, query.payload if query.edns >= 0 else 0)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:  # a genuinely large answer truncates as a real server's would
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _fill(self, response: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> None:
        """Put the records of ``name``/``rdtype`` in the answer, following CNAMEs in the table."""
        for _ in range(_MAX_CNAME_CHAIN):
            values = self._records.get((name, rdtype))
            if values:
                response.answer.append(self._rrset(name, rdtype, values))
                return
            alias = self._records.get((name, dns.rdatatype.CNAME))
            if not alias:
                break
            response.answer.append(self._rrset(name, dns.rdatatype.CNAME, alias))
            name = dns.name.from_text(alias[0])
        if not any(owner == name for owner, _ in list(self._records)):
            response.set_rcode(dns.rcode.NXDOMAIN)  # the (final) name has no records of any type

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:  # track it so stop() can end connections that wait forever (drop)
            self._tasks.add(task)
        peername = writer.get_extra_info("peername")
        peer = peername[0] if peername else ""
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                wire = await self.answer(await reader.readexactly(length), "tcp", peer)
                if wire is not None:
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DnsResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's: create_datagram_endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.responder._spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        wire = await self.responder.answer(data, "udp", addr[0])
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


@contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> Iterator[DnsResponder]:
    """Run a responder on its own event loop in a daemon thread, for synchronous callers."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dnsd", daemon=True)
    thread.start()
    responder = DnsResponder()
    try:
        asyncio.run_coroutine_threadsafe(responder.start(host, port), loop).result(10)
        yield responder
    finally:
        asyncio.run_coroutine_threadsafe(responder.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()

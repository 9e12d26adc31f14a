"""httpcore's network stream over a non-blocking socket, for the HTTP, TLS and TCP probes, with the kernel's
arrival times.

httpcore's own backend for asyncio goes through anyio, and asyncio's own TLS runs every
record of the handshake and the exchange through its Python state machine (``sslproto``).
Here the socket is read and written directly, and TLS is OpenSSL's over two memory buffers
(``ssl.SSLObject``), fed and drained by this stream: a few C calls per network read or write.

A connection ends when the server's SYN-ACK came, by the kernel's measure of its round trip (``TCP_INFO``,
when our SYN went once): the loop noticing the connection late does not lengthen it.
Every read takes the kernel's receive time of what it read (``SO_TIMESTAMPNS``), so the end of
a phase the server decides (its answer's first bytes, its body's last) is when the bytes came,
not when a busy event loop got round to them. The time taken is that of the newest segment of
the read: never before the bytes it carries arrived, so a phase ended by it is never shortened. Segments
that queue up unread are merged by the kernel under the newest's time, so a read that also carried later
bytes (a later TLS record, the connection's end; in plain HTTP, any read) says so: its time may then be up to
the loop's delay late.
A handshake is timed as if each of the server's bytes had been read as they came, whatever the
number of flights (TLS 1.3's one, TLS 1.2's two, a HelloRetryRequest): OpenSSL's work, and each
of the server's turns from when a flight of ours really left to when the answer arrived. Our
delay in reading a flight, or in answering it, is not in it.
Probe deadlines are ours (``asyncio.timeout`` around the whole probe), so this stream takes no
timeouts of its own.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # what httpcore's own streams use for "is_readable"

_FAILURES = (OSError, ssl.SSLError)  # ssl.SSLError is an OSError; named for the reader
_RAW = 64 * 1024  # bytes asked of the socket per read
# SO_TIMESTAMPNS (= SCM_TIMESTAMPNS): Linux's, 35 on its common architectures, not named by Python 3.11's socket
# module. Elsewhere reads are timed when the loop gets to them.
_STAMP = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
STAMP_SPACE = socket.CMSG_SPACE(16)  # ancillary room for a receive time (struct timespec)
# struct tcp_info (linux/tcp.h): tcpi_backoff is byte 4; tcpi_rtt (the smoothed round trip, µs) at 68 and
# tcpi_total_retrans at 100 are 32-bit. With one sample, from the SYN-ACK, the smoothed round trip is that sample.
_TCP_INFO = socket.TCP_INFO if sys.platform == "linux" else None
_TCP_INFO_SIZE = 104
_WAIT = (errno.EINPROGRESS, errno.EINTR)  # connect() goes on in the background
Arrived = Callable[[float, bool], None]  # (seconds ago the bytes read came, whether they came alone)


def ask_receive_times(sock: socket.socket) -> bool:
    """Have every read of ``sock`` come with the kernel's receive time (:func:`receive_time`); False where the
    kernel cannot give it."""
    if _STAMP is None:
        return False
    sock.setsockopt(socket.SOL_SOCKET, _STAMP, 1)
    return True


def receive_time(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive time (unix time) in a read's ancillary data (``recvmsg`` with :data:`STAMP_SPACE`),
    if it is there."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == _STAMP and len(value) >= 16:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            return float(seconds + nanoseconds * 1e-9)
    return None


async def _ready(fd: int, writable: bool) -> None:
    """Until the socket can be read (or written): the event loop watches it meanwhile."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    (loop.add_writer if writable else loop.add_reader)(fd, _set, ready)
    try:
        await ready
    finally:
        (loop.remove_writer if writable else loop.remove_reader)(fd)


def _set(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class SocketStream(httpcore.AsyncNetworkStream):
    """``wrote`` is called as each write has been handed to the kernel whole, with how long before that the last
    send to the kernel began (the bytes left inside that window: a wide one, when the process was kept from a CPU
    meanwhile, is our uncertainty about when); ``arrived`` (when given, and the
    socket asked for the kernel's receive times) with how many seconds ago the bytes of each read that returns
    data came, and whether they came alone: True when nothing read off the socket with them is left for a later
    read (TLS: no later record), so the time is theirs; always False in plain TCP, whose bytes have no bounds."""

    def __init__(self, sock: socket.socket, wrote: Callable[[float], None], arrived: Arrived | None,
                 answered: Callable[[], None] | None = None):
        self._sock = sock
        self._wrote = wrote
        self._arrived = arrived
        self._answered = answered
        self._stamp: float | None = None  # the kernel's receive time of the newest bytes read off the socket
        self._sending = 0.0  # when the last send to the kernel began (time.perf_counter)
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()  # TLS bytes read off the socket, for OpenSSL
        self._outgoing = ssl.MemoryBIO()  # TLS bytes OpenSSL wrote, for the socket

    async def _recv(self, size: int) -> bytes:
        """Bytes off the socket (b"" at its end), noting when the kernel received them."""
        sock = self._sock
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(size, STAMP_SPACE)
            except (BlockingIOError, InterruptedError):
                await _ready(sock.fileno(), writable=False)
                continue
            stamp = receive_time(ancillary)
            if stamp is not None:
                self._stamp = stamp
            return data

    async def _send(self, data: bytes) -> None:
        sock = self._sock
        view = memoryview(data)
        while view:
            try:
                self._sending = time.perf_counter()
                view = view[sock.send(view):]
            except (BlockingIOError, InterruptedError):
                await _ready(sock.fileno(), writable=True)

    async def _flush(self) -> None:
        """What OpenSSL has written, onto the socket."""
        if self._outgoing.pending:
            await self._send(self._outgoing.read())

    async def _feed(self) -> None:
        """The socket's next bytes, to OpenSSL (its end as the end of its input)."""
        data = await self._recv(_RAW)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if self._tls is None:
                data = await self._recv(max_bytes)
            else:
                data = await self._read_tls(max_bytes)
        except _FAILURES as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc
        if data and self._stamp is not None and self._arrived is not None:
            self._arrived(max(0.0, time.time() - self._stamp), self._alone())
        return data

    def _alone(self) -> bool:
        """Whether nothing that came after the bytes just given was merged under their receive time: over TLS, no
        later record was read with them and nothing more (bytes, or the end) waits in the socket; plain TCP's
        bytes have no bounds to tell."""
        if self._tls is None or self._incoming.pending:
            return False
        try:
            self._sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            pass
        return False

    async def _read_tls(self, max_bytes: int) -> bytes:
        assert self._tls is not None
        while True:
            try:
                return self._tls.read(max_bytes)
            except ssl.SSLWantReadError:
                await self._flush()  # a post-handshake message may have asked for an answer
                await self._feed()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""  # closed, with or without TLS's close_notify: the end of the data either way

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            if self._tls is None:
                await self._send(buffer)
            else:
                self._tls.write(buffer)
                await self._flush()
        except _FAILURES as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc
        self._wrote(time.perf_counter() - self._sending)

    async def aclose(self) -> None:
        self.abort()

    def abort(self) -> None:
        """Close at once: nothing is read after the response, so there is no close handshake to wait for."""
        self._sock.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        # where the handshake would be, unix time, had each of the server's bytes been read as they came: OpenSSL's
        # work, and the server's turns, each from when a flight of ours really left to when its answer arrived
        reached: float | None = None  # None: our first flight has not left
        late = 0.0  # how much later than ``reached`` our last flight really left: the server's time runs from there
        timed = self._arrived is not None  # False when the kernel did not say when some of the server's bytes came
        try:
            tls = ssl_context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
            while True:
                began = time.perf_counter()
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pass
                finally:
                    if reached is not None:
                        reached += time.perf_counter() - began
                if self._outgoing.pending or reached is None:
                    if reached is not None and self._answered is not None:
                        self._answered()
                    await self._flush()  # a flight of ours
                    left = time.time()
                    reached = left if reached is None else reached
                    late = left - reached
                self._stamp = None
                await self._feed()
                if self._stamp is None:
                    timed = False
                else:
                    reached = max(reached, self._stamp - late)
            await self._flush()  # our last handshake message
        except _FAILURES as exc:  # a reset is an OSError (a refused connection), a close mid-way an SSLEOFError
            self._alert()
            self.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        except asyncio.CancelledError:  # the probe's deadline: nobody else holds this socket yet
            self.abort()
            raise
        self._tls = tls
        if timed and reached is not None and self._arrived is not None:
            self._arrived(max(0.0, time.time() - reached), not self._incoming.pending)
        return self

    def goodbye(self) -> None:
        """Close, after TLS's close_notify when TLS is up (sent if the socket takes it; the server's is not awaited)."""
        if self._tls is not None:
            try:
                self._tls.unwrap()
            except ssl.SSLError:
                pass  # its close_notify is written; the server's has not come (SSLWantReadError), or cannot
            self._alert()
        self.abort()

    def _alert(self) -> None:
        """Send the alert OpenSSL wrote (for a failed handshake, a bad certificate say; or close_notify), if the
        socket takes it."""
        try:
            if self._outgoing.pending:
                self._sock.send(self._outgoing.read())
        except OSError:
            pass

    def get_extra_info(self, info: str) -> Any:
        sock = self._sock
        if info == "ssl_object":
            return self._tls
        if info in ("client_addr", "server_addr"):
            try:
                return sock.getsockname() if info == "client_addr" else sock.getpeername()
            except OSError:
                return None
        if info == "socket":
            return sock
        if info == "is_readable":
            return sock.fileno() < 0 or is_socket_readable(sock)
        return None


async def connect(ip: str, port: int, source: str | None, wrote: Callable[[float], None], arrived: Arrived | None,
                  answered: Callable[[], None] | None = None) -> SocketStream:
    """A TCP connection (from ``source`` if given) as an httpcore stream; when ``arrived`` is given, with when the
    SYN-ACK came and the kernel's receive times of reads; ``answered`` is called as each flight of ours in a
    handshake leaves in answer to the server's. Raises OSError with the words ``asyncio.open_connection`` uses."""
    sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports do
        if arrived is not None:
            ask_receive_times(sock)
        if source:
            try:
                sock.bind((source, 0))
            except OSError as exc:
                raise OSError(exc.errno, f"error while attempting to bind on address {(source, 0)!r}: "
                                         f"{(exc.strerror or str(exc)).lower()}") from None
        address = (ip, port)
        sent = time.perf_counter()
        failed = sock.connect_ex(address)  # the SYN leaves in this call
        if failed in _WAIT:
            await _ready(sock.fileno(), writable=True)
            failed = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if failed:
            raise OSError(failed, f"Connect call failed {address}")  # as asyncio words it
        if arrived is not None and (trip := _syn_round_trip(sock)) is not None:
            arrived(max(0.0, time.perf_counter() - sent - trip), True)
    except BaseException:
        sock.close()
        raise
    return SocketStream(sock, wrote, arrived, answered)


def _syn_round_trip(sock: socket.socket) -> float | None:
    """Seconds from our SYN to the server's SYN-ACK, by the kernel's clock; None when it cannot tell (not Linux, or
    the SYN was sent again: which of them was answered is not known)."""
    if _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return None
    if len(info) < _TCP_INFO_SIZE or info[4] or struct.unpack_from("I", info, 100)[0]:
        return None
    trip: int = struct.unpack_from("I", info, 68)[0]
    return trip / 1e6 if trip else None

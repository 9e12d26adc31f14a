"""httpcore's network stream over a non-blocking socket, for the HTTP probe.

httpcore's own backend for asyncio goes through anyio, and asyncio's own TLS runs every
record of the handshake and the exchange through its Python state machine (``sslproto``)
and a memory BIO. Here the socket is read and written directly, and TLS is an
``ssl.SSLSocket`` on it: OpenSSL reads and writes the socket itself, and Python only waits
for the socket to be ready (``SSLWantReadError``/``SSLWantWriteError``) on the event loop.
Probe deadlines are ours (``asyncio.timeout`` around the whole probe), so this stream takes
no timeouts of its own.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # what httpcore's own streams use for "is_readable"

_FAILURES = (OSError, ssl.SSLError)  # ssl.SSLError is an OSError; named for the reader
_WANT_READ = (ssl.SSLWantReadError, BlockingIOError, InterruptedError)
_WANT_WRITE = (ssl.SSLWantWriteError,)


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
    """``wrote`` is called as each write has been handed to the kernel whole."""

    def __init__(self, sock: socket.socket, wrote: Callable[[], None]):
        self._sock: socket.socket = sock
        self._wrote = wrote

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        sock = self._sock
        try:
            while True:
                try:
                    return sock.recv(max_bytes)
                except _WANT_READ:
                    await _ready(sock.fileno(), writable=False)
                except _WANT_WRITE:  # a TLS renegotiation or key update may need to write first
                    await _ready(sock.fileno(), writable=True)
        except _FAILURES as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        sock = self._sock
        view = memoryview(buffer)
        try:
            while view:
                try:
                    view = view[sock.send(view):]
                except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
                    await _ready(sock.fileno(), writable=True)
                except ssl.SSLWantReadError:
                    await _ready(sock.fileno(), writable=False)
        except _FAILURES as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc
        if buffer:
            self._wrote()

    async def aclose(self) -> None:
        self.abort()

    def abort(self) -> None:
        """Close at once: nothing is read after the response, so there is no close handshake to wait for."""
        self._sock.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname,
                                          do_handshake_on_connect=False)
        except _FAILURES as exc:
            self.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        self._sock = tls  # the plain socket object is detached: its descriptor is the TLS socket's now
        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    await _ready(tls.fileno(), writable=False)
                except ssl.SSLWantWriteError:
                    await _ready(tls.fileno(), writable=True)
        except _FAILURES as exc:  # a reset stays an OSError (a refused connection), a close mid-way an SSLEOFError
            self.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        sock = self._sock
        if info == "ssl_object":
            return sock if isinstance(sock, ssl.SSLSocket) else None
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


async def connect(ip: str, port: int, source: str | None, wrote: Callable[[], None]) -> SocketStream:
    """A TCP connection (from ``source`` if given) as an httpcore stream; raises OSError with the words
    ``asyncio.open_connection`` uses."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports do
        if source:
            try:
                sock.bind((source, 0))
            except OSError as exc:
                raise OSError(exc.errno, f"error while attempting to bind on address {(source, 0)!r}: "
                                         f"{(exc.strerror or str(exc)).lower()}") from None
        await loop.sock_connect(sock, (ip, port))
    except BaseException:
        sock.close()
        raise
    return SocketStream(sock, wrote)

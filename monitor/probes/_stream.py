"""httpcore's network stream over plain asyncio streams, for the HTTP probe.

httpcore's own backend for asyncio goes through anyio, whose TLS stream runs the
handshake and every record through Python code, with cancel scopes and task lookups
around each read and write: about a fifth of a probe's CPU. asyncio's streams do the
same work with less around it. Probe deadlines are ours (``asyncio.timeout`` around the
whole probe), so this stream takes no timeouts of its own.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # what httpcore's own streams use for "is_readable"

_FAILURES = (OSError, ssl.SSLError, asyncio.IncompleteReadError, RuntimeError)  # RuntimeError: write after close


class AsyncioStream(httpcore.AsyncNetworkStream):
    """``wrote`` is called as each write is handed to the kernel, before waiting for the buffer to drain."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wrote: Callable[[], None]):
        self._reader = reader
        self._writer = writer
        self._wrote = wrote

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except _FAILURES as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            self._wrote()
            await self._writer.drain()
        except _FAILURES as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self.abort()

    def abort(self) -> None:
        """Close at once: nothing is read after the response, so there is no close handshake to wait for."""
        self._writer.transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except _FAILURES as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            sock = self._writer.get_extra_info("socket")
            return sock is None or is_socket_readable(sock)
        return None


async def connect(ip: str, port: int, source: str | None, wrote: Callable[[], None]) -> AsyncioStream:
    """A TCP connection (from ``source`` if given) as an httpcore stream; raises OSError."""
    reader, writer = await asyncio.open_connection(ip, port, local_addr=(source, 0) if source else None)
    return AsyncioStream(reader, writer, wrote)

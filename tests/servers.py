"""Real loopback servers for tests: HTTP/1.1 (plain or TLS) with scripted behaviours, on a background loop.

Paths of the scripted HTTP server:
  /ok                  200, a Vietnamese page
  /status/<code>       that status
  /redirect/<n>        n redirects, then /ok
  /slowredirect/<n>    n redirects, each after 50 ms, then /ok
  /loop                redirects to itself forever
  /delay/<ms>          waits <ms> before sending headers
  /big/<bytes>         a body of that size
  /hang                reads the request, never answers
  /echo                200 with the request head (lower-cased) as the body
  /to?<location>       302 to the percent-decoded <location> (another host, port or scheme)
  /json?<body>         200, application/json, the percent-decoded <body>
  /headers?<query>     200 with the query's name=value pairs as response headers

``scripted_recording(heads)`` is the same handler, appending every request head (lower-cased) to ``heads``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import trustme

OK_PAGE = "<html><body>Hệ thống hoạt động bình thường</body></html>".encode()


class LoopThread:
    """An asyncio loop on its own thread, so servers keep time independently of the code under test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def scripted_recording(heads: list[str]) -> Callable:
    """The scripted handler, noting every request head it receives (lower-cased) in ``heads``."""
    return functools.partial(scripted, heads=heads)


async def scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, heads: list[str] | None = None) -> None:
    """The scripted HTTP/1.1 handler described in the module docstring."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        writer.close()
        return
    if heads is not None:
        heads.append(head.decode("latin-1").lower())
    path = head.split(b" ", 2)[1].decode()
    parts = path.strip("/").split("/")
    if path.startswith("/to?"):
        data = _response(302, headers={"Location": urllib.parse.unquote(path[4:])})
    elif path.startswith("/json?"):
        data = _response(200, urllib.parse.unquote(path[6:]).encode(), {"Content-Type": "application/json"})
    elif path.startswith("/headers?"):
        data = _response(200, OK_PAGE, dict(urllib.parse.parse_qsl(path[9:])))
    elif parts[0] == "ok":
        data = _response(200, OK_PAGE)
    elif parts[0] == "status":
        data = _response(int(parts[1]), b"<html>error page</html>")
    elif parts[0] == "redirect":
        left = int(parts[1])
        data = _response(302, headers={"Location": f"/redirect/{left - 1}" if left > 1 else "/ok"})
    elif parts[0] == "slowredirect":
        await asyncio.sleep(0.05)
        left = int(parts[1])
        data = _response(302, headers={"Location": f"/slowredirect/{left - 1}" if left > 1 else "/ok"})
    elif parts[0] == "loop":
        data = _response(302, headers={"Location": "/loop"})
    elif parts[0] == "delay":
        await asyncio.sleep(int(parts[1]) / 1000)
        data = _response(200, OK_PAGE)
    elif parts[0] == "big":
        data = _response(200, b"x" * int(parts[1]))
    elif parts[0] == "echo":
        data = _response(200, head.lower())
    elif parts[0] == "hang":
        await asyncio.sleep(3600)
        return
    else:
        data = _response(404, b"not found")
    await send(writer, data)


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write a whole response and close, whether or not the client is still there."""
    writer.write(data)
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the connection and never send a byte (not even a TLS handshake)."""
    await asyncio.sleep(3600)


@dataclass
class Server:
    port: int
    server: asyncio.base_events.Server


async def start_server(handler: Callable, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Server:
    server = await asyncio.start_server(handler, host, 0, ssl=ssl_context)
    return Server(server.sockets[0].getsockname()[1], server)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Pki:
    """A trusted test CA (written to ``ca_file``), its certificates, and an untrusted CA."""

    HOST = "gqthc.dcs.vn"  # the real name, reached only through a resolve override to loopback

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        now = dt.datetime.now(dt.UTC)
        self.not_after = now + dt.timedelta(days=20)
        self.good = self.ca.issue_cert(self.HOST, not_after=self.not_after)
        self.expired = self.ca.issue_cert(self.HOST, not_before=now - dt.timedelta(days=30),
                                          not_after=now - dt.timedelta(days=1))
        self.wrong_host = self.ca.issue_cert("other.example")
        self.untrusted = trustme.CA().issue_cert(self.HOST)

    @staticmethod
    def server_context(cert: trustme.LeafCert, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        if alpn:
            context.set_alpn_protocols(list(alpn))
        return context

"""Serving a WSGI application from the prober's own event loop, for ``monitor run``'s ``/metrics`` and ``/status``.

A wsgiref server answers each request on a new thread, which takes the GIL the probes' event loop needs: at 500
status-page requests a second it used a whole core and the probes fell behind (docs/performance.md, "Status
page"). Here each connection is an :class:`asyncio.Protocol` on the loop. A request the caller marks ``inline``
(the cached status page: a few dictionary lookups) is answered right there, in tens of microseconds between two
probe callbacks; any other (``/metrics``, whose exposition takes milliseconds, or a page not yet computed) is
answered by a small thread pool while the connection waits.

Only what a read-only endpoint needs: GET/HEAD semantics are the application's, requests carry no body (one that
announces a body is answered, then the connection is closed), HTTP/1.1 keep-alive and pipelining in order, and
every size and wait is bounded: a request head of at most ``MAX_HEAD`` bytes, ``IDLE`` seconds to send it,
``MAX_CONNECTIONS`` open at once.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from urllib.parse import unquote
from wsgiref.types import WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
MAX_HEAD = 16 * 1024  # bytes: request line and headers
IDLE = 15.0  # seconds a connection may take to send a request head (or wait between two)
MAX_CONNECTIONS = 512
THREADS = 4  # answering what is not inline
BACKLOG = 100  # connections the kernel queues before we accept them (asyncio's default)

Answer = tuple[str, list[tuple[str, str]], bytes]
"""(status line, headers, body) as the application gave them."""


def call(app: WSGIApplication, environ: WSGIEnvironment) -> Answer:
    """Run ``app`` on ``environ``; a crash is logged and answered 500."""
    got: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: object = None) -> Callable[[bytes], object]:
        got[:] = [(status, headers)]
        return lambda _: None

    try:
        body = b"".join(app(environ, start_response))
        status, headers = got[0]
    except Exception:
        log.exception("answering %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        return "500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n"
    return status, headers, body


class _Date:
    """The Date header, formatted once a second."""

    second = -1
    text = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.text = second, formatdate(second, usegmt=True)
        return cls.text


def parse(head: bytes, server: tuple[str, int], peer: str) -> tuple[WSGIEnvironment, bool] | str:
    """A request head (without its blank line) as a WSGI environ and whether the connection stays open after it; or
    the status line to refuse it with."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper() or not parts[1].startswith("/"):
        return "400 Bad Request"
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        return "505 HTTP Version Not Supported"
    path, _, query = target.partition("?")
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": unquote(path, "latin-1"), "QUERY_STRING": query,
        "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]), "SERVER_PROTOCOL": version, "REMOTE_ADDR": peer,
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:  # also obsolete line folding
            return "400 Bad Request"
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        value = value.strip(" \t")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    tokens = {t.strip().lower() for t in environ.get("HTTP_CONNECTION", "").split(",")}
    has_body = environ.get("CONTENT_LENGTH", "0").strip() not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
    keep = version == "HTTP/1.1" and "close" not in tokens and not has_body
    return environ, keep


def response(answer: Answer, keep: bool) -> bytes:
    """The bytes of one response: the application's status and headers, a Date, a Content-Length when it gave none
    (and the status has a body), and ``Connection: close`` when the connection ends with it."""
    status, headers, body = answer
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"Date: {_Date.now()}"]
    code = status[:3]
    if code not in ("204", "304") and not any(k.lower() == "content-length" for k, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    if not keep:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One client connection: request heads parsed in order, each answered before the next is read."""

    def __init__(self, server: LoopServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.busy = False  # a request is being answered on a thread
        self.paused = False  # the client reads slower than we write
        self.closing = False
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.open.add(self)
        if len(self.server.open) > MAX_CONNECTIONS:
            transport.abort()
            return
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.open.discard(self)
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(IDLE, self._idle)

    def _idle(self) -> None:
        if self.transport is None or self.busy:
            return
        if self.paused:  # a client that stopped reading: closing would wait for it forever
            self.transport.abort()
        else:  # an idle keep-alive connection, or a head too slow to come
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._serve()

    def pause_writing(self) -> None:
        self.paused = True
        if self.transport is not None:
            self.transport.pause_reading()  # nor take more requests from a client that does not read its answers

    def resume_writing(self) -> None:
        self.paused = False
        if self.transport is not None and not self.busy:
            self.transport.resume_reading()
        self._serve()

    def _serve(self) -> None:
        """Answer every complete request head in the buffer, in order, until one goes to a thread."""
        transport = self.transport
        assert transport is not None
        while not (self.busy or self.paused or self.closing):
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._refuse("431 Request Header Fields Too Large")
                return
            if end > MAX_HEAD:
                self._refuse("431 Request Header Fields Too Large")
                return
            head = bytes(self.buffer[:end])
            del self.buffer[:end + 4]
            parsed = parse(head, self.server.address, self.peer)
            if isinstance(parsed, str):
                self._refuse(parsed)
                return
            environ, keep = parsed
            self._arm()
            if self.server.inline(environ):
                self._send(call(self.server.app, environ), keep)
                continue
            self.busy = True
            transport.pause_reading()
            future = asyncio.get_running_loop().run_in_executor(self.server.pool, call, self.server.app, environ)
            future.add_done_callback(functools.partial(self._answered, keep=keep))

    def _answered(self, future: asyncio.Future[Answer], *, keep: bool) -> None:
        self.busy = False
        if self.closing or future.cancelled():
            return
        self._send(future.result(), keep)
        if not self.closing and self.transport is not None:
            if not self.paused:
                self.transport.resume_reading()
            self._serve()

    def _send(self, answer: Answer, keep: bool) -> None:
        assert self.transport is not None
        self.transport.write(response(answer, keep))
        if not keep:
            self.closing = True
            self.transport.close()
        else:
            self._arm()

    def _refuse(self, status: str) -> None:
        self._send((status, [("Content-Type", "text/plain; charset=utf-8")], status[4:].encode() + b"\n"), False)


class LoopServer:
    """``app`` served on the running loop at ``address``:``port``; requests ``inline(environ)`` accepts are answered
    on the loop, the others on a pool of ``THREADS`` threads. Start with :meth:`start`, stop with :meth:`close`."""

    def __init__(self, app: WSGIApplication, inline: Callable[[WSGIEnvironment], bool]) -> None:
        self.app = app
        self.inline = inline
        self.open: set[_Connection] = set()
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="monitor-http")
        self.address = ("", 0)
        self._server: asyncio.Server | None = None

    async def start(self, address: str, port: int) -> int:
        """Listen (IPv4 or IPv6, port 0 for any); return the bound port."""
        loop = asyncio.get_running_loop()
        family, kind, _, _, where = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM,
                                                       flags=socket.AI_PASSIVE)[0]
        listening = socket.socket(family, kind)
        try:  # bound here, so a port in use is the OS's own error (asyncio rewords it)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind(where)
        except OSError:
            listening.close()
            raise
        self._server = await loop.create_server(lambda: _Connection(self), sock=listening, backlog=BACKLOG)
        bound = self._server.sockets[0].getsockname()
        self.address = (address, int(bound[1]))
        return self.address[1]

    def close(self) -> None:
        """Stop listening and drop the open connections (a request on a thread finishes there, unanswered)."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.open):
            if connection.transport is not None:
                connection.transport.abort()
        self.pool.shutdown(wait=False, cancel_futures=True)


"""One loopback HTTPS server per lab platform, doing what the :class:`World` plans.

Each connection is decided before TLS, from the simulated instant its source
address carries (:mod:`monitor.lab.simclock`; other peers get the live clock):
reset at once (RST), hang silently, or serve with the planned certificate. After
the handshake it speaks HTTP/2 when ALPN chose ``h2``, HTTP/1.1 otherwise, and
answers every request as planned: reset, hang, or respond after a delay with a
status and a body trickled over the planned transfer time. The listener is a
plain TCP server so the certificate can be chosen per connection.

Every plan that names a truth event is counted in :class:`AppliedEvents`, so the
lab's ground truth lists only what the probes could actually have seen.
"""

from __future__ import annotations

import asyncio
import html
import http
import logging
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from monitor.lab import simclock
from monitor.lab.world import Certificate, ResponsePlan, World

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    def _decoded(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
        """A request's headers by name: h2 types them as bytes, but gives str with ``header_encoding`` set."""
else:
    _decoded = dict  # no cost: exactly dict(headers)

MARKER = "Đăng nhập hệ thống"
"""Text on every platform's normal page: a check requiring it catches a wrong-content page."""

_CHUNKS = 4  # a body with a transfer time is sent in this many timed pieces
_ABORTS = (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
           h2.exceptions.ProtocolError, OSError)


def normal_page(display_name: str) -> bytes:
    """The platform's healthy home page: Vietnamese, naming the platform, with :data:`MARKER`."""
    name = html.escape(display_name)
    return (f'<!doctype html>\n<html lang="vi"><head><meta charset="utf-8"><title>{name}</title></head>\n'
            f"<body><h1>{name}</h1>\n<form><h2>{MARKER}</h2>\n"
            f'<label>Tên đăng nhập <input name="u"></label> <label>Mật khẩu <input type="password" name="p">'
            f"</label>\n<button>Đăng nhập</button></form></body></html>\n").encode()


def error_page(status: int) -> bytes:
    """What a gateway sends with an error status when the plan gives no body (nginx style)."""
    text = f"{status} {_phrase(status)}"
    return f"<html><head><title>{text}</title></head><body><center><h1>{text}</h1></center></body></html>\n".encode()


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass
class Applied:
    """How often one truth event was applied, and at which simulated instants first and last."""

    count: int
    first: float
    last: float


class AppliedEvents:
    """The truth events the lab actually applied, and the latest simulated instant it saw."""

    def __init__(self) -> None:
        self.events: dict[str, Applied] = {}
        self.latest: float | None = None

    def saw(self, at: float) -> None:
        """Note a simulated instant the lab was asked about."""
        if self.latest is None or at > self.latest:
            self.latest = at

    def record(self, event: str | None, at: float) -> None:
        """Count one application of ``event`` at ``at`` (None: a plain healthy plan, not counted)."""
        self.saw(at)
        if event is None:
            return
        applied = self.events.get(event)
        if applied is None:
            self.events[event] = Applied(1, at, at)
        else:
            applied.count += 1
            applied.first, applied.last = min(applied.first, at), max(applied.last, at)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), as a crashed or overloaded host does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already gone
    writer.transport.abort()


async def _fault(action: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Carry out a "reset" or "hang" plan; True when it ended the exchange."""
    if action == "reset":
        reset(writer)
        return True
    if action == "hang":
        await _until_eof(reader)
        return True
    return False


async def _until_eof(reader: asyncio.StreamReader) -> None:
    """Say nothing until the client leaves (or the task is cancelled when the lab stops)."""
    while await reader.read(65536):
        pass


class PlatformServer:
    """The loopback HTTPS listener of one platform."""

    def __init__(self, platform: str, display_name: str, world: World,
                 contexts: Callable[[Certificate], ssl.SSLContext], epoch: float,
                 live_clock: Callable[[], float], applied: AppliedEvents) -> None:
        self.platform = platform
        self.page = normal_page(display_name)
        self.world = world
        self.contexts = contexts
        self.epoch = epoch
        self.live_clock = live_clock
        self.applied = applied
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host``:``port`` (0 picks a free port); return the port."""
        self._server = await asyncio.start_server(self._connection, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and end every connection still open (hanging ones included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``coro`` as a task that :meth:`stop` cancels."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def response_plan(self, at: float, path: str) -> ResponsePlan:
        """Ask the World how to answer ``path`` at ``at``, and record the event it names."""
        plan = self.world.response(self.platform, at, path)
        self.applied.record(plan.event, at)
        return plan

    def body(self, plan: ResponsePlan) -> bytes:
        """The planned body, or the normal page (an error page for an error status) when none is given."""
        if plan.body:
            return plan.body
        return self.page if plan.status < 400 else error_page(plan.status)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = (writer.get_extra_info("peername") or ("",))[0]
        simulated = simclock.time_from(peer, self.epoch)
        # One simulated instant per connection (the address has 1 s resolution); the live clock moves on.
        clock: Callable[[], float] = (lambda: simulated) if simulated is not None else self.live_clock
        try:
            at = clock()
            plan = self.world.connection(self.platform, at)
            self.applied.record(plan.event, at)
            if await _fault(plan.action, reader, writer):
                return
            # CPython 3.11 marks the stream as TLS only after start_tls returns; a client that closes
            # right after the handshake (a tls check) lands in between and asyncio logs a warning.
            protocol: Any = getattr(writer, "_protocol", None)  # asyncio's private StreamReaderProtocol: untyped
            if hasattr(protocol, "_over_ssl"):
                protocol._over_ssl = True
            await writer.start_tls(self.contexts(plan.certificate))  # server side: this is a server's stream
            ssl_object = writer.get_extra_info("ssl_object")
            if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
                await _Http2Session(self, reader, writer, clock).run()
            else:
                await self._http1(reader, writer, clock)
        except _ABORTS:
            pass  # the client left, rejected our certificate, or spoke nonsense: nothing to answer
        except asyncio.CancelledError:
            pass  # the lab is stopping; Python 3.11's stream callback would log a cancelled handler as an error
        except Exception:  # a World bug must not take the listener down
            log.exception("lab platform %s: connection from %s failed", self.platform, peer)
        finally:
            if task is not None and task.cancelling():
                writer.transport.abort()  # the lab is stopping: no polite TLS close_notify
            else:
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _http1(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     clock: Callable[[], float]) -> None:
        """One HTTP/1.1 request, answered with ``Connection: close`` (probes never reuse connections)."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        try:
            method, path, _ = request_line.split(" ", 2)
            headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
            length = next((int(v) for k, v in headers.items() if k.strip().lower() == "content-length"), 0)
        except ValueError:
            return  # not HTTP: close without an answer, as a server facing garbage does
        if length:
            await reader.readexactly(length)  # a request body (POST checks): read, unused
        at = clock()
        plan = self.response_plan(at, path)
        if await _fault(plan.action, reader, writer):
            return
        await asyncio.sleep(plan.delay)
        body = self.body(plan)
        writer.write((f"HTTP/1.1 {plan.status} {_phrase(plan.status)}\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\nServer: platform-lab\r\n\r\n").encode())
        await writer.drain()

        async def send(chunk: bytes, last: bool) -> None:
            writer.write(chunk)
            await writer.drain()

        if method != "HEAD":
            await trickle(body, plan.transfer, send)


async def trickle(body: bytes, seconds: float, send: Callable[[bytes, bool], Awaitable[None]]) -> None:
    """Send ``body`` in a few pieces spread evenly over ``seconds`` (at once when 0)."""
    pieces = min(_CHUNKS, len(body)) if seconds > 0 else 1
    for index in range(pieces):
        if seconds > 0:
            await asyncio.sleep(seconds / pieces)
        await send(body[len(body) * index // pieces:len(body) * (index + 1) // pieces], index == pieces - 1)


class _Http2Session:
    """An HTTP/2 server connection (h2, sans-IO): each stream is answered by its own task."""

    def __init__(self, server: PlatformServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 clock: Callable[[], float]) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.clock = clock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False,
                                                                         header_encoding="utf-8"))
        self.window = asyncio.Event()  # set whenever the client grants more flow-control window
        self.streams: dict[int, asyncio.Task[None]] = {}

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.writer.transport.is_closing():
            self.writer.write(data)

    async def run(self) -> None:
        """Read frames until the client leaves or ends the connection."""
        self.conn.initiate_connection()
        self.flush()
        try:
            while data := await self.reader.read(65536):
                events = self.conn.receive_data(data)
                for event in events:
                    if isinstance(event, h2.events.RequestReceived):
                        headers = _decoded(event.headers)
                        self.streams[event.stream_id] = self.server.spawn(
                            self._stream(event.stream_id, headers.get(":method", "GET"), headers.get(":path", "/")))
                    elif isinstance(event, h2.events.DataReceived):
                        self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                        self.window.set()
                    elif isinstance(event, h2.events.StreamReset):
                        task = self.streams.pop(event.stream_id, None)
                        if task is not None:
                            task.cancel()
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                self.flush()
        finally:
            for task in self.streams.values():
                task.cancel()

    async def _stream(self, stream_id: int, method: str, path: str) -> None:
        try:
            await self._answer(stream_id, method, path)
        except _ABORTS:
            pass  # the client reset the stream (StreamClosedError is a ProtocolError) or left
        except Exception:  # a World bug must not go unnoticed in a task nobody awaits
            log.exception("lab platform %s: stream %d for %s failed", self.server.platform, stream_id, path)
        finally:
            self.streams.pop(stream_id, None)

    async def _answer(self, stream_id: int, method: str, path: str) -> None:
        plan = self.server.response_plan(self.clock(), path)
        if plan.action == "reset":
            reset(self.writer)
            return
        if plan.action == "hang":
            return  # the stream stays open and silent until the client gives up
        await asyncio.sleep(plan.delay)
        full = self.server.body(plan)
        body = b"" if method == "HEAD" else full
        self.conn.send_headers(stream_id, [
            (":status", str(plan.status)), ("content-type", "text/html; charset=utf-8"),
            ("content-length", str(len(full))), ("server", "platform-lab"),
        ], end_stream=not body)
        self.flush()
        await trickle(body, plan.transfer, lambda chunk, last: self._send(stream_id, chunk, last))

    async def _send(self, stream_id: int, data: bytes, end: bool) -> None:
        """Send ``data`` on a stream within the client's flow-control window."""
        while True:
            allowed = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size,
                          len(data))
            if allowed <= 0 and data:
                self.window.clear()
                await self.window.wait()
                continue
            self.conn.send_data(stream_id, data[:allowed], end_stream=end and allowed == len(data))
            self.flush()
            await self.writer.drain()
            data = data[allowed:]
            if not data:
                return

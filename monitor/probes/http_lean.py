"""The lean HTTP probe: h11 driven directly over our asyncio stream, for the common check.

The httpx path (:mod:`monitor.probes.http`) builds a client, a transport, a connection pool,
request and response models and trace hooks for every probe, to send one request over one
fresh connection: about a third of a probe's CPU. Here the same request goes out through h11
(the HTTP/1.1 state machine httpcore itself uses) over the same network backend and stream,
and every outcome is the httpx path's: the same request bytes, phases (begun and ended at the
points httpcore's trace events mark), reasons, error messages, status, certificate expiry, peer
and details. Redirects are followed as httpx follows them (the same ``Location`` resolution,
``Host`` and cookie jar between hops, ``max_redirects`` counted the same way).

TLS offers what httpcore offers for the check's ``http_version`` (``auto``: HTTP/1.1 and h2). When
the server chooses h2, that connection's exchange is httpcore's own HTTP/2 connection, on our
stream and with the httpx path's tracer, as the httpx path's pool would run it.

Only checks :func:`monitor.probes.http.lean_eligible` accepts come here: GET or HEAD, HTTP/1.1 or
``auto``, no headers of their own, no auth, no request body.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import cast

import h11
import httpcore
import httpx
from httpx._client import ACCEPT_ENCODING  # what httpx asks for; its decoders are the ones used below
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder, IdentityDecoder, MultiDecoder
from httpx._models import _is_known_encoding, _parse_content_type_charset

from monitor.config.model import HttpCheck
from monitor.errors import ProbeFailure
from monitor.probes._net import connect_failure, earliest_expiry
from monitor.probes._stream import SocketStream
from monitor.probes.base import Observation, ProbeContext
from monitor.probes.http_common import (
    USER_AGENT,
    VERSIONS,
    Backend,
    body_problem,
    header_problem,
    json_problem,
    tracer,
)
from monitor.probes.http_head import OTHER, Head, read_head
from monitor.result import Reason

# httpcore's own limits for an HTTP/1.1 connection (httpcore._async.http11.AsyncHTTP11Connection)
_READ_NUM_BYTES = 64 * 1024
_MAX_INCOMPLETE_EVENT_SIZE = 100 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ALPN = {"1.1": ["http/1.1"], "auto": ["http/1.1", "h2"]}  # httpcore's offer, by the check's http_version


class _Failed(Exception):
    """A transport failure, named as the httpx path names it: ``f"{kind}: {message}"``, reason ``protocol``
    (httpx's protocol, read and write errors) or ``other`` (whatever else httpcore raises)."""

    def __init__(self, kind: str, message: str, reason: Reason = Reason.PROTOCOL):
        super().__init__(message)
        self.kind = kind
        self.reason = reason


@contextmanager
def _mapped() -> Iterator[None]:
    """httpcore's exceptions (raised by its HTTP/2 connection) as the httpx path reports them: httpx turns each
    into its own exception of the same name; a refused or failed connect is mapped like the first connect."""
    try:
        yield
    except httpcore.ConnectError as exc:
        raise connect_failure(exc) from exc
    except (httpcore.ProtocolError, httpcore.ReadError, httpcore.WriteError) as exc:
        raise _Failed(type(exc).__name__, str(exc)) from exc
    except (httpcore.NetworkError, httpcore.TimeoutException, httpcore.UnsupportedProtocol) as exc:
        raise _Failed(type(exc).__name__, str(exc), Reason.OTHER) from exc


@functools.lru_cache(maxsize=8192)  # a URL per check: room for a process's thousands of checks
def _parsed(url: str) -> httpx.URL:
    return httpx.URL(url)


@functools.lru_cache(maxsize=256)
def _charset(content_type: str | None) -> str:
    """The body's text encoding as ``httpx.Response.encoding`` decides it (no charset or an unknown one: UTF-8)."""
    encoding = _parse_content_type_charset(content_type) if content_type is not None else None
    return encoding if encoding is not None and _is_known_encoding(encoding) else "utf-8"


def _decoder(headers: httpx.Headers) -> ContentDecoder:
    """``Content-Encoding`` undone as httpx does: unknown codings ignored, several in a row chained."""
    decoders: list[ContentDecoder] = []
    for value in headers.get_list("content-encoding", split_commas=True):
        decoder = SUPPORTED_DECODERS.get(value.strip().lower())
        if decoder is not None:
            decoders.append(decoder())
    if len(decoders) == 1:
        return decoders[0]
    if len(decoders) > 1:
        return MultiDecoder(children=decoders)
    return IdentityDecoder()


class _Response:
    """What the probe needs of one response."""

    __slots__ = ("headers", "http_version", "reason_phrase", "status_code", "url")

    def __init__(self, url: httpx.URL, status_code: int, reason_phrase: str, http_version: str,
                 headers: list[tuple[bytes, bytes]]):
        self.url = url
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.http_version = http_version
        self.headers = httpx.Headers(headers)


class _Exchange:
    """One request and its response over one fresh connection, as httpcore's HTTP/1.1 connection does it: the
    common answer to a GET read in one pass (:mod:`monitor.probes.http_head`), any other by h11 from its first
    byte, so every outcome is h11's."""

    def __init__(self, stream: SocketStream, obs: Observation):
        self._stream = stream
        self._obs = obs
        self._h11: h11.Connection | None = None  # None while the answer is read in one pass
        self._body = b""  # that answer's body bytes read and not yet taken
        self._length = self._remaining = 0  # its Content-Length, and how much of it has not been taken

    async def _receive(self) -> bytes:
        try:
            return await self._stream.read(_READ_NUM_BYTES)
        except httpcore.ReadError as exc:
            raise _Failed("ReadError", str(exc)) from exc

    async def _next(self, h11_connection: h11.Connection) -> h11.Event | type[h11.PAUSED]:
        while True:
            try:
                event = h11_connection.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Failed("RemoteProtocolError", str(exc)) from exc
            if event is not h11.NEED_DATA:
                return cast("h11.Event | type[h11.PAUSED]", event)
            data = await self._receive()
            if data == b"" and h11_connection.their_state == h11.SEND_RESPONSE:
                raise _Failed("RemoteProtocolError", "Server disconnected without sending a response.")
            h11_connection.receive_data(data)

    async def _head(self, request: h11.Request) -> Head | None:
        """The answer's head read in one pass, or None once h11 has been handed what came (it reads on)."""
        data, searched = bytearray(), 0
        while request.method == b"GET":
            head = read_head(data, _MAX_INCOMPLETE_EVENT_SIZE, searched)
            if isinstance(head, Head):
                self._body = bytes(data[head.size:head.size + head.length])
                self._length = self._remaining = head.length
                return head
            if head == OTHER:
                break
            more = await self._receive()
            if not more:
                raise _Failed("RemoteProtocolError", "Server disconnected without sending a response.")
            searched = len(data)
            data += more
        self._h11 = _client(request)[0]  # in the state of having sent the request: the same bytes went
        if data:  # (nothing given would be the end of the input to h11)
            self._h11.receive_data(bytes(data))
        return None

    async def request(self, request: h11.Request, url: httpx.URL, wire: bytes) -> _Response:
        """Send ``wire`` (``request`` as h11 writes it) and read the answer's head."""
        obs = self._obs
        obs.begin("processing")  # a deadline while sending is a read timeout too
        try:
            await self._stream.write(wire)
            obs.begin("processing", at=obs.last_write, unsure=obs.write_window)  # when its last bytes left
        except httpcore.WriteError:
            pass  # as httpcore: the server may have answered and closed early; read what it sent
        head = await self._head(request)
        if head is not None:
            status, reason, version, headers = head.status_code, head.reason, head.http_version, head.headers
        else:
            assert self._h11 is not None
            while True:  # past interim (1xx) responses, as httpcore
                event = await self._next(self._h11)
                if isinstance(event, h11.Response) or (
                        isinstance(event, h11.InformationalResponse) and event.status_code == 101):
                    break
            status, reason, version, headers = (event.status_code, event.reason, event.http_version,
                                                event.headers.raw_items())
        obs.begin("transfer", at=obs.end("processing", on_arrival=True))  # when the answer's head came
        return _Response(url, status, reason.decode("ascii", errors="ignore"), "HTTP/" + version.decode("ascii"),
                         headers)

    async def chunk(self) -> bytes | None:
        """The body's next raw bytes; None at its end."""
        if self._h11 is not None:
            event = await self._next(self._h11)
            return bytes(event.data) if isinstance(event, h11.Data) else None  # else EndOfMessage (or PAUSED)
        while not self._body:
            if not self._remaining:
                return None
            more = await self._receive()
            if not more:
                raise _Failed("RemoteProtocolError", "peer closed connection without sending complete message body "
                              f"(received {self._length - self._remaining} bytes, expected {self._length})")
            self._body = more[:self._remaining]
        chunk, self._body = self._body, b""
        self._remaining -= len(chunk)
        return chunk

    def chunks(self) -> AsyncIterator[bytes]:
        return _Body(self)

    async def close(self) -> None:
        pass  # nothing is read after the response: the connection is aborted

    def abort(self) -> None:
        self._stream.abort()


class _H2Exchange:
    """One request over HTTP/2, by httpcore's own HTTP/2 connection on our stream, as the httpx path's pool
    runs it when the server chose ``h2``; its trace events mark the phases through the httpx path's tracer."""

    def __init__(self, stream: SocketStream, obs: Observation, url: httpx.URL, port: int):
        self._stream = stream
        self._obs = obs
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, port)
        self._connection = httpcore.AsyncHTTP2Connection(origin=origin, stream=stream, keepalive_expiry=0)
        self._response: httpcore.Response | None = None

    async def request(self, request: h11.Request, url: httpx.URL, wire: bytes) -> _Response:

        target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        sent = httpcore.Request(request.method, target, headers=request.headers.raw_items(),
                                extensions={"trace": tracer(self._obs)})
        with _mapped():
            response = self._response = await self._connection.handle_async_request(sent)
        phrase = response.extensions.get("reason_phrase")
        return _Response(url, response.status,
                         phrase.decode("ascii", errors="ignore") if phrase else httpx.codes.get_reason_phrase(
                             response.status),
                         response.extensions.get("http_version", b"HTTP/1.1").decode("ascii", errors="ignore"),
                         response.headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        assert self._response is not None
        with _mapped():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def close(self) -> None:
        """As httpx closes the response (the pool then closes the connection, which keeps none alive)."""
        with _mapped():
            if self._response is not None:
                await self._response.aclose()
            await self._connection.aclose()

    def abort(self) -> None:
        self._stream.abort()


class _Body:
    """The response body as raw chunks; ``transfer`` ends with the last one, as httpcore's trace ends it."""

    def __init__(self, exchange: _Exchange):
        self._exchange = exchange
        self.done = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if not self.done:
            chunk = await self._exchange.chunk()
            if chunk is not None:
                return chunk
            self.done = True  # the body is complete
            self._exchange._obs.end("transfer", on_arrival=True)
        raise StopAsyncIteration


async def _read(exchange: _Exchange | _H2Exchange, response: _Response, limit: int | None) -> bytes:
    """The decoded body; over ``limit`` bytes (decoded, counted as httpx counts them) fails the probe."""
    decoder = _decoder(response.headers)
    chunks: list[bytes] = []
    size = 0
    try:
        async for raw in exchange.chunks():
            chunk = decoder.decode(raw)
            size += len(chunk)
            if limit is not None and size > limit:
                raise ProbeFailure(Reason.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
            chunks.append(chunk)
        chunk = decoder.flush()
    except httpx.DecodingError as exc:
        raise _Failed("DecodingError", str(exc)) from exc
    size += len(chunk)
    if limit is not None and size > limit:
        raise ProbeFailure(Reason.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
    chunks.append(chunk)
    return b"".join(chunks)


@functools.lru_cache(maxsize=8192)
def _first_request(method: str, url: str) -> tuple[h11.Request, bytes]:
    """The request httpx sends first for a check without headers of its own (its headers, in its order), and
    its bytes. Built once per check (h11 validates every header as it builds a request)."""

    parsed = _parsed(url)
    headers = [(b"Host", parsed.netloc), (b"Accept", b"*/*"), (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
               (b"Connection", b"keep-alive"), (b"User-Agent", USER_AGENT.encode("ascii"))]
    request = h11.Request(method=method, target=parsed.raw_path, headers=headers)
    return request, _client(request)[1]


def _client(request: h11.Request) -> tuple[h11.Connection, bytes]:
    """An h11 client connection that has sent ``request`` and its end, and the bytes it wrote (the end adds none
    to a request without a body)."""
    client = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=_MAX_INCOMPLETE_EVENT_SIZE)
    return client, (client.send(request) or b"") + (client.send(h11.EndOfMessage()) or b"")


def _redirect_url(url: httpx.URL, response: _Response) -> httpx.URL:
    """Where a redirect leads, resolved as ``httpx.AsyncClient`` resolves it."""
    try:
        target = httpx.URL(response.headers["Location"])
    except httpx.InvalidURL as exc:
        raise _Failed("RemoteProtocolError", f"Invalid URL in location header: {exc}.") from None
    if target.scheme and not target.host:
        target = target.copy_with(host=url.host)
    if target.is_relative_url:
        target = url.join(target)
    if url.fragment and not target.fragment:
        target = target.copy_with(fragment=url.fragment)
    return target


async def _connect(check: HttpCheck, ctx: ProbeContext, obs: Observation, url: httpx.URL,
                   ssl_context: ssl.SSLContext | None) -> _Exchange | _H2Exchange:
    """A fresh connection to ``url``'s origin: resolved and connected by the httpx path's own backend, then TLS
    offering what httpcore offers; HTTP/2 when the server chose it."""

    host = url.raw_host.decode("ascii")  # what httpcore connects to and names in SNI: IDNA, no brackets
    port = url.port or (443 if url.scheme == "https" else 80)
    stream = await Backend(obs, check, ctx).connect_tcp(host, port)
    assert isinstance(stream, SocketStream)
    if url.scheme != "https":
        return _Exchange(stream, obs)  # HTTP/2 only through ALPN: httpx's "auto" speaks HTTP/1.1 here
    assert ssl_context is not None
    ssl_context.set_alpn_protocols(_ALPN[check.http_version])  # as httpcore does, at every connection
    obs.begin("tls")
    try:
        await stream.start_tls(ssl_context, server_hostname=host)
    except httpcore.ConnectError as exc:
        raise connect_failure(exc) from exc
    obs.end("tls", on_arrival=True)
    ssl_object = stream.get_extra_info("ssl_object")
    obs.expiry(earliest_expiry(ssl_object))
    if ssl_object is not None:
        obs.details["tls_version"] = ssl_object.version()
        if ssl_object.selected_alpn_protocol() == "h2":
            return _H2Exchange(stream, obs, url, port)
    return _Exchange(stream, obs)


def _cookie_headers(jar: httpx.Cookies, method: str, url: httpx.URL,
                    headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The next hop's headers with the jar's cookies for ``url``, as httpx adds them."""
    return httpx.Request(method, url, headers=headers, cookies=jar).headers.raw


def _keep_cookies(jar: httpx.Cookies, url: httpx.URL, sent: h11.Request, response: _Response) -> None:
    if "set-cookie" in response.headers:
        request = httpx.Request(sent.method.decode("ascii"), url, headers=sent.headers.raw_items())
        jar.extract_cookies(httpx.Response(response.status_code, headers=response.headers, request=request))


async def probe(check: HttpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Request ``check.url`` once over a fresh connection; raise :class:`ProbeFailure` on failure."""

    first_url = str(check.url)
    url = _parsed(first_url)
    ssl_context: ssl.SSLContext | None = None
    method: str = check.method
    request, wire = _first_request(method, first_url)
    jar: httpx.Cookies | None = None
    redirects = 0
    try:
        while True:
            if redirects > check.max_redirects:
                raise ProbeFailure(Reason.TOO_MANY_REDIRECTS, f"more than {check.max_redirects} redirects")
            if url.scheme not in ("http", "https"):
                text = (f"Request URL has an unsupported protocol '{url.scheme}://'." if url.scheme
                        else "Request URL is missing an 'http://' or 'https://' protocol.")
                raise ProbeFailure(Reason.OTHER, f"UnsupportedProtocol: {text}")
            if url.scheme == "https" and ssl_context is None:
                offer = VERSIONS[check.http_version][2]
                ssl_context = await ctx.ssl_context(check.tls.verify, check.tls.ca_file, offer)
            exchange = await _connect(check, ctx, obs, url, ssl_context)
            try:
                response = await exchange.request(request, url, wire)
                if jar is not None or "set-cookie" in response.headers:
                    jar = jar if jar is not None else httpx.Cookies()
                    _keep_cookies(jar, url, request, response)
                redirect = response.status_code in _REDIRECT_STATUSES and "location" in response.headers
                # httpx resolves the Location even when it will not follow it: a bad one fails either way
                next_url = _redirect_url(url, response) if redirect else url
                if not redirect or not check.follow_redirects:
                    obs.status_code = response.status_code
                    obs.details["http_version"] = response.http_version
                    obs.details["redirects"] = redirects
                    body = await _read(exchange, response, check.max_body_bytes)
                    await exchange.close()
                    break
                # GET and HEAD stay themselves across every redirect status, in httpx as here
                headers = [(name, next_url.netloc if name == b"Host" else value)
                           for name, value in request.headers.raw_items() if name != b"Cookie"]
                if jar:
                    headers = _cookie_headers(jar, method, next_url, headers)
                request = h11.Request(method=method, target=next_url.raw_path, headers=headers)
                wire = _client(request)[1]
                url = next_url
                await _read(exchange, response, None)
                await exchange.close()
                redirects += 1
            finally:
                exchange.abort()
    except _Failed as exc:
        raise ProbeFailure(Reason.PROTOCOL, f"{exc.kind}: {exc}") from exc

    if check.fail_if_not_ssl and url.scheme != "https":  # a platform quietly downgraded is an incident
        raise ProbeFailure(Reason.NOT_HTTPS, f"ended on plain HTTP at http://{url.netloc.decode()}/")
    status = response.status_code
    if not any(low <= status <= high for low, high in check.expect_status):
        raise ProbeFailure(Reason.HTTP_STATUS, f"status {status} {response.reason_phrase}")
    if check.fail_if_header_matches or check.fail_if_header_not_matches:
        problem = header_problem(check, response.headers)
        if problem:
            raise ProbeFailure(Reason.HEADER_MISMATCH, problem)
    text = body.decode(_charset(response.headers.get("Content-Type")), errors="replace")
    problem = body_problem(check, text) or (json_problem(check.body_json, text) if check.body_json else None)
    if problem:
        raise ProbeFailure(Reason.BODY_MISMATCH, problem)

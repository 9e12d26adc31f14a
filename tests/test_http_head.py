"""The lean path's one-pass response head (monitor/probes/http_head.py) against h11, and the lean path that uses it
against the httpx path, on answers built to sit on and around the edge of the shape it reads itself."""

from __future__ import annotations

import asyncio
import os

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config.model import HttpCheck
from monitor.probes import ProbeContext
from monitor.probes.http_head import MORE, OTHER, Head, read_head
from monitor.runner import run_check
from tests.servers import LoopThread, start_server

LIMIT = 100 * 1024  # the lean path's (h11's max_incomplete_event_size there)

def _one(draw: st.DrawFn, plain: list[bytes], odd: list[bytes]) -> bytes:
    """Mostly one of ``plain``; now and then one of ``odd``."""
    return draw(st.sampled_from(odd if not draw(st.integers(0, 7)) else plain))


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """An HTTP/1.x answer: mostly the plain shape, with one or two things off it now and then, sometimes cut."""
    version = _one(draw, [b"HTTP/1.1", b"HTTP/1.0"], [b"HTTP/2.0", b"HTTP/1.1 ", b"http/1.1"])
    status = _one(draw, [b"200", b"201", b"404", b"503", b"599"], [b"204", b"304", b"600", b"101", b"199", b"20x"])
    reason = _one(draw, [b" OK", b" ", b" Service Unavailable "], [b"", b" t\tab", b" \x80"])
    body = draw(st.sampled_from([b"ok", b"", b"x" * 5000, b'{"a": 1}']))
    fields = [(b"Server", b"nginx"), (b"Content-Type", b"text/plain")]
    if draw(st.integers(0, 7)):
        fields.append((b"Content-Length", str(len(body)).encode()))
    for _ in range(draw(st.integers(0, 2))):
        name = _one(draw, [b"Content-Type", b"Server", b"Set-Cookie", b"Content-Encoding", b"X-Tab"],
                    [b"Content-Length", b"content-length", b"Transfer-Encoding", b"Bad Name", b""])
        value = _one(draw, [b"text/plain; charset=utf-8", b"", b"  padded  ", b"a \t b", b"gzip", b"identity",
                            b"a=b; Path=/"],
                     [b"\x7f", b"caf\xc3\xa9", b"2", b"2, 2", b"02", b"-1", b"chunked", b"123456789012345678901"])
        fields.insert(draw(st.integers(0, len(fields))), (name, value))
    lines = [version + b" " + status + reason]
    for name, value in fields:
        separator = _one(draw, [b": ", b":", b":\t"], [b" : "])
        lines.append(name + separator + value + draw(st.sampled_from([b"", b"", b" ", b"\t"])))
    if not draw(st.integers(0, 9)):
        lines.insert(draw(st.integers(1, len(lines))), b" folded")  # an obsolete line fold
    newline = b"\r\n" if draw(st.integers(0, 9)) else b"\n"
    data = newline.join(lines) + newline + newline + body + draw(st.sampled_from([b"", b"", b"after"]))
    return data[:draw(st.integers(0, len(data)))] if not draw(st.integers(0, 4)) else data


def _h11_reads(data: bytes) -> tuple[object, ...]:
    """What h11, having sent a GET, makes of ``data`` followed by the end of the input: its head, and the body it
    takes up to its end (or its error)."""
    client = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=LIMIT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    client.receive_data(b"")
    try:
        event = client.next_event()
    except h11.RemoteProtocolError as exc:
        return ("error", str(exc))
    if not isinstance(event, h11.Response):
        return ("not a response", event)
    head = (event.status_code, event.reason, event.http_version, event.headers.raw_items())
    body = b""
    try:
        while not isinstance(event := client.next_event(), h11.EndOfMessage):
            assert isinstance(event, h11.Data), event
            body += event.data
    except h11.RemoteProtocolError as exc:
        return (*head, body, "error", str(exc))
    return (*head, body)


def _ours(data: bytes, head: Head) -> tuple[object, ...]:
    """The same, as the lean path reads it once :func:`read_head` took the head: the body is Content-Length long."""
    body = data[head.size:head.size + head.length]
    reading = (head.status_code, head.reason, head.http_version, head.headers, body)
    if len(body) < head.length:
        return (*reading, "error", "peer closed connection without sending complete message body "
                f"(received {len(body)} bytes, expected {head.length})")
    return reading


@settings(max_examples=3000, deadline=None)
@given(answers())
def test_a_head_read_in_one_pass_is_read_as_h11_reads_it_and_a_head_still_coming_is_waited_for_as_h11_waits(data):
    reading = read_head(data, LIMIT)
    if isinstance(reading, Head):
        assert _ours(data, reading) == _h11_reads(data)
        for cut in range(reading.size):  # every part of the head alone: both wait for more
            assert read_head(data[:cut], LIMIT) == MORE
    elif reading == MORE:
        client = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=LIMIT)
        client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        if data:  # (nothing would be the end of the input)
            client.receive_data(data)
        assert client.next_event() is h11.NEED_DATA


def test_the_common_answer_is_read_in_one_pass_and_the_others_are_left_to_h11():
    nginx = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 16:00:00 GMT\r\n"
             b"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
    head = read_head(nginx, LIMIT)
    assert isinstance(head, Head) and (head.status_code, head.reason, head.length) == (200, b"OK", 3)
    assert head.headers[0] == (b"Server", b"nginx/1.22.1") and nginx[head.size:] == b"ok\n"
    for other in [nginx.replace(b"Content-Length: 3", b"Transfer-Encoding: chunked"),  # chunked: h11's
                  nginx.replace(b"Content-Length: 3\r\n", b""),  # to the end of the connection: h11's
                  nginx.replace(b"200 OK", b"204 No Content"), nginx.replace(b"200 OK", b"100 Continue"),
                  nginx.replace(b"\r\n", b"\n"), b"\x16\x03\x01", b"<html>"]:
        assert read_head(other, LIMIT) == OTHER, other
    assert read_head(nginx[:20], LIMIT) == MORE
    assert read_head(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20_000, LIMIT) == OTHER  # h11: "Receive buffer too long"


@pytest.fixture(scope="module")
def answering():
    """A loopback server that answers every request with ``answer[0]`` and closes."""
    answer = [b""]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer[0])
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    loop = LoopThread()
    server = loop.run(start_server(handler))
    yield server.port, answer
    loop.stop()


def _probe(port: int, path: str) -> tuple[object, ...]:
    os.environ["MONITOR_HTTP_PATH"] = path
    try:
        check = HttpCheck.model_validate({"id": "home", "kind": "http", "url": f"http://127.0.0.1:{port}/",
                                          "interval": 30, "timeout": 2})
        result = asyncio.run(run_check("gqthc", check, ProbeContext(location="test")))
    finally:
        del os.environ["MONITOR_HTTP_PATH"]
    return result.success, result.reason, result.error, result.status_code, result.details


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers())
def test_the_lean_path_and_the_httpx_path_agree_on_every_answer(answering, data):
    port, answer = answering
    answer[0] = data
    assert _probe(port, "lean") == _probe(port, "httpx"), data

"""The event-loop HTTP server of ``monitor run`` (monitor/httploop.py), over real loopback sockets: what is answered
on the loop and what on a thread, keep-alive and pipelining, bounds on what a client may send, and a crash."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from monitor import httploop
from monitor.httploop import LoopServer
from tests.servers import LoopThread


@pytest.fixture
def served():
    """A LoopServer on its own loop: ``/fast`` inline; ``/slow`` on a thread, held until ``release`` is set;
    ``/crash`` raises. Each answer names the thread it ran on."""
    loop = LoopThread()
    release = threading.Event()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/crash":
            raise RuntimeError("broken application")
        if path == "/slow":
            release.wait(10)
        body = f"{path} {environ['REQUEST_METHOD']} {threading.current_thread().name}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    server = LoopServer(app, inline=lambda environ: environ["PATH_INFO"] == "/fast")
    port = loop.run(server.start("127.0.0.1", 0))
    loop_name = loop.run(_thread_name())
    yield port, release, loop_name
    release.set()
    loop.loop.call_soon_threadsafe(server.close)
    loop.stop()


async def _thread_name() -> str:
    return threading.current_thread().name


def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_inline_requests_are_answered_on_the_loop_and_others_on_the_server_threads(served):
    port, release, loop_name = served
    release.set()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/fast")
    fast = conn.getresponse().read().decode()
    conn.request("GET", "/slow")  # the same connection: kept alive
    slow = conn.getresponse().read().decode()
    assert fast == f"/fast GET {loop_name}"
    assert slow.startswith("/slow GET monitor-http")


def test_a_request_held_on_a_thread_stalls_neither_the_loop_nor_other_clients(served):
    port, release, _ = served
    held = socket.create_connection(("127.0.0.1", port), timeout=10)
    held.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    half = socket.create_connection(("127.0.0.1", port), timeout=10)
    half.sendall(b"GET /fast HTTP/1.1\r\nHo")  # a head that never ends
    try:
        for _ in range(3):  # others are answered while both wait
            answer = raw(port, b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        held.settimeout(0.3)
        with pytest.raises(TimeoutError):
            held.recv(100)  # still waiting for its thread
        release.set()
        held.settimeout(10)
        assert held.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        held.close()
        half.close()


def test_pipelined_requests_are_answered_in_order_and_close_ends_the_connection(served):
    port, release, loop_name = served
    release.set()
    answer = raw(port, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"HEAD /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"GET /fast?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                       b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
    responses = answer.split(b"HTTP/1.1 ")[1:]
    assert len(responses) == 3  # the one after "Connection: close" is not answered
    assert b"\r\n\r\n/slow GET monitor-http" in responses[0]
    head_length = len(f"/fast HEAD {loop_name}")
    assert f"Content-Length: {head_length}\r\n".encode() in responses[1] and responses[1].endswith(b"\r\n\r\n")
    assert responses[2].endswith(f"/fast GET {loop_name}".encode()) and b"Connection: close" in responses[2]


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n", b"431"),
    (b"GET /fast HTTP/1.1\r\nX-Big: " + b"a" * (20 * 1024), b"431"),  # too big before it even ends
    (b"GET fast HTTP/1.1\r\n\r\n", b"400"),
    (b"get /fast HTTP/1.1\r\n\r\n", b"400"),
    (b"GET /fast HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
    (b"GET /fast HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", b"400"),
    (b"GET /fast HTTP/2.0\r\n\r\n", b"505"),
])
def test_a_malformed_or_oversized_head_is_refused_and_the_connection_closed(served, request_bytes, status):
    port, _, _ = served
    answer = raw(port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status)
    assert b"Connection: close" in answer


def test_a_request_with_a_body_is_answered_then_the_connection_closed(served):
    port, _, _ = served
    answer = raw(port, b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                       b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200") == 1 and b"/fast POST" in answer and b"Connection: close" in answer


def test_a_crashing_application_gets_500_and_the_server_goes_on(served):
    port, _, _ = served
    assert raw(port, b"GET /crash HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 500 Internal Server Error")
    assert raw(port, b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200 OK")


def test_an_idle_connection_is_closed_after_the_idle_time(served, monkeypatch):
    monkeypatch.setattr(httploop, "IDLE", 0.3)
    port, _, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(65536)
        began = time.monotonic()
        rest = s.recv(65536)  # nothing more is sent: the server closes
    assert first.startswith(b"HTTP/1.1 200 OK") and rest == b""
    assert time.monotonic() - began < 9  # closed by the server, not by this socket's 10 s timeout

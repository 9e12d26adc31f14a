"""TCP probe through the runner against real loopback sockets."""

from __future__ import annotations

import asyncio
import select
import socket
import time

import pytest

from monitor.config.model import TcpCheck
from monitor.probes import ProbeContext
from monitor.result import ProbeResult, Reason
from monitor.runner import run_check
from tests.servers import closed_port


@pytest.fixture
def listening_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def tcp_check(host: str, port: int, **fields) -> TcpCheck:
    return TcpCheck.model_validate({"id": "tcp", "kind": "tcp", "host": host, "port": port,
                                    "interval": 30, "timeout": 2, **fields})


def probe(check: TcpCheck) -> ProbeResult:
    result = asyncio.run(run_check("gqthc", check, ProbeContext(location="test")))
    assert result.success or type(result.reason) is Reason  # labels only ever carry the closed set
    return result


def test_connect_to_listening_socket(listening_port):
    result = probe(tcp_check("127.0.0.1", listening_port))
    assert result.success, result.error
    assert result.phases["connect"] > 0 and result.phases["total"] >= result.phases["connect"]
    assert "resolve" not in result.phases  # an IP literal is not resolved
    assert result.peer == f"127.0.0.1:{listening_port}"


def test_closed_port_is_refused():
    port = closed_port()
    result = probe(tcp_check("127.0.0.1", port))
    assert not result.success and result.reason is Reason.CONNECT_REFUSED
    assert "connect" not in result.phases and result.peer == f"127.0.0.1:{port}"


def test_address_override_connects_without_a_lookup(listening_port):
    # a .invalid name can never resolve: success proves no lookup was made
    result = probe(tcp_check("gqthc.invalid", 443, address=f"127.0.0.1:{listening_port}"))
    assert result.success, result.error
    assert "resolve" not in result.phases and "connect" in result.phases
    assert result.peer == f"127.0.0.1:{listening_port}"


def test_address_override_without_port_uses_the_check_port(listening_port):
    result = probe(tcp_check("gqthc.invalid", listening_port, address="127.0.0.1"))
    assert result.success, result.error
    assert result.peer == f"127.0.0.1:{listening_port}"


def test_localhost_resolves_from_hosts_file(listening_port):
    result = probe(tcp_check("localhost", listening_port))
    assert result.success, result.error
    assert result.phases["resolve"] > 0 and result.phases["connect"] > 0
    assert result.peer == f"127.0.0.1:{listening_port}"


def test_invalid_name_fails_without_a_connect():
    result = probe(tcp_check("gqthc.invalid", closed_port()))
    assert not result.success and result.reason is Reason.DNS
    assert result.peer is None and "resolve" not in result.phases


def test_full_accept_queue_is_a_connect_timeout():
    """Linux drops SYNs to a listener whose accept queue is full, so the connect hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)  # room for one connection that is never accepted
    port = server.getsockname()[1]
    fillers = [socket.create_connection(("127.0.0.1", port), timeout=1)]
    try:
        extra = socket.socket()
        fillers.append(extra)
        extra.setblocking(False)
        try:
            extra.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        # A non-blocking connect is writable once it completes (or fails): wait for that, not for a guess.
        # On loopback the answer to a SYN is immediate; a dropped SYN is retried only after 1 s.
        _, writable, _ = select.select([], [extra], [], 0.5)
        if writable and extra.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and _connected(extra):
            pytest.skip("this kernel completes connections beyond the listen backlog")
        began = time.perf_counter()
        result = probe(tcp_check("127.0.0.1", port, timeout="300ms"))
        elapsed = time.perf_counter() - began
        assert not result.success and result.reason is Reason.CONNECT_TIMEOUT, result.error
        assert result.error == "deadline of 300ms exceeded during connect"  # our deadline, not the kernel's
        assert 0.3 - 1e-3 <= result.duration <= elapsed and "connect" not in result.phases
    finally:
        for sock in fillers:
            sock.close()
        server.close()


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True

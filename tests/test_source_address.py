"""Probes connect from the context's source address (the lab reads simulated time from it)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from monitor.config.model import DnsCheck, HttpCheck, TcpCheck, TlsCheck
from monitor.probes import ProbeContext
from monitor.runner import run_check
from tests.servers import scripted, start_server

SOURCE = "127.128.1.2"


def probe(check):
    return asyncio.run(run_check("gqthc", check, ProbeContext(source_address=SOURCE)))


def peers_of(loop_thread, handler) -> tuple[int, list[str]]:
    peers: list[str] = []

    async def recording(reader, writer):
        peers.append(writer.get_extra_info("peername")[0])
        await handler(reader, writer)

    return loop_thread.run(start_server(recording)).port, peers


def test_http_tls_and_tcp_connect_from_the_source_address(loop_thread):
    port, peers = peers_of(loop_thread, scripted)  # plain TCP: the peer is recorded at accept
    pin = f"127.0.0.1:{port}"
    assert probe(HttpCheck.model_validate({"id": "h", "kind": "http", "url": "http://gqthc.dcs.vn/ok",
                                           "resolve": {"gqthc.dcs.vn": pin}})).success
    # the server speaks no TLS, so the handshake fails; only where the connection came from matters here
    probe(TlsCheck.model_validate({"id": "t", "kind": "tls", "host": "gqthc.dcs.vn", "address": pin, "timeout": 0.5}))
    assert probe(TcpCheck.model_validate({"id": "c", "kind": "tcp", "host": "gqthc.dcs.vn", "port": port,
                                          "address": "127.0.0.1"})).success
    deadline = time.monotonic() + 5
    while len(peers) < 3 and time.monotonic() < deadline:  # the server records on its own loop thread
        time.sleep(0.01)
    assert peers == [SOURCE, SOURCE, SOURCE]


def test_dns_queries_come_from_the_source_address():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    seen: list[str] = []

    def receive_one():
        _, peer = server.recvfrom(512)
        seen.append(peer[0])

    thread = threading.Thread(target=receive_one)
    thread.start()
    check = DnsCheck.model_validate({"id": "d", "kind": "dns", "name": "gqthc.dcs.vn", "timeout": 0.5,
                                     "server": f"127.0.0.1:{server.getsockname()[1]}"})
    probe(check)  # nobody answers; only the query's source matters here
    thread.join()
    server.close()
    assert seen == [SOURCE]

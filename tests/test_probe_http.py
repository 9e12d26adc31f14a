"""HTTP probe against real loopback servers with real TLS (trustme).

Every scenario the lean path (:mod:`monitor.probes.http_lean`) may take runs twice through the ``http_path``
fixture: once forced through httpx, once on the lean path; the rest (auth, headers, bodies, methods other than
GET and HEAD, ``http_version: "2"``) only through httpx. The tests at the end probe odd servers, over HTTP/1.1
and HTTP/2, on both paths and compare the results and the requests the servers saw.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import socket
import struct
import time

import pytest

from monitor.config.model import HttpCheck
from monitor.probes import ProbeContext
from monitor.probes.http import lean_eligible
from monitor.result import Reason
from monitor.runner import run_check
from tests.servers import closed_port

HOST = "gqthc.dcs.vn"


def http_check(url: str, **fields) -> HttpCheck:
    return HttpCheck.model_validate({"id": "home", "kind": "http", "url": url, "interval": 30, **fields})


def https_check(pki, port: int, path: str = "/ok", **fields) -> HttpCheck:
    """A check of the real host name, pinned to the loopback server like curl --resolve."""
    fields.setdefault("tls", {"ca_file": str(pki.ca_file)})
    return http_check(f"https://{HOST}{path}", resolve={HOST: f"127.0.0.1:{port}"}, **fields)


@pytest.fixture(params=["httpx", "lean"])
def http_path(request, monkeypatch) -> str:
    """The HTTP path a test runs on: ``httpx`` forced by the switch, or ``lean`` (the default dispatch)."""
    monkeypatch.setenv("MONITOR_HTTP_PATH", request.param)
    return request.param


def probe(check: HttpCheck):
    if os.environ.get("MONITOR_HTTP_PATH") == "lean":
        assert lean_eligible(check), "this scenario would not take the lean path"
    return asyncio.run(run_check("gqthc", check, ProbeContext(location="test")))


def test_plain_http_success_records_phases_in_order(http_port, http_path):
    result = probe(http_check(f"http://localhost:{http_port}/ok"))
    assert result.success and result.reason is None and result.status_code == 200
    assert {"resolve", "connect", "processing", "transfer", "total"} <= set(result.phases)
    assert "tls" not in result.phases  # no TLS on plain HTTP: absent, not 0
    assert result.phases["total"] >= sum(v for k, v in result.phases.items() if k != "total")
    assert result.peer == f"127.0.0.1:{http_port}"
    assert (result.platform, result.check, result.location, result.kind) == ("gqthc", "home", "test", "http")


def test_https_success_records_tls_and_certificate_expiry(https_port, pki, http_path):
    result = probe(https_check(pki, https_port))
    assert result.success, result.error
    assert result.phases["tls"] > 0
    assert "resolve" not in result.phases  # pinned address: nothing was resolved
    assert abs(result.cert_expiry - pki.not_after.timestamp()) < 2
    assert result.details["tls_version"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("status", [404, 503])
def test_unexpected_status_is_http_status_with_phases_kept(http_port, status, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}/status/{status}"))
    assert not result.success and result.reason is Reason.HTTP_STATUS
    assert result.status_code == status
    assert "processing" in result.phases and "total" not in result.phases


def test_expected_status_can_be_configured(http_port, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}/status/404", expect_status=[404]))
    assert result.success


def test_redirects_are_followed_and_phases_summed(loop_thread, http_path):
    from tests.servers import scripted, start_server

    connections = []

    async def counting(reader, writer):
        connections.append(1)
        await scripted(reader, writer)

    port = loop_thread.run(start_server(counting)).port
    result = probe(http_check(f"http://127.0.0.1:{port}/slowredirect/3"))
    assert result.success and result.status_code == 200 and result.details["redirects"] == 3
    assert len(connections) == 4  # a fresh connection for every hop
    assert result.phases["processing"] >= 0.15  # three hops of 50 ms each, summed


def test_redirect_loop_is_too_many_redirects(http_port, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}/loop"))
    assert result.reason is Reason.TOO_MANY_REDIRECTS


def test_redirect_limit_is_the_checks(http_port, http_path):
    assert probe(http_check(f"http://127.0.0.1:{http_port}/redirect/3", max_redirects=3)).success
    result = probe(http_check(f"http://127.0.0.1:{http_port}/redirect/3", max_redirects=2))
    assert result.reason is Reason.TOO_MANY_REDIRECTS


def test_redirects_not_followed_when_disabled(http_port, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}/redirect/1", follow_redirects=False,
                              expect_status=[200]))
    assert result.reason is Reason.HTTP_STATUS and result.status_code == 302


@pytest.mark.parametrize(
    ("rules", "path", "ok"),
    [
        ({"body_matches": ["hoạt động bình thường"]}, "/ok", True),
        ({"body_matches": ["bảo trì"]}, "/ok", False),
        ({"body_contains": ["Hệ thống"]}, "/ok", True),
        ({"body_not_contains": ["error page"]}, "/status/200", False),  # a 200 with an error page
        ({"body_not_matches": ["err.r"]}, "/ok", True),
        ({"body_not_matches": ["err.r"]}, "/status/200", False),
    ],
)
def test_body_rules(http_port, rules, path, ok, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}{path}", **rules))
    assert result.success is ok
    if not ok:
        assert result.reason is Reason.BODY_MISMATCH and result.status_code == 200


def test_body_size_limit(http_port, http_path):
    assert probe(http_check(f"http://127.0.0.1:{http_port}/big/1000", max_body_bytes=1000)).success
    result = probe(http_check(f"http://127.0.0.1:{http_port}/big/5000", max_body_bytes=1000))
    assert result.reason is Reason.BODY_TOO_LARGE


def test_method_headers_and_basic_auth_from_env_secret(http_port, monkeypatch):
    monkeypatch.setenv("PAKN_PASSWORD", "mật-khẩu")
    expected = base64.b64encode("giamsat:mật-khẩu".encode()).decode().lower()
    check = http_check(
        f"http://127.0.0.1:{http_port}/echo", method="POST", body="x=1", headers={"X-Probe": "mot"},
        auth={"basic": {"username": "giamsat", "password": {"env": "PAKN_PASSWORD"}}},
        body_contains=["post /echo", "x-probe: mot\r\n", f"authorization: basic {expected}\r\n"],
    )
    result = probe(check)
    assert result.success, result.error


def test_bearer_token_from_secret_file(http_port, tmp_path):
    (tmp_path / "token").write_text("s3cret\n")
    check = http_check(f"http://127.0.0.1:{http_port}/echo", auth={"bearer": {"file": str(tmp_path / "token")}},
                       body_contains=["authorization: bearer s3cret\r\n"])
    assert probe(check).success


def test_closed_port_is_connect_refused(http_path):
    result = probe(http_check(f"http://127.0.0.1:{closed_port()}/ok"))
    assert result.reason is Reason.CONNECT_REFUSED and "connect" not in result.phases


def test_invalid_name_is_dns_without_a_query(http_path):
    result = probe(http_check("https://gqthc.invalid/"))
    assert result.reason is Reason.DNS and "RFC 6761" in result.error


@pytest.mark.parametrize(
    ("cert", "reason"),
    [("expired", Reason.TLS_EXPIRED), ("wrong_host", Reason.TLS_HOSTNAME), ("untrusted", Reason.TLS_UNTRUSTED)],
)
def test_certificate_problems(loop_thread, pki, cert, reason, http_path):
    from tests.servers import scripted, start_server

    port = loop_thread.run(start_server(scripted, pki.server_context(getattr(pki, cert)))).port
    result = probe(https_check(pki, port))
    assert result.reason is reason, result.error
    assert "tls" not in result.phases and "connect" in result.phases


def test_tls_verification_can_be_switched_off(loop_thread, pki, http_path):
    from tests.servers import scripted, start_server

    port = loop_thread.run(start_server(scripted, pki.server_context(pki.untrusted))).port
    assert probe(https_check(pki, port, tls={"verify": False})).success


def test_server_that_never_answers_times_out_within_the_deadline(http_port, http_path):
    began = time.perf_counter()
    result = probe(http_check(f"http://127.0.0.1:{http_port}/hang", timeout=1))
    elapsed = time.perf_counter() - began
    assert result.reason is Reason.READ_TIMEOUT
    assert result.error == "deadline of 1s exceeded during processing"  # ended by its deadline, nothing else
    assert 1.0 - 1e-3 <= result.duration <= elapsed  # the whole deadline, and what the probe really took
    assert "processing" not in result.phases and "connect" in result.phases


def test_tls_server_that_never_handshakes_times_out(loop_thread, pki, http_path):
    from tests.servers import silent, start_server

    port = loop_thread.run(start_server(silent)).port
    result = probe(https_check(pki, port, timeout=0.5))
    assert result.reason is Reason.READ_TIMEOUT and "during tls" in result.error


@pytest.mark.parametrize(("cut", "reason", "words"), [
    ("reset", Reason.CONNECT_REFUSED, "cannot connect: [Errno 104] Connection reset by peer"),  # as the lab's outage
    ("close", Reason.TLS_HANDSHAKE, "TLS handshake failed: "),
])
def test_a_server_that_cuts_the_handshake_short(loop_thread, pki, http_path, cut, reason, words):
    """Connected, then the peer resets, or closes, before answering the ClientHello."""
    from tests.servers import start_server

    async def cutter(reader, writer):
        await reader.read(1)  # the ClientHello has come (all of it is read: a close now sends FIN, not RST)
        if cut == "reset":
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    port = loop_thread.run(start_server(cutter)).port
    result = probe(https_check(pki, port))
    assert (result.reason, result.error[:len(words)]) == (reason, words), result.error
    assert "connect" in result.phases and "tls" not in result.phases


def test_hung_target_does_not_delay_other_checks(http_port, http_path):
    async def scenario():
        finished: list[str] = []

        async def run(name, check):
            result = await run_check("gqthc", check, ProbeContext())
            finished.append(name)
            return result

        hung = run("hung", http_check(f"http://127.0.0.1:{http_port}/hang", timeout=2))
        quick = [run(f"ok{i}", http_check(f"http://127.0.0.1:{http_port}/delay/50")) for i in range(5)]
        results = await asyncio.gather(hung, *quick)
        return finished, results

    finished, results = asyncio.run(scenario())
    assert finished[-1] == "hung"
    assert results[0].reason is Reason.READ_TIMEOUT and results[0].duration >= 2.0 - 1e-3
    assert all(r.success and r.duration < results[0].duration for r in results[1:])


def test_processing_phase_is_exactly_the_time_the_server_held_the_request(http_path):
    """With the probe's clock injected, the server moves it: processing is what the server took, to the
    nanosecond, whatever else the machine is doing; nothing else (connect, transfer) sees that time."""
    from tests.servers import OK_PAGE, _response, send, start_server
    from tests.waiting import ManualClock

    clock = ManualClock()

    async def holding(reader, writer):
        await reader.readuntil(b"\r\n\r\n")  # the whole request has arrived: the client wrote it before this
        clock.advance(0.2)
        await send(writer, _response(200, OK_PAGE))

    async def scenario():
        # The server on the probe's own loop: they take turns, so the request has been written and its time
        # noted before the server runs (a server thread could move the clock between the two).
        server = await start_server(holding)
        try:
            # the kernel's receive times are on the real clock, not this one
            ctx = ProbeContext(clock=clock, arrival_stamps=False)
            return await run_check("gqthc", http_check(f"http://127.0.0.1:{server.port}/"), ctx)
        finally:
            server.server.close()

    result = asyncio.run(scenario())
    assert result.success, result.error
    assert result.phases["processing"] == pytest.approx(0.2, abs=1e-9)
    assert result.phases["connect"] == result.phases["transfer"] == 0.0
    assert result.phases["total"] == result.duration == pytest.approx(0.2, abs=1e-9)


def test_processing_phase_measures_the_servers_delay(loop_thread, http_path):
    """On the real clock: at least the time the server held the request, and no more than the probe's total."""
    from tests.servers import OK_PAGE, _response, send, start_server

    held = []

    async def delaying(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        began = time.perf_counter()  # the probe's own clock (perf_counter), read by the server
        await asyncio.sleep(0.2)
        held.append(time.perf_counter() - began)
        await send(writer, _response(200, OK_PAGE))

    port = loop_thread.run(start_server(delaying)).port
    result = probe(http_check(f"http://127.0.0.1:{port}/"))
    assert result.success, result.error
    assert held[0] >= 0.2 - 1e-3  # (asyncio never wakes early by more than its clock's resolution)
    assert held[0] <= result.phases["processing"] <= result.phases["total"]
    assert result.phases["processing"] + result.phases["connect"] + result.phases["transfer"] <= \
        result.phases["total"] + 1e-9


def test_each_probe_opens_a_fresh_connection(loop_thread, http_path):
    """A server that keeps connections alive still sees one new connection per probe."""
    from tests.servers import start_server

    connections = []

    async def keep_alive(reader, writer):
        connections.append(writer)
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    port = loop_thread.run(start_server(keep_alive)).port

    async def twice():
        context = ProbeContext()
        check = http_check(f"http://127.0.0.1:{port}/")
        return [await run_check("gqthc", check, context) for _ in range(2)]

    assert all(r.success for r in asyncio.run(twice()))
    assert len(connections) == 2


@pytest.mark.parametrize(("version", "expected"), [("auto", "HTTP/2"), ("1.1", "HTTP/1.1")])
def test_http2_and_http11(h2_port, pki, version, expected, http_path):
    result = probe(https_check(pki, h2_port, path="/", http_version=version, body_contains=["hypercorn ok"]))
    assert result.success, result.error
    assert result.details["http_version"] == expected


H2_SEEN: list[tuple] = []  # what the HTTP/2 server was asked: (version, method, path, headers)


@pytest.fixture(scope="module")
def h2_port(loop_thread, pki, tmp_path_factory):
    """Hypercorn (a real HTTP/2 server) with the trusted certificate."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    directory = tmp_path_factory.mktemp("h2")
    pki.good.private_key_pem.write_to_path(str(directory / "key.pem"))
    pki.good.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    port = closed_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(directory / "cert.pem"), str(directory / "key.pem")
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = config.errorlog = None

    async def app(scope, receive, send):
        """``/`` "hypercorn ok"; ``/gzip`` the same gzipped; ``/moved`` a 301 to ``/``; ``/login`` a 302 setting
        a cookie that ``/home`` requires (403 without); ``/status/N`` status N; every request noted in H2_SEEN."""
        import gzip

        if scope["type"] != "http":
            return
        H2_SEEN.append((scope["http_version"], scope["method"], scope["path"], sorted(scope["headers"])))
        path, status, headers, body = scope["path"], 200, [(b"content-type", b"text/plain")], b"hypercorn ok"
        if path == "/gzip":
            headers, body = [*headers, (b"content-encoding", b"gzip")], gzip.compress(body)
        elif path == "/moved":
            status, headers = 301, [(b"location", b"/")]
        elif path == "/login":
            status, headers = 302, [(b"location", b"/home"), (b"set-cookie", b"phien=h2; Path=/")]
        elif path == "/home":
            status = 200 if (b"cookie", b"phien=h2") in scope["headers"] else 403
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    stop = asyncio.Event()
    serving = asyncio.run_coroutine_threadsafe(serve(app, config, shutdown_trigger=stop.wait), loop_thread.loop)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    loop_thread.loop.call_soon_threadsafe(stop.set)
    serving.result(10)



# --- headers on redirects ----------------------------------------------------------------------

API_KEY = "khoa-api-bi-mat-2026"
TOKEN = "token-bi-mat"
OTHER = "pakn.dcs.vn"


def _to(url: str) -> str:
    """The path on a scripted server that redirects to ``url``."""
    from urllib.parse import quote

    return "/to?" + quote(url, safe="")


@pytest.fixture
def two_servers(loop_thread, monkeypatch, tmp_path):
    """Two recording servers on loopback, and the private headers a check sends: a key from the environment,
    a bearer token from a file and a session cookie; Accept-Language is safe to send anywhere."""
    from tests.servers import scripted_recording, start_server

    monkeypatch.setenv("MONITOR_TEST_API_KEY", API_KEY)
    (tmp_path / "token").write_text(TOKEN + "\n")
    first, second = [], []
    first_port = loop_thread.run(start_server(scripted_recording(first))).port
    second_port = loop_thread.run(start_server(scripted_recording(second))).port
    private = {"headers": {"X-Api-Key": {"env": "MONITOR_TEST_API_KEY"}, "Cookie": "phien=abc123",
                           "Accept-Language": "vi"},
               "auth": {"bearer": {"file": str(tmp_path / "token")}}}
    return first, first_port, second, second_port, private


def _sent_private(head: str) -> bool:
    private = [f"x-api-key: {API_KEY}", f"authorization: bearer {TOKEN}", "cookie: phien=abc123"]
    present = [line in head for line in private]
    assert all(present) or not any(present), head  # all or nothing
    return all(present)


@pytest.mark.parametrize(("second_host", "sent"), [
    (OTHER, False),  # another host: the key, the token and the cookie stay behind
    (HOST, True),  # the same host on another port: the check's own
])
def test_private_headers_go_only_to_the_checks_host(two_servers, second_host, sent):
    first, first_port, second, second_port, private = two_servers
    url = f"http://{HOST}:{first_port}" + _to(f"http://{second_host}:{second_port}/ok")
    result = probe(http_check(url, resolve={HOST: "127.0.0.1", OTHER: "127.0.0.1"}, **private))
    assert result.success and result.details["redirects"] == 1, result.error
    assert len(first) == 1 and len(second) == 1
    assert _sent_private(first[0])
    assert _sent_private(second[0]) is sent
    assert f"host: {second_host}:{second_port}" in second[0]
    assert "accept-language: vi" in second[0] and "user-agent: party-platform-monitor/" in second[0]
    assert (API_KEY in second[0]) is sent and (TOKEN in second[0]) is sent


def test_private_headers_come_back_when_a_redirect_returns_to_the_checks_host(two_servers):
    first, first_port, second, second_port, private = two_servers
    back = f"http://{HOST}:{first_port}/ok"
    url = f"http://{HOST}:{first_port}" + _to(f"http://{OTHER}:{second_port}" + _to(back))
    result = probe(http_check(url, resolve={HOST: "127.0.0.1", OTHER: "127.0.0.1"}, **private))
    assert result.success and result.details["redirects"] == 2, result.error
    assert [_sent_private(head) for head in first] == [True, True]
    assert [_sent_private(head) for head in second] == [False]


def test_private_headers_never_follow_a_downgrade_to_plain_http(two_servers, loop_thread, pki):
    """The same host, but from HTTPS to HTTP: anyone on the path would read the key."""
    from tests.servers import scripted_recording, start_server

    _, _, plain, plain_port, private = two_servers
    secure = []
    tls_port = loop_thread.run(start_server(scripted_recording(secure), pki.server_context(pki.good))).port
    url = f"https://{HOST}:{tls_port}" + _to(f"http://{HOST}:{plain_port}/ok")
    result = probe(http_check(url, resolve={HOST: "127.0.0.1"}, tls={"ca_file": str(pki.ca_file)}, **private))
    assert result.success and result.details["redirects"] == 1, result.error
    assert _sent_private(secure[0]) and not _sent_private(plain[0])


def test_header_value_from_a_secret_file_is_sent_and_never_shown(two_servers, tmp_path):
    heads, port, *_ = two_servers
    (tmp_path / "key").write_text(API_KEY + "\n")
    check = http_check(f"http://127.0.0.1:{port}/ok", headers={"X-Api-Key": {"file": str(tmp_path / "key")}})
    result = probe(check)
    assert result.success and f"x-api-key: {API_KEY}\r\n" in heads[0]
    assert API_KEY not in repr(check) + str(check.model_dump()) + repr(result)


def test_a_secret_header_gone_since_start_up_fails_the_probe_naming_its_source(http_port, monkeypatch):
    monkeypatch.setenv("MONITOR_TEST_API_KEY", API_KEY)
    check = http_check(f"http://127.0.0.1:{http_port}/ok", headers={"X-Api-Key": {"env": "MONITOR_TEST_API_KEY"}})
    monkeypatch.delenv("MONITOR_TEST_API_KEY")
    result = probe(check)
    assert result.reason is Reason.OTHER and result.error == "environment variable MONITOR_TEST_API_KEY is not set"


# --- options from blackbox_exporter and gatus ----------------------------------------------------


def test_fail_if_not_ssl_fails_when_the_platform_ends_on_plain_http(https_port, http_port, pki, http_path):
    downgrade = _to(f"http://{HOST}:{http_port}/ok")
    fields = {"resolve": {HOST: "127.0.0.1"}, "tls": {"ca_file": str(pki.ca_file)}}
    url = f"https://{HOST}:{https_port}"
    assert probe(http_check(url + downgrade, **fields)).success  # off by default, as in blackbox_exporter
    result = probe(http_check(url + downgrade, fail_if_not_ssl=True, **fields))
    assert result.reason is Reason.NOT_HTTPS and result.status_code == 200 and result.details["redirects"] == 1
    assert result.error == f"ended on plain HTTP at http://{HOST}:{http_port}/"
    assert probe(http_check(url + "/redirect/1", fail_if_not_ssl=True, **fields)).success  # HTTPS throughout
    assert probe(http_check(f"http://{HOST}:{http_port}/ok", fail_if_not_ssl=True, **fields)).reason is Reason.NOT_HTTPS


HEADERS_PATH = "/headers?Server=nginx%2F1.14.0&X-Cache=HIT&Strict-Transport-Security=max-age%3D300"


@pytest.mark.parametrize(("rules", "error"), [
    ({"fail_if_header_matches": [{"header": "Server", "regexp": r"nginx/1\.1[0-4]\."}]},
     r"header Server matches /nginx/1\.1[0-4]\./"),
    ({"fail_if_header_matches": [{"header": "server", "regexp": "Apache"}]}, None),  # names are case-insensitive
    ({"fail_if_header_matches": [{"header": "X-Debug", "regexp": "."}]}, None),  # missing: nothing matches
    ({"fail_if_header_not_matches": [{"header": "X-Cache", "regexp": "^HIT$"}]}, None),
    ({"fail_if_header_not_matches": [{"header": "Strict-Transport-Security", "regexp": r"max-age=\d{8,}"}]},
     r"header Strict-Transport-Security does not match /max-age=\d{8,}/"),
    ({"fail_if_header_not_matches": [{"header": "X-Frame-Options", "regexp": "DENY"}]},
     "header X-Frame-Options is missing"),
    ({"fail_if_header_not_matches": [{"header": "X-Frame-Options", "regexp": "DENY", "allow_missing": True}]}, None),
])
def test_header_rules(http_port, rules, error, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}{HEADERS_PATH}", **rules))
    assert result.success is (error is None), result.error
    if error:
        assert result.reason is Reason.HEADER_MISMATCH and result.error == error and result.status_code == 200


DOCUMENT = {"status": "UP", "data": {"items": [{"state": "ok", "queue": 3}]}, "ready": True, "ratio": 0.5,
            "tên": "Sổ tay"}


@pytest.mark.parametrize(("assertion", "error"), [
    ({"path": "$.status", "equals": "UP"}, None),
    ({"path": "status", "equals": "DOWN"}, 'body $.status is "UP", expected "DOWN"'),
    ({"path": "data.items[0].state", "equals": "ok"}, None),
    ({"path": "$.data.items[0].queue", "lt": 10}, None),
    ({"path": "$.data.items[0].queue", "le": 2}, "body $.data.items[0].queue is 3, expected <= 2"),
    ({"path": "$.data.items[0].queue", "gt": 3}, "body $.data.items[0].queue is 3, expected > 3"),
    ({"path": "$.data.items[0].queue", "ge": 3}, None),
    ({"path": "$.ratio", "equals": 0.5}, None),
    ({"path": "$.status", "gt": 0}, 'body $.status is "UP", not a number (expected > 0)'),
    ({"path": "$.ready", "equals": True}, None),
    ({"path": "$.ready", "equals": 1}, "body $.ready is true, expected 1"),  # true is not 1
    ({"path": '$["tên"]', "equals": "Sổ tay"}, None),
    ({"path": "$.data.items[1]", "exists": True}, "body $.data.items[1] is missing"),
    ({"path": "$.error", "exists": False}, None),
    ({"path": "$.ready", "exists": False}, "body $.ready exists"),
    ({"path": "$.data.items[0].owner", "equals": "x"}, "body $.data.items[0].owner is missing"),
])
def test_json_body_assertions(http_port, assertion, error, http_path):
    from urllib.parse import quote

    url = f"http://127.0.0.1:{http_port}/json?" + quote(json.dumps(DOCUMENT, ensure_ascii=False), safe="")
    result = probe(http_check(url, body_json=[assertion]))
    assert result.success is (error is None), result.error
    if error:
        assert result.reason is Reason.BODY_MISMATCH and result.error == error


def test_json_assertions_on_a_body_that_is_not_json(http_port, http_path):
    result = probe(http_check(f"http://127.0.0.1:{http_port}/ok", body_json=[{"path": "$.status", "equals": "UP"}]))
    assert result.reason is Reason.BODY_MISMATCH and result.error.startswith("body is not JSON: Expecting value")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize(("ip_protocol", "peer"), [("ip6", "v6"), ("ip4", "v4"), (None, "v4")])
def test_ip_protocol_picks_the_family_among_a_names_addresses(loop_thread, ip_protocol, peer, http_path):
    from tests.servers import scripted_recording, start_server

    seen = {"v4": [], "v6": []}
    v4 = loop_thread.run(start_server(scripted_recording(seen["v4"]))).port
    v6 = loop_thread.run(start_server(scripted_recording(seen["v6"]), host="::1")).port
    addresses = {HOST: [f"127.0.0.1:{v4}", f"[::1]:{v6}"]}
    result = probe(http_check(f"http://{HOST}/ok", resolve=addresses, ip_protocol=ip_protocol))
    assert result.success, result.error
    assert result.peer == (f"[::1]:{v6}" if peer == "v6" else f"127.0.0.1:{v4}")
    assert len(seen[peer]) == 1 and not seen["v6" if peer == "v4" else "v4"]


def test_ip_protocol_falls_back_to_the_other_family_unless_told_not_to(http_port, http_path):
    """``localhost`` (the system resolver, /etc/hosts) and a pinned address, each with IPv4 only."""
    for url, fields in ((f"http://localhost:{http_port}/ok", {}),
                        (f"http://{HOST}/ok", {"resolve": {HOST: f"127.0.0.1:{http_port}"}})):
        result = probe(http_check(url, ip_protocol="ip6", **fields))
        if fields or result.peer.startswith("127."):  # a name with an IPv6 address here would be picked: right too
            assert result.success and result.peer == f"127.0.0.1:{http_port}", result.error
            result = probe(http_check(url, ip_protocol="ip6", ip_protocol_fallback=False, **fields))
            assert result.reason is Reason.DNS and "no IPv6 address" in result.error
            assert "connect" not in result.phases


# --- the two paths side by side ------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "eligible"), [
    ({}, True),
    ({"method": "HEAD"}, True),
    ({"url": "https://gqthc.dcs.vn/", "follow_redirects": False, "max_redirects": 0}, True),
    ({"expect_status": [404], "body_json": [{"path": "$.a", "equals": 1}], "fail_if_not_ssl": True}, True),
    ({"resolve": {"gqthc.dcs.vn": "127.0.0.1:8443"}, "ip_protocol": "ip6", "tls": {"verify": False}}, True),
    ({"http_version": "1.1"}, True),
    ({"http_version": "2"}, False),  # HTTP/2 or nothing: httpx
    ({"method": "POST"}, False),
    ({"body": "x=1", "method": "PUT"}, False),
    ({"headers": {"Accept-Language": "vi"}}, False),
    ({"auth": {"bearer": {"env": "TOKEN"}}}, False),
])
def test_lean_eligible(fields, eligible):
    fields = {"url": "https://gqthc.dcs.vn/", **fields}
    assert lean_eligible(http_check(fields.pop("url"), **fields)) is eligible


CAFE = "Quán cà phê"  # sent as ISO-8859-1, which the Content-Type names


async def _odd(reader, writer, heads: list[bytes]):
    """Responses the scripted server never gives: encodings, old versions, broken framing, cookies."""
    import gzip

    from tests.servers import OK_PAGE, _response, send

    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
        return
    heads.append(head)
    path = head.split(b" ", 2)[1].decode()
    answers = {
        "/gzip": _response(200, gzip.compress(OK_PAGE * 50), {"Content-Encoding": "gzip"}),
        "/badgzip": _response(200, b"not gzip at all", {"Content-Encoding": "gzip"}),
        "/http10": b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + OK_PAGE,
        "/latin1": _response(200, CAFE.encode("iso-8859-1"), {"Content-Type": "text/plain; charset=iso-8859-1"}),
        "/continue": b"HTTP/1.1 100 Continue\r\n\r\n" + _response(200, OK_PAGE),
        "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        "/badchunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "/garbage": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        "/badlocation": _response(302, headers={"Location": "http://[::1/"}),
        "/ftp": _response(302, headers={"Location": "ftp://gqthc.dcs.vn/"}),
        "/relative": _response(301, headers={"Location": "../ok#top"}),
        "/login": _response(302, headers={"Location": "/home", "Set-Cookie": "phien=abc; Path=/; HttpOnly"}),
        "/home": _response(200 if b"cookie: phien=abc" in head.lower() else 403, OK_PAGE),
        "/head": _response(200, OK_PAGE),
        "/ok": _response(200, OK_PAGE),
    }
    if path == "/close":
        writer.close()
        return
    if path == "/trickle":  # the headers and a first piece of the body, then nothing until the client leaves
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        await writer.drain()
        await reader.read()
        writer.close()
        return
    await send(writer, answers.get(path, _response(404, b"not found")))


def _both(check: HttpCheck, monkeypatch):
    """The check probed on each path: (httpx's result, lean's result)."""
    results = []
    for path in ("httpx", "lean"):
        monkeypatch.setenv("MONITOR_HTTP_PATH", path)
        results.append(probe(check))
    return results


def _outcome(result):
    return (result.success, result.reason, result.error, result.status_code, result.peer, result.details,
            sorted(result.phases), result.cert_expiry)


@pytest.mark.parametrize(("path", "fields", "reason", "error"), [
    ("/gzip", {"body_contains": ["bình thường"], "max_body_bytes": 100_000}, None, None),
    ("/gzip", {"max_body_bytes": 1000}, Reason.BODY_TOO_LARGE, "body exceeds 1000 bytes"),  # counted decoded
    ("/badgzip", {}, Reason.PROTOCOL, None),
    ("/http10", {"body_contains": ["bình thường"]}, None, None),
    ("/latin1", {"body_contains": [CAFE]}, None, None),
    ("/continue", {"body_contains": ["bình thường"]}, None, None),
    ("/short", {}, Reason.PROTOCOL, None),
    ("/badchunk", {}, Reason.PROTOCOL, None),
    ("/garbage", {}, Reason.PROTOCOL, None),
    ("/close", {}, Reason.PROTOCOL, "RemoteProtocolError: Server disconnected without sending a response."),
    ("/badlocation", {}, Reason.PROTOCOL, None),
    ("/badlocation", {"follow_redirects": False}, Reason.PROTOCOL, None),  # httpx reads the Location anyway
    ("/ftp", {}, Reason.OTHER, "UnsupportedProtocol: Request URL has an unsupported protocol 'ftp://'."),
    ("/relative", {}, None, None),
    ("/login", {}, None, None),  # the cookie set by the redirect goes along to the next hop
    ("/head", {"method": "HEAD"}, None, None),
    ("/trickle", {"timeout": 0.3}, Reason.READ_TIMEOUT, "deadline of 300ms exceeded during transfer"),
])
def test_both_paths_see_odd_servers_alike(loop_thread, monkeypatch, path, fields, reason, error):
    from tests.servers import start_server

    heads: list[bytes] = []
    port = loop_thread.run(start_server(functools.partial(_odd, heads=heads))).port
    httpx_result, lean_result = _both(http_check(f"http://{HOST}:{port}{path}", resolve={HOST: "127.0.0.1"},
                                                 **fields), monkeypatch)
    assert httpx_result.reason is reason, httpx_result.error
    if error is not None:
        assert httpx_result.error == error
    assert _outcome(lean_result) == _outcome(httpx_result)
    half = len(heads) // 2
    assert heads[:half] == heads[half:]  # byte for byte the same requests, hop by hop


def test_both_paths_send_the_same_request_over_tls(loop_thread, pki, monkeypatch):
    from tests.servers import start_server

    heads: list[bytes] = []
    port = loop_thread.run(start_server(functools.partial(_odd, heads=heads), pki.server_context(pki.good))).port
    httpx_result, lean_result = _both(https_check(pki, port, path="/login"), monkeypatch)
    assert httpx_result.success and httpx_result.details["redirects"] == 1, httpx_result.error
    assert _outcome(lean_result) == _outcome(httpx_result)
    assert len(heads) == 4 and heads[:2] == heads[2:]
    assert heads[0].startswith(b"GET /login HTTP/1.1\r\nHost: gqthc.dcs.vn\r\n")  # the pinned port is not the URL's


def test_http2_only_goes_through_httpx(h2_port, pki):
    check = https_check(pki, h2_port, path="/", http_version="2", body_contains=["hypercorn ok"])
    assert not lean_eligible(check)
    result = probe(check)
    assert result.success and result.details["http_version"] == "HTTP/2", result.error


def test_http11_against_a_server_that_offers_http2(h2_port, pki, http_path):
    result = probe(https_check(pki, h2_port, path="/", http_version="1.1", body_contains=["hypercorn ok"]))
    assert result.success, result.error
    assert result.details == {"http_version": "HTTP/1.1", "redirects": 0, "tls_version": "TLSv1.3"}


def test_probe_connects_from_the_contexts_source_address(loop_thread, http_path):
    """The lab reads simulated time from the source address: both paths must connect from it, every hop."""
    from tests.servers import scripted, start_server

    peers: list[str] = []

    async def recording(reader, writer):
        peers.append(writer.get_extra_info("peername")[0])
        await scripted(reader, writer)

    port = loop_thread.run(start_server(recording)).port
    check = http_check(f"http://{HOST}/redirect/1", resolve={HOST: f"127.0.0.1:{port}"})
    result = asyncio.run(run_check("gqthc", check, ProbeContext(source_address="127.128.1.2")))
    assert result.success and result.details["redirects"] == 1, result.error
    assert peers == ["127.128.1.2", "127.128.1.2"]


@pytest.mark.parametrize(("path", "fields", "reason"), [
    ("/", {"body_contains": ["hypercorn ok"]}, None),
    ("/", {"method": "HEAD"}, None),
    ("/gzip", {"body_contains": ["hypercorn ok"]}, None),
    ("/moved", {}, None),
    ("/moved", {"max_redirects": 0}, Reason.TOO_MANY_REDIRECTS),
    ("/login", {}, None),  # the cookie set by the redirect goes along to the next hop, over HTTP/2 too
    ("/status/503", {}, Reason.HTTP_STATUS),
    ("/", {"body_contains": ["bảo trì"]}, Reason.BODY_MISMATCH),
])
def test_both_paths_agree_over_http2(h2_port, pki, monkeypatch, path, fields, reason):
    """``auto`` against a server that chooses h2: the lean path hands the connection to httpcore's HTTP/2."""
    H2_SEEN.clear()
    httpx_result, lean_result = _both(https_check(pki, h2_port, path=path, **fields), monkeypatch)
    assert httpx_result.reason is reason, httpx_result.error
    assert reason is Reason.TOO_MANY_REDIRECTS or httpx_result.details["http_version"] == "HTTP/2"
    assert _outcome(lean_result) == _outcome(httpx_result)
    half = len(H2_SEEN) // 2
    assert H2_SEEN[:half] == H2_SEEN[half:] and {seen[0] for seen in H2_SEEN} == {"2"}

"""TLS probe (handshake only) against real loopback TLS servers."""

from __future__ import annotations

import asyncio

import pytest

from monitor.config.model import TlsCheck
from monitor.probes import ProbeContext
from monitor.result import Reason
from monitor.runner import run_check
from tests.servers import scripted, silent, start_server


def tls_check(pki, port: int, **fields) -> TlsCheck:
    fields.setdefault("tls", {"ca_file": str(pki.ca_file)})
    return TlsCheck.model_validate({"id": "cert", "kind": "tls", "host": pki.HOST,
                                    "address": f"127.0.0.1:{port}", **fields})


def probe(check: TlsCheck):
    return asyncio.run(run_check("gqthc", check, ProbeContext()))


def serve(loop_thread, pki, cert: str, handler=scripted) -> int:
    return loop_thread.run(start_server(handler, pki.server_context(getattr(pki, cert)))).port


def test_valid_certificate(loop_thread, pki):
    result = probe(tls_check(pki, serve(loop_thread, pki, "good")))
    assert result.success, result.error
    assert {"connect", "tls", "total"} <= set(result.phases) and "resolve" not in result.phases
    assert abs(result.cert_expiry - pki.not_after.timestamp()) < 2
    assert result.details["days_to_expiry"] == pytest.approx(20, abs=0.1)
    assert result.details["chain_verified"] and result.details["hostname_matched"]
    assert result.details["tls_version"] == "TLSv1.3"


@pytest.mark.parametrize(
    ("cert", "reason"),
    [("expired", Reason.TLS_EXPIRED), ("wrong_host", Reason.TLS_HOSTNAME), ("untrusted", Reason.TLS_UNTRUSTED)],
)
def test_rejected_certificates_keep_their_expiry(loop_thread, pki, cert, reason):
    result = probe(tls_check(pki, serve(loop_thread, pki, cert)))
    assert result.reason is reason, result.error
    assert result.cert_expiry is not None  # read from a second, unverified handshake
    if cert == "expired":
        assert result.cert_expiry < result.started_at


def test_plain_http_server_is_a_handshake_failure(loop_thread, pki):
    async def plain_http(reader, writer):  # answers the ClientHello with HTTP, not TLS
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    port = loop_thread.run(start_server(plain_http)).port
    result = probe(tls_check(pki, port))
    assert result.reason is Reason.TLS_HANDSHAKE, result.error


def test_server_that_never_handshakes_times_out(loop_thread, pki):
    port = loop_thread.run(start_server(silent)).port
    result = probe(tls_check(pki, port, timeout=0.5))
    assert result.reason is Reason.READ_TIMEOUT and "tls" not in result.phases


@pytest.fixture(params=["httpx", "lean"])
def http_path(request, monkeypatch) -> str:
    """The HTTP probe's path: ``httpx`` forced by the switch, or ``lean`` (the default for an HTTP/1.1 GET)."""
    monkeypatch.setenv("MONITOR_HTTP_PATH", request.param)
    return request.param


@pytest.mark.parametrize("cert", ["good", "expired", "wrong_host", "untrusted"])
def test_an_https_check_sees_the_certificate_as_the_tls_check_does(loop_thread, pki, http_path, cert):
    """On either HTTP path: the same verdict on the certificate, and for a good one the same expiry and version."""
    from monitor.config.model import HttpCheck
    from monitor.probes.http import lean_eligible

    port = serve(loop_thread, pki, cert)
    https = HttpCheck.model_validate({"id": "home", "kind": "http", "url": f"https://{pki.HOST}/ok",
                                      "http_version": "1.1", "resolve": {pki.HOST: f"127.0.0.1:{port}"},
                                      "tls": {"ca_file": str(pki.ca_file)}})
    assert lean_eligible(https)
    seen_by_tls, seen_by_http = probe(tls_check(pki, port)), probe(https)
    assert (seen_by_http.success, seen_by_http.reason) == (seen_by_tls.success, seen_by_tls.reason)
    assert seen_by_http.peer == seen_by_tls.peer == f"127.0.0.1:{port}"
    if cert == "good":
        assert seen_by_http.success, seen_by_http.error
        assert seen_by_http.cert_expiry == seen_by_tls.cert_expiry
        assert seen_by_http.details["tls_version"] == seen_by_tls.details["tls_version"] == "TLSv1.3"
    else:
        assert seen_by_http.error == seen_by_tls.error  # "certificate verify failed: …", word for word

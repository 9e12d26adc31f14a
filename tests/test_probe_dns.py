"""DNS probe through the runner against the loopback responder (monitor.lab.dnsd).

Every check names ``server:`` (the responder) except the ``.invalid`` one, which
the probe answers locally; the system resolver is made to fail loudly so no test
can reach it by mistake.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

import monitor.probes.dns as dns_probe
from monitor.config.model import DnsCheck
from monitor.lab.dnsd import DnsResponder, serve_in_thread
from monitor.probes import ProbeContext
from monitor.result import ProbeResult, Reason
from monitor.runner import run_check

NAME = "gqthc.dcs.vn"


@pytest.fixture(scope="module")
def _responder():
    with serve_in_thread() as responder:
        yield responder


@pytest.fixture
def dnsd(_responder: DnsResponder) -> DnsResponder:
    _responder.clear()
    return _responder


def dns_check(name: str = NAME, port: int | None = None, **fields) -> DnsCheck:
    data = {"id": "dns", "kind": "dns", "name": name, "interval": 30, "timeout": 2, **fields}
    if port is not None:
        data["server"] = f"127.0.0.1:{port}"
    return DnsCheck.model_validate(data)


def probe(check: DnsCheck) -> ProbeResult:
    result = asyncio.run(run_check("gqthc", check, ProbeContext(location="test")))
    assert result.success or isinstance(result.reason, Reason)  # labels only ever carry the closed set
    return result


def failed(result: ProbeResult, reason: Reason = Reason.DNS) -> bool:
    return not result.success and type(result.reason) is Reason and result.reason is reason


def test_a_record_answered(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10", "127.0.0.11"])
    result = probe(dns_check(port=dnsd.port))
    assert result.success, result.error
    assert result.reason is None and result.kind == "dns"
    assert result.phases["resolve"] > 0 and result.phases["total"] >= result.phases["resolve"]
    assert result.details["rcode"] == "NOERROR"
    assert sorted(result.details["answers"]) == ["127.0.0.10", "127.0.0.11"]
    assert result.peer == f"127.0.0.1:{dnsd.port}"
    assert [(q.transport, q.name, q.rtype) for q in dnsd.queries] == [("udp", NAME, "A")]


def test_aaaa_record_answered(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])  # must not leak into an AAAA answer
    dnsd.set_records(NAME, "AAAA", ["2001:db8::10"])
    result = probe(dns_check(port=dnsd.port, record_type="AAAA"))
    assert result.success, result.error
    assert result.details["answers"] == ["2001:db8::10"]


def test_answers_followed_through_cname_keep_only_the_asked_type(dnsd):
    dnsd.set_records("sotaydangvien.dcs.vn", "CNAME", ["edge.dcs.vn."])
    dnsd.set_records("edge.dcs.vn", "A", ["127.0.0.20"])
    result = probe(dns_check("sotaydangvien.dcs.vn", port=dnsd.port, expect_addresses=["127.0.0.20"]))
    assert result.success, result.error
    assert result.details["answers"] == ["127.0.0.20"]


def test_expected_addresses_present(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10", "127.0.0.11"])
    result = probe(dns_check(port=dnsd.port, expect_addresses=["127.0.0.11"]))
    assert result.success, result.error


def test_expected_address_missing_is_named(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    result = probe(dns_check(port=dnsd.port, expect_addresses=["127.0.0.10", "127.0.0.99"]))
    assert failed(result)
    assert "127.0.0.99" in result.error and "127.0.0.10," not in result.error
    assert "resolve" in result.phases  # the query itself completed; only the answer was wrong


def test_expected_ipv6_address_matches_in_any_spelling(dnsd):
    dnsd.set_records(NAME, "AAAA", ["2001:db8::10"])
    result = probe(dns_check(port=dnsd.port, record_type="AAAA", expect_addresses=["2001:0DB8:0:0::10"]))
    assert result.success, result.error


def test_nxdomain_fails(dnsd):
    dnsd.set_records("other.dcs.vn", "A", ["127.0.0.10"])
    result = probe(dns_check("missing.dcs.vn", port=dnsd.port))
    assert failed(result)
    assert result.details["rcode"] == "NXDOMAIN" and "NXDOMAIN" in result.error


def test_nxdomain_expected_succeeds(dnsd):
    result = probe(dns_check("retired.dcs.vn", port=dnsd.port, expect_rcode="NXDOMAIN"))
    assert result.success, result.error
    assert result.details["rcode"] == "NXDOMAIN"


def test_noerror_when_nxdomain_expected_fails(dnsd):
    dnsd.set_records("retired.dcs.vn", "A", ["127.0.0.10"])
    result = probe(dns_check("retired.dcs.vn", port=dnsd.port, expect_rcode="NXDOMAIN"))
    assert failed(result) and result.details["rcode"] == "NOERROR"


@pytest.mark.parametrize("behaviour, rcode", [("servfail", "SERVFAIL"), ("refused", "REFUSED")])
def test_error_rcodes_fail(dnsd, behaviour, rcode):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    dnsd.set_behaviour(NAME, behaviour)
    result = probe(dns_check(port=dnsd.port))
    assert failed(result)
    assert result.details["rcode"] == rcode and result.details["answers"] == []


def test_noerror_without_records_of_the_type_fails(dnsd):
    dnsd.set_records(NAME, "TXT", ["v=spf1 -all"])
    result = probe(dns_check(port=dnsd.port, record_type="AAAA"))
    assert failed(result)
    assert result.details["rcode"] == "NOERROR" and "no AAAA records" in result.error


def test_dropped_query_ends_at_the_deadline_without_a_resolve_phase(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    dnsd.set_behaviour(NAME, "drop")
    began = time.perf_counter()
    result = probe(dns_check(port=dnsd.port, timeout="500ms"))
    elapsed = time.perf_counter() - began
    assert failed(result)
    assert result.error == "deadline of 500ms exceeded during resolve"
    assert 0.5 - 1e-3 <= result.duration <= elapsed  # the whole deadline, and what the probe really took
    assert "resolve" not in result.phases and "total" not in result.phases
    assert [q.name for q in dnsd.queries] == [NAME]  # it was sent and heard, just never answered


def test_delayed_answer_is_timed(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    dnsd.set_behaviour(NAME, "delay", delay=0.2)
    began = time.perf_counter()
    result = probe(dns_check(port=dnsd.port))
    elapsed = time.perf_counter() - began
    assert result.success, result.error
    # at least the responder's delay (asyncio never wakes early), at most what the probe really took
    assert 0.2 - 1e-3 <= result.phases["resolve"] <= result.phases["total"] <= result.duration <= elapsed


def test_resolve_phase_is_exactly_the_time_the_server_held_the_query(dnsd, monkeypatch):
    """With the probe's clock injected, the responder moves it: ``resolve`` is the query's round trip."""
    from tests.waiting import ManualClock

    clock = ManualClock()

    def hold(name: str, peer: str):
        clock.advance(0.2)  # the query has arrived and is not answered yet
        return None  # then answer from the table

    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    monkeypatch.setattr(dnsd, "decide", hold)
    result = asyncio.run(run_check("gqthc", dns_check(port=dnsd.port), ProbeContext(clock=clock)))
    assert result.success, result.error
    assert result.phases["resolve"] == result.phases["total"] == pytest.approx(0.2, abs=1e-9)


def test_truncated_udp_answer_is_retried_over_tcp(dnsd):
    dnsd.set_records(NAME, "A", ["127.0.0.10"])
    dnsd.set_behaviour(NAME, "truncate")
    result = probe(dns_check(port=dnsd.port))
    assert result.success, result.error
    assert result.details["answers"] == ["127.0.0.10"]
    assert [q.transport for q in dnsd.queries] == ["udp", "tcp"]


def test_invalid_name_is_answered_locally(monkeypatch):
    async def no_query(*args, **kwargs):
        raise AssertionError("a query was sent for a .invalid name")
    monkeypatch.setattr(dns_probe.dns.asyncquery, "udp", no_query)
    monkeypatch.setattr(dns_probe.dns.asyncquery, "tcp", no_query)
    result = probe(dns_check("gqthc.invalid"))
    assert failed(result)
    assert result.details["rcode"] == "NXDOMAIN" and result.peer is None
    assert "resolve" not in result.phases


def test_no_server_listening_fails_within_the_deadline():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    began = time.perf_counter()
    result = probe(dns_check(port=port, timeout="500ms"))
    elapsed = time.perf_counter() - began
    assert failed(result)
    # the refusal (ICMP) never reaches dnspython's unconnected UDP socket: the deadline ends the wait, no later
    assert result.error == "deadline of 500ms exceeded during resolve"
    assert 0.5 - 1e-3 <= result.duration <= elapsed and "resolve" not in result.phases
    assert result.peer == f"127.0.0.1:{port}"



def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_loopback_server():
    with serve_in_thread("::1") as responder:
        responder.set_records(NAME, "A", ["127.0.0.10"])
        result = probe(dns_check(server=f"[::1]:{responder.port}"))
    assert result.success, result.error
    assert result.peer == f"[::1]:{responder.port}"

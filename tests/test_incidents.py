"""Incident detection as a pure function: tables of probe outcomes in, incidents out."""

from __future__ import annotations

import pytest

from monitor.domain import IncidentPolicy
from monitor.incidents import certificate_warnings, detect, required_locations
from monitor.result import ProbeResult, Reason

T0 = 1_780_290_000.0  # 01/06/2026 12:00 in Vietnam (a Monday)
STEP = 30.0


def probe(i: int, outcome: str, location: str = "hanoi", check: str = "home", platform: str = "stdv",
          latency: float = 0.2, unreliable: bool = False) -> ProbeResult:
    """Probe number ``i`` (30 s apart): ``.`` ok, ``x`` failed, ``s`` slow (5 s)."""
    failed = outcome == "x"
    total = 5.0 if outcome == "s" else latency
    return ProbeResult(platform=platform, check=check, kind="http", location=location,
                       started_at=T0 + i * STEP, success=not failed, duration=total,
                       reason=Reason.CONNECT_REFUSED if failed else None,
                       phases={} if failed else {"total": total}, unreliable=unreliable)


def series(pattern: str, **kw) -> list[ProbeResult]:
    return [probe(i, c, **kw) for i, c in enumerate(pattern) if c != " "]


def spans(incidents):
    return [((i.start - T0) / STEP, None if i.end is None else (i.end - T0) / STEP, i.kind, i.scope)
            for i in incidents]


@pytest.mark.parametrize("pattern, expected", [
    ("..........", []),
    ("....x.....", []),  # one lost probe is not an incident
    ("...xx.....", []),  # two are not either (failures_to_open = 3)
    ("...xxx....", [(3, 6, "down", "platform")]),
    ("...xxxxxx.x.x..........", [(3, 13, "down", "platform")]),  # a single success does not close it
    ("...xxxxx", [(3, None, "down", "platform")]),  # still failing at the end of the data: open
])
def test_down_needs_consecutive_failures_and_closes_after_consecutive_successes(pattern, expected):
    assert spans(detect(series(pattern), {})) == expected


def test_a_flapping_platform_is_one_incident_not_twenty():
    pattern = ("xxx.." * 8) + "." * 40
    incidents = detect(series(pattern), {})
    assert spans(incidents) == [(0, 38, "down", "platform")]
    assert incidents[0].probes == 38 and incidents[0].failed == 24


def test_slow_successes_make_a_degraded_incident_with_the_worst_latency():
    incidents = detect(series("." * 30 + "s" * 40 + "." * 30), {"stdv": 2.5})
    assert spans(incidents) == [(30, 70, "degraded", "platform")]
    assert incidents[0].worst_latency == 5.0 and incidents[0].reasons == {"slow": 40}


def test_the_platform_threshold_decides_what_is_slow():
    pattern = "." * 30 + "s" * 40 + "." * 30
    assert detect(series(pattern), {"stdv": 6.0}) == []


def test_congestion_with_some_failures_is_degraded_not_a_string_of_outages():
    # Under load a third of the requests are slow or fail, never three failures in a row for long.
    pattern = "." * 30 + ("s.x..s.x.s..xx.s..s" * 6) + "." * 40
    incidents = detect(series(pattern), {"stdv": 2.5})
    assert [(kind, scope) for _, _, kind, scope in spans(incidents)] == [("degraded", "platform")]
    start, end, *_ = spans(incidents)[0]
    assert 30 <= start <= 32 and 30 + 6 * 19 - 6 <= end <= 30 + 6 * 19


def test_an_unreliable_result_counts_only_for_what_its_stall_cannot_explain():
    from monitor.incidents import usable

    def stalled(result: ProbeResult, seconds: float) -> ProbeResult:
        return ProbeResult(**{**result.__dict__, "unreliable": True, "details": {"stalled": seconds}})

    assert usable(stalled(probe(0, "."), 0.3), 2.5)  # fast even with the stall: ok
    assert usable(stalled(probe(0, "s"), 0.3), 2.5)  # 5 s - 0.3 s is still slow
    assert not usable(stalled(probe(0, "s"), 3.0), 2.5)  # 5 s - 3 s might not be: unknown
    assert usable(stalled(probe(0, "x"), 3.0), 2.5)  # a refused connection is an answer, not timing
    timeout = ProbeResult("stdv", "home", "http", "hanoi", T0, False, 10.0, reason=Reason.READ_TIMEOUT)
    assert usable(stalled(timeout, 1.0), 2.5) and not usable(stalled(timeout, 9.0), 2.5)
    # Slow probes overlap more stalls: dropping every unreliable one would hide congestion.
    congested = [stalled(r, 0.4) if r.phases.get("total", 0) > 2.5 else r
                 for r in series("." * 20 + "s" * 30 + "." * 20)]
    assert spans(detect(congested, {"stdv": 2.5})) == [(20, 50, "degraded", "platform")]


def test_unreliable_results_are_ignored():
    results = series("." * 10) + [probe(10 + i, "s", unreliable=True) for i in range(30)] + series(" " * 40 + "." * 10)
    assert detect(results, {"stdv": 2.5}) == []


def test_one_location_failing_alone_is_a_location_problem_not_a_platform_outage():
    results = series("...xxxxxxxx.........", location="caobang") + series("." * 21, location="hanoi") \
        + series("." * 21, location="hcm")
    incidents = detect(results, {})
    assert spans(incidents) == [(3, 11, "down", "location")]
    assert incidents[0].locations == ("caobang",) and incidents[0].id.endswith("-caobang")


def test_half_of_the_locations_failing_make_a_platform_outage_over_the_common_time():
    results = series("...xxxxxxxx.........", location="caobang") + series(".....xxxxxxxx.......", location="hanoi") \
        + series("." * 21, location="hcm") + series("." * 21, location="danang")
    incidents = detect(results, {})
    assert spans(incidents) == [(5, 11, "down", "platform")]
    assert incidents[0].locations == ("caobang", "hanoi")


@pytest.mark.parametrize("reporting, share, needed", [(1, 0.5, 1), (2, 0.5, 2), (3, 0.5, 2), (4, 0.5, 2),
                                                       (5, 0.5, 3), (4, 0.75, 3), (3, 1.0, 3)])
def test_locations_needed_for_a_platform_incident(reporting, share, needed):
    assert required_locations(reporting, share) == needed


def test_any_check_of_the_platform_counts_and_the_reasons_are_kept():
    results = series("." * 20) + [
        ProbeResult("stdv", "dns", "dns", "hanoi", T0 + i * 60, False, 5.0, reason=Reason.DNS) for i in range(2, 8)
    ] + [ProbeResult("stdv", "dns", "dns", "hanoi", T0 + i * 60, True, 0.01) for i in range(8, 10)]
    incidents = detect(results, {})
    assert spans(incidents) == [(4, 16, "down", "platform")]
    assert incidents[0].reasons == {"dns": 6}


def test_ids_are_stable_when_the_same_period_is_recomputed_from_more_data():
    base = series("..........xxxxxx..........")
    later = series("..........xxxxxx........................xxxx...")
    first, again = detect(base, {}), detect(later, {})
    assert first[0].id == again[0].id and len(again) == 2 and again[1].id != again[0].id


def test_policy_thresholds_are_configurable():
    policy = IncidentPolicy(failures_to_open=5, successes_to_close=1)
    assert detect(series("...xxxx...."), {}, policy) == []
    assert spans(detect(series("...xxxxx..."), {}, policy)) == [(3, 8, "down", "platform")]
    # A failure right after recovery neither re-opens nor extends the closed incident.
    assert spans(detect(series("...xxxxx.x."), {}, policy)) == [(3, 8, "down", "platform")]
    with pytest.raises(ValueError, match="at least 1"):
        IncidentPolicy(failures_to_open=0)


def test_a_certificate_about_to_expire_is_a_warning_not_downtime():
    day = 86400.0
    results = [ProbeResult("dvc", "cert", "tls", "hanoi", T0 + i * 300, True, 0.05, cert_expiry=T0 + 12 * day,
                           phases={"total": 0.05}) for i in range(10)]
    assert detect(results, {}) == []
    (warning,) = certificate_warnings(results)
    assert warning.platform == "dvc" and 11.9 < warning.days_left < 12.0
    far = [ProbeResult("dvc", "cert", "tls", "hanoi", T0, True, 0.05, cert_expiry=T0 + 90 * day)]
    assert certificate_warnings(far) == []


def test_a_page_failing_more_often_than_not_is_down_even_when_other_checks_pass():
    # 502 for most requests (not all in a row) while the DNS check keeps answering.
    page = series("." * 10 + "x.xxxx.xx.xxx.xxx.xx" + "." * 10)
    dns = [ProbeResult("stdv", "dns", "dns", "hanoi", T0 + i * STEP, True, 0.01) for i in range(40)]
    (incident,) = detect(page + dns, {})
    assert incident.kind == "down" and incident.reasons == {"connect_refused": 15}


# What each kind times as its total: only HTTP's is a page a person waits for. A TCP connect, a DNS query
# or a TLS handshake of 5 s is a slow network path, not a slow platform, and `slow_after` is about pages.
_PHASE_OF = {"tcp": "connect", "dns": "resolve", "tls": "tls", "http": "processing"}


def timed(i: int, kind: str, seconds: float) -> ProbeResult:
    """A successful probe of ``kind`` number ``i`` (30 s apart) whose total took ``seconds``."""
    return ProbeResult(platform="stdv", check=kind, kind=kind, location="hanoi", started_at=T0 + i * STEP,
                       success=True, duration=seconds, phases={_PHASE_OF[kind]: seconds, "total": seconds})


@pytest.mark.parametrize("kind", ["tcp", "dns", "tls"])
def test_only_http_probes_can_be_slow(kind):
    from monitor.incidents import is_bad

    durations = [0.2] * 30 + [5.0] * 40 + [0.2] * 30  # 40 probes at twice the platform's slow_after
    slow_other = [timed(i, kind, seconds) for i, seconds in enumerate(durations)]
    assert detect(slow_other, {"stdv": 2.5}) == []
    assert not is_bad(timed(0, kind, 5.0), 2.5)
    # the same durations on an HTTP check are a slowdown
    slow_page = [timed(i, "http", seconds) for i, seconds in enumerate(durations)]
    assert spans(detect(slow_page, {"stdv": 2.5})) == [(30, 70, "degraded", "platform")]
    assert is_bad(timed(0, "http", 5.0), 2.5)

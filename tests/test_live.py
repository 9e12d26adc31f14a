"""Live detection keeps only recent, slimmed results yet agrees with full detection on what is open."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import Catalog
from monitor.domain import IncidentPolicy
from monitor.incidents import detect
from monitor.live import WINDOWS_KEPT, LiveIncidents
from tests.test_incidents import probe, series

POLICY = IncidentPolicy()
SLOW = {"stdv": 2.5}


def live_after(results) -> LiveIncidents:
    live = LiveIncidents(Catalog(platforms=[]), POLICY)
    live.slow_after = SLOW
    for result in results:
        live.add(result)
    return live


def open_now(incidents):
    return sorted((i.platform, i.kind, i.scope, i.locations) for i in incidents if i.end is None)


def test_an_outage_is_open_until_two_successes_even_after_a_long_history():
    history = "." * 5000 + "xxxx"
    assert open_now(live_after(series(history)).open()) == [("stdv", "down", "platform", ("hanoi",))]
    assert live_after(series(history + "..")).open() == []


def test_slow_congestion_is_open_as_degraded():
    # Each ".." closes a stretch; three slow probes since then open it again (and join it to the last).
    assert open_now(live_after(series("." * 300 + "s..s.s" * 5 + "s")).open()) == [
        ("stdv", "degraded", "platform", ("hanoi",))]


def test_what_is_kept_describes_the_failures_it_counts():
    (incident,) = live_after(series("." * 100 + "xxxx")).open()
    assert incident.reasons == {"connect_refused": 4} and incident.probes == 4


def test_only_a_few_windows_are_kept_per_check():
    live = live_after(series("." * 5000) + series("." * 5000, check="login"))
    assert sorted(len(kept) for kept in live._recent.values()) == [WINDOWS_KEPT * POLICY.window] * 2


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=".xs", min_size=1, max_size=400))
def test_live_and_full_detection_agree_on_what_is_open(pattern):
    results = series(pattern)
    assert open_now(live_after(results).open()) == open_now(detect(results, SLOW, POLICY))


def _with_stalls(pattern: str, **kw):
    """As :func:`series`, and ``u``: a probe measured during a stall of ours (unreliable), fast anyway; ``U``: one
    slow by the stall."""
    return [probe(i, {"u": ".", "U": "s"}.get(c, c), unreliable=c in "uU", **kw) for i, c in enumerate(pattern)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=".xsuU", min_size=1, max_size=200), st.integers(0, 3), st.integers(0, 2),
       st.text(alphabet="..u", min_size=1, max_size=200))
def test_live_and_full_detection_agree_with_good_checks_beside_a_bad_one(pattern, good_checks, good_elsewhere,
                                                                         calm):
    """The checks that were good throughout (some measured during our stalls, fast anyway) are given to detection
    as facts, not probes: the same answer."""
    results = _with_stalls(pattern)
    for n in range(good_checks):
        results += _with_stalls(calm, check=f"good{n}")
    for n in range(good_elsewhere):  # locations that saw nothing wrong count against the location share
        results += series("." * len(pattern), location=f"loc{n}")
    assert open_now(live_after(results).open()) == open_now(detect(results, SLOW, POLICY))

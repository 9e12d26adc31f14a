"""The lab's behaviour model: scenario files (strict, with file:line errors) and ScenarioWorld.

Everything here is pure: no servers, no network, no sleeping. Simulated instants are unix
seconds built from local (Asia/Ho_Chi_Minh) times.
"""

from __future__ import annotations

import datetime as dt
import statistics
import textwrap
from pathlib import Path

import pytest

from monitor.config import load_catalog
from monitor.errors import ConfigError
from monitor.lab.behaviour import BUSY_PAGE, CONGESTION_LOAD, ScenarioWorld
from monitor.lab.scenario import Scenario, load_scenario, packaged_scenarios
from monitor.lab.world import ConnectionPlan, DnsPlan, ResponsePlan
from monitor.localtime import VIETNAM
from monitor.workcalendar import bulletin_week

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = [p.id for p in load_catalog([ROOT / "checks" / "dcs.yml"]).platforms]
WEEK = bulletin_week("2026-W23")  # Fri 29/05/2026 – Thu 04/06/2026
HOLIDAY_WEEK = bulletin_week("2026-W36")  # Fri 28/08 – Thu 03/09/2026: 31/08, 01/09, 02/09 are days off

# sotaydangvien as the bulletins describe it; no scripted events.
CONGESTED = """
seed: 7
profiles:
  sotaydangvien:
    delay: {median: 150ms, p95: 400ms}
    load: {peak: 0.9, offpeak: 0.3, night: 0.05, weekend: 0.05}
    under_load: {latency_factor: 6, busy_503: 0.15, timeout: 0.03, reset: 0.02}
"""


def at(day: str, clock: str) -> float:
    """Local ``"2026-06-01", "09:00:00"`` as unix seconds."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=VIETNAM).timestamp()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def world(tmp_path: Path, text: str, week=WEEK, seed=None) -> ScenarioWorld:
    scenario = load_scenario(str(write(tmp_path, text)), PLATFORMS)
    return ScenarioWorld(scenario, *week, PLATFORMS, seed=seed)


def event_text(kind: str, params: str = "{}", when: str = "days: [mon]", platform: str = "sotaydangvien",
               start: str = "09:00", end: str = "09:30") -> str:
    return CONGESTED + textwrap.dedent(f"""\
        events:
          - id: scripted
            platform: {platform}
            kind: {kind}
            {when}
            from: "{start}"
            to: "{end}"
            params: {params}
        """)


def is_fault(plan) -> bool:
    if isinstance(plan, ConnectionPlan):
        return plan.action != "serve" or plan.certificate != "good"
    if isinstance(plan, DnsPlan):
        return plan.action != "answer"
    return plan.action != "respond" or plan.status != 200 or bool(plan.body)


# -- loading ----------------------------------------------------------------------------------

INVALID = {
    "top-level-key": ("sedd: 1\n", ["{f}:1: sedd: unknown key (did you mean 'seed'?)"]),
    "empty": ("", ["{f}: expected a mapping with 'profiles' and 'events'; the file is empty"]),
    "yaml": ("events: [\n", ["{f}:2: invalid YAML: expected the node content, but found '<stream end>' "
                             "(while parsing a flow node)"]),
    "duplicate-key": ("seed: 1\nseed: 2\n", ["{f}:2: seed: duplicate key (first defined at line 1)"]),
    "profile": ("""\
        profiles:
          sotaydangvien:
            delay: {median: 2s, p95: 1s}
            laod: {peak: 0.9}
            under_load: {busy_503: 0.8, timeout: 0.3}
          sotaydangvein: {}
        """, [
        "{f}:3: profile 'sotaydangvien': delay: p95 must not be below the median",
        "{f}:4: profile 'sotaydangvien': laod: unknown key (did you mean 'load'?)",
        "{f}:5: profile 'sotaydangvien': under_load: busy_503 + timeout + reset must not exceed 1",
        "{f}:6: profile 'sotaydangvein': unknown platform 'sotaydangvein' (did you mean 'sotaydangvien'?)",
    ]),
    "load-values": ("""\
        profiles:
          gqthc:
            load: {peak: [0.9, 0.5, 0.2], offpeak: 1.5, night: yes}
          pakn:
            load: {peak: high}
        """, [
        "{f}:3: profile 'gqthc': load.offpeak: must be at most 1",
        "{f}:3: profile 'gqthc': load.night: expected a number, found true/false",
        "{f}:3: profile 'gqthc': load.peak: 3 peak loads for 2 peak windows (give one value or one per window)",
        "{f}:5: profile 'pakn': load.peak: expected a load from 0 to 1 or a list of them, found text",
    ]),
    "event-fields": ("""\
        events:
          - id: dvc
            platform: dichvucong
            kind: outage
            days: [tue]
            from: "14:00"
            to: "14:45"
          - id: dvc
            platform: dichvucng
            kind: slow
            days: [tues]
            from: 14:00
            to: "25:00"
          - id: load-x
            platform: gqthc
            kind: congestion
            day: 9
            from: "09:00"
            to: "10:00"
        """, [
        "{f}:4: event 'dvc': kind: unknown event kind 'outage' (expected one of: outage_refused, gateway_502, "
        "gateway_504, slow, cert_expired, cert_wrong_host, wrong_content, dns_failure)",
        "{f}:8: event 'dvc': params.delay: required field is missing",  # params omitted
        "{f}:8: event 'dvc': id: duplicate event id (first defined at line 2)",
        "{f}:9: event 'dvc': platform: unknown platform 'dichvucng' (did you mean 'dichvucong'?)",
        "{f}:11: event 'dvc': days[0]: expected 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun', found 'tues'",
        "{f}:12: event 'dvc': from: expected a time \"HH:MM\" in quotes, found a number",
        "{f}:13: event 'dvc': to: invalid time '25:00' (from 00:00 to 24:00)",
        "{f}:16: event 'load-x': kind: 'congestion' is reserved for load-induced events (describe load in profiles)",
    ]),
    "event-rules": ("""\
        events:
          - id: a
            platform: gqthc
            kind: gateway_502
            days: [mon]
            day: 2026-06-01
            from: "09:00"
            to: "10:00"
          - id: b
            platform: gqthc
            kind: dns_failure
            day: 3
            from: "10:00"
            to: "09:00"
          - id: load-c
            platform: gqthc
            kind: gateway_504
            day: 8
            from: "09:00"
            to: "10:00"
            params: {shar: 0.5, delay: -1}
          - id: d
            platform: gqthc
            kind: dns_failure
            day: "01/06/2026"
            from: "09:00"
            to: "10:00"
            params: {failure: timeout}
        """, [
        "{f}:2: event 'a': give exactly one of 'days' (weekday names) or 'day' (a date or day index)",
        "{f}:9: event 'b': 'to' must be after 'from'",
        "{f}:15: event 'load-c': id: ids starting with 'load-' are reserved for congestion events",
        "{f}:18: event 'load-c': day: day index 8 is outside the week (0 = its first day … 6 = its last)",
        "{f}:21: event 'load-c': params.delay: must be at least 0",
        "{f}:21: event 'load-c': params.shar: unknown key (did you mean 'share'?)",
        "{f}:25: event 'd': day: expected a date like 2026-06-01 or a day index 0-6, found '01/06/2026'",
        "{f}:28: event 'd': params.failure: expected 'servfail', 'nxdomain' or 'drop', found 'timeout'",
    ]),
    "no-days": ("""\
        events:
          - {id: a, platform: gqthc, kind: gateway_502, days: [], from: "09:00", to: "10:00"}
        """, ["{f}:2: event 'a': days: give at least one weekday"]),
    "peak": ('peak: ["07:30-11:00", "14:00"]\n',
             ["{f}:1: peak: invalid peak window '14:00' (use HH:MM-HH:MM, e.g. 07:30-11:00)"]),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_scenarios_report_every_problem_with_file_and_line(tmp_path, name):
    text, expected = INVALID[name]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path), PLATFORMS)
    assert [str(p) for p in info.value.problems] == [line.format(f=path) for line in expected]


def test_unknown_scenario_name_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_scenario("peak-weak")
    assert str(info.value) == "peak-weak: no such scenario (packaged: demo, peak-week; or give a file path)"
    missing = tmp_path / "none.yml"
    with pytest.raises(ConfigError) as info:
        load_scenario(str(missing))
    assert str(info.value) == f"{missing}: cannot read: No such file or directory"


def test_platforms_are_only_checked_when_a_catalog_is_given(tmp_path):
    path = write(tmp_path, "profiles: {elsewhere: {}}\n")
    assert "elsewhere" in load_scenario(str(path)).profiles
    with pytest.raises(ConfigError):
        load_scenario(str(path), PLATFORMS)


def test_packaged_scenarios_load_against_the_real_catalog():
    assert packaged_scenarios() == ["demo", "peak-week"]
    for name in packaged_scenarios():
        scenario = load_scenario(name, PLATFORMS)
        assert isinstance(scenario, Scenario) and scenario.events


# -- determinism ------------------------------------------------------------------------------

def _calls(w: ScenarioWorld, platforms: list[str]) -> list:
    start = at("2026-06-01", "09:00:00")
    plans = []
    for i in range(300):
        for platform in platforms:
            moment = start + (i % 100) * 7  # each instant asked three times: the per-call counter
            plans.append((platform, w.response(platform, moment, "/"), w.connection(platform, moment),
                          w.dns(platform, moment)))
    return plans


def test_same_seed_same_plans_and_other_seed_other_plans(tmp_path):
    first = _calls(world(tmp_path, CONGESTED), ["sotaydangvien", "gqthc"])
    again = _calls(world(tmp_path, CONGESTED), ["sotaydangvien", "gqthc"])
    other = _calls(world(tmp_path, CONGESTED, seed=8), ["sotaydangvien", "gqthc"])
    assert first == again
    assert [p[1].delay for p in first] != [p[1].delay for p in other]
    # Repeated calls for the same instant and path differ (a counter, not a frozen answer).
    delays = [p[1].delay for p in first if p[0] == "gqthc"]
    assert delays[0] != delays[100] != delays[200]


def test_decisions_for_one_platform_do_not_depend_on_calls_for_others(tmp_path):
    both = [p for p in _calls(world(tmp_path, CONGESTED), ["sotaydangvien", "gqthc"]) if p[0] == "sotaydangvien"]
    alone = _calls(world(tmp_path, CONGESTED), ["sotaydangvien"])
    assert both == alone


# -- the load model ---------------------------------------------------------------------------

def _delays(w: ScenarioWorld, start: float, n: int = 2000) -> list[float]:
    plans = [w.response("sotaydangvien", start + i * 1.5, "/") for i in range(n)]
    return [p.delay for p in plans if p.action == "respond" and p.status == 200]


def test_peak_is_clearly_slower_than_night_sunday_and_holiday(tmp_path):
    w = world(tmp_path, CONGESTED)
    peak = statistics.mean(_delays(w, at("2026-06-01", "09:00:00")))  # Monday morning
    night = statistics.mean(_delays(w, at("2026-06-01", "02:00:00")))
    sunday = statistics.mean(_delays(w, at("2026-05-31", "09:00:00")))
    holiday = statistics.mean(_delays(world(tmp_path, CONGESTED, HOLIDAY_WEEK), at("2026-09-02", "09:00:00")))
    for quiet in (night, sunday, holiday):
        assert peak / quiet > 2
        assert 0.8 < quiet / night < 1.25  # Sunday and the holiday are as quiet as a night
    # Idle delay follows the profile: median 150ms (lognormal mean ~ 176ms at p95 400ms).
    assert 0.14 < night < 0.22


def test_load_curve_ramps_around_peak_windows_and_follows_the_calendar(tmp_path):
    w = world(tmp_path, CONGESTED)
    load = lambda day, clock: w.load("sotaydangvien", at(day, clock))  # noqa: E731
    assert load("2026-06-01", "02:00:00") == pytest.approx(0.05)
    assert load("2026-06-01", "07:00:00") == pytest.approx(0.3)
    assert load("2026-06-01", "07:15:00") == pytest.approx(0.6)  # halfway up the 30-minute ramp
    assert load("2026-06-01", "07:30:00") == pytest.approx(0.9)
    assert load("2026-06-01", "11:00:00") == pytest.approx(0.9)
    assert load("2026-06-01", "11:30:00") == pytest.approx(0.3)
    assert load("2026-06-01", "23:00:00") == pytest.approx(0.05)
    assert load("2026-05-30", "09:00:00") == pytest.approx(0.05)  # Saturday
    assert w.load("gqthc", at("2026-06-01", "09:00:00")) < CONGESTION_LOAD  # no profile: healthy default


def test_busy_share_in_peak_matches_the_configured_share(tmp_path):
    text = CONGESTED.replace("peak: 0.9", "peak: 1.0")  # at load 1.0 the configured shares apply
    w = world(tmp_path, text)
    n = 4000
    start = at("2026-06-01", "08:00:00")
    plans = [w.response("sotaydangvien", start + i * 0.75, "/") for i in range(n)]
    busy = [p for p in plans if p.status == 503]
    hangs = sum(p.action == "hang" for p in plans)
    resets = sum(p.action == "reset" for p in plans)
    for count, share in ((len(busy), 0.15), (hangs, 0.03), (resets, 0.02)):
        tolerance = 4 * (share * (1 - share) / n) ** 0.5  # four binomial standard deviations
        assert abs(count / n - share) < tolerance
    assert busy[0].body == BUSY_PAGE and "Máy chủ đang bận, vui lòng thử lại sau" in BUSY_PAGE.decode()
    assert {p.event for p in plans} == {"load-sotaydangvien-2026-06-01-am"}


def test_faults_scale_with_load_and_vanish_off_peak(tmp_path):
    w = world(tmp_path, CONGESTED)
    n = 4000
    peak = [w.response("sotaydangvien", at("2026-06-01", "08:00:00") + i * 0.75, "/") for i in range(n)]
    expected = 0.15 * (0.9 - CONGESTION_LOAD) / (1 - CONGESTION_LOAD)  # documented scaling
    share = sum(p.status == 503 for p in peak) / n
    assert abs(share - expected) < 4 * (expected * (1 - expected) / n) ** 0.5
    for start in (at("2026-06-01", "02:00:00"), at("2026-05-31", "09:00:00"), at("2026-06-01", "12:00:00")):
        quiet = [w.response("sotaydangvien", start + i, "/") for i in range(2000)]
        assert not any(is_fault(p) for p in quiet)
        assert {p.event for p in quiet} == {None}


# -- scripted events --------------------------------------------------------------------------

SCRIPTED = [
    ("outage_refused", "{}", "connection", lambda p: p == ConnectionPlan(action="reset", event="scripted")),
    ("cert_expired", "{}", "connection", lambda p: p == ConnectionPlan(certificate="expired", event="scripted")),
    ("cert_wrong_host", "{}", "connection",
     lambda p: p == ConnectionPlan(certificate="wrong_host", event="scripted")),
    ("dns_failure", "{failure: nxdomain}", "dns", lambda p: p == DnsPlan(action="nxdomain", event="scripted")),
    ("dns_failure", "{}", "dns", lambda p: p == DnsPlan(action="servfail", event="scripted")),
    ("gateway_502", "{}", "response", lambda p: p.status == 502 and b"502 Bad Gateway" in p.body
     and p.delay < 0.1 and p.event == "scripted"),
    ("gateway_504", "{delay: 200ms}", "response", lambda p: p.status == 504 and p.delay == 0.2
     and b"504 Gateway Time-out" in p.body and p.event == "scripted"),
    ("slow", "{delay: 4s}", "response", lambda p: p.status == 200 and 4 < p.delay < 8 and p.event == "scripted"),
    ("wrong_content", "{}", "response", lambda p: p.status == 200 and p.event == "scripted"
     and "Đã xảy ra lỗi hệ thống" in p.body.decode()),
    ("outage_refused", "{}", "response", lambda p: p == ResponsePlan(action="reset", event="scripted")),
]


def _ask(w: ScenarioWorld, layer: str, moment: float):
    if layer == "connection":
        return w.connection("sotaydangvien", moment)
    if layer == "dns":
        return w.dns("sotaydangvien", moment)
    return w.response("sotaydangvien", moment, "/")


@pytest.mark.parametrize(("kind", "params", "layer", "applied"), SCRIPTED)
def test_scripted_events_override_load_inside_their_window_only(tmp_path, kind, params, layer, applied):
    w = world(tmp_path, event_text(kind, params))
    inside = [at("2026-06-01", "09:00:00") + i * 3 for i in range(600)]  # 09:00:00 … 09:29:57
    assert all(applied(_ask(w, layer, moment)) for moment in inside)
    for moment in (at("2026-06-01", "08:59:59"), at("2026-06-01", "09:30:00"), at("2026-06-02", "09:10:00")):
        plans = [_ask(w, layer, moment) for _ in range(50)]
        assert not any(applied(p) for p in plans)
        if layer == "response":  # outside: the congestion window decides again
            day = dt.datetime.fromtimestamp(moment, VIETNAM).date()
            assert {p.event for p in plans} == {f"load-sotaydangvien-{day}-am"}


def test_a_share_of_requests_gets_the_scripted_answer(tmp_path):
    w = world(tmp_path, event_text("gateway_502", "{share: 0.5}", platform="pakn"))
    plans = [w.response("pakn", at("2026-06-01", "09:00:00") + i * 0.5, "/") for i in range(2000)]
    hit = sum(p.status == 502 for p in plans) / len(plans)
    assert abs(hit - 0.5) < 4 * (0.25 / 2000) ** 0.5
    assert {p.event for p in plans if p.status != 502} == {None}  # pakn has no congestion


@pytest.mark.parametrize(("when", "days"), [
    ("days: [mon]", ["2026-06-01"]),
    ("day: 3", ["2026-06-01"]),  # index 3 of a Friday-to-Thursday week
    ("day: 0", ["2026-05-29"]),
    ("day: 2026-06-04", ["2026-06-04"]),
    ("days: [fri, tue, sun]", ["2026-05-29", "2026-05-31", "2026-06-02"]),
])
def test_events_expand_onto_local_days_of_the_week(tmp_path, when, days):
    w = world(tmp_path, event_text("gateway_502", when=when, platform="gqthc", start="09:45", end="10:10"))
    scripted = [e for e in w.events(*WEEK) if e.kind == "gateway_502"]
    recurring = len(days) > 1
    assert [(e.id, e.platform, e.start, e.end, e.params) for e in scripted] == [
        (f"scripted-{day}" if recurring else "scripted", "gqthc", at(day, "09:45:00"), at(day, "10:10:00"),
         {"delay": 0.02, "share": 1.0}) for day in days]


def test_events_returns_congestion_windows_per_working_morning(tmp_path):
    w = world(tmp_path, event_text("outage_refused", platform="dichvucong"))
    events = w.events(*WEEK)
    assert events == sorted(events, key=lambda e: (e.start, e.id))
    congestion = [e for e in events if e.kind == "congestion"]
    mornings = ["2026-05-29", "2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"]  # no Saturday, Sunday
    afternoons = mornings  # load 0.9 in both peak windows
    assert sorted(e.id for e in congestion) == sorted(
        [f"load-sotaydangvien-{d}-am" for d in mornings] + [f"load-sotaydangvien-{d}-pm" for d in afternoons])
    monday = next(e for e in congestion if e.id == "load-sotaydangvien-2026-06-01-am")
    # Load 0.3 -> 0.9 over 07:00-07:30 crosses 0.6 at 07:15, and back down at 11:15.
    assert (monday.start, monday.end) == (at("2026-06-01", "07:15:00"), at("2026-06-01", "11:15:00"))
    assert monday.platform == "sotaydangvien"
    assert monday.params == {"peak_load": 0.9, "latency_multiplier": 5.86, "busy_503": 0.1125,
                             "timeout": 0.0225, "reset": 0.015}
    # Only what overlaps the range asked for.
    asked = w.events(at("2026-06-01", "07:00:00"), at("2026-06-01", "09:00:00"))
    assert [e.id for e in asked] == ["load-sotaydangvien-2026-06-01-am"]
    assert [e.id for e in w.events(at("2026-06-01", "09:00:00"), at("2026-06-01", "09:30:00"))] == [
        "load-sotaydangvien-2026-06-01-am", "scripted"]
    assert w.events(at("2026-06-01", "11:15:00"), at("2026-06-01", "13:00:00")) == []


def test_platform_without_profile_is_healthy_all_week(tmp_path):
    w = world(tmp_path, CONGESTED)
    assert not [e for e in w.events(*WEEK) if e.platform != "sotaydangvien"]
    plans = [w.response("pakn", at("2026-06-01", "09:00:00") + i * 2, "/") for i in range(1000)]
    assert not any(is_fault(p) for p in plans) and max(p.delay for p in plans) < 2


def test_world_rejects_what_does_not_fit_the_week_or_platforms(tmp_path):
    scenario = load_scenario(str(write(tmp_path, event_text("slow", "{delay: 1s}", when="day: 2026-06-08"))))
    with pytest.raises(ValueError, match=r"event 'scripted': 2026-06-08 is outside the week 29/05/2026 – 04/06/2026"):
        ScenarioWorld(scenario, *WEEK, PLATFORMS)
    with pytest.raises(ValueError, match=r"profiles\.sotaydangvien: unknown platform 'sotaydangvien'"):
        ScenarioWorld(scenario, *WEEK, ["gqthc"])


# -- the shipped scenarios --------------------------------------------------------------------

def _sweep(w: ScenarioWorld, start: float, end: float, step: float):
    """Every plan of every platform at every step: (platform, at, plan)."""
    moment = start
    while moment < end:
        for platform in PLATFORMS:
            yield platform, moment, w.connection(platform, moment)
            yield platform, moment, w.dns(platform, moment)
            for _ in range(3):
                yield platform, moment, w.response(platform, moment, "/")
        moment += step


def test_every_fault_names_an_event_that_events_returns():
    w = ScenarioWorld(load_scenario("peak-week", PLATFORMS), *WEEK, PLATFORMS)
    truth = {e.id: e for e in w.events(*WEEK)}
    seen = set()
    for platform, moment, plan in _sweep(w, *WEEK, step=300):
        if is_fault(plan):
            assert plan.event in truth, (platform, moment, plan)
        if plan.event is not None:
            event = truth[plan.event]
            assert event.platform == platform and event.start <= moment < event.end
            seen.add(plan.event)
    assert seen == set(truth)  # and every truth event was actually applied


def test_peak_week_tells_the_bulletins_story():
    w = ScenarioWorld(load_scenario("peak-week", PLATFORMS), *WEEK, PLATFORMS)
    events = w.events(*WEEK)
    congestion = [e for e in events if e.kind == "congestion"]
    assert {e.platform for e in congestion} == {"sotaydangvien"}
    assert sorted(e.id for e in congestion) == [
        f"load-sotaydangvien-{d}-am" for d in ("2026-05-29", "2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04")]
    kinds = {e.kind for e in events}
    assert kinds >= {"outage_refused", "gateway_502", "gateway_504", "cert_expired", "dns_failure", "wrong_content"}
    outage = next(e for e in events if e.kind == "outage_refused")
    assert outage.platform == "dichvucong" and outage.end - outage.start == 45 * 60
    assert len([e for e in events if e.kind == "gateway_502" and e.platform == "gqthc"]) == 2
    dns = next(e for e in events if e.kind == "dns_failure")
    assert dns.end - dns.start == 20 * 60
    assert not [e for e in events if e.platform == "pakn"]


def test_demo_shows_faults_in_the_first_three_hours_from_monday_8am():
    w = ScenarioWorld(load_scenario("demo", PLATFORMS), *WEEK, PLATFORMS)
    start, end = at("2026-06-01", "08:00:00"), at("2026-06-01", "11:00:00")
    events = w.events(start, end)
    assert all(e.end > start and e.start < end for e in events)
    assert {e.kind for e in events} >= {"outage_refused", "gateway_502", "gateway_504", "cert_expired",
                                        "dns_failure", "wrong_content", "slow", "congestion"}
    faults = {(platform, plan.event) for platform, _, plan in _sweep(w, start, end, 120) if is_fault(plan)}
    assert {platform for platform, _ in faults} == {"dichvucong", "gqthc", "quantri-gqthc", "sotaydangvien"}

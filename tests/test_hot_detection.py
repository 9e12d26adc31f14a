"""Incident detection over hot ranges (monitor/hotranges.py, monitor.assessment.gather) finds exactly what reading
every raw result finds: the same incidents (every field: starts, ends, kinds, scopes, locations, counts, reasons,
intervals), the same complaint verdicts and the same certificate warnings, on generated histories stored in a real
SQLite store: several locations and checks, intervals from 10 s to 5 min with jitter, outages, slowdowns, flapping,
stalled (unreliable) probes, the prober's own network failing, gaps in the data, bad stretches crossing bucket edges
and the period's edges, periods and "now" not on a bucket edge."""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from monitor.assessment import LOOKAHEAD, LOOKBACK, gather, overlapping
from monitor.config.loader import Catalog
from monitor.config.model import HttpCheck, Platform
from monitor.domain import DEFAULT_MATCH_POLICY, DEFAULT_POLICY, Classification, Complaint
from monitor.incidents import certificate_warnings, detect
from monitor.matching import match, measurements
from monitor.result import PROBER_NETWORK, ProbeResult, Reason
from monitor.store import SQLiteStore

MIDNIGHT = 1_780_246_800.0  # 01/06/2026 00:00 in Vietnam (17:00 UTC the day before): a bucket edge
HOURS = 6  # the period's length
PLATFORMS = ("alpha", "beta")
SLOW_AFTER = {"alpha": 2.0, "beta": 1.0}


@dataclass(frozen=True)
class Episode:
    platform: str
    locations: int  # how many of the platform's locations it touches (the first ones)
    check: int | None  # one check, or None for all
    start: float  # seconds after the data's start
    length: float
    what: str  # fail, slow, flap, stall_fail, stall_slow, stall_fast, prober_network, gap


def _episodes(span: float) -> st.SearchStrategy[Episode]:
    near_edge = st.builds(lambda b, d: b * 900.0 + d, st.integers(0, int(span // 900)), st.floats(-90, 90))
    return st.builds(
        Episode, st.sampled_from(PLATFORMS), st.integers(1, 4), st.one_of(st.none(), st.integers(0, 1)),
        st.one_of(near_edge, st.floats(0, span)), st.floats(20, 5400),
        st.sampled_from(["fail", "fail", "slow", "slow", "flap", "stall_fail", "stall_slow", "stall_fast",
                         "prober_network", "gap"]))


@dataclass(frozen=True)
class World:
    locations: dict[str, int]  # platform -> how many locations
    checks: dict[str, int]  # platform -> how many checks
    intervals: tuple[float, ...]  # per (platform, check) in order
    jitter: bool
    episodes: tuple[Episode, ...]
    start_offset: float  # the period's start after MIDNIGHT (0: a bucket edge)
    now_offset: float  # "now" after the period's end
    complaints: tuple[tuple[float, str, str], ...]  # (seconds after the period's start, platform, symptom)
    seed: int


SPAN = (LOOKBACK + HOURS * 3600 + LOOKAHEAD)

worlds = st.builds(
    World,
    st.fixed_dictionaries({p: st.integers(1, 4) for p in PLATFORMS}),
    st.fixed_dictionaries({p: st.integers(1, 2) for p in PLATFORMS}),
    st.lists(st.sampled_from([10.0, 30.0, 30.0, 60.0, 300.0]), min_size=4, max_size=4).map(tuple),
    st.booleans(),
    st.lists(_episodes(SPAN), max_size=6).map(tuple),
    st.sampled_from([0.0, 0.0, 437.0]),
    st.sampled_from([7200.0, 1234.0, 0.0]),
    st.lists(st.tuples(st.floats(0, HOURS * 3600), st.sampled_from(PLATFORMS),
                       st.sampled_from(["slow", "unavailable", "login", "tls", "data"])), max_size=5).map(tuple),
    st.integers(0, 2**32),
)


def _history(world: World, first: float, last: float) -> list[ProbeResult]:
    rng = random.Random(world.seed)
    out = []
    for p_index, platform in enumerate(PLATFORMS):
        for c in range(world.checks[platform]):
            interval = world.intervals[2 * p_index + c]
            for loc in range(world.locations[platform]):
                location = f"loc{loc}"
                t = first + rng.uniform(0, interval)
                while t < last:
                    at = t + (rng.uniform(0, 2.0) if world.jitter else 0.0)
                    r = _probe(world, platform, c, loc, location, at - first, at, rng)
                    if r is not None:
                        out.append(r)
                    t += interval
    return out


def _probe(world: World, platform: str, check: int, loc: int, location: str, offset: float, at: float,
           rng: random.Random) -> ProbeResult | None:
    fast = rng.uniform(0.05, 0.4)
    cert = at + 20 * 86400 if check == 0 and platform == "alpha" else None
    result = ProbeResult(platform, f"c{check}", "http", location, at, True, fast, phases={"total": fast},
                         cert_expiry=cert)
    for e in world.episodes:
        if e.platform != platform or loc >= e.locations or (e.check is not None and e.check != check):
            continue
        if not e.start <= offset < e.start + e.length:
            continue
        slow = SLOW_AFTER[platform] * rng.uniform(1.1, 3)
        if e.what == "gap":
            return None
        if e.what == "fail" or (e.what == "flap" and rng.random() < 0.5):
            result = ProbeResult(platform, f"c{check}", "http", location, at, False, 10.0,
                                 reason=Reason.CONNECT_TIMEOUT, cert_expiry=cert)
        elif e.what == "slow":
            result = ProbeResult(platform, f"c{check}", "http", location, at, True, slow, phases={"total": slow})
        elif e.what == "stall_fail":
            result = ProbeResult(platform, f"c{check}", "http", location, at, False, 10.0,
                                 reason=Reason.READ_TIMEOUT, details={"stalled": rng.choice([0.5, 9.0])},
                                 unreliable=True)
        elif e.what in ("stall_slow", "stall_fast"):
            total = slow if e.what == "stall_slow" else fast
            result = ProbeResult(platform, f"c{check}", "http", location, at, True, total,
                                 phases={"total": total}, details={"stalled": rng.choice([0.2, 5.0])},
                                 unreliable=True, cert_expiry=at + 10 * 86400)
        elif e.what == "prober_network":
            result = ProbeResult(platform, f"c{check}", "http", location, at, False, 1.0, reason=Reason.DNS,
                                 details={PROBER_NETWORK: True}, unreliable=True)
    return result


def _catalog(world: World) -> Catalog:
    return Catalog(tuple(
        Platform(id=p, name=p.upper(), slow_after=SLOW_AFTER[p],
                 checks=[HttpCheck(kind="http", id=f"c{c}", url=f"https://{p}.example/") for c in range(n)])
        for p, n in world.checks.items()))


def _complaints(world: World, start: float) -> list[tuple[Complaint, Classification]]:
    out = []
    for n, (offset, platform, symptom) in enumerate(world.complaints):
        when = start + offset
        out.append((Complaint(f"c{n}", when, "Đảng ủy xã", "Cao Bằng", f"{platform} {symptom}"),
                    Classification((platform,), (platform,), symptom, symptom, False)))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])  # no shrinking: minutes, here
@given(worlds)
def test_hot_ranges_find_what_full_detection_finds(world: World) -> None:
    start = MIDNIGHT + world.start_offset
    end = start + HOURS * 3600
    now = end + world.now_offset
    lo, hi = start - LOOKBACK, min(end + LOOKAHEAD, max(now, end))
    catalog = _catalog(world)
    pairs = _complaints(world, start)
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "monitor.db")
        try:
            history = _history(world, lo - 1800, hi + 1800)  # beyond the range read, as a real history is
            store.add_results(history)
            store.add_complaints(pairs, "test.csv", now)
            hot = gather(store, catalog, start, end, now, DEFAULT_POLICY, DEFAULT_MATCH_POLICY)
            everything = store.results_between(lo, hi, details=False)
            pairs = store.complaints_between(start, end)  # as gather reads them: by time
        finally:
            store.close()
    slow = catalog.slow_after()
    found = detect(everything, slow, DEFAULT_POLICY)
    assert hot.incidents == overlapping(found, start, end)
    measured = measurements((r for r in everything), slow)
    assert hot.matches == match(pairs, found, {p.id for p in catalog.platforms}, measured, DEFAULT_MATCH_POLICY)
    in_period = [r for r in everything if start <= r.started_at < end]
    assert hot.certificate_warnings == certificate_warnings(in_period, DEFAULT_POLICY)
    assert hot.rollups is not None
    assert sum(r.probes for r in hot.rollups) == sum(not r.unreliable for r in in_period)
    assert sum(r.unreliable for r in hot.rollups) == sum(r.unreliable for r in in_period)


def test_the_property_sees_incidents_and_reads_less_than_everything(tmp_path: Path) -> None:
    """The generated worlds are not trivially quiet: an outage, a slowdown and a location-only outage are found,
    with the complaints' verdicts; a quiet period is not read raw at all."""
    world = World({"alpha": 3, "beta": 2}, {"alpha": 2, "beta": 1}, (30.0, 60.0, 30.0, 30.0), True,
                  (Episode("alpha", 4, None, LOOKBACK + 3600 + 890, 1200, "fail"),
                   Episode("alpha", 4, 1, LOOKBACK + 4 * 3600 - 60, 2400, "slow"),
                   Episode("beta", 1, None, LOOKBACK + 7000, 900, "fail")),
                  0.0, 7200.0, ((3600 + 1300, "alpha", "unavailable"), (9000, "beta", "slow")), 7)
    start, end = MIDNIGHT, MIDNIGHT + HOURS * 3600
    store = SQLiteStore(tmp_path / "monitor.db")
    store.add_results(_history(world, start - LOOKBACK - 1800, end + LOOKAHEAD + 1800))
    pairs = _complaints(world, start)
    store.add_complaints(pairs, "test.csv", end)
    hot = gather(store, _catalog(world), start, end, end + 7200, DEFAULT_POLICY, DEFAULT_MATCH_POLICY)
    everything = store.results_between(start, end)
    store.close()
    kinds = sorted((i.platform, i.kind, i.scope) for i in hot.incidents)
    assert kinds == [("alpha", "degraded", "platform"), ("alpha", "down", "platform"), ("beta", "down", "location")]
    assert [m.status.value for m in hot.matches] == ["corroborated", "location_only"]
    assert 0 < len(hot.results) < len(everything)
    quiet = World(world.locations, world.checks, world.intervals, True, (), 0.0, 7200.0, (), 7)
    store = SQLiteStore(tmp_path / "quiet.db")
    store.add_results(_history(quiet, start - LOOKBACK - 1800, end + LOOKAHEAD + 1800))
    calm = gather(store, _catalog(quiet), start, end, end + 7200, DEFAULT_POLICY, DEFAULT_MATCH_POLICY)
    store.close()
    assert calm.incidents == [] and calm.results == []  # nothing bad, nothing read raw
    assert calm.rollups and sum(r.probes for r in calm.rollups) == len(everything)


def test_a_week_whose_raw_results_were_pruned_keeps_its_stored_incidents(tmp_path: Path) -> None:
    """Rollups outlive raw results (rollup_retention_days): the report of such a week must not say "no incident"
    where the rollups show an outage. The incidents stored for it (the daemon saves them hourly) stand instead."""
    from monitor.assessment import save

    world = World({"alpha": 2, "beta": 1}, {"alpha": 1, "beta": 1}, (30.0, 30.0, 30.0, 30.0), False,
                  (Episode("alpha", 4, None, LOOKBACK + 3600, 1200, "fail"),), 0.0, 7200.0, (), 3)
    start, end = MIDNIGHT, MIDNIGHT + HOURS * 3600
    store = SQLiteStore(tmp_path / "monitor.db")
    store.add_results(_history(world, start - LOOKBACK - 1800, end + LOOKAHEAD + 1800))
    catalog = _catalog(world)
    before = gather(store, catalog, start, end, end + 7200, DEFAULT_POLICY, DEFAULT_MATCH_POLICY)
    save(store, before)
    assert [(i.platform, i.kind, i.scope) for i in before.incidents] == [("alpha", "down", "platform")]
    store.prune(end + 86400)  # every raw result gone, the rollups kept
    assert store.count_results() == 0
    after = gather(store, catalog, start, end, end + 7200, DEFAULT_POLICY, DEFAULT_MATCH_POLICY)
    store.close()
    assert [(i.id, i.start, i.end, i.kind) for i in after.incidents] == [
        (i.id, i.start, i.end, i.kind) for i in before.incidents]
    assert after.rollups and sum(r.probes for r in after.rollups) == sum(r.probes for r in before.rollups or ())

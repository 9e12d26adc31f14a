"""15-minute rollups (monitor/rollup.py): folding, merging, the latency sketch's 1 % bound, the binary form, and
the store writing them with the results (once per result, in the same transaction) and building them for an old
history (migration 006)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.report.figures import quantile
from monitor.result import ProbeResult, Reason
from monitor.rollup import ACCURACY, BUCKET, Rollup, Sketch, copy, fold, merge, merge_many
from monitor.store import SQLiteStore
from monitor.store.sqlite import _INSERT, _to_row, packaged_migrations

T0 = 1_780_000_200.0  # a bucket edge (multiple of 900)

latencies = st.lists(st.floats(min_value=0.001, max_value=120.0, allow_nan=False), min_size=1, max_size=300)


def _sketch(values: list[float]) -> Sketch:
    s = Sketch()
    for v in values:
        s.add(v)
    return s


@settings(max_examples=200, deadline=None)
@given(latencies, st.floats(min_value=0.0, max_value=1.0))
def test_quantile_within_one_percent_of_the_exact_one(values: list[float], q: float) -> None:
    exact = quantile(sorted(values), q)
    got = _sketch(values).quantile(q)
    assert got is not None
    assert abs(got - exact) <= ACCURACY * exact * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(latencies, latencies, latencies)
def test_merge_is_associative_and_commutative_and_keeps_the_bound(a: list[float], b: list[float],
                                                                 c: list[float]) -> None:
    sa, sb, sc = _sketch(a), _sketch(b), _sketch(c)
    assert sa.merged(sb) == sb.merged(sa)
    assert sa.merged(sb).merged(sc) == sa.merged(sb.merged(sc)) == _sketch(a + b + c)
    exact = quantile(sorted(a + b + c), 0.95)
    got = sa.merged(sb).merged(sc).quantile(0.95)
    assert got is not None and abs(got - exact) <= ACCURACY * exact * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=3600.0, allow_nan=False), max_size=200),
       st.integers(min_value=0, max_value=5))
def test_encoding_round_trips(values: list[float], zeros: int) -> None:
    s = _sketch(values)
    s.zero += zeros
    assert Sketch.decode(s.encode()) == s
    assert len(s.encode()) == 9 + 4 * len(s.bins)  # (bin, count) pairs of 2 + 2 bytes


def _result(i: int, *, ok: bool = True, total: float = 0.2, unreliable: bool = False, location: str = "hn",
            cert: float | None = None) -> ProbeResult:
    return ProbeResult("dcs", "home", "http", location, T0 + 30 * i, ok, total,
                       reason=None if ok else Reason.CONNECT_TIMEOUT, phases={"total": total} if ok else {},
                       cert_expiry=cert, unreliable=unreliable)


results = st.lists(st.builds(_result, st.integers(0, 200), ok=st.booleans(),
                             total=st.floats(0.01, 10.0), unreliable=st.booleans(),
                             location=st.sampled_from(["hn", "hcm"])),
                   max_size=60, unique_by=lambda r: (r.location, r.started_at))


@settings(max_examples=100, deadline=None)
@given(results, st.randoms(use_true_random=False))
def test_folding_in_any_split_and_order_gives_the_same_rollups(rs: list[ProbeResult], rng) -> None:  # type: ignore[no-untyped-def]
    whole = fold(rs)
    shuffled = list(rs)
    rng.shuffle(shuffled)
    cut = rng.randint(0, len(rs))
    left, right = fold(shuffled[:cut]), fold(shuffled[cut:])
    combined: dict = {k: copy(v) for k, v in left.items()}
    for key, rollup in right.items():
        combined[key] = merge(combined[key], rollup) if key in combined else rollup
    assert combined == whole


def test_a_rollup_counts_reliable_results_and_remembers_the_rest() -> None:
    rs = [_result(0, total=0.5), _result(1, ok=False), _result(2, total=4.0, unreliable=True),
          _result(3, ok=False, unreliable=True), _result(29, total=1.0, cert=T0 + 86400),
          _result(30, total=0.3)]  # the next bucket
    got = fold(rs)
    first = got[("dcs", "home", "http", "hn", int(T0))]
    assert (first.probes, first.successes, first.reasons, first.unreliable) == (3, 2, {"connect_timeout": 1}, 2)
    assert first.minutes == 0b1 | 0b1 | (1 << 14)  # minutes 0 (probes at 0 s and 30 s) and 14 (870 s)
    assert (first.first, first.last, first.slowest) == (T0, T0 + 870, 4.0)  # the unreliable slow probe is seen
    assert (first.cert_seen, first.cert_expiry) == (T0 + 870, T0 + 86400)
    assert first.sketch.count == 2 and first.sketch.quantile(1.0) == __import__("pytest").approx(1.0, rel=0.01)
    assert got[("dcs", "home", "http", "hn", int(T0) + BUCKET)].probes == 1


def test_merging_rollups_of_different_streams_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="different keys"):
        merge(Rollup("a", "c", "http", "hn", 0), Rollup("a", "c", "http", "hcm", 0))


def test_the_store_writes_rollups_with_the_results_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "monitor.db")
    batch = [_result(i, ok=i % 5 != 0) for i in range(60)]
    store.add_results(batch[:40])
    store.add_results(batch[20:])  # half of it again: the copies are not counted twice
    store.add_results(batch)
    stored = {r.key: r for r in store.rollups_between(T0, T0 + 3600)}
    assert stored == fold(batch)
    assert sum(r.probes for r in stored.values()) == 60
    assert store.prune_rollups(T0 + BUCKET) == 1
    assert [r.bucket for r in store.rollups_between(T0, T0 + 3600)] == [int(T0) + BUCKET]
    store.close()


def test_migration_006_builds_the_rollups_of_an_existing_history(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    older = [m for m in packaged_migrations() if m.version < 6]
    batch = [_result(i, ok=i % 3 != 0, cert=T0 + 9e5 if i == 7 else None) for i in range(100)]
    batch.append(_result(5, unreliable=True, location="hcm"))
    SQLiteStore(path, migrations=older).close()
    with sqlite3.connect(path) as conn:  # results written by a monitor before migration 006: no rollups table
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rollups'").fetchone()
        conn.executemany(_INSERT, [_to_row(r) for r in batch])
    store = SQLiteStore(path)
    assert {r.key: r for r in store.rollups_between(T0, T0 + 86400)} == fold(batch)
    store.close()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), latencies), max_size=20))
def test_merging_many_at_once_equals_merging_one_by_one(parts: list[tuple[int, list[float]]]) -> None:
    sketches = [(target, Sketch.decode(_sketch(values).encode())) for target, values in parts]
    expected = [Sketch() for _ in range(4)]
    for target, sketch in sketches:
        expected[target].update(sketch)
    assert merge_many(sketches, 4) == expected


def test_merging_nothing_and_zeros_only() -> None:
    assert merge_many([], 2) == [Sketch(), Sketch()]
    assert merge_many([(1, Sketch({}, 3))], 2) == [Sketch(), Sketch({}, 3)]

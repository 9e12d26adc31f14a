"""History store and result writer against real SQLite files.

Tests of the :class:`Store` contract run over every factory in ``STORE_FACTORIES``: SQLite,
and PostgreSQL on a real server (tests/postgres.py). SQLite-only facts (WAL, the file format,
migrations on disk) have their own tests below; PostgreSQL's are in tests/test_store_postgres.py.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.result import PHASES, ProbeResult, Reason
from monitor.store import ResultWriter, SQLiteStore, Store, open_store, retention_cutoff
from monitor.store.postgres import PostgresStore
from monitor.store.sqlite import Migration, packaged_migrations

STORE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "sqlite": lambda request, tmp: SQLiteStore(tmp / "history.db"),
    # A fresh database on the session's real PostgreSQL server (tests/postgres.py).
    "postgresql": lambda request, tmp: PostgresStore(request.getfixturevalue("postgres_url")),
}

T0 = 1_780_000_000.0  # a fixed unix time (2026) so tests never depend on the clock


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request, tmp_path) -> Iterator[Store]:
    opened = STORE_FACTORIES[request.param](request, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "data" / "history.db"


def make_result(**fields) -> ProbeResult:
    values: dict = {"platform": "sotaydangvien", "check": "home", "kind": "http", "location": "hanoi",
                    "started_at": T0, "success": True, "duration": 0.25}
    values.update(fields)
    return ProbeResult(**values)


def full_success() -> ProbeResult:
    return make_result(
        phases={"resolve": 0.001, "connect": 0.01, "tls": 0.05, "processing": 0.1, "transfer": 0.02, "total": 0.181},
        status_code=200, cert_expiry=T0 + 30 * 86400, peer="203.0.113.7:443",
        details={"tls_version": "TLSv1.3", "redirects": ["https://a/", "https://b/"], "http": {"version": 2}},
    )


# --- the Store contract -----------------------------------------------------------------


def test_round_trip_of_a_successful_result(store):
    original = full_success()
    store.add_results([original])
    assert store.recent_results() == [original]


def test_failed_result_keeps_missing_phases_missing(store):
    failed = make_result(success=False, reason=Reason.TLS_EXPIRED, error="certificate has expired",
                         phases={"resolve": 0.0, "connect": 0.012}, peer="203.0.113.7:443", unreliable=True)
    store.add_results([failed])
    (back,) = store.recent_results()
    assert back == failed
    assert back.phases == {"resolve": 0.0, "connect": 0.012}  # a real 0.0 stays, missing ones stay absent
    assert type(back.reason) is Reason and back.reason is Reason.TLS_EXPIRED
    assert back.status_code is None and back.cert_expiry is None


def test_recent_results_newest_first_with_filters(store):
    rows = [
        make_result(started_at=T0 + 2),
        make_result(started_at=T0 + 5, location="caobang"),
        make_result(started_at=T0 + 1, platform="gqthc"),
        make_result(started_at=T0 + 4, check="login"),
        make_result(started_at=T0 + 3, platform="gqthc", location="caobang"),
    ]
    store.add_results(rows)
    assert [r.started_at for r in store.recent_results()] == [T0 + 5, T0 + 4, T0 + 3, T0 + 2, T0 + 1]
    assert [r.started_at for r in store.recent_results(limit=2)] == [T0 + 5, T0 + 4]
    assert [r.started_at for r in store.recent_results(platform="gqthc")] == [T0 + 3, T0 + 1]
    assert [r.started_at for r in store.recent_results(check="login")] == [T0 + 4]
    assert [r.started_at for r in store.recent_results(location="caobang")] == [T0 + 5, T0 + 3]
    assert [r.started_at for r in store.recent_results(platform="gqthc", location="caobang")] == [T0 + 3]
    assert store.recent_results(platform="nothing") == []


def test_results_between_is_oldest_first_and_half_open(store):
    store.add_results([make_result(started_at=T0 + s) for s in (30, 0, 10, 20)] + [
        make_result(started_at=T0 + 15, platform="gqthc")])
    assert [r.started_at - T0 for r in store.results_between(T0 + 10, T0 + 30)] == [10, 15, 20]
    assert [r.started_at - T0 for r in store.results_between(T0, T0 + 100, platform="gqthc")] == [15]


def test_results_between_without_details_is_the_lean_read_of_the_evidence(store):
    stalled = replace(full_success(), started_at=T0 + 1, unreliable=True,
                      details={"tls_version": "TLSv1.3", "stalled": 0.4})
    failed = make_result(started_at=T0 + 2, success=False, reason=Reason.CONNECT_REFUSED, error="refused",
                         phases={"resolve": 0.001})
    store.add_results([full_success(), stalled, failed])
    lean = store.results_between(T0, T0 + 10, details=False)
    assert [r.details for r in lean] == [{}, {"tls_version": "TLSv1.3", "stalled": 0.4}, {}]
    assert [r.phases for r in lean] == [{"total": full_success().phases["total"]}] * 2 + [{}]
    assert all(r.error is None and r.peer is None and r.status_code is None for r in lean)
    full = store.results_between(T0, T0 + 10)
    assert [replace(r, details={}, phases={}) for r in lean] == [
        replace(r, details={}, phases={}, error=None, peer=None, status_code=None) for r in full]


def test_results_in_ranges_reads_each_platform_in_turn(store):
    store.add_results([make_result(started_at=T0 + s, platform=p) for s in range(0, 100, 10) for p in ("a", "b")])
    ranges = [("b", [(T0 + 10, T0 + 30), (T0 + 60, T0 + 70)]), ("a", []), ("a", [(T0 + 90, T0 + 200)])]
    read = list(store.results_in_ranges(ranges))
    assert [[(r.platform, r.started_at - T0) for r in batch] for batch in read] == [
        [("b", 10), ("b", 20), ("b", 60)], [], [("a", 90)]]
    assert read[0] == [r for a, b in ranges[0][1] for r in store.results_between(a, b, "b", details=False)]
    assert list(store.results_in_ranges([])) == []


def test_hourly_counts_are_the_reliable_probes_and_successes_of_each_platform_and_hour(store):
    from monitor.statuspage.state import HOUR, tally
    from monitor.workcalendar import PeakHours

    hour = T0 - T0 % HOUR
    results = [make_result(started_at=hour + s, platform=p, success=s % 7 != 0, unreliable=s % 11 == 0,
                           reason=None if s % 7 else Reason.TIMEOUT, phases={"total": 0.2} if s % 7 else {})
               for s in range(0, 3 * int(HOUR), 120) for p in ("a", "b")]
    store.add_results(results)
    counts = store.hourly_counts(hour, hour + 2 * HOUR)  # the third hour is not asked for
    expected = {key: (t.probes, t.ok) for key, t in tally(results, PeakHours()).items() if key[1] < hour + 2 * HOUR}
    assert counts == expected and len(counts) == 4
    assert all(0 < ok < probes < 30 for probes, ok in counts.values())  # some failed, some left out as unreliable


def test_add_results_is_all_or_nothing(store):
    store.add_results([make_result(started_at=T0)])
    with pytest.raises(ValueError):
        store.add_results([make_result(started_at=T0 + 1), make_result(started_at=T0 + 2, phases={"warp": 1.0})])
    assert store.count_results() == 1
    store.add_results([])
    assert store.count_results() == 1


def test_a_batch_written_twice_is_stored_once(store):
    batch = [make_result(started_at=T0 + s) for s in (0, 1, 2)]
    assert store.add_results(batch) == batch
    assert store.add_results(batch) == []
    assert store.count_results() == 3


def test_add_results_returns_only_the_new_results_of_a_batch(store):
    first, second = make_result(started_at=T0), make_result(started_at=T0 + 1)
    store.add_results([first])
    again = replace(first, success=False, reason=Reason.DNS)  # same key, other outcome: the stored one stays
    other_platform = replace(first, platform="gqthc")  # same check id and time on another platform: a new key
    other_location = replace(first, location="caobang")
    assert store.add_results([again, second, second, other_platform, other_location]) == [
        second, other_platform, other_location]
    assert store.count_results() == 4
    assert store.results_between(T0, T0 + 1, platform="sotaydangvien") == [first, other_location]


def test_iter_results_streams_everything_oldest_first_in_batches(store):
    times = [5, 1, 3, 3, 2, 4, 0]
    stored = [make_result(started_at=T0 + t, location=f"l{i}") for i, t in enumerate(times)]
    store.add_results(stored)
    batches = list(store.iter_results(batch=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = [r for b in batches for r in b]
    assert flat == store.results_between(0, T0 + 100)  # the same order as a range read, ties by storing order
    assert [r.location for r in flat if r.started_at == T0 + 3] == ["l2", "l3"]
    assert list(store.iter_results(batch=7)) == [flat]
    with pytest.raises(ValueError):
        list(store.iter_results(batch=0))


def test_iter_results_of_an_empty_store_yields_nothing(store):
    assert list(store.iter_results()) == []


def test_rollups_are_written_with_the_new_results_only_and_pruned(store):
    from monitor.rollup import BUCKET, fold

    start = 1_780_000_200.0  # a bucket edge
    batch = [make_result(started_at=start + i * 30, success=i % 5 != 0, reason=None if i % 5 else Reason.DNS,
                         phases={"total": 0.1 + i / 1000}) for i in range(60)]
    store.add_results(batch[:40])
    store.add_results(batch[20:])  # half of it again: the copies are not counted twice
    stored = {r.key: r for r in store.rollups_between(start, start + 3600)}
    assert stored == fold(batch) and sum(r.probes for r in stored.values()) == 60
    assert store.prune_rollups(start + BUCKET) == 1
    assert [r.bucket for r in store.rollups_between(start, start + 3600)] == [int(start) + BUCKET]


def test_prune_removes_only_older_results(store):
    store.add_results([make_result(started_at=T0 + s) for s in (0, 1, 2, 3, 4)])
    assert store.prune(T0 + 2) == 2  # strictly older: the result at exactly T0+2 stays
    assert store.count_results() == 3
    assert [r.started_at - T0 for r in store.results_between(0, T0 + 100)] == [2, 3, 4]
    assert store.prune(T0 + 2) == 0


def test_prune_deletes_a_large_backlog_completely(store):
    store.add_results([make_result(started_at=T0 + i * 0.001) for i in range(25_003)])
    store.add_results([make_result(started_at=T0 + 100)])
    assert store.prune(T0 + 50) == 25_003
    assert store.count_results() == 1


def test_store_reads_from_another_thread(store):
    store.add_results([make_result()])
    seen: list = []
    reader = threading.Thread(target=lambda: seen.append(store.count_results()))
    reader.start()
    reader.join()
    assert seen == [1]


def test_retention_cutoff():
    assert retention_cutoff(T0, 30) == T0 - 30 * 86400
    with pytest.raises(ValueError):
        retention_cutoff(T0, 0)


# --- SQLite specifics -------------------------------------------------------------------


def test_sqlite_creates_parent_directory_and_uses_wal(db_path):
    store = open_store(db_path)
    try:
        assert db_path.is_file()
        with sqlite3.connect(db_path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        store.close()


def test_sqlite_stores_missing_phases_as_null(db_path):
    store = open_store(db_path)
    store.add_results([make_result(success=False, reason=Reason.CONNECT_TIMEOUT, phases={"resolve": 0.003})])
    store.close()
    with sqlite3.connect(db_path) as raw:
        row = raw.execute(f"SELECT {', '.join(p + '_s' for p in PHASES)}, reason FROM results").fetchone()
    assert row == (0.003, None, None, None, None, None, "connect_timeout")


def test_sqlite_schema_version_and_reopen_is_a_no_op(db_path):
    latest = packaged_migrations()[-1].version
    store = open_store(db_path)
    assert store.schema_version() == latest
    store.add_results([full_success()])
    store.close()
    # 001 has a plain CREATE TABLE: running it again would raise, not pass silently.
    store = open_store(db_path)
    try:
        assert store.schema_version() == latest
        assert store.recent_results() == [full_success()]
    finally:
        store.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(latest,)]


def test_sqlite_migration_005_keeps_the_first_of_duplicates_stored_before_the_key(db_path):
    older = [m for m in packaged_migrations() if m.version < 5]
    SQLiteStore(db_path, migrations=older).close()
    columns = "platform, check_id, kind, location, started_at, success, duration"
    with sqlite3.connect(db_path) as raw:  # as a monitor before 005 could store them: no key yet
        raw.executemany(f"INSERT INTO results ({columns}) VALUES (?, ?, 'http', ?, ?, ?, 0.1)", [
            ("gqthc", "home", "hanoi", T0, 1), ("gqthc", "home", "hanoi", T0, 0), ("gqthc", "home", "hcm", T0, 1),
            ("gqthc", "home", "hanoi", T0 + 1, 1), ("gqthc", "home", "hanoi", T0, 0)])
    store = open_store(db_path)
    try:
        kept = store.results_between(0, T0 + 10)
        assert [(r.location, r.started_at - T0, r.success) for r in kept] == [
            ("hanoi", 0, True), ("hcm", 0, True), ("hanoi", 1, True)]
        assert store.add_results([make_result(platform="gqthc", started_at=T0)]) == []
    finally:
        store.close()


def test_sqlite_refuses_a_newer_schema(db_path):
    open_store(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match=r"schema version 999, newer than this monitor knows") as caught:
        open_store(db_path)
    assert str(db_path) in str(caught.value)


def test_sqlite_refuses_a_file_that_is_not_a_database(db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_text("platform,check\nsotaydangvien,home\n" * 100)
    with pytest.raises(StoreError) as caught:
        open_store(db_path)
    assert str(db_path) in str(caught.value)
    assert db_path.read_text().startswith("platform,check")  # left untouched


def test_sqlite_migrations_apply_in_order_each_in_its_own_transaction(db_path):
    first = Migration(1, "001_a.sql", "CREATE TABLE a (x INTEGER);\n-- a comment; with a semicolon\n")
    second = Migration(2, "002_b.sql", "INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);")
    broken = Migration(3, "003_c.sql", "CREATE TABLE c (y INTEGER); INSERT INTO nowhere VALUES (1);")
    with pytest.raises(StoreError, match=r"migration 003_c\.sql failed: no such table: nowhere"):
        SQLiteStore(db_path, migrations=[first, second, broken])
    store = SQLiteStore(db_path, migrations=[first, second])  # 1 and 2 are already in; nothing runs
    try:
        assert store.schema_version() == 2
    finally:
        store.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT x FROM a ORDER BY x").fetchall() == [(1,), (2,)]
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "c" not in tables  # the failed migration left nothing half-done


def test_sqlite_closed_store_raises_store_error(db_path):
    store = open_store(db_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count_results()


# --- ResultWriter -----------------------------------------------------------------------


class Commits:
    """Records on_commit calls and the thread they ran on."""

    def __init__(self):
        self.calls: list[tuple[int, int]] = []
        self.threads: set[threading.Thread] = set()
        self.event = threading.Event()

    def __call__(self, batch_size: int, total: int) -> None:
        self.calls.append((batch_size, total))
        self.threads.add(threading.current_thread())
        self.event.set()


def test_writer_commits_full_batches_then_the_rest_on_flush(store):
    commits = Commits()
    results = [make_result(started_at=T0 + i) for i in range(1200)]
    with ResultWriter(store, batch_size=500, flush_interval=60, on_commit=commits) as writer:
        for result in results:
            writer.submit(result)
        assert writer.flush(timeout=5)
        assert commits.calls == [(500, 500), (500, 1000), (200, 1200)]
        assert writer.pending == 0
    assert store.count_results() == 1200
    assert store.results_between(0, T0 + 2000) == results


def test_writer_pending_counts_until_committed(store):
    writer = ResultWriter(store, flush_interval=60)
    for i in range(3):
        writer.submit(make_result(started_at=T0 + i))
    assert writer.pending == 3
    assert store.count_results() == 0
    writer.start()
    assert writer.flush(timeout=5)
    assert writer.pending == 0 and writer.committed == 3
    writer.close()


def test_writer_flush_interval_commits_a_small_batch(store):
    commits = Commits()
    with ResultWriter(store, batch_size=500, flush_interval=0.2, on_commit=commits) as writer:
        submitted = time.monotonic()
        for i in range(3):
            writer.submit(make_result(started_at=T0 + i))
        assert writer.pending == 3
        assert commits.event.wait(timeout=3)
        assert time.monotonic() - submitted >= 0.15  # waited for the interval, not committed at once
        assert commits.calls == [(3, 3)]
        assert store.count_results() == 3


def test_writer_writes_on_its_own_daemon_thread(store):
    commits = Commits()
    with ResultWriter(store, on_commit=commits) as writer:
        writer.submit(make_result())
        assert writer.flush(timeout=5)
    (thread,) = commits.threads
    assert thread is not threading.current_thread()
    assert thread.daemon and not thread.is_alive()  # and close() stopped it


def test_writer_close_flushes_and_refuses_more(store):
    writer = ResultWriter(store, flush_interval=60).start()
    for i in range(10):
        writer.submit(make_result(started_at=T0 + i))
    assert writer.close(timeout=5)
    assert store.count_results() == 10
    with pytest.raises(RuntimeError):
        writer.submit(make_result())


def test_writer_close_writes_results_submitted_before_start(store):
    writer = ResultWriter(store, flush_interval=60)
    writer.submit(make_result())
    assert writer.close(timeout=5)
    assert store.count_results() == 1


def test_writer_keeps_the_batch_while_the_database_is_locked(db_path, caplog):
    store = SQLiteStore(db_path, busy_timeout=0.05)
    commits = Commits()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    writer = ResultWriter(store, flush_interval=0.05, on_commit=commits, max_retry_interval=0.1).start()
    try:
        for i in range(5):
            writer.submit(make_result(started_at=T0 + i))
        assert not writer.flush(timeout=0.5)
        assert writer.pending == 5 and store.count_results() == 0 and commits.calls == []
        assert any(r.levelno == logging.ERROR and "keeping them for a retry" in r.getMessage()
                   for r in caplog.records)
        blocker.execute("ROLLBACK")
        assert writer.flush(timeout=5)
        assert commits.calls == [(5, 5)] and writer.pending == 0
        assert store.count_results() == 5
    finally:
        writer.close(timeout=5)
        blocker.close()
        store.close()


def test_writer_drops_only_an_unstorable_result(store, caplog):
    good = [make_result(started_at=T0 + i) for i in range(2)]
    bad = make_result(started_at=T0 + 5, phases={"total": "fast"})
    with ResultWriter(store, flush_interval=60) as writer:
        for result in (good[0], bad, good[1]):
            writer.submit(result)
        assert writer.flush(timeout=5)
        assert writer.dropped == 1 and writer.pending == 0
    assert store.results_between(0, T0 + 10) == good
    assert any(r.levelno == logging.ERROR and "cannot be stored" in r.getMessage() for r in caplog.records)


def test_writer_memory_is_bounded(store, caplog):
    writer = ResultWriter(store, batch_size=2, flush_interval=60, max_pending=2)
    for i in range(4):
        writer.submit(make_result(started_at=T0 + i))
    assert writer.pending == 2 and writer.dropped == 2
    assert sum("refusing new results" in r.getMessage() for r in caplog.records) == 1  # once per episode
    assert writer.close(timeout=5)
    assert [r.started_at for r in store.results_between(0, T0 + 10)] == [T0, T0 + 1]


def test_writer_survives_a_failing_on_commit(store):
    def explode(batch_size: int, total: int) -> None:
        raise RuntimeError("callback bug")

    with ResultWriter(store, flush_interval=60, on_commit=explode) as writer:
        writer.submit(make_result(started_at=T0))
        assert writer.flush(timeout=5)
        writer.submit(replace(make_result(), started_at=T0 + 1))
        assert writer.flush(timeout=5)
    assert store.count_results() == 2


KILLED_CHILD = """
import sys, time
from monitor.result import ProbeResult
from monitor.store import ResultWriter, open_store

def report(batch_size, total):
    print(f"committed {batch_size} total {total}", flush=True)

writer = ResultWriter(open_store(sys.argv[1]), batch_size=100, flush_interval=0.01, on_commit=report).start()
for i in range(200_000):
    writer.submit(ProbeResult("sotaydangvien", "home", "http", "hanoi", float(i), True, 0.1))
    if i % 100 == 99:
        time.sleep(0.001)
time.sleep(30)
"""


def test_results_reported_committed_survive_kill_9(db_path):
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(db_path)], stdout=subprocess.PIPE, text=True)
    reported = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:  # ends if the child dies early
            reported = int(line.split()[-1])
            if reported >= 2000:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
        for line in child.stdout:  # lines the child printed before it died
            reported = int(line.split()[-1])
    finally:
        child.kill()
        child.wait()
    assert reported >= 2000
    store = open_store(db_path)
    try:
        assert store.count_results() >= reported
    finally:
        store.close()


def test_evidence_tables_keep_incidents_complaints_and_matches(store):
    from monitor.domain import Classification, Complaint, Incident, Match, MatchStatus

    t = 1_780_290_000.0
    first = Incident("gqthc-a", "gqthc", "down", "platform", t, t + 600, ("hanoi",), {"dns": 3}, None, 20, 3)
    moved = Incident("gqthc-b", "gqthc", "degraded", "platform", t + 60, None, ("hanoi", "hcm"), {"slow": 9},
                     4.5, 40, 0)
    store.save_incidents([first], now=t)
    store.save_incidents([moved], now=t + 1, replacing=(t - 3600, t + 3600))  # a recomputation of that hour
    assert store.incidents_between(t - 86400, t + 86400) == [moved]  # the stale one is gone, the open one kept

    complaint = Complaint("PAKN-1", t + 900, "Đảng ủy xã", "Cao Bằng", "Sổ tay đảng viên chậm", 2)
    classified = Classification(("sotaydangvien",), ("Sổ tay đảng viên",), "slow", "chậm", True,
                                t, t + 900, "từ 8h")
    assert store.add_complaints([(complaint, classified)], "pakn.csv", now=t) == 1
    assert store.add_complaints([(complaint, classified)], "pakn.csv", now=t) == 0  # idempotent by id
    assert store.complaints_between(t, t + 3600) == [(complaint, classified)]

    verdicts = [Match("PAKN-1", "sotaydangvien", MatchStatus.CORROBORATED, "gqthc-b"),
                Match("PAKN-1", None, MatchStatus.NOT_MEASURABLE)]
    store.save_matches(verdicts, now=t)
    store.save_matches(verdicts[:1], now=t + 5)  # recomputed: replaced, not duplicated
    assert sorted(store.matches_for(["PAKN-1"]), key=lambda m: m.platform or "") == \
        sorted(verdicts, key=lambda m: m.platform or "")


def test_incident_notes_are_replaced_and_removed(store):
    store.set_incident_note("gqthc-a", "Đã khắc phục", now=T0)
    store.set_incident_note("gqthc-a", "Đã khắc phục lúc 9h", now=T0 + 1)
    store.set_incident_note("gqthc-b", "Đang xử lý", now=T0)
    assert store.incident_notes(["gqthc-a", "gqthc-b", "nothing", "gqthc-a"]) == {
        "gqthc-a": "Đã khắc phục lúc 9h", "gqthc-b": "Đang xử lý"}
    store.set_incident_note("gqthc-b", "", now=T0 + 2)
    assert store.incident_notes(["gqthc-b"]) == {} and store.incident_notes([]) == {}
    store.set_incident_note("dichvucong-c", "Theo dõi", now=T0 + 3)  # an incident not stored (yet)
    assert store.all_incident_notes() == {"gqthc-a": "Đã khắc phục lúc 9h", "dichvucong-c": "Theo dõi"}


def test_import_complaints_is_all_or_nothing_and_keeps_the_first_of_an_id(store):
    from monitor.domain import Classification, Complaint

    def complaint(n: int, text: str = "chậm") -> tuple[Complaint, Classification]:
        return (Complaint(f"PAKN-{n}", T0 + n, "Chi bộ 1", "Cao Bằng", text, n),
                Classification((), (), "slow", None, False, None, None, None))

    def failing():
        yield complaint(1)
        raise OSError("the file went away")

    with pytest.raises(OSError):
        store.import_complaints(failing(), "a.csv", now=T0)
    assert store.complaints_between(0, T0 + 100) == []
    assert store.import_complaints(iter([complaint(2), complaint(1), complaint(2, "khác")]), "a.csv", now=T0) == 2
    assert store.import_complaints(iter([complaint(1), complaint(3)]), "a.csv", now=T0) == 1
    assert [(c.id, c.text) for c, _ in store.complaints_between(0, T0 + 100)] == [
        ("PAKN-1", "chậm"), ("PAKN-2", "chậm"), ("PAKN-3", "chậm")]


# --- read-only ------------------------------------------------------------------------

def _one_result(t: float) -> ProbeResult:
    return ProbeResult("gqthc", "home", "http", "hanoi", t, True, 0.1, phases={"total": 0.1})


def test_a_read_only_store_sees_every_commit_and_writes_nothing(tmp_path):
    path = tmp_path / "monitor.db"
    writer = open_store(path)
    try:
        writer.add_results([_one_result(1.0)])
        reader = open_store(path, read_only=True)
        try:
            writer.add_results([_one_result(2.0)])  # committed to the WAL after the reader opened
            assert [r.started_at for r in reader.results_between(0, 10)] == [1.0, 2.0]
            with pytest.raises(StoreError, match="readonly"):
                reader.add_results([_one_result(3.0)])
            with pytest.raises(StoreError, match="readonly"):
                reader.prune(10.0)
        finally:
            reader.close()
        assert writer.count_results() == 2
    finally:
        writer.close()


def test_a_missing_store_is_not_created_by_a_read_only_open(tmp_path):
    with pytest.raises(StoreError, match="no history at"):
        open_store(tmp_path / "none" / "monitor.db", read_only=True)
    assert not (tmp_path / "none").exists()


def test_a_store_newer_than_the_code_is_refused_read_only_too(tmp_path):
    path = tmp_path / "monitor.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer than this monitor knows"):
        open_store(path, read_only=True)

"""Store-and-forward on a real PostgreSQL (tests/postgres.py): a prober never loses results while the central store
is down or hung; it spools them locally and forwards them in order, each stored once (monitor/store/spool.py).

The session's server is stopped, started and frozen (SIGSTOP) here; every test gives it back running.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.result import ProbeResult, Reason
from monitor.store import ResultWriter
from monitor.store.central import LazyStore
from monitor.store.postgres import PostgresStore
from monitor.store.spool import Spool, StoreAndForward
from tests.daemon import Daemon, write_checks
from tests.waiting import wait_until


def result(i: int, check: str = "home", location: str = "hanoi") -> ProbeResult:
    return ProbeResult("gqthc", check, "http", location, 1_780_000_000.0 + i, i % 7 != 0, 0.1 + i / 1000,
                       reason=None if i % 7 else Reason.CONNECT_TIMEOUT, error=None if i % 7 else "timed out",
                       phases={"connect": 0.01, "total": 0.09} if i % 7 else {"connect": 0.5},
                       status_code=200 if i % 7 else None, peer="127.0.0.1:443", details={"n": i})


def database(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def stored(postgres, url: str) -> tuple[int, int]:
    """(results, distinct keys) in the central store."""
    out = postgres.sql("SELECT count(*), count(DISTINCT (platform, check_id, location, started_at)) FROM results",
                       database(url))
    rows, keys = out.split("|")
    return int(rows), int(keys)


def in_commit_order(postgres, url: str) -> dict[str, list[float]]:
    """Each check's start times in the order the central store committed them (its identity column)."""
    out = postgres.sql("SELECT check_id, started_at FROM results ORDER BY id", database(url))
    order: dict[str, list[float]] = {}
    for line in out.splitlines():
        check, started_at = line.split("|")
        order.setdefault(check, []).append(float(started_at))
    return order


def spooled(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM spool").fetchone()[0])


def scrape(url: str) -> dict[str, float]:
    """The unlabelled series of a real scrape, by name."""
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()
            values[name] = float(value)
    return values


def start(postgres) -> None:
    """Start the session's PostgreSQL again; a failure says what pg_ctl said."""
    try:
        postgres.start()
    except subprocess.CalledProcessError as exc:
        log = (postgres.directory / "server.log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"pg_ctl start failed: {exc.stdout}\n{exc.stderr}\nserver.log: {log}") from exc


def shut_down(postgres) -> None:
    """Stop the session's PostgreSQL and make sure it is down; a failure says what pg_ctl said."""
    data = str(postgres.directory / "data")
    for _ in range(3):
        done = postgres.run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop", check=False)
        if not postgres.is_up():
            return
    raise AssertionError(f"PostgreSQL still answers after pg_ctl stop: {done.stdout}\n{done.stderr}")


@pytest.fixture
def down(postgres) -> Iterator[None]:
    """The session's PostgreSQL stopped for the test (started again at its end whatever happens)."""
    shut_down(postgres)
    try:
        yield
    finally:
        if not postgres.is_up():
            start(postgres)


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids


@contextmanager
def frozen(postgres) -> Iterator[None]:
    """PostgreSQL hung: every server process stopped (SIGSTOP), so connections stay open and nothing answers."""
    postmaster = int((postgres.directory / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGSTOP)  # first, so it starts no process we would miss
    stopped = [postmaster]
    try:
        for pid in _children(postmaster):
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # ended meanwhile
                continue
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def relay_on(url: str, spool: Path, **options) -> StoreAndForward:
    central = LazyStore(lambda: PostgresStore(url), "test PostgreSQL")
    return StoreAndForward(central, Spool(spool), retry_interval=0.1, max_retry_interval=0.5, **options).start()


# --- in one process -----------------------------------------------------------------------------


def test_results_written_while_postgres_is_down_are_spooled_then_forwarded_in_order_once(
        postgres, postgres_url, tmp_path, down):
    forwarded, failures = [], []
    relay = relay_on(postgres_url, tmp_path / "spool.db", batch_size=40, on_forwarded=forwarded.append,
                     on_failure=lambda: failures.append(1), clock=lambda: 1_780_000_600.0)
    writer = ResultWriter(relay, batch_size=25, flush_interval=0.05).start()
    try:
        for i in range(300):
            writer.submit(result(i, check=f"c{i % 3}"))
        assert writer.flush(30)  # committed to the spool: nothing waits in memory for the database
        assert relay.pending == spooled(tmp_path / "spool.db") == 300
        size = (tmp_path / "spool.db").stat().st_size + (tmp_path / "spool.db-wal").stat().st_size
        assert relay.oldest_age() == 600.0  # the first result in line, measured at 1_780_000_000
        assert failures and not forwarded

        start(postgres)
        wait_until(lambda: not relay.spooling, 60, "the spool forwarded")
        assert relay.pending == 0 and relay.oldest_age() == 0.0 and spooled(tmp_path / "spool.db") == 0
        emptied = (tmp_path / "spool.db").stat().st_size + (tmp_path / "spool.db-wal").stat().st_size
        assert emptied < size / 4, (size, emptied)  # compacted: the forwarded results' space is given back
        assert sum(forwarded) == relay.forwarded == 300
        assert stored(postgres, postgres_url) == (300, 300)
        for check, starts in in_commit_order(postgres, postgres_url).items():
            assert starts == sorted(starts), check

        writer.submit(result(300))  # the backlog gone, results go straight to the central store again
        assert writer.flush(30)
        assert relay.pending == 0 and stored(postgres, postgres_url) == (301, 301) and relay.forwarded == 300
    finally:
        writer.close()
        relay.close()
        relay.central.close()  # type: ignore[attr-defined]
    back = PostgresStore(postgres_url)
    try:
        assert back.results_between(0, 2e9)[:5] == [result(i, check=f"c{i % 3}") for i in range(5)]  # intact
    finally:
        back.close()


def test_a_spool_forwarded_twice_stores_each_result_once(postgres, postgres_url, tmp_path):
    """A crash between the central commit and the spool delete sends the batch again at the next start."""
    path, before = tmp_path / "spool.db", tmp_path / "spool-before-forwarding.db"
    spool = Spool(path)
    spool.append([result(i) for i in range(500)])
    spool.close()
    shutil.copy(path, before)  # the spool as it was when the crash came: forwarded, not yet deleted

    for attempt in (1, 2):
        relay = relay_on(postgres_url, path, batch_size=120)
        try:
            wait_until(lambda r=relay: r.pending == 0, 60, "the spool forwarded")
            assert relay.forwarded == 500  # sent in full both times
        finally:
            relay.close()
            relay.central.close()  # type: ignore[attr-defined]
        assert stored(postgres, postgres_url) == (500, 500), attempt
        shutil.copy(before, path)


def test_a_hung_database_does_not_stall_the_writer(postgres, postgres_url, tmp_path):
    relay = relay_on(postgres_url, tmp_path / "spool.db", write_timeout=0.5)
    writer = ResultWriter(relay, batch_size=10, flush_interval=0.05).start()
    try:
        writer.submit(result(0))
        assert writer.flush(30) and stored(postgres, postgres_url) == (1, 1)  # connected, written directly
        with frozen(postgres):
            for i in range(1, 101):
                writer.submit(result(i))
                if i % 10 == 0:  # each batch lands in the spool, none waits for the hung server
                    assert writer.flush(30), f"batch {i // 10} still in memory"
            assert relay.pending >= 90 and relay.failed_writes >= 1
        wait_until(lambda: relay.pending == 0, 60, "the spool forwarded")
        assert stored(postgres, postgres_url) == (101, 101)
    finally:
        writer.close()
        relay.close()
        relay.central.close()  # type: ignore[attr-defined]


# --- `monitor run` ------------------------------------------------------------------------------


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def stop(daemon: Daemon) -> tuple[int, int]:
    """SIGTERM; (results stored this run, results left in the spool) from its last line."""
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(30) == 0
    match = daemon.wait_for(r"stopped; (\d+) results stored this run \(\d+ forwarded from the spool, (\d+) left",
                            stream="stderr")
    return int(match.group(1)), int(match.group(2))


@pytest.mark.slow  # real `monitor run` processes for seconds, PostgreSQL stopped and started
def test_monitor_run_started_while_postgres_is_down_spools_keeps_the_spool_and_forwards_it(
        postgres, postgres_url, http_port, tmp_path, monkeypatch, daemons, down):
    spool = tmp_path / "state" / "spool.db"
    monkeypatch.setenv("MONITOR_SPOOL", str(spool))
    checks = write_checks(tmp_path, http_port, count=3)

    first = Daemon(checks, postgres_url)  # type: ignore[arg-type]  # a URL where tests/daemon.py expects a path
    daemons.append(first)
    url = first.metrics_url()
    first.wait_for("central store unavailable .*: spooling results to", stream="stderr", timeout=30)
    metrics = wait_until(lambda: (m := scrape(url))["monitor_store_pending_results"] >= 6 and m, 30,
                         "results pending in the spool")
    assert metrics["monitor_store_spool_oldest_age_seconds"] > 0
    assert metrics["monitor_store_write_failures_total"] >= 1 and metrics["monitor_store_forwarded_results_total"] == 0
    produced, left = stop(first)
    assert left == spooled(spool) == produced > 0  # SIGTERM keeps the spool on disk

    start(postgres)
    second = Daemon(checks, postgres_url)  # type: ignore[arg-type]
    daemons.append(second)
    url = second.metrics_url()
    second.wait_for(rf"{produced} results spooled in .* by an earlier run", stream="stderr")
    second.wait_for("spool .* forwarded: writing to the central store again", stream="stderr", timeout=60)
    metrics = wait_until(lambda: (m := scrape(url))["monitor_store_pending_results"] == 0 and m, 30,
                         "the backlog gone")
    assert metrics["monitor_store_spool_oldest_age_seconds"] == 0
    assert metrics["monitor_store_forwarded_results_total"] >= produced
    more, left = stop(second)
    assert left == spooled(spool) == 0
    assert stored(postgres, postgres_url) == (produced + more, produced + more)  # each result once
    order = in_commit_order(postgres, postgres_url)
    assert set(order) == {"c0", "c1", "c2"}
    for check, starts in order.items():
        assert starts == sorted(starts), check


@pytest.mark.slow  # a real `monitor run` for seconds, PostgreSQL hung then answering again
def test_monitor_run_keeps_probing_and_spooling_while_postgres_hangs(postgres, postgres_url, http_port, tmp_path,
                                                                     monkeypatch, daemons):
    monkeypatch.setenv("MONITOR_SPOOL", str(tmp_path / "spool.db"))
    daemon = Daemon(write_checks(tmp_path, http_port, count=2), postgres_url)  # type: ignore[arg-type]
    daemons.append(daemon)
    url = daemon.metrics_url()
    wait_until(lambda: stored(postgres, postgres_url)[0] >= 2, 30, "results written to PostgreSQL")
    with frozen(postgres):
        daemon.wait_for("central store unavailable .*: spooling results to", stream="stderr", timeout=30)
        metrics = wait_until(lambda: (m := scrape(url))["monitor_store_pending_results"] >= 10 and m, 30,
                             "probing goes on into the spool")
        assert metrics["monitor_store_spool_oldest_age_seconds"] > 0
    wait_until(lambda: scrape(url)["monitor_store_pending_results"] == 0, 60, "the spool forwarded")
    produced, left = stop(daemon)
    assert left == 0
    assert stored(postgres, postgres_url) == (produced, produced)
    for check, starts in in_commit_order(postgres, postgres_url).items():
        assert starts == sorted(starts), check


def test_a_central_url_gets_network_timeouts_unless_it_sets_its_own():
    """A prober whose link to the central store is cut must fail its connection in seconds, not wait out the
    kernel's retransmissions; what the operator wrote in the URL wins."""
    from urllib.parse import parse_qs, urlsplit

    from monitor.daemon import with_network_timeouts

    added = parse_qs(urlsplit(with_network_timeouts("postgresql://u:p%40ss@db.example:5432/monitor")).query)
    assert added == {"tcp_user_timeout": ["15000"], "keepalives_idle": ["30"], "keepalives_interval": ["10"],
                     "keepalives_count": ["3"]}
    kept = urlsplit(with_network_timeouts("postgresql://u@db.example/monitor?sslmode=require&tcp_user_timeout=5000"))
    assert kept.netloc == "u@db.example" and kept.path == "/monitor"
    assert parse_qs(kept.query)["tcp_user_timeout"] == ["5000"] and parse_qs(kept.query)["sslmode"] == ["require"]


@pytest.mark.slow  # a real `monitor run` for seconds, PostgreSQL hung
def test_monitor_run_stops_on_sigterm_while_postgres_hangs_and_keeps_its_spool(postgres, postgres_url, http_port,
                                                                                tmp_path, monkeypatch, daemons):
    spool = tmp_path / "spool.db"
    monkeypatch.setenv("MONITOR_SPOOL", str(spool))
    checks = write_checks(tmp_path, http_port, count=2)
    daemon = Daemon(checks, postgres_url)  # type: ignore[arg-type]
    daemons.append(daemon)
    url = daemon.metrics_url()
    wait_until(lambda: stored(postgres, postgres_url)[0] >= 2, 30, "results written to PostgreSQL")
    with frozen(postgres):
        daemon.wait_for("central store unavailable .*: spooling results to", stream="stderr", timeout=30)
        wait_until(lambda: scrape(url)["monitor_store_pending_results"] >= 4, 30, "results in the spool")
        produced, left = stop(daemon)  # exits although its connection to PostgreSQL hangs
        assert left == spooled(spool) > 0
    before = stored(postgres, postgres_url)[0]
    assert before + left >= produced  # what did not reach PostgreSQL before the hang is in the spool

    again = Daemon(checks, postgres_url)  # type: ignore[arg-type]
    daemons.append(again)
    again.wait_for("spool .* forwarded: writing to the central store again", stream="stderr", timeout=60)
    more, left = stop(again)
    assert left == 0
    assert stored(postgres, postgres_url) == (produced + more, produced + more)

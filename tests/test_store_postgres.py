"""The PostgreSQL history store as operators use it, on a real PostgreSQL server (tests/postgres.py).

The contract tests of tests/test_store.py run on both stores; here are PostgreSQL's own facts (exact floats,
migrations by concurrent probers, a lost or stopped server, read-only use), store locations on the command line
(a URL is never a path, its password never shown), ``monitor store copy``, and the two-store equivalence: one
simulated lab week gives the same report, incidents, complaint list, Grafana annotations and status page whether it
is read from SQLite or from PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from monitor.errors import StoreError
from monitor.result import ProbeResult, Reason
from monitor.store import open_store
from monitor.store.pg_schema import packaged_pg_migrations
from monitor.store.postgres import PostgresStore
from monitor.store.rows import COLUMNS, to_row
from tests.grafana_standin import GrafanaStandIn
from tests.test_statuspage import CHECKS, run

ROOT = Path(__file__).resolve().parents[1]
WEEK = "2026-W23"
T0 = 1_780_000_000.0


def monitor(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "GRAFANA_"))}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=clean | {"COLUMNS": "200"} | (env or {}))


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


# --- PostgreSQL specifics -----------------------------------------------------------------


def test_times_and_phases_read_back_exactly(postgres_url):
    odd = [ProbeResult("gqthc", "home", "http", "hanoi", T0 + 0.1 + 0.2, False, 1 / 3, reason=Reason.READ_TIMEOUT,
                       error="tab\there, newline\nthere, back\\slash", phases={"resolve": 5e-324, "connect": 0.0,
                                                                              "total": 2 ** 0.5},
                       cert_expiry=T0 + 1e-6, details={"stalled": 0.30000000000000004, "ý": "Sổ tay"},
                       unreliable=True)]
    store = PostgresStore(postgres_url)
    try:
        store.add_results(odd)
        assert store.recent_results() == odd
        lean = [replace(r, error=None, status_code=None, peer=None, phases={"total": r.phases["total"]}) for r in odd]
        assert store.results_between(T0, T0 + 1, details=False) == lean  # unreliable: its details kept
    finally:
        store.close()


def test_probers_starting_at_once_migrate_once(postgres, postgres_url):
    opened: list[PostgresStore] = []
    failed: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            opened.append(PostgresStore(postgres_url))
        except BaseException as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failed == [] and len(opened) == 6
        latest = packaged_pg_migrations()[-1].version
        assert {s.schema_version() for s in opened} == {latest}
        assert postgres.sql("SELECT count(*), max(version) FROM schema_version",
                            postgres_url.rsplit("/", 1)[1]) == f"1|{latest}"
    finally:
        for store in opened:
            store.close()


def test_a_lost_connection_is_replaced_and_the_write_done(postgres, postgres_url):
    store = PostgresStore(postgres_url)
    try:
        store.add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0, True, 0.1)])
        database = postgres_url.rsplit("/", 1)[1]
        killed = postgres.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              f"WHERE datname = '{database}' AND application_name = 'monitor'")
        assert killed == "1"
        store.add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0 + 1, True, 0.1)])
        assert store.count_results() == 2
    finally:
        store.close()


@pytest.mark.slow  # stops and starts the session's server
def test_a_stopped_server_is_one_line_naming_it_then_the_store_recovers(postgres, postgres_url):
    store = PostgresStore(postgres_url)
    try:
        postgres.stop()
        try:
            with pytest.raises(StoreError) as caught:
                store.add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0, True, 0.1)])
            message = str(caught.value)
            assert "\n" not in message and f"127.0.0.1:{postgres.port}" in message
            assert "check that PostgreSQL is running" in message or "check PostgreSQL at" in message
            with pytest.raises(StoreError, match=f"127.0.0.1:{postgres.port}"):
                PostgresStore(postgres_url)
        finally:
            postgres.start()
        store.add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0, True, 0.1)])  # reconnected
        assert store.count_results() == 1
    finally:
        store.close()


def test_a_read_only_store_writes_nothing(postgres_url):
    PostgresStore(postgres_url).close()
    reader = PostgresStore(postgres_url, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only transaction"):
            reader.add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0, True, 0.1)])
        with pytest.raises(StoreError, match="read-only transaction"):
            reader.set_incident_note("gqthc-1", "x", T0)
        assert reader.count_results() == 0  # and it still reads after a refused write
    finally:
        reader.close()


def test_an_empty_database_is_no_history_and_is_not_migrated_by_a_reader(postgres, postgres_url):
    with pytest.raises(StoreError, match=r"no history at .*no monitor tables yet"):
        PostgresStore(postgres_url, read_only=True)
    assert postgres.sql("SELECT to_regclass('schema_version') IS NULL", postgres_url.rsplit("/", 1)[1]) == "t"


def test_a_newer_schema_is_refused(postgres, postgres_url):
    PostgresStore(postgres_url).close()
    postgres.sql("UPDATE schema_version SET version = 99", postgres_url.rsplit("/", 1)[1])
    for read_only in (False, True):
        with pytest.raises(StoreError, match="schema version 99, newer than this monitor knows"):
            PostgresStore(postgres_url, read_only=read_only)


def test_migrations_003_and_005_do_on_postgresql_what_they_do_on_sqlite(postgres_url):
    PostgresStore(postgres_url, migrations=packaged_pg_migrations()[:2]).close()
    with psycopg.connect(postgres_url) as raw:  # as a monitor before 003 and 005 could have stored them
        raw.execute("INSERT INTO complaints (id, received_at, unit, province, text, source, imported_at, platforms, "
                    "platform_phrases, symptom, peak) VALUES ('P1', %s, 'Chi bộ 1', 'Cao Bằng', "
                    "'Gọi SĐT:0912345678 giúp', 'a.csv', %s, '[]', '[]', 'slow', 0)", (T0, T0))
        for location, success in (("hanoi", 1), ("hanoi", 0), ("hcm", 1), ("hanoi", 0)):
            raw.execute("INSERT INTO results (platform, check_id, kind, location, started_at, success, duration) "
                        "VALUES ('gqthc', 'home', 'http', %s, %s, %s, 0.1)", (location, T0, success))
    store = PostgresStore(postgres_url)
    try:
        ((complaint, _),) = store.complaints_between(0, T0 + 1)
        assert complaint.text == "Gọi SĐT:[số điện thoại] giúp"
        kept = store.results_between(0, T0 + 1)
        assert [(r.location, r.success) for r in kept] == [("hanoi", True), ("hcm", True)]  # the first of each key
    finally:
        store.close()


def test_migration_006_builds_the_rollups_of_a_history_stored_before_it(postgres_url):
    from monitor.rollup import fold

    history = [ProbeResult("gqthc", "home", "http", location, T0 + i * 30, i % 3 != 0, 0.2,
                           reason=None if i % 3 else Reason.CONNECT_REFUSED, phases={"total": 0.1 + i / 100})
               for i in range(100) for location in ("hanoi", "caobang")]
    PostgresStore(postgres_url, migrations=packaged_pg_migrations()[:5]).close()
    with psycopg.connect(postgres_url) as raw:  # results written by a monitor before migration 006: no rollups yet
        assert raw.execute("SELECT to_regclass('rollups') IS NULL").fetchone() == (True,)
        raw.cursor().executemany(f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES "
                                 f"({', '.join('%s' for _ in COLUMNS)})", [to_row(r) for r in history])
    store = PostgresStore(postgres_url)
    try:
        assert {r.key: r for r in store.rollups_between(0, T0 + 86400)} == fold(history)
    finally:
        store.close()


def test_two_writers_of_one_stream_and_quarter_hour_lose_no_count(postgres_url):
    # A store copy or a forwarded spool beside the live prober: both fold results into the same rollup row.
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    per_writer = 150
    start = threading.Barrier(2)

    def write(k: int) -> None:
        start.wait()
        for i in range(per_writer):  # one result a transaction, all in one quarter hour, never the same key
            stores[k].add_results([ProbeResult("gqthc", "home", "http", "hanoi", T0 + k + 2 * i * 0.001, True, 0.1,
                                               phases={"total": 0.1})])

    try:
        writers = [threading.Thread(target=write, args=(k,)) for k in range(2)]
        for w in writers:
            w.start()
        for w in writers:
            w.join(60)
        (rollup,) = stores[0].rollups_between(T0, T0 + 900)
        assert stores[0].count_results() == 2 * per_writer
        assert rollup.probes == rollup.successes == 2 * per_writer  # a lost update would count fewer
    finally:
        for s in stores:
            s.close()


# --- store locations on the command line ----------------------------------------------------


@pytest.mark.parametrize(("given", "parsed", "shown"), [
    ("var/monitor.db", Path("var/monitor.db"), "var/monitor.db"),
    ("postgresql://monitor:pa%40ss@db:5432/fleet", "postgresql://monitor:pa%40ss@db:5432/fleet",
     "postgresql://monitor:***@db:5432/fleet"),
    ("postgres://monitor@db/fleet?sslmode=require&password=pw", "postgres://monitor@db/fleet?sslmode=require&password=pw",
     "postgres://monitor@db/fleet?sslmode=require&password=***"),
    ("POSTGRESQL://db/fleet", "postgresql://db/fleet", "postgresql://db/fleet"),
    (Path("postgresql://monitor:pw@db/fleet"), "postgresql://monitor:pw@db/fleet", "postgresql://monitor:***@db/fleet"),
    ("postgresql-notes/monitor.db", Path("postgresql-notes/monitor.db"), "postgresql-notes/monitor.db"),
])
def test_a_location_is_a_url_or_a_path_and_shown_without_its_password(given, parsed, shown):
    from monitor.store import location

    assert location.parse(given) == parsed and type(location.parse(given)) is type(parsed)
    assert location.describe(given) == shown


@pytest.mark.parametrize("bad", ["postgresql://monitor:pw@/fleet", "postgresql://monitor:pw@db/",
                                 "postgresql://monitor:pw@db:port/fleet", "postgresql:/monitor:pw@db/fleet"])
def test_an_incomplete_url_is_refused_without_its_password(bad):
    from monitor.store import location

    with pytest.raises(ValueError, match="PostgreSQL URL") as caught:
        location.parse(bad)
    assert "pw" not in str(caught.value).replace("postgresql", "")


def test_a_url_is_never_a_path_and_its_password_is_never_shown(tmp_path, postgres):
    closed_port = postgres.port + 1 if postgres.port < 65535 else 1  # nothing listens there (checked below)
    url = f"postgresql://monitor:s3cr%40t-pw@127.0.0.1:{closed_port}/fleet"
    for args, env in ((("results", "--store", url), None), (("results",), {"MONITOR_STORE": url}),
                      (("report", "--week", WEEK, "--store", url, "--out", str(tmp_path / "out")), None),
                      (("complaints", "list", "--week", WEEK), {"MONITOR_STORE": url}),
                      (("store", "copy", url, str(tmp_path / "copy.db")), None)):
        done = monitor(*args, cwd=tmp_path, env=env)
        if done.returncode == 2 and "Connection refused" not in done.stderr and "could not connect" in done.stderr:
            pytest.skip(f"something answers on 127.0.0.1:{closed_port}")
        error = one_line_error(done)
        assert f"127.0.0.1:{closed_port}" in error and "monitor:***@" in error, (args, error)
        assert "s3cr" not in error, error
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no postgresql: directory, no copy.db, no out/
    bad = monitor("results", "--store", "postgresql://monitor:s3cret@/", cwd=tmp_path)
    assert bad.returncode == 2 and "s3cret" not in bad.stderr and "needs a host and a database name" in bad.stderr
    env_bad = monitor("results", cwd=tmp_path, env={"MONITOR_STORE": "postgres://monitor:s3cret@db.example/"})
    assert one_line_error(env_bad) and "s3cret" not in env_bad.stderr and "monitor:***@db.example" in env_bad.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_banner_of_monitor_run_shows_the_store_without_its_password(tmp_path, postgres_url):
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")  # trust ignores it
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    checks = tmp_path / "checks.yml"
    checks.write_text(CHECKS, encoding="utf-8")
    daemon = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--store", url, "--checks", str(checks),
                               "--listen-port", "0"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env | {"MONITOR_SPOOL": str(tmp_path / "spool.db"), "COLUMNS": "200"})
    try:
        assert daemon.stdout is not None
        banner = daemon.stdout.readline()
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    assert "store postgresql://postgres:***@127.0.0.1" in banner and "hunter2" not in banner, banner
    assert not (tmp_path / "postgresql:").exists()


# --- monitor store copy: errors ---------------------------------------------------------------


def test_store_copy_refuses_one_store_twice_and_a_missing_one(tmp_path, postgres_url):
    path = tmp_path / "monitor.db"
    open_store(path).close()
    same = one_line_error(monitor("store", "copy", str(path), str(tmp_path / "." / "monitor.db")))
    assert "FROM and TO are the same store" in same
    twice = one_line_error(monitor("store", "copy", postgres_url, postgres_url.replace("@127.0.0.1", "@127.0.0.1")))
    assert "same store" in twice
    missing = one_line_error(monitor("store", "copy", str(tmp_path / "none.db"), postgres_url))
    assert f"no history at {tmp_path / 'none.db'}" in missing
    empty = one_line_error(monitor("store", "copy", postgres_url, str(tmp_path / "back.db")))
    assert "no history at" in empty and not (tmp_path / "back.db").exists()


def test_store_copy_between_two_sqlite_files_moves_everything_once(tmp_path):
    from monitor.domain import Classification, Complaint, Incident, Match, MatchStatus

    source, target = tmp_path / "a.db", tmp_path / "b" / "c.db"
    results = [ProbeResult("gqthc", "home", "http", loc, T0 + i, i % 4 != 0, 0.1, phases={"total": 0.1})
               for i in range(7_000) for loc in ("hanoi", "caobang")]  # more than one batch of 5,000
    incident = Incident("gqthc-1", "gqthc", "down", "location", T0, T0 + 600, ("caobang",), {"dns": 3}, None, 20, 3)
    complaint = (Complaint("PAKN-1", T0 + 60, "Chi bộ 1", "Cao Bằng", "không vào được", 2),
                 Classification(("gqthc",), ("gqthc",), "down", "không vào được", True, None, None, None))
    verdict = Match("PAKN-1", "gqthc", MatchStatus.CORROBORATED, "gqthc-1")
    store = open_store(source)
    try:
        store.add_results(results)
        store.save_incidents([incident], T0)
        store.add_complaints([complaint], "pakn.csv", T0)
        store.save_matches([verdict], T0)
        store.set_incident_note("gqthc-1", "Đã khắc phục", T0)
        store.set_incident_note("gqthc-2", "Đang xử lý", T0)  # its incident not stored yet
    finally:
        store.close()
    first = json.loads(ok(monitor("store", "copy", str(source), str(target), "--json")).stdout)
    again = json.loads(ok(monitor("store", "copy", str(source), str(target), "--json")).stdout)
    assert (first["results"], first["new_results"], first["new_complaints"], first["notes"]) == (14_000, 14_000, 1, 2)
    assert (again["new_results"], again["new_complaints"]) == (0, 0)
    copied = open_store(target, read_only=True)
    try:
        assert copied.results_between(0, 2e9) == results
        assert copied.incidents_between(0, 2e9) == [incident]
        assert copied.complaints_between(0, 2e9) == [complaint]
        assert copied.matches_for(["PAKN-1"]) == [verdict]
        assert copied.all_incident_notes() == {"gqthc-1": "Đã khắc phục", "gqthc-2": "Đang xử lý"}
    finally:
        copied.close()
    shown = ok(monitor("store", "copy", str(source), str(target))).stdout
    assert shown.strip() == (f"copied {source} → {target}: 14000 results (0 new), 1 incidents, 1 complaints (0 new), "
                             "1 verdicts, 2 notes")


# --- the two-store equivalence ------------------------------------------------------------------


@pytest.fixture(scope="module")
def week(tmp_path_factory, postgres) -> dict[str, str]:
    """One simulated lab week (10-minute interval) in SQLite, with its complaints imported and its incidents and
    verdicts saved by ``monitor simulate``, a note on an incident; then copied into PostgreSQL, twice."""
    directory = tmp_path_factory.mktemp("week")
    ok(monitor("simulate", "--week", WEEK, "--interval", "10m", "--dir", str(directory)))
    sqlite = str(directory / "monitor.db")
    store = open_store(sqlite)
    try:
        incidents = store.incidents_between(0, 2e9)
        assert incidents, "the simulated week has incidents"
        store.set_incident_note(incidents[0].id, "Đã khắc phục", T0)
    finally:
        store.close()
    url = postgres.database("week")
    first = json.loads(ok(monitor("store", "copy", sqlite, url, "--json")).stdout)
    second = json.loads(ok(monitor("store", "copy", sqlite, url, "--json")).stdout)
    return {"dir": str(directory), "sqlite": sqlite, "postgresql": url, "first": first, "second": second,
            "checks": str(directory / "checks.yml")}


@pytest.mark.slow
def test_copying_into_postgresql_twice_adds_nothing_the_second_time(week):
    first, second = week["first"], week["second"]
    assert first["results"] == first["new_results"] > 1000
    assert first["complaints"] == first["new_complaints"] > 10 and first["incidents"] >= 1 and first["notes"] == 1
    assert second["results"] == first["results"] and second["new_results"] == 0 and second["new_complaints"] == 0
    sqlite, postgresql = open_store(week["sqlite"], read_only=True), open_store(week["postgresql"], read_only=True)
    try:
        assert postgresql.count_results() == sqlite.count_results() == first["results"]
        assert postgresql.results_between(0, 2e9) == sqlite.results_between(0, 2e9)
        ids = [i.id for i in sqlite.incidents_between(0, 2e9)]
        assert postgresql.incident_notes(ids) == sqlite.incident_notes(ids) == {ids[0]: "Đã khắc phục"}
    finally:
        sqlite.close()
        postgresql.close()


def _report(store: str, checks: str, out: Path) -> dict[str, str]:
    """``monitor report``'s terminal text and every file it writes, the moment it was made left out."""
    shown = ok(monitor("report", "--week", WEEK, "--checks", checks, "--store", store, "--out", str(out))).stdout
    files = {"terminal": shown.replace(str(out), "OUT")}
    for path in sorted(out.iterdir()):
        if path.suffix == ".docx":
            with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as docx:
                files[path.name] = docx.read("word/document.xml").decode()
        elif path.suffix in (".md", ".html", ".svg", ".txt", ".json"):
            files[path.name] = path.read_text(encoding="utf-8")
    made = re.compile(r"lập lúc \d+h\d+ ngày \d\d/\d\d/\d{4}|lập lúc [^(<]*")
    return {name: made.sub("lập lúc …", text) for name, text in files.items()}


@pytest.mark.slow
def test_report_incidents_complaints_and_annotations_are_the_same_on_both_stores(week, tmp_path):
    sqlite, postgresql, checks = week["sqlite"], week["postgresql"], week["checks"]
    on_sqlite, on_postgresql = _report(sqlite, checks, tmp_path / "a"), _report(postgresql, checks, tmp_path / "b")
    assert sorted(on_sqlite) == sorted(on_postgresql) and {".md", ".html", ".docx"} <= {
        Path(name).suffix for name in on_sqlite}
    for name in on_sqlite:
        assert on_sqlite[name] == on_postgresql[name], name
    assert "lập lúc …" in on_sqlite["terminal"]

    for command in (("incidents", "--week", WEEK, "--json"), ("incidents", "--week", WEEK),
                    ("complaints", "list", "--week", WEEK, "--json"), ("complaints", "list", "--week", WEEK)):
        a = ok(monitor(*command, "--checks", checks, "--store", sqlite)).stdout
        b = ok(monitor(*command, "--checks", checks, "--store", postgresql)).stdout
        assert a == b and a.strip(), command
    assert json.loads(ok(monitor("complaints", "list", "--week", WEEK, "--json", "--checks", checks, "--store",
                                 postgresql)).stdout)  # the complaints and their verdicts arrived

    posted = []
    for store in (sqlite, postgresql):
        with GrafanaStandIn("glsa_standin_token") as grafana:
            counts = ok(monitor("grafana", "annotate", "--week", WEEK, "--checks", checks, "--store", store, "--json",
                                env={"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": "glsa_standin_token"})).stdout
            bodies = [r.json() for r in grafana.requests("POST", "/api/annotations")]
        posted.append((json.loads(counts), sorted(bodies, key=json.dumps)))
    assert posted[0] == posted[1] and posted[0][0]["created"] > 0


@pytest.mark.slow
def test_a_copy_back_from_postgresql_gives_the_same_report(week, tmp_path):
    back = tmp_path / "back" / "monitor.db"
    copied = json.loads(ok(monitor("store", "copy", week["postgresql"], str(back), "--json")).stdout)
    assert copied["new_results"] == week["first"]["results"] and copied["notes"] == 1
    assert _report(str(back), week["checks"], tmp_path / "a") == _report(week["sqlite"], week["checks"], tmp_path / "b")


def test_the_status_page_is_the_same_on_both_stores_with_a_location_only_incident(tmp_path, postgres):
    checks = tmp_path / "checks.yml"
    checks.write_text(CHECKS, encoding="utf-8")
    sqlite = tmp_path / "monitor.db"
    store = open_store(sqlite)
    now = time.time()
    try:
        store.add_results(run("gqthc", "." * 40 + "x" * 10, end=now))
        store.add_results(run("dichvucong", "." * 200, location="hanoi", end=now))
        store.add_results(run("dichvucong", "." * 190 + "x" * 10, location="caobang", end=now))
    finally:
        store.close()
    url = postgres.database("status")
    ok(monitor("store", "copy", str(sqlite), url))
    pages = []
    for where in (str(sqlite), url):
        summary = json.loads(ok(monitor("status-page", "--json", "--checks", str(checks), "--store", where)).stdout)
        out = tmp_path / f"site-{len(pages)}"
        ok(monitor("status-page", "--out", str(out), "--checks", str(checks), "--store", where))
        html = (out / "index.html").read_text(encoding="utf-8")
        pages.append((summary, html))
    (summary_a, html_a), (summary_b, html_b) = pages
    # when the page was made (it is made twice, a few seconds apart): any time of day, "generated_at" in the API
    stamp = re.compile(r'"generated[^,}]*|\d\d/\d\d/\d{4} \d\d:\d\d|\d\d:\d\d(:\d\d)? ngày \d\d/\d\d/\d{4}|'
                       r'\d{4}-\d\d-\d\dT[\d:.+]*')
    assert stamp.sub("…", json.dumps(summary_a, sort_keys=True)) == stamp.sub("…", json.dumps(summary_b,
                                                                                           sort_keys=True))
    assert stamp.sub("…", html_a) == stamp.sub("…", html_b)
    assert "Chỉ gián đoạn tại Cao Bằng" in html_b
    assert {i["scope"] for i in summary_b["incidents"]} == {"platform", "location"}

"""``monitor report`` and ``monitor incidents`` only read: a read-only file or directory, or a store another
process is writing, gives the same output as a writable one; storing incidents and verdicts is an explicit step."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.result import ProbeResult, Reason
from monitor.store import SQLiteStore, open_store
from monitor.store.sqlite import packaged_migrations

pytestmark = pytest.mark.slow  # a reference store, then each reading command run several ways

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"
T0 = 1_780_290_000.0  # Monday 01/06/2026 12:00 in Vietnam, inside bulletin week 2026-W23
WEEK = ("--week", "2026-W23")


def _as_a_user() -> list[str]:
    """A prefix that makes the command obey file modes as an operator's account does.

    As root (a container, CI) a 0400 file is still writable; dropping the capabilities that bypass file
    permissions gives root the same view as any user. Not root: nothing to drop.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file read-only for the command")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def monitor(*args: str, as_user: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"}
    prefix = _as_a_user() if as_user else []
    return subprocess.run([*prefix, sys.executable, "-m", "monitor.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def _history(path: Path) -> Path:
    """A store with a 5-minute outage of sotaydangvien on Monday 01/06/2026 and the sample PAKN export."""
    store = open_store(path)
    try:
        store.add_results([ProbeResult("sotaydangvien", "home", "http", "hanoi", T0 + i * 30, i not in range(10, 20),
                                       0.2, reason=None if i not in range(10, 20) else Reason.CONNECT_REFUSED,
                                       phases={} if i in range(10, 20) else {"total": 0.2}) for i in range(40)])
    finally:
        store.close()
    export = path.parent / "pakn.csv"
    shutil.copy(SAMPLE, export)
    imported = monitor("complaints", "import", str(export), "--store", str(path))
    assert imported.returncode == 0, imported.stderr
    export.unlink()
    (path.parent / "pakn.rejects.csv").unlink()
    return path


def _outputs(store: Path, reports: Path, as_user: bool = False) -> dict[str, str]:
    """What a user sees from the read-only commands (the report's files too)."""
    runs = {
        "incidents": monitor("incidents", *WEEK, "--store", str(store), as_user=as_user),
        "incidents --json": monitor("incidents", *WEEK, "--store", str(store), "--json", as_user=as_user),
        "report": monitor("report", *WEEK, "--store", str(store), "--format", "md", "--out", str(reports),
                          as_user=as_user),
        "complaints list": monitor("complaints", "list", *WEEK, "--store", str(store), "--json", as_user=as_user),
        "results": monitor("results", "-n", "5", "--store", str(store), "--json", as_user=as_user),
    }
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr)
        assert not run.stderr, (name, run.stderr)
    seen = {name: run.stdout.replace(str(reports), "REPORTS") for name, run in runs.items()}
    seen["report.md"] = (reports / "bao-cao-2026-W23.md").read_text(encoding="utf-8")
    return seen


def _same_but_generated(left: dict[str, str], right: dict[str, str]) -> None:
    """Equal, but for the minute the report says it was made (two runs may straddle a minute)."""
    def steady(text: str) -> list[str]:
        return [line for line in text.splitlines() if "lập lúc" not in line.lower() and "tạo lúc" not in line.lower()]

    assert left.keys() == right.keys()
    for name in left:
        assert steady(left[name]) == steady(right[name]), name


@pytest.fixture(scope="module")
def writable(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The reference: a writable store and what the commands show on it."""
    directory = tmp_path_factory.mktemp("writable")
    store = _history(directory / "monitor.db")
    return store, _outputs(store, directory / "reports")


def _copy(store: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / store.name
    shutil.copy(store, copy)
    return copy


def test_the_reference_shows_the_outage_and_the_sample_complaints(writable):
    _, seen = writable
    assert [i["start"] for i in json.loads(seen["incidents --json"])] == ["01/06/2026 12:05:00"]
    assert "sotaydangvien" in seen["report"] and "gián đoạn" in seen["incidents"]
    assert len(json.loads(seen["complaints list"])) > 5


def test_a_0400_store_reads_the_same_and_nothing_is_written(writable, tmp_path):
    store, expected = writable
    copy = _copy(store, tmp_path / "store")
    copy.chmod(0o400)
    before = copy.read_bytes()
    _same_but_generated(_outputs(copy, tmp_path / "reports", as_user=True), expected)
    assert copy.read_bytes() == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["monitor.db"]  # no -wal, no -shm left behind


def test_a_store_in_a_read_only_directory_reads_the_same(writable, tmp_path):
    store, expected = writable
    copy = _copy(store, tmp_path / "mounted")
    copy.parent.chmod(0o555)
    try:
        _same_but_generated(_outputs(copy, tmp_path / "reports", as_user=True), expected)
        assert sorted(p.name for p in copy.parent.iterdir()) == ["monitor.db"]
    finally:
        copy.parent.chmod(0o755)


def test_a_store_locked_by_a_writer_reads_the_same(writable, tmp_path):
    store, expected = writable
    copy = _copy(store, tmp_path / "store")
    writer = sqlite3.connect(copy, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("BEGIN IMMEDIATE")  # as the daemon's writer in a long batch, or a stuck import
        writer.execute("DELETE FROM complaint_matches")
        _same_but_generated(_outputs(copy, tmp_path / "reports"), expected)
        saving = monitor("incidents", *WEEK, "--store", str(copy), "--save")
        assert saving.returncode == 2 and "locked" in saving.stderr and "Traceback" not in saving.stderr
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_reading_commands_store_nothing_and_save_stores_incidents_and_verdicts(tmp_path):
    store = _history(tmp_path / "monitor.db")
    report = monitor("report", *WEEK, "--store", str(store), "--format", "md", "--out", str(tmp_path), "--quiet")
    assert report.returncode == 0, report.stderr
    listed = json.loads(monitor("complaints", "list", *WEEK, "--store", str(store), "--json").stdout)
    assert listed and all(not row["verdicts"] for row in listed)  # shown as pending: nothing stored by reading
    history = open_store(store)
    try:
        assert history.incidents_between(T0 - 86400, T0 + 86400) == []
    finally:
        history.close()

    saved = monitor("incidents", *WEEK, "--store", str(store), "--save")
    assert saved.returncode == 0, saved.stderr
    assert "đã lưu 1 sự cố và " in saved.stdout and f"kết luận phản ánh vào {store}" in saved.stdout
    as_json = monitor("incidents", *WEEK, "--store", str(store), "--save", "--json")
    assert json.loads(as_json.stdout)[0]["platform"] == "sotaydangvien"  # stdout stays one JSON document
    assert "đã lưu 1 sự cố" in as_json.stderr

    history = open_store(store)
    try:
        [incident] = history.incidents_between(T0 - 86400, T0 + 86400)
        assert (incident.platform, incident.kind, incident.start) == ("sotaydangvien", "down", T0 + 300)
    finally:
        history.close()
    listed = json.loads(monitor("complaints", "list", *WEEK, "--store", str(store), "--json").stdout)
    assert all(row["verdicts"] for row in listed)
    assert {v["status"] for row in listed for v in row["verdicts"]} - {"pending"}


def test_saving_a_read_only_store_is_one_clear_line(writable, tmp_path):
    store, _ = writable
    copy = _copy(store, tmp_path / "store")
    copy.chmod(0o400)
    run = monitor("incidents", *WEEK, "--store", str(copy), "--save", as_user=True)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert str(copy) in run.stderr and "readonly" in run.stderr and "without --save" in run.stderr


def test_a_read_only_store_that_needs_a_migration_says_which_command_migrates_it(tmp_path):
    path = tmp_path / "old.db"
    SQLiteStore(path, migrations=packaged_migrations()[:2]).close()  # as an older monitor left it
    path.chmod(0o400)
    latest = packaged_migrations()[-1].version
    for args in (("report", *WEEK, "--out", str(tmp_path)), ("incidents", *WEEK), ("complaints", "list", *WEEK),
                 ("results",)):
        run = monitor(*args, "--store", str(path), as_user=True)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr == (f"monitor: the store at {path} needs migration 3 (003_rescrub_complaints.sql)"
                              f"{f' (and {latest - 3} more)' if latest > 3 else ''}: run `monitor incidents "
                              f"--save --store {path}` (or `monitor run`) with write access\n"), args
    path.chmod(0o600)
    still = monitor("report", *WEEK, "--store", str(path), "--out", str(tmp_path))
    assert still.returncode == 2 and "needs migration 3" in still.stderr  # reading never migrates, even if it could
    migrated = monitor("incidents", *WEEK, "--store", str(path), "--save")
    assert migrated.returncode == 0, migrated.stderr
    assert monitor("report", *WEEK, "--store", str(path), "--out", str(tmp_path), "--quiet").returncode == 0

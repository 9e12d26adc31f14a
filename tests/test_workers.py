"""``monitor run --workers N`` as real processes: the plan shared out, one /metrics and store, dead workers back."""

from __future__ import annotations

import collections
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.config import HttpCheck
from monitor.scheduler import shard, spread
from monitor.store import open_store
from tests.daemon import Daemon, write_checks

ASSIGNED = r"worker (\d+) \(pid (\d+)\) probing (.+)$"


@pytest.fixture
def daemon_factory(monkeypatch):
    monkeypatch.setenv("MONITOR_LOG_LEVEL", "DEBUG")  # each worker's checks are a DEBUG line
    started: list[Daemon] = []

    def start(*args: object) -> Daemon:
        daemon = Daemon(*args)  # type: ignore[arg-type]
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


def assignments(daemon: Daemon, workers: int) -> dict[int, tuple[int, set[str]]]:
    """worker number -> (pid, its checks), from each worker's first line, once every worker has said it."""
    deadline = time.monotonic() + 20
    found: dict[int, tuple[int, set[str]]] = {}
    while time.monotonic() < deadline and len(found) < workers:
        for line in list(daemon.stderr):
            match = re.search(ASSIGNED, line)
            if match:
                found[int(match.group(1))] = (int(match.group(2)), set(match.group(3).strip().split(", ")))
        time.sleep(0.05)
    assert len(found) == workers, "".join(daemon.stderr)
    return dict(sorted(found.items()))  # by worker number, whichever logged first


def scrape(url: str) -> str:
    return urllib.request.urlopen(url, timeout=5).read().decode()


def last_runs(body: str) -> dict[str, float]:
    """check -> probe_last_run_timestamp_seconds."""
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'probe_last_run_timestamp_seconds\{check="(\w+)",[^}]*\} (\S+)', body)}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def stored(store: Path) -> list[tuple[str, float]]:
    history = open_store(store)
    try:
        return [(r.check, r.started_at) for r in history.recent_results(10_000)]
    finally:
        history.close()


@pytest.mark.slow  # three worker processes for seconds
def test_two_workers_share_the_plan_one_metrics_endpoint_one_store(http_port, tmp_path, daemon_factory):
    store = tmp_path / "history.db"
    checks = {f"c{i}" for i in range(6)}
    daemon = daemon_factory(write_checks(tmp_path, http_port, count=6), store, "--workers", "2")
    url = daemon.metrics_url()
    workers = assignments(daemon, 2)
    (pid0, mine0), (pid1, mine1) = workers[0], workers[1]
    # each check in exactly one worker, shared evenly; the workers are our children, not us
    assert mine0 | mine1 == {f"sotaydangvien/{c}" for c in checks} and not mine0 & mine1 and len(mine0) == 3
    assert pid0 != pid1 and parent_of(pid0) == parent_of(pid1) == daemon.process.pid
    began = time.time()
    time.sleep(4)
    body = scrape(url)
    for check in checks:  # every check, whichever worker probed it, on the one endpoint, labelled as ever
        assert f'probe_success{{check="{check}",location="local",platform="sotaydangvien"}} 1.0' in body
    assert all(stamp > began for stamp in last_runs(body).values()) and len(last_runs(body)) == 6
    assert "monitor_workers_live 2.0" in body
    assert 'monitor_worker_restarts_total{worker="0"} 0.0' in body
    assert 'monitor_worker_restarts_total{worker="1"} 0.0' in body
    assert re.search(r"monitor_event_loop_lag_seconds_count [1-9]", body)  # the workers' own loop lag
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(20) == 0
    done = daemon.wait_for(r"stopped; (\d+) results stored this run", stream="stderr")
    assert not alive(pid0) and not alive(pid1)  # no orphan
    results = stored(store)
    assert len(results) == int(done.group(1))  # everything the workers produced, flushed
    assert len(set(results)) == len(results)  # each result once
    per_check = collections.Counter(check for check, _ in results)
    assert set(per_check) == checks
    ran = time.time() - began
    assert all(ran - 2 <= n <= ran + 3 for n in per_check.values()), per_check  # on schedule: one a second


@pytest.mark.slow  # kills and restarts a worker, seconds of probing
def test_a_killed_worker_is_restarted_counted_and_its_checks_go_on(http_port, tmp_path, daemon_factory):
    store = tmp_path / "history.db"
    daemon = daemon_factory(write_checks(tmp_path, http_port, count=4), store, "--workers", "2")
    url = daemon.metrics_url()
    (pid0, _), (pid1, mine1) = assignments(daemon, 2).values()
    os.kill(pid0, signal.SIGINT)  # ignored: Ctrl-C reaches the whole group, and the daemon is the one to stop them
    time.sleep(1.5)
    os.kill(pid1, signal.SIGKILL)
    killed = time.time()
    daemon.wait_for(rf"worker 1 \(pid {pid1}\) died after \d+s: killed by SIGKILL; restarting it", stream="stderr")
    restarted = _restarted_pid(daemon, pid1)
    assert restarted != pid1 and alive(restarted) and alive(pid0)  # the other worker undisturbed
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        body = scrape(url)
        runs = last_runs(body)
        if all(runs[key.split("/")[1]] > killed + 1 for key in mine1):
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"worker 1's checks did not resume: {last_runs(body)}")
    assert 'monitor_worker_restarts_total{worker="1"} 1.0' in body
    assert 'monitor_worker_restarts_total{worker="0"} 0.0' in body
    assert "monitor_workers_live 2.0" in body
    daemon.process.send_signal(signal.SIGINT)  # Ctrl-C: the daemon stops its workers as on SIGTERM
    assert daemon.process.wait(20) == 0
    daemon.wait_for(rf"worker 1 \(pid {restarted}\) stopped: exit code 0", stream="stderr")
    assert not alive(restarted) and not alive(pid0)
    results = stored(store)
    assert len(set(results)) == len(results)
    # worker 0's checks kept their one-a-second pace through the restart: no gap around the kill
    for check in {"c0", "c1", "c2", "c3"} - {key.split("/")[1] for key in mine1}:
        starts = sorted(at for c, at in results if c == check)
        assert max(b - a for a, b in itertools.pairwise(starts)) < 1.9, starts  # no run missed


def _restarted_pid(daemon: Daemon, old: int) -> int:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in list(daemon.stderr):
            match = re.search(r"worker 1 \(pid (\d+)\) started", line)
            if match and int(match.group(1)) != old:
                return int(match.group(1))
        time.sleep(0.05)
    raise AssertionError("".join(daemon.stderr))


def test_the_plan_is_shared_evenly_each_check_to_one_worker_its_starts_spread():
    fast = [HttpCheck(id=f"f{i}", kind="http", url="https://gqthc.dcs.vn/", interval=6, timeout=5) for i in range(6)]
    slow = [HttpCheck(id=f"s{i}", kind="http", url="https://gqthc.dcs.vn/", interval=60, timeout=5) for i in range(3)]
    jobs = spread([("gqthc", check) for check in fast + slow])
    shards = shard(jobs, 2)
    assert sorted(job.key for part in shards for job in part) == sorted(job.key for job in jobs)  # each once
    assert [len(part) for part in shards] == [5, 4]
    for part in shards:  # every 2 s in each worker, not two checks at once in one and a gap in the other
        assert sorted(job.offset for job in part if job.check.interval == 6) in ([0, 2, 4], [1, 3, 5])
    assert shard(jobs, 2) == shards  # the same plan, the same split: a restarted worker takes the same checks
    assert shard(jobs, 3) != shards and len(shard(jobs, 1)[0]) == len(jobs)


def test_one_worker_is_the_single_process(http_port, tmp_path, daemon_factory):
    daemon = daemon_factory(write_checks(tmp_path, http_port, count=2), tmp_path / "h.db", "--workers", "1")
    url = daemon.metrics_url()
    daemon.wait_for(r"stored batch of \d+ results", stream="stderr")
    body = scrape(url)
    assert 'probe_success{check="c1",location="local",platform="sotaydangvien"} 1.0' in body
    assert "monitor_worker" not in body  # no worker series: nothing changed for a single process
    children = Path(f"/proc/{daemon.process.pid}/task/{daemon.process.pid}/children").read_text().split()
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
    assert not [c for c in commands if b"monitor.workers" in c]  # no worker (the status page's process is one)
    assert not any(re.search(ASSIGNED, line) for line in daemon.stderr)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(20) == 0


@pytest.mark.slow  # workers for seconds
def test_workers_do_not_outlive_a_killed_parent(http_port, tmp_path, daemon_factory):
    daemon = daemon_factory(write_checks(tmp_path, http_port, count=2), tmp_path / "h.db", "--workers", "2")
    pids = [pid for pid, _ in assignments(daemon, 2).values()]
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("count", ["0", "two", "-1"])
def test_a_worker_count_that_is_not_a_positive_whole_number_is_a_usage_error(tmp_path, count):
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--checks", str(tmp_path), "--workers", count],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: monitor")
    assert done.stderr.strip().splitlines()[-1] == (
        f"monitor run: error: argument --workers: invalid worker count '{count}': give a whole number of at least "
        "1, e.g. 2")


def test_the_workers_setting_must_be_positive(tmp_path):
    env = {**os.environ, "MONITOR_WORKERS": "0"}
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--checks", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert "settings: workers: Input should be greater than 0 (set by MONITOR_WORKERS or monitor.yml)" in done.stderr

"""The prober-health dashboard against real probers scraped by a real Prometheus.

Two ``monitor run`` probers on loopback, one per location: ``hanoi`` with a self-check (a
loopback reference target), ``caobang`` without one; each probes its own scripted loopback
server every second. A real Prometheus (2.42) scrapes both every second, with the target label
``prober`` as deploy/prometheus.yml sets it. Every PromQL target of every panel of
``prober-health`` (variables substituted as for the other dashboards,
:func:`monitor.grafana.dashboards.queries`) must return a sample that is a number, and the
``location`` variable must list both probers. Then hanoi's uplink is cut (its platform server
and its self-check target close): its self-check panel says so and its failed results show as
unreliable, while caobang's self-check shows as not configured; with the shipped alert rules
loaded, one MonitorNetworkDown fires for hanoi and no Platform* alert fires or waits.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from monitor import __version__
from monitor.grafana import dashboards
from tests.daemon import write_checks
from tests.e2e import RULES, Proc, api, free_port, query, query_range
from tests.servers import scripted, start_server

pytestmark = pytest.mark.slow  # real probers and a real Prometheus, until every panel has data

UID = dashboards.PROBERS_UID
BUILT = dashboards.build()[UID]
LOCATIONS = ("hanoi", "caobang")
SELF_CHECKED = "hanoi"


def _exprs() -> dict[str, str]:
    """Panel title (and ref when a panel has several targets) -> substituted expression."""
    out: dict[str, str] = {}
    for panel in dashboards.all_panels(BUILT):
        for target in panel.get("targets", []):
            key = panel["title"] if len(panel["targets"]) == 1 else f"{panel['title']} ({target['refId']})"
            out[key] = dashboards.substitute(target["expr"], platform="")
    return out


EXPRS = _exprs()


def _wait(condition, timeout: float, procs: list[Proc], what: str):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        dead = [p for p in procs if not p.alive()]
        assert not dead, "\n".join(f"{p.name} exited {p.process.returncode}:\n{''.join(p.stderr)[-3000:]}"
                                   for p in dead)
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.5)


def _numbers(result: list[dict]) -> list[float]:
    """Every value of a query or query_range result that is a number (not NaN)."""
    values = []
    for series in result:
        points = series.get("values") or [series["value"]]
        values += [float(v) for _, v in points if not math.isnan(float(v))]
    return values


def _by(result: list[dict], label: str) -> dict[str, float]:
    return {series["metric"].get(label, ""): float(series["value"][1]) for series in result}


@pytest.fixture
def stack(loop_thread, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed: apt-get install prometheus (scripts/test does this)")
    procs: list[Proc] = []
    servers = {location: loop_thread.run(start_server(scripted)) for location in LOCATIONS}
    target = loop_thread.run(start_server(scripted))  # hanoi's self-check reference target
    try:
        scrape = []
        for location in LOCATIONS:
            directory = tmp_path / location
            directory.mkdir()
            env = {"MONITOR_LISTEN_PORT": "0", "MONITOR_SHUTDOWN_GRACE": "3"}
            if location == SELF_CHECKED:
                env["MONITOR_SELF_CHECK"] = json.dumps({"url": f"http://127.0.0.1:{target.port}/ok",
                                                        "interval": "1s", "timeout": "500ms"})
            prober = Proc(f"monitor-{location}",
                          [sys.executable, "-m", "monitor.cli", "run", "--location", location,
                           "--checks", str(write_checks(directory, servers[location].port)),
                           "--store", str(directory / "history.db")], env=env)
            procs.append(prober)
            url = prober.wait_for(r"metrics at (http://\S+)/metrics", timeout=60).group(1)
            scrape.append({"targets": [url.removeprefix("http://")], "labels": {"prober": location}})
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in sorted(RULES.glob("*.yml"))],  # the shipped alert rules
            "scrape_configs": [{"job_name": "monitor", "static_configs": scrape}]}), encoding="utf-8")
        port = free_port()
        procs.append(Proc("prometheus", [prometheus, f"--config.file={config}",
                                         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                         f"--web.listen-address=127.0.0.1:{port}"], cwd=tmp_path))
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        _wait(ready, 60, procs, "Prometheus ready")

        async def cut_hanoi() -> None:  # hanoi's uplink goes: neither its platform nor its reference answers
            for server in (servers[SELF_CHECKED].server, target.server):
                server.close()
                await server.wait_closed()

        yield base, procs, lambda: loop_thread.run(cut_hanoi())
    finally:
        for proc in reversed(procs):
            proc.stop()

        async def close_all() -> None:
            for server in (*servers.values(), target):
                server.server.close()

        loop_thread.run(close_all())


def test_every_panel_of_the_prober_dashboard_shows_real_probers(stack):
    base, procs, cut_hanoi = stack
    started = time.time()
    titles = {panel["title"] for panel in dashboards.all_panels(BUILT)}
    for title in ("Tự kiểm tra mạng của bộ đo", "Độ trễ lập lịch (p50, p99) theo điểm đo", "Lượt đo bị bỏ trong khoảng",
                  "Tỷ lệ kết quả không tin cậy theo điểm đo", "Kết quả chờ ghi vào kho dữ liệu",
                  "Phiên bản đang chạy", "Giờ cao điểm", "Độ trễ vòng sự kiện (p50, p99) theo điểm đo"):
        assert title in titles, title

    # The location variable lists one prober per location.
    variable = next(v for v in BUILT["templating"]["list"] if v["name"] == "location")
    metric, _, label = variable["query"]["query"].removeprefix("label_values(").removesuffix(")").rpartition(", ")
    _wait(lambda: sorted(api(base, f"/api/v1/label/{label}/values", **{"match[]": metric})) == sorted(LOCATIONS),
          60, procs, f"the location variable lists {LOCATIONS}")

    # Every panel's every query returns a number (over the time so far, as Grafana asks for a range);
    # a query by prober or location, a number for each of them.
    def empty() -> list[str]:
        missing = []
        for title, expr in EXPRS.items():
            result = query_range(base, expr, started - 60, time.time(), step=1)
            labels = {name for series in result for name in series["metric"]}
            label = next((name for name in ("prober", "location") if name in labels), None)
            seen = {s["metric"].get(label, "") for s in result if _numbers([s])} if label else {""}
            if not _numbers(result) or (label and seen != set(LOCATIONS)):
                missing.append(f"{title}: {expr} (per {label}: {sorted(seen)})")
        return missing

    _wait(lambda: not empty(), 90, procs, "every query returns data")  # on failure, the next line says which
    assert empty() == []

    # What a reader sees now, both probers healthy (once each has been scraped twice within a minute,
    # which rate() needs for the latest instant).
    def now(title: str, label: str = "prober") -> dict[str, float]:
        return _by(query(base, EXPRS[title]), label)

    _wait(lambda: set(now("Độ trễ lập lịch (p50, p99) theo điểm đo (B)")) == set(LOCATIONS), 60, procs,
          "scheduler lag p99 of both probers now")
    _wait(lambda: now("Tự kiểm tra mạng của bộ đo") == {"hanoi": 1.0, "caobang": -1.0}, 60, procs,
          "self-check: hanoi ok, caobang not configured")
    mapping = next(p for p in dashboards.all_panels(BUILT) if p["title"] == "Tự kiểm tra mạng của bộ đo")
    texts = mapping["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert (texts["1"]["text"], texts["-1"]["text"], texts["0"]["text"]) == ("mạng ổn", "chưa cấu hình", "mạng lỗi")
    assert now("Prometheus thu thập số liệu") == {"hanoi": 1.0, "caobang": 1.0}
    versions = query(base, EXPRS["Phiên bản đang chạy"])
    assert sorted((s["metric"]["prober"], s["metric"]["version"]) for s in versions) == \
        sorted((location, __version__) for location in LOCATIONS)
    assert set(now("Giờ cao điểm")) == set(LOCATIONS) and set(now("Giờ cao điểm").values()) <= {0.0, 1.0}
    assert set(now("Kết quả chờ ghi vào kho dữ liệu")) == set(LOCATIONS)
    assert set(now("Độ trễ lập lịch (p50, p99) theo điểm đo (B)")) == set(LOCATIONS)
    assert now("Kết quả không tin cậy trong khoảng", "") == {"": 0.0}
    skipped = query(base, EXPRS["Lượt đo bị bỏ theo điểm đo và lý do"])
    assert {(s["metric"]["location"], s["metric"]["why"]) for s in skipped} == \
        {(location, why) for location in LOCATIONS for why in ("overlap", "missed")}  # at 0 from the start

    # hanoi's uplink is cut: its self-check fails and its failed results are its own (unreliable).
    cut_hanoi()
    _wait(lambda: now("Tự kiểm tra mạng của bộ đo") == {"hanoi": 0.0, "caobang": -1.0}, 60, procs,
          "self-check: hanoi failing")
    _wait(lambda: now("Tỷ lệ kết quả không tin cậy theo điểm đo", "location").get("hanoi", 0) > 0, 60, procs,
          "hanoi's unreliable share above 0")
    assert now("Tỷ lệ kết quả không tin cậy theo điểm đo", "location")["caobang"] == 0.0
    assert now("Kết quả không tin cậy trong khoảng", "")[""] > 0

    def timeline() -> list[float]:  # hanoi's row of the state timeline, up to now
        result = query_range(base, EXPRS["Tự kiểm tra mạng theo thời gian"], started, time.time(), step=1)
        return [float(v) for s in result if s["metric"]["prober"] == "hanoi" for _, v in s["values"]]

    # ok, then failing: green, then the red stretch (the range's last step may predate the latest scrape)
    _wait(lambda: (row := timeline()) and row[0] == 1.0 and row[-1] == 0.0, 30, procs, "hanoi's timeline")
    row = timeline()
    assert row[row.index(0.0):] == [0.0] * (len(row) - row.index(0.0))  # red from the cut on

    # The shipped rules page once for hanoi's own network, and never for the platform it could not reach.
    def alerts(state: str) -> set[tuple[str, str]]:
        found = query(base, f'ALERTS{{alertstate="{state}"}}')
        return {(a["metric"]["alertname"], a["metric"].get("location", "")) for a in found}

    _wait(lambda: ("MonitorNetworkDown", "hanoi") in alerts("firing"), 120, procs, "MonitorNetworkDown for hanoi")
    platform_alerts = {name for name, _ in alerts("firing") | alerts("pending") if name.startswith("Platform")}
    assert platform_alerts == set(), platform_alerts
    assert {location for name, location in alerts("firing") if name == "MonitorNetworkDown"} == {"hanoi"}

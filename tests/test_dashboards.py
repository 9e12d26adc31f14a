"""Dashboards as code: the committed JSON is the build's, and every panel is wired the same way.

The PromQL is checked here with the real promtool (Prometheus 2.42): each expression, variables
substituted as the live test does, is evaluated by ``promtool test rules`` on synthetic series
shaped like the metric contract and must return at least one sample. The live tests against a
Prometheus scraping real probers are tests/test_e2e_alerting.py (the lab, every dashboard) and
tests/test_dashboard_probers.py (prober health, with and without a self-check).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.grafana import dashboards
from monitor.grafana.cli import cmd_build

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "dashboards"
UIDS = {"platform-overview", "platform-detail", "prober-health"}
PLATFORM_UIDS = {"platform-overview", "platform-detail"}
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA = {"type": "grafana", "uid": "-- Grafana --"}
METRICS = {"probe_success", "probe_results_total", "probe_phase_duration_seconds_bucket",
           "probe_phase_duration_seconds_sum", "probe_phase_duration_seconds_count",
           "probe_ssl_earliest_cert_expiry", "platform_incident_open",
           # the probers themselves (prober-health)
           "up", "monitor_scheduler_lag_seconds_bucket", "monitor_event_loop_lag_seconds_bucket",
           "monitor_probes_skipped_total", "monitor_unreliable_results_total", "monitor_store_pending_results",
           "monitor_store_spool_oldest_age_seconds", "monitor_self_check_ok", "monitor_build_info", "monitor_peak_time"}

BUILT = dashboards.build()


def panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboards.all_panels(dashboard) if p["type"] != "row"]


# --- the committed files ------------------------------------------------------------------------

def test_uids_are_stable():
    assert set(BUILT) == UIDS
    assert {p.stem for p in DIR.glob("*.json")} == UIDS


def test_committed_json_is_the_build_byte_for_byte():
    for uid in UIDS:
        assert (DIR / f"{uid}.json").read_bytes() == dashboards.render(BUILT[uid]).encode("utf-8"), \
            f"dashboards/{uid}.json is stale: run `monitor grafana build`"
    assert dashboards.stale(DIR) == []


def test_build_is_deterministic():
    again = dashboards.build()
    assert [dashboards.render(again[u]) for u in sorted(UIDS)] == [dashboards.render(BUILT[u]) for u in sorted(UIDS)]
    text = dashboards.render(BUILT["platform-detail"])
    assert text.endswith("}\n") and '\n  "annotations"' in text and "Chi tiết nền tảng" in text  # indent 2, UTF-8


def test_build_check_and_write(tmp_path, capsys):
    import argparse

    assert cmd_build(argparse.Namespace(dir=tmp_path, check=True)) == 1
    assert "differs" in capsys.readouterr().err
    assert cmd_build(argparse.Namespace(dir=tmp_path, check=False)) == 0
    assert cmd_build(argparse.Namespace(dir=tmp_path, check=True)) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform-detail.json", "platform-overview.json",
                                                          "prober-health.json"]
    (tmp_path / "platform-detail.json").write_text("{}\n", encoding="utf-8")
    assert cmd_build(argparse.Namespace(dir=tmp_path, check=True)) == 1


# --- structure ---------------------------------------------------------------------------------

@pytest.mark.parametrize("uid", sorted(UIDS))
def test_every_panel_reads_the_datasource_variable(uid):
    dashboard = BUILT[uid]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for name in ("platform", "location") if uid in PLATFORM_UIDS else ("location",):
        assert variables[name]["datasource"] == PROMETHEUS
    assert variables["location"]["multi"] and variables["location"]["includeAll"]
    assert variables["location"]["allValue"] == ".*"
    for panel in panels(dashboard):
        assert panel["datasource"] == PROMETHEUS, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == PROMETHEUS, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs) and all(refs), panel["title"]


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_ids_unique_and_layout_fits(uid):
    every = list(dashboards.all_panels(BUILT[uid]))
    ids = [p["id"] for p in every]
    assert len(set(ids)) == len(ids) and all(i > 0 for i in ids)
    cells: set[tuple[int, int]] = set()
    for panel in every:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_incidents_and_complaints_are_annotations_of_every_time_series_panel(uid):
    dashboard = BUILT[uid]
    assert any(p["type"] == "timeseries" for p in panels(dashboard))
    tagged = {}
    for annotation in dashboard["annotations"]["list"]:
        assert annotation["datasource"] == GRAFANA
        assert "filter" not in annotation  # not limited to some panels: every time series panel shows them
        if annotation["target"]["type"] == "tags":
            assert annotation["enable"] and annotation["target"]["matchAny"] is False
            tagged[annotation["target"]["tags"][0]] = annotation["target"]["tags"]
    expected = ["$platform"] if uid == "platform-detail" else []  # overview: all platforms' rows
    assert tagged == {"incident": ["incident", *expected], "complaint": ["complaint", *expected]}


def test_overview_repeats_a_row_per_platform_and_detail_has_the_panels_asked_for():
    rows = [p for p in BUILT["platform-overview"]["panels"] if p["type"] == "row"]
    assert [(r["repeat"], r["title"], r["collapsed"]) for r in rows] == [("platform", "$platform", False)]
    platform = next(v for v in BUILT["platform-detail"]["templating"]["list"] if v["name"] == "platform")
    assert not platform.get("multi")
    kinds = {p["type"] for p in panels(BUILT["platform-detail"])}
    assert {"timeseries", "heatmap", "table", "stat", "bargauge"} <= kinds
    exprs = " ".join(e for _, _, e in dashboards.queries({"d": BUILT["platform-detail"]}))
    for needle in ("by (phase)", "histogram_quantile(0.5,", "histogram_quantile(0.9,", "histogram_quantile(0.99,",
                   "hour(", "day_of_week(", "by (result)", "probe_ssl_earliest_cert_expiry", "by (location, le)"):
        assert needle in exprs, needle


def _steps(panel: dict) -> list[tuple[float | None, str]]:
    return [(step["value"], step["color"]) for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_prober_health_shows_the_probers_per_location_with_thresholds():
    dashboard = BUILT["prober-health"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "location"}  # no platform: one prober per location
    assert variables["location"]["query"]["query"] == 'label_values(monitor_build_info{job="monitor"}, prober)'
    assert dashboard["title"] == "Nền tảng số của Đảng — Sức khỏe bộ đo" and dashboard["description"]
    by_title = {p["title"]: p for p in panels(dashboard)}
    for panel in by_title.values():
        assert panel["description"], panel["title"]  # what it reads and what the colours mean
    exprs = " ".join(t["expr"] for p in by_title.values() for t in p["targets"])
    for metric in ("monitor_scheduler_lag_seconds_bucket", "monitor_event_loop_lag_seconds_bucket",
                   "monitor_probes_skipped_total", "monitor_unreliable_results_total", "probe_results_total",
                   "monitor_store_pending_results", "monitor_store_spool_oldest_age_seconds",
                   "monitor_self_check_ok", "monitor_build_info",
                   "monitor_peak_time", "up{"):
        assert metric in exprs, metric
    assert {p["type"] for p in by_title.values()} == {"stat", "timeseries", "state-timeline"}
    lag, share = by_title["Trễ lập lịch p99 trong khoảng"], by_title["Kết quả không tin cậy trong khoảng"]
    assert lag["fieldConfig"]["defaults"]["unit"] == "s"
    assert _steps(lag) == [(None, "green"), (0.1, "orange"), (1.0, "red")]  # 1 s: MonitorSchedulerLagHigh
    assert share["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert _steps(share) == [(None, "green"), (0.01, "yellow"), (0.05, "red")]  # 5 %: the alert
    assert _steps(by_title["Tỷ lệ kết quả không tin cậy theo điểm đo"])[1:] == [(0.01, "yellow"), (0.05, "red")]
    assert _steps(by_title["Kết quả chờ ghi vào kho dữ liệu"])[1:] == [(500, "orange"), (2000, "red")]
    assert _steps(by_title["Độ trễ lập lịch (p50, p99) theo điểm đo"])[1:] == [(0.1, "orange"), (1.0, "red")]
    for title in ("Tự kiểm tra mạng của bộ đo", "Tự kiểm tra mạng theo thời gian"):
        options = by_title[title]["fieldConfig"]["defaults"]["mappings"][0]["options"]
        assert {k: (v["text"], v["color"]) for k, v in options.items()} == {
            "1": ("mạng ổn", "green"), "0": ("mạng lỗi", "red"), "-1": ("chưa cấu hình", "text")}


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_every_dashboard_carries_the_tag_and_links_to_the_others(uid):
    dashboard = BUILT[uid]
    assert dashboard["tags"] == [dashboards.TAG]
    assert [(link["type"], link["tags"], link["includeVars"]) for link in dashboard["links"]] == [
        ("dashboards", [dashboards.TAG], True)]


def test_expressions_use_the_contract_and_substitute_to_plain_promql():
    found = dashboards.queries(BUILT, platform="gqthc")
    assert {uid for uid, _, _ in found} == UIDS
    for uid in UIDS:
        for panel in panels(BUILT[uid]):
            for target in panel["targets"]:
                raw = target["expr"]
                assert raw.count("$location") == raw.count('=~"$location"'), raw  # multi-value: always a regex
                for metric in set(re.findall(r"\b([a-z_]+)\{", raw)):
                    assert metric in METRICS, metric
                    assert f'{metric}{{job="monitor"' in raw, raw
    for uid, title, expr in found:
        assert "$" not in expr and "{{" not in expr, (uid, title, expr)
        assert expr.count("(") == expr.count(")"), expr
        if uid in PLATFORM_UIDS:
            assert 'platform="gqthc"' in expr or "vector(time()" in expr, expr
        else:  # the probers: every selector at the selected locations, no platform
            assert "platform=" not in expr and all(m in ('location=~".*"', 'prober=~".*"')
                                                   for m in re.findall(r'(?:location|prober)=~"[^"]*"', expr)), expr
            assert expr.count("{") == expr.count('=~".*"'), expr


# --- PromQL, with promtool --------------------------------------------------------------------

def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (scripts/test does this)")
    return path


def _series(platform: str) -> list[dict]:
    """Two hours of a healthy platform at two locations, every 15 s, shaped like the metric contract."""
    out = []
    for location in ("hanoi", "caobang"):
        base = f'job="monitor", platform="{platform}", check="home", location="{location}", prober="{location}"'
        out += [
            {"series": f"probe_success{{{base}}}", "values": "1+0x480"},
            {"series": f'probe_results_total{{{base}, result="success"}}', "values": "0+1x480"},
            {"series": f'probe_results_total{{{base}, result="read_timeout"}}', "values": "0+0x480"},
            {"series": f"probe_ssl_earliest_cert_expiry{{{base}}}", "values": "3000000+0x480"},
        ]
        for phase, seconds in (("resolve", 0.01), ("connect", 0.02), ("tls", 0.05), ("processing", 0.2),
                               ("transfer", 0.02), ("total", 0.3)):
            labels = f'{base}, phase="{phase}"'
            out += [{"series": f"probe_phase_duration_seconds_sum{{{labels}}}", "values": f"0+{seconds}x480"},
                    {"series": f"probe_phase_duration_seconds_count{{{labels}}}", "values": "0+1x480"}]
            for le, step in (("0.1", 0 if seconds > 0.1 else 1), ("0.5", 1), ("+Inf", 1)):
                out.append({"series": f'probe_phase_duration_seconds_bucket{{{labels}, le="{le}"}}',
                            "values": f"0+{step}x480"})
    for kind in ("down", "degraded"):
        out.append({"series": f'platform_incident_open{{job="monitor", platform="{platform}", kind="{kind}", '
                              f'prober="hanoi"}}', "values": "0+0x480"})
    return out


def _prober_series(platform: str) -> list[dict]:
    """The probers' own series (prober-health): two probers, only hanoi with a self-check."""
    out = []
    for location in ("hanoi", "caobang"):
        target = f'job="monitor", prober="{location}"'
        base = f'job="monitor", platform="{platform}", check="home", location="{location}", prober="{location}"'
        out += [
            {"series": f"up{{{target}}}", "values": "1+0x480"},
            {"series": f"monitor_store_pending_results{{{target}}}", "values": "0+0x480"},
            {"series": f"monitor_store_spool_oldest_age_seconds{{{target}}}", "values": "0+0x480"},
            {"series": f'monitor_build_info{{{target}, version="0.1.0"}}', "values": "1+0x480"},
            {"series": f"monitor_peak_time{{{target}}}", "values": "0+0x480"},
            {"series": f"monitor_unreliable_results_total{{{base}}}", "values": "0+0x480"},
            *({"series": f'monitor_probes_skipped_total{{{base}, why="{why}"}}', "values": "0+0x480"}
              for why in ("overlap", "missed")),
        ]
        for metric in ("monitor_scheduler_lag_seconds", "monitor_event_loop_lag_seconds"):
            out += [{"series": f'{metric}_bucket{{{target}, le="{le}"}}', "values": f"0+{step}x480"}
                    for le, step in (("0.01", 8), ("0.1", 10), ("+Inf", 10))]
    out.append({"series": 'monitor_self_check_ok{job="monitor", location="hanoi", prober="hanoi"}',
                "values": "1+0x480"})
    return out


def test_every_expression_is_valid_promql_and_returns_data(tmp_path):
    found = dashboards.queries(BUILT, platform="sotaydangvien")
    tests = [{"expr": f"count({expr}) > bool 0", "eval_time": "2h", "exp_samples": [{"labels": "{}", "value": 1}]}
             for _, _, expr in found]
    test_file = tmp_path / "dashboards_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [], "evaluation_interval": "15s", "tests": [{
        "interval": "15s", "input_series": _series("sotaydangvien") + _prober_series("sotaydangvien"),
        "promql_expr_test": tests}]},
        allow_unicode=True), encoding="utf-8")
    proc = subprocess.run([_promtool(), "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert len(found) == 39  # 23 on the platform dashboards, 16 on prober-health

"""The Grafana dashboards as code: :func:`build` them, :func:`write` them to ``dashboards/*.json``.

- ``platform-overview``: one row per platform (repeated over the ``platform`` variable): status
  now, availability over the range against the SLO, p95 latency, open incidents.
- ``platform-detail``: one platform (``platform`` variable): availability, results by outcome,
  latency by phase, percentiles, a heatmap, the peak-hour grid (hour of day × weekday),
  certificates and the locations side by side.
- ``prober-health``: the probers themselves (``location`` variable, one prober per location):
  self-check of their own network, scrape, scheduler and event-loop lag, skipped runs, the
  share of unreliable results, the store backlog, peak time and the version they run.

All show the incidents and complaints pushed by ``monitor grafana annotate`` on every time
series panel (dashboard annotations on tags, see :func:`monitor.grafana.panels.annotation_queries`).
The JSON is deterministic (sorted keys, explicit ids and positions) so the committed files are
checked against a fresh build.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from monitor.grafana import panels as p
from monitor.grafana import promql as q

OVERVIEW_UID = "platform-overview"
DETAIL_UID = "platform-detail"
PROBERS_UID = "prober-health"
TAG = "party-platform-monitor"  # on every dashboard; their links find each other by it
TIMEZONE = "Asia/Ho_Chi_Minh"
PLATFORMS = 'label_values(probe_success{job="monitor"}, platform)'  # monitored platforms (unmonitored have no series)
PROBERS = 'label_values(monitor_build_info{job="monitor"}, prober)'  # one prober per location (scrape label prober)
# What the live test puts for each variable so an expression becomes plain PromQL; longest first.
SUBSTITUTIONS = (("${location:regex}", ".*"), ("$__rate_interval", "1m"), ("$__interval", "30s"),
                 ("$__range", "1h"), ("$location", ".*"))

Json = dict[str, Any]
"""A dashboard, panel or target as Grafana's JSON (what ``json.loads`` gives)."""
Layout = list[tuple[p.AnyPanel, int, int, int, int]]
"""(panel, x, y, w, h) for each panel of a dashboard, in id order."""


def _dashboard(uid: str, title: str, description: str) -> db.Dashboard:
    return (db.Dashboard(title).uid(uid).description(description).tags([TAG]).timezone(TIMEZONE)
            .time("now-24h", "now").refresh("1m").tooltip(dm.DashboardCursorSync.CROSSHAIR).editable()
            .link(db.DashboardLink("Nền tảng").type(dm.DashboardLinkType.DASHBOARDS).tags([TAG])
                  .as_dropdown(True).include_vars(True).keep_time(True)))


def overview() -> db.Dashboard:
    """Every platform at a glance: one repeated row per platform."""
    dashboard = (_dashboard(OVERVIEW_UID, "Nền tảng số của Đảng — Tổng quan",
                            "Trạng thái, độ khả dụng so với SLO 99,5 %, độ trễ p95 và sự cố đang mở của từng nền tảng.")
                 .with_variable(p.datasource_variable())
                 .with_variable(p.label_variable("platform", "Nền tảng", PLATFORMS, multi=True))
                 .with_variable(p.label_variable("location", "Điểm đo",
                                                 'label_values(probe_success{job="monitor"}, location)', multi=True))
                 # all platforms: a multi-value tag would need every value at once
                 .annotations(p.annotation_queries()))
    dashboard = dashboard.with_row(db.Row("$platform").id(1).repeat("platform").collapsed(False)
                                   .grid_pos(dm.GridPos(h=1, w=24, x=0, y=0)))
    cells: list[tuple[p.AnyPanel, int]] = [
        (p.status_stat("Trạng thái hiện tại", q.status_now()), 4),
        (p.availability_stat("Khả dụng trong khoảng (SLO 99,5 %)", q.availability()), 4),
        (p.incidents_stat("Sự cố đang mở", {"down": q.incident_open("down"),
                                            "degraded": q.incident_open("degraded")}), 4),
        (p.with_threshold_line(p.series("Độ trễ p95 (tổng thời gian)",
                                        [p.query(q.latency_quantile(0.95), legend="p95")], "s"),
                               p.LATENCY_THRESHOLD, "orange"), 12),
    ]
    x = 0
    for panel_id, (panel, width) in enumerate(cells, start=2):
        dashboard = dashboard.with_panel(p.place(panel, panel_id, x, 1, width, 6))
        x += width
    return dashboard


def detail() -> db.Dashboard:
    """One platform in depth: where the time goes, when it is slow, why it fails, from where."""
    dashboard = (_dashboard(DETAIL_UID, "Nền tảng số của Đảng — Chi tiết nền tảng",
                            "Một nền tảng: độ trễ theo giai đoạn, phân vị, giờ cao điểm, nguyên nhân lỗi, "
                            "chứng chỉ số và so sánh các điểm đo.")
                 .with_variable(p.datasource_variable())
                 .with_variable(p.label_variable("platform", "Nền tảng", PLATFORMS, multi=False))
                 .with_variable(p.label_variable(
                     "location", "Điểm đo",
                     'label_values(probe_success{job="monitor", platform="$platform"}, location)',
                     multi=True))
                 .annotations(p.annotation_queries("$platform")))
    percentiles: p.Targets = [p.query(q.latency_quantile(quantile), ref, legend=name)
                   for ref, (quantile, name) in zip("ABC", ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")), strict=True)]
    layout: Layout = [
        (p.status_stat("Trạng thái hiện tại", q.status_now()), 0, 0, 4, 5),
        (p.availability_stat("Khả dụng trong khoảng (SLO 99,5 %)", q.availability()), 4, 0, 4, 5),
        (p.latency_stat("Độ trễ p95 trong khoảng", q.latency_quantile(0.95, window="$__range")), 8, 0, 4, 5),
        (p.incidents_stat("Sự cố đang mở", {"down": q.incident_open("down"),
                                            "degraded": q.incident_open("degraded")}), 12, 0, 4, 5),
        (p.certificate_gauge("Chứng chỉ số còn hạn (ngày)", q.certificate_days_left()), 16, 0, 8, 5),
        (p.with_threshold_line(p.series("Khả dụng theo thời gian", [p.query(q.availability_rate(), legend="khả dụng")],
                                        "percentunit").max(1), p.SLO), 0, 5, 12, 8),
        (p.outcomes("Kết quả đo: thành công và nguyên nhân lỗi", q.results_by_outcome()), 12, 5, 12, 8),
        (p.stacked_phases("Thời gian theo giai đoạn (trung bình, xếp chồng)", q.phase_mean()), 0, 13, 12, 8),
        (p.with_threshold_line(p.series("Phân vị tổng thời gian: p50, p90, p99", percentiles, "s"),
                               p.LATENCY_THRESHOLD, "orange"), 12, 13, 12, 8),
        (p.latency_heatmap("Phân bố tổng thời gian", q.latency_buckets()), 0, 21, 12, 10),
        (p.peak_grid("Giờ cao điểm: p95 theo giờ trong ngày × thứ (7 ngày, giờ Việt Nam)",
                     q.latency_quantile(0.95), q.local_hour(), q.local_weekday()), 12, 21, 12, 10),
        (p.series("Độ trễ p95 theo điểm đo", [p.query(q.latency_quantile(0.95, by="location"), legend="{{location}}")],
                  "s"), 0, 31, 12, 8),
        (p.availability_gauge("Khả dụng theo điểm đo trong khoảng", q.availability(by="location"), "{{location}}"),
         12, 31, 12, 8),
    ]
    for panel_id, (panel, x, y, w, h) in enumerate(layout, start=1):
        dashboard = dashboard.with_panel(p.place(panel, panel_id, x, y, w, h))
    return dashboard


SELF_CHECK = {"1": ("mạng ổn", "green"), "0": ("mạng lỗi", "red"), "-1": ("chưa cấu hình", "text")}
SCRAPED = {"1": ("thu thập được", "green"), "0": ("không thu thập được", "red")}
PEAK = {"1": ("giờ cao điểm", "orange"), "0": ("ngoài giờ cao điểm", "text")}
SCHEDULER_LAG = "monitor_scheduler_lag_seconds"
LOOP_LAG = "monitor_event_loop_lag_seconds"
LAG_WARNING, LAG_ALERT = 0.1, 1.0  # s; p99 above LAG_ALERT for 10 min is MonitorSchedulerLagHigh
LOOP_STALL = 0.05  # s: a longer stall delays every phase end the loop reads by as much
UNRELIABLE_WARNING, UNRELIABLE_ALERT = 0.01, 0.05  # share; MonitorUnreliableResultsHigh above 5 %
BACKLOG_WARNING, BACKLOG_ALERT = 500, 2000  # results; the writer's batch, MonitorStoreBacklog
SPOOL_ALERT = 15 * 60  # seconds: MonitorSpoolBacklog


def probers() -> db.Dashboard:
    """The probers themselves: is what the platform dashboards show measured, and measured well?"""
    dashboard = (_dashboard(PROBERS_UID, "Nền tảng số của Đảng — Sức khỏe bộ đo",
                            "Các bộ đo (mỗi điểm đo một bộ): tự kiểm tra mạng của chính bộ đo, Prometheus thu thập "
                            "số liệu, độ trễ lập lịch và vòng sự kiện, lượt đo bị bỏ, tỷ lệ kết quả không tin cậy, "
                            "kết quả chờ ghi vào kho dữ liệu, giờ cao điểm và phiên bản đang chạy.")
                 .with_variable(p.datasource_variable())
                 .with_variable(p.label_variable("location", "Điểm đo", PROBERS, multi=True))
                 .annotations(p.annotation_queries()))

    def lags(metric: str) -> p.Targets:
        return [p.query(q.lag_quantile(metric, quantile), ref, legend=f"{{{{prober}}}} {name}")
                for ref, (quantile, name) in zip("AB", ((0.5, "p50"), (0.99, "p99")), strict=True)]

    layout: Layout = [
        (p.state_stat("Tự kiểm tra mạng của bộ đo", q.self_check_ok(), SELF_CHECK, "{{prober}}",
                      "monitor_self_check_ok: mạng của chính bộ đo (máy chủ phân giải tên và mục tiêu tham chiếu của "
                      "self_check). Khi lỗi, kết quả đo lỗi là của bộ đo, không mở sự cố cho nền tảng và chỉ một "
                      "cảnh báo MonitorNetworkDown được gửi. «chưa cấu hình»: bộ đo không có self_check."),
         0, 0, 5, 5),
        (p.state_stat("Prometheus thu thập số liệu", q.scraped(), SCRAPED, "{{prober}}",
                      "up: lần thu thập gần nhất của Prometheus từ bộ đo; không được quá 2 phút là cảnh báo "
                      "MonitorDown."), 5, 0, 4, 5),
        (p.value_stat("Trễ lập lịch p99 trong khoảng", q.lag_quantile_over_range(SCHEDULER_LAG, 0.99), "s",
                      (None, "green"), (LAG_WARNING, "orange"), (LAG_ALERT, "red"), decimals=3,
                      description="Phân vị 99 của thời điểm bắt đầu thực tế trừ thời điểm theo lịch (gồm cả thời "
                                  "gian chờ lượt đồng thời), bộ đo kém nhất. Cam từ 0,1 giây; đỏ từ 1 giây "
                                  "(MonitorSchedulerLagHigh khi kéo dài 10 phút)."), 9, 0, 4, 5),
        (p.value_stat("Kết quả không tin cậy trong khoảng", q.unreliable_share("$__range", by=""), "percentunit",
                      (None, "green"), (UNRELIABLE_WARNING, "yellow"), (UNRELIABLE_ALERT, "red"),
                      description="Tỷ lệ kết quả đo trong lúc bộ đo bị nghẽn hoặc mất mạng: không tính vào độ khả "
                                  "dụng và độ trễ của nền tảng. Vàng từ 1 %; đỏ từ 5 % "
                                  "(MonitorUnreliableResultsHigh)."), 13, 0, 4, 5),
        (p.value_stat("Lượt đo bị bỏ trong khoảng", q.skipped_over_range(), "none",
                      (None, "green"), (1, "orange"), decimals=0,
                      description="Lượt đo không được khởi chạy: lượt trước chưa xong (overlap) hoặc quá trễ so với "
                                  "lịch (missed)."), 17, 0, 3, 5),
        (p.state_stat("Giờ cao điểm", q.peak_time(), PEAK, "{{prober}}",
                      "monitor_peak_time: giờ cao điểm (peak_hours) trong ngày làm việc ở Việt Nam, trừ ngày lễ, "
                      "theo lịch của bộ đo; cảnh báo giờ cao điểm đọc giá trị này."), 20, 0, 4, 5),
        (p.state_timeline("Tự kiểm tra mạng theo thời gian", q.self_check_ok(), SELF_CHECK, "{{prober}}",
                          "Khi nào mạng của từng bộ đo lỗi: trong các khoảng đỏ, kết quả đo lỗi không được tính "
                          "cho nền tảng."), 0, 5, 16, 5),
        (p.names_stat("Phiên bản đang chạy", q.build_info(), "{{prober}}: {{version}}",
                      "monitor_build_info: phiên bản monitor của từng bộ đo."), 16, 5, 8, 5),
        (p.with_threshold_lines(p.series("Độ trễ lập lịch (p50, p99) theo điểm đo", lags(SCHEDULER_LAG), "s")
                                .description("monitor_scheduler_lag_seconds: bắt đầu thực tế trừ bắt đầu theo lịch. "
                                             "Nét đứt: 0,1 giây (cam) và 1 giây, ngưỡng cảnh báo (đỏ)."),
                                (LAG_WARNING, "orange"), (LAG_ALERT, "red")), 0, 10, 12, 8),
        (p.with_threshold_lines(p.series("Độ trễ vòng sự kiện (p50, p99) theo điểm đo", lags(LOOP_LAG), "s")
                                .description("monitor_event_loop_lag_seconds: vòng sự kiện của bộ đo thức dậy trễ "
                                             "bao lâu. Nét đứt: 0,05 giây: ngưng trệ dài hơn làm trễ chừng ấy mọi "
                                             "pha do vòng sự kiện đọc; mỗi kết quả được đánh giá theo độ trễ của "
                                             "chính bộ đo trong từng pha (monitor_unreliable_results_total)."),
                                (LOOP_STALL, "orange")), 12, 10, 12, 8),
        (p.stacked_bars("Lượt đo bị bỏ theo điểm đo và lý do", q.skipped(), "{{location}}: {{why}}")
         .description("monitor_probes_skipped_total: overlap — lượt trước của phép đo chưa xong; missed — quá trễ "
                      "so với lịch nên bị bỏ. MonitorProbesSkipped khi từ 3 lượt trong 15 phút."), 0, 18, 12, 8),
        (p.with_threshold_lines(p.series("Tỷ lệ kết quả không tin cậy theo điểm đo",
                                         [p.query(q.unreliable_share(), legend="{{location}}")], "percentunit")
                                .description("monitor_unreliable_results_total so với mọi kết quả: đo trong lúc bộ "
                                             "đo nghẽn hoặc mất mạng. Nét đứt: 1 % (vàng) và 5 %, ngưỡng cảnh báo "
                                             "(đỏ)."),
                                (UNRELIABLE_WARNING, "yellow"), (UNRELIABLE_ALERT, "red")), 12, 18, 12, 8),
        (p.with_threshold_lines(p.series("Kết quả chờ ghi vào kho dữ liệu", [p.query(q.store_pending(),
                                                                                    legend="{{prober}}")], "short")
                                .description("monitor_store_pending_results: kết quả đang chờ ghi vào kho (SQLite, "
                                             "hoặc PostgreSQL trung tâm; khi kho trung tâm không trả lời, gồm cả "
                                             "kết quả trong hàng đợi cục bộ). Ghi theo lô 500 kết quả hoặc 1 giây. "
                                             "Nét đứt: 500 (cam) và 2000, ngưỡng cảnh báo MonitorStoreBacklog (đỏ, "
                                             "không tính khi đang dùng hàng đợi cục bộ); quá 50 000 kết quả trong "
                                             "bộ nhớ mới bị bỏ."),
                                (BACKLOG_WARNING, "orange"), (BACKLOG_ALERT, "red")), 0, 26, 12, 8),
        (p.with_threshold_lines(p.series("Hàng đợi cục bộ khi kho trung tâm không trả lời",
                                         [p.query(q.spool_age(), legend="{{prober}}")], "s")
                                .description("monitor_store_spool_oldest_age_seconds: tuổi của kết quả cũ nhất "
                                             "trong hàng đợi cục bộ (spool) của bộ đo, 0 khi hàng đợi trống. Kết "
                                             "quả không mất: được chuyển lên kho trung tâm theo thứ tự khi kho trả "
                                             "lời. Nét đứt: 15 phút, ngưỡng cảnh báo MonitorSpoolBacklog."),
                                (SPOOL_ALERT, "red")), 12, 26, 12, 8),
    ]
    for panel_id, (panel, x, y, w, h) in enumerate(layout, start=1):
        dashboard = dashboard.with_panel(p.place(panel, panel_id, x, y, w, h))
    return dashboard


def build() -> dict[str, Json]:
    """Every dashboard as Grafana JSON (a dict), by uid."""
    built: dict[str, Json] = {}
    for dashboard in (overview(), detail(), probers()):
        model = json.loads(JSONEncoder(sort_keys=True).encode(dashboard.build()))
        built[model["uid"]] = model
    return built


def render(dashboard: Mapping[str, Any]) -> str:
    """The committed form: sorted keys, indent 2, UTF-8 text (Vietnamese unescaped), trailing newline."""
    return json.dumps(dashboard, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path, dashboards: Mapping[str, Json] | None = None) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid, dashboard in sorted((dashboards if dashboards is not None else build()).items()):
        path = directory / f"{uid}.json"
        path.write_text(render(dashboard), encoding="utf-8")
        paths.append(path)
    return paths


def stale(directory: Path, dashboards: Mapping[str, Json] | None = None) -> list[Path]:
    """The files in ``directory`` that are missing or differ from a fresh build (empty: up to date)."""
    out = []
    for uid, dashboard in sorted((dashboards if dashboards is not None else build()).items()):
        path = directory / f"{uid}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(dashboard):
            out.append(path)
    return out


def all_panels(dashboard: Mapping[str, Any]) -> Iterator[Json]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def substitute(expr: str, platform: str) -> str:
    """``expr`` with the dashboard variables replaced as the live test does."""
    for variable, value in (*SUBSTITUTIONS, ("$platform", platform)):
        expr = expr.replace(variable, value)
    return expr


def queries(dashboards: Mapping[str, Json], platform: str = "sotaydangvien") -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) for every PromQL target, variables substituted (:data:`SUBSTITUTIONS`)."""
    out = []
    for uid, dashboard in sorted(dashboards.items()):
        for panel in all_panels(dashboard):
            for target in panel.get("targets", []):
                if "expr" in target:
                    out.append((uid, panel["title"], substitute(target["expr"], platform)))
    return out

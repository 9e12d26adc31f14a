"""Panel, variable and annotation builders shared by the dashboards (grafana-foundation-sdk).

Every panel and query reads the ``datasource`` variable; every panel is placed explicitly
(``gridPos``) and numbered by the caller, so the generated JSON is stable.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, heatmap, prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm
from grafana_foundation_sdk.models import prometheus as pm

from monitor.reasons import REASON
from monitor.report import text

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
GRAFANA = dm.DataSourceRef(type_val="grafana", uid="-- Grafana --")  # built-in annotations datasource
INCIDENT_TAG, COMPLAINT_TAG = "incident", "complaint"
SLO = 0.995  # default availability target, as platform:slo_availability_target in alerts/rules
LATENCY_THRESHOLD = 2.0  # default p95 threshold (s) of PlatformDegraded, alerts/rules/00-settings.yml
CERT_WARNING_DAYS = 21  # as IncidentPolicy.cert_warning_days

PHASE = {  # probe phases, in request order
    "resolve": "phân giải tên miền",
    "connect": "kết nối TCP",
    "tls": "bắt tay TLS",
    "processing": "máy chủ xử lý",
    "transfer": "truyền dữ liệu",
}
RESULT = {"success": "thành công", **{k: v for k, v in REASON.items() if k != "slow"}}

Targets = list[cogbuilder.Builder[cogvariants.Dataquery]]
"""A panel's queries, as the SDK's ``targets`` takes them."""
AnyPanel = stat.Panel | bargauge.Panel | timeseries.Panel | heatmap.Panel | table.Panel | statetimeline.Panel
"""Every kind of panel the dashboards place."""


# --- queries --------------------------------------------------------------------------------

def query(expr: str, ref: str = "A", legend: str | None = None, instant: bool = False,
          fmt: pm.PromQueryFormat | None = None) -> prometheus.Dataquery:
    """One PromQL target of a panel, on the datasource variable."""
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    q = q.instant() if instant else q.range()
    if legend is not None:
        q = q.legend_format(legend)
    if fmt is not None:
        q = q.format(fmt)
    return q


def _rename(names: dict[str, str]) -> list[cogbuilder.Builder[dm.DashboardFieldConfigSourceOverrides]]:
    """Overrides that show series named by a label value (phase, result) in Vietnamese."""
    return [db.DashboardFieldConfigSourceOverrides()
            .matcher(dm.MatcherConfig(id_val="byName", options=name))
            .properties([dm.DynamicConfigValue(id_val="displayName", value=label)])
            for name, label in names.items()]


def _thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=value, color=color) for value, color in steps])


def _mapping(options: dict[str, tuple[str, str]]) -> list[dm.ValueMapping]:
    return [dm.ValueMap(options={value: dm.ValueMappingResult(text=label, color=color, index=i)
                                 for i, (value, (label, color)) in enumerate(options.items())})]


def _last() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


# --- panels ---------------------------------------------------------------------------------

def status_stat(title: str, expr: str) -> stat.Panel:
    """Up (1) or failing (0), coloured."""
    return (stat.Panel().title(title).datasource(DATASOURCE).with_target(query(expr, instant=True))
            .mappings(_mapping({"1": ("hoạt động", "green"), "0": ("lỗi", "red")}))
            .thresholds(_thresholds((None, "red"), (1, "green")))
            .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last()).no_value(text.NO_DATA))


def availability_stat(title: str, expr: str) -> stat.Panel:
    """A share of successful results against the SLO: red below it."""
    return (stat.Panel().title(title).datasource(DATASOURCE).with_target(query(expr, instant=True))
            .unit("percentunit").decimals(2).min(0).max(1)
            .thresholds(_thresholds((None, "red"), (SLO, "green")))
            .color_mode(common.BigValueColorMode.VALUE).graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last()).no_value(text.NO_DATA))


def latency_stat(title: str, expr: str) -> stat.Panel:
    """A latency in seconds, orange from half the alert threshold, red from it."""
    return (stat.Panel().title(title).datasource(DATASOURCE).with_target(query(expr, instant=True))
            .unit("s").decimals(2)
            .thresholds(_thresholds((None, "green"), (LATENCY_THRESHOLD / 2, "orange"), (LATENCY_THRESHOLD, "red")))
            .color_mode(common.BigValueColorMode.VALUE).graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last()).no_value(text.NO_DATA))


def incidents_stat(title: str, exprs: dict[str, str]) -> stat.Panel:
    """One value per incident kind: 1 while one is open."""
    panel = stat.Panel().title(title).datasource(DATASOURCE)
    for ref, (kind, expr) in zip("ABCDEFGH", exprs.items(), strict=False):  # a letter per query
        panel = panel.with_target(query(expr, ref, legend=text.KIND[kind], instant=True))
    return (panel.mappings(_mapping({"0": ("không", "green"), "1": ("đang mở", "red")}))
            .thresholds(_thresholds((None, "green"), (1, "red")))
            .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
            .text_mode(common.BigValueTextMode.VALUE_AND_NAME).reduce_options(_last()).no_value(text.NO_DATA))


def certificate_gauge(title: str, expr: str) -> bargauge.Panel:
    """Days left per check: red under a week, orange under the warning of ``monitor incidents``."""
    return (bargauge.Panel().title(title).datasource(DATASOURCE)
            .with_target(query(expr, legend="{{check}}", instant=True))
            .unit("none").decimals(0).min(0)
            .thresholds(_thresholds((None, "red"), (7, "orange"), (CERT_WARNING_DAYS, "green")))
            .display_mode(common.BarGaugeDisplayMode.BASIC).orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(_last()).no_value(text.NO_DATA))


def availability_gauge(title: str, expr: str, legend: str) -> bargauge.Panel:
    """Availability per series (e.g. per location) against the SLO."""
    return (bargauge.Panel().title(title).datasource(DATASOURCE)
            .with_target(query(expr, legend=legend, instant=True))
            .unit("percentunit").decimals(2).min(0.9).max(1)
            .thresholds(_thresholds((None, "red"), (SLO, "green")))
            .display_mode(common.BarGaugeDisplayMode.BASIC).orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(_last()).no_value(text.NO_DATA))


def series(title: str, targets: Targets, unit: str) -> timeseries.Panel:
    """A time series panel; the dashboard's incident and complaint annotations show on it."""
    panel = timeseries.Panel().title(title).datasource(DATASOURCE).targets(targets).unit(unit)
    return (panel.line_width(1).fill_opacity(10).show_points(common.VisibilityMode.NEVER)
            .span_nulls(False)
            .legend(cb.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
                    .placement(common.LegendPlacement.BOTTOM).show_legend(True))
            .tooltip(cb.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)))


def with_threshold_line(panel: timeseries.Panel, value: float, color: str = "red") -> timeseries.Panel:
    """Draw ``value`` (an SLO, an alert threshold) as a dashed line."""
    return (panel.thresholds(_thresholds((None, "transparent"), (value, color)))
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)))


def stacked_phases(title: str, expr: str) -> timeseries.Panel:
    """Mean duration of each phase, stacked: where a request's time goes."""
    return (series(title, [query(expr, legend="{{phase}}")], "s")
            .stacking(cb.StackingConfig().mode(common.StackingMode.NORMAL)).fill_opacity(60)
            .overrides(_rename(PHASE)))


def outcomes(title: str, expr: str) -> timeseries.Panel:
    """Results per interval by outcome, as stacked bars; success green, reasons in Vietnamese."""
    success = (db.DashboardFieldConfigSourceOverrides()
               .matcher(dm.MatcherConfig(id_val="byName", options="success"))
               .properties([dm.DynamicConfigValue(id_val="displayName", value=RESULT["success"]),
                            dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "green"})]))
    return (series(title, [query(expr, legend="{{result}}")], "short")
            .draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
            .stacking(cb.StackingConfig().mode(common.StackingMode.NORMAL))
            .overrides([success, *_rename({k: v for k, v in RESULT.items() if k != "success"})]))


def latency_heatmap(title: str, expr: str) -> heatmap.Panel:
    """Prometheus histogram buckets as a heatmap (no recalculation in Grafana)."""
    return (heatmap.Panel().title(title).datasource(DATASOURCE)
            .with_target(query(expr, legend="{{le}}", fmt=pm.PromQueryFormat.HEATMAP))
            .calculate(False)
            .y_axis(heatmap.YAxisConfig().unit("s"))
            .cell_values(heatmap.CellValues().unit("short"))
            .color(heatmap.HeatmapColorOptions().mode(hm.HeatmapColorMode.SCHEME).scheme("Oranges")
                   .scale(hm.HeatmapColorScale.EXPONENTIAL).exponent(0.5).steps(64).fill("dark-orange"))
            .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.LE))
            .show_value(common.VisibilityMode.NEVER).show_legend())


WEEKDAYS = {"1": "Thứ Hai", "2": "Thứ Ba", "3": "Thứ Tư", "4": "Thứ Năm", "5": "Thứ Sáu", "6": "Thứ Bảy",
            "0": "Chủ nhật"}
_HOUR, _DAY, _VALUE = "hour", "weekday", "p95"


def peak_grid(title: str, latency: str, hour: str, weekday: str) -> table.Panel:
    """p95 by local hour of day (rows) and weekday (columns) over the last 7 days: the peak-hour picture.

    Three range queries at a 1 h step (latency, local hour, local weekday) are joined on time
    and pivoted by Grafana's "grouping to matrix"; each (hour, weekday) cell occurs once in 7 days.
    """
    corner = f"{_HOUR}\\{_DAY}"  # the name groupingToMatrix gives the row-label column
    transformations = [
        dm.DataTransformerConfig(id_val="joinByField", options={"byField": "Time", "mode": "outer"}),
        dm.DataTransformerConfig(id_val="groupingToMatrix", options={
            "columnField": _DAY, "rowField": _HOUR, "valueField": _VALUE, "emptyValue": "null"}),
        dm.DataTransformerConfig(id_val="organize", options={
            "renameByName": {corner: "Giờ", **WEEKDAYS},
            "indexByName": {corner: 0, **{day: i + 1 for i, day in enumerate(WEEKDAYS)}},
            "excludeByName": {}}),
        dm.DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": "Giờ", "desc": False}]}),
    ]
    hour_column = [dm.DynamicConfigValue(id_val="unit", value="none"),
                   dm.DynamicConfigValue(id_val="decimals", value=0),
                   dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "auto"})]
    return (table.Panel().title(title).datasource(DATASOURCE)
            .targets([query(latency, "A", legend=_VALUE), query(hour, "B", legend=_HOUR),
                      query(weekday, "C", legend=_DAY)])
            .time_from("7d").interval("1h").hide_time_override(False)
            .transformations(transformations)
            .unit("s").decimals(2)
            .thresholds(_thresholds((None, "green"), (LATENCY_THRESHOLD / 2, "orange"), (LATENCY_THRESHOLD, "red")))
            .cell_options(common.TableColoredBackgroundCellOptions(
                mode=common.TableCellBackgroundDisplayMode.BASIC))
            .override_by_name("Giờ", hour_column)
            .no_value("—"))



# --- the probers themselves -------------------------------------------------------------------

def value_stat(title: str, expr: str, unit: str, *steps: tuple[float | None, str], decimals: int = 2,
               description: str = "") -> stat.Panel:
    """One number (over the selected range) coloured by ``steps`` (value, colour), the first from ``None``."""
    return (stat.Panel().title(title).description(description).datasource(DATASOURCE)
            .with_target(query(expr, instant=True)).unit(unit).decimals(decimals).min(0)
            .thresholds(_thresholds(*steps))
            .color_mode(common.BigValueColorMode.VALUE).graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(_last()).no_value(text.NO_DATA))


def state_stat(title: str, expr: str, states: dict[str, tuple[str, str]], legend: str,
               description: str = "") -> stat.Panel:
    """One coloured box per series (e.g. per prober) naming its state: ``states`` maps value -> (text, colour)."""
    return (stat.Panel().title(title).description(description).datasource(DATASOURCE)
            .with_target(query(expr, legend=legend, instant=True))
            .mappings(_mapping(states)).thresholds(_thresholds((None, "text")))
            .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
            .text_mode(common.BigValueTextMode.VALUE_AND_NAME).reduce_options(_last()).no_value(text.NO_DATA))


def state_timeline(title: str, expr: str, states: dict[str, tuple[str, str]], legend: str,
                   description: str = "") -> statetimeline.Panel:
    """A state per series over time (e.g. a prober's self-check), named and coloured by ``states``."""
    return (statetimeline.Panel().title(title).description(description).datasource(DATASOURCE)
            .with_target(query(expr, legend=legend)).mappings(_mapping(states))
            .thresholds(_thresholds((None, "text"))).show_value(common.VisibilityMode.NEVER)
            .merge_values(True).line_width(0).fill_opacity(80).no_value(text.NO_DATA))


def names_stat(title: str, expr: str, legend: str, description: str = "") -> stat.Panel:
    """Each series' name only (``legend``), e.g. the version each prober runs."""
    return (stat.Panel().title(title).description(description).datasource(DATASOURCE)
            .with_target(query(expr, legend=legend, instant=True))
            .thresholds(_thresholds((None, "blue")))
            .color_mode(common.BigValueColorMode.NONE).graph_mode(common.BigValueGraphMode.NONE)
            .text_mode(common.BigValueTextMode.NAME).reduce_options(_last()).no_value(text.NO_DATA))


def stacked_bars(title: str, expr: str, legend: str) -> timeseries.Panel:
    """Counts per interval as stacked bars (e.g. skipped runs by prober and why)."""
    return (series(title, [query(expr, legend=legend)], "short").draw_style(common.GraphDrawStyle.BARS)
            .fill_opacity(80).stacking(cb.StackingConfig().mode(common.StackingMode.NORMAL)))

def with_threshold_lines(panel: timeseries.Panel, *steps: tuple[float, str]) -> timeseries.Panel:
    """Draw each (value, colour) of ``steps`` (warning, alert threshold) as a dashed line."""
    return (panel.thresholds(_thresholds((None, "transparent"), *steps))
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)))

# --- variables, annotations -----------------------------------------------------------------

def datasource_variable() -> db.DatasourceVariable:
    return db.DatasourceVariable("datasource").label("Nguồn dữ liệu").type("prometheus")


def label_variable(name: str, label: str, query_text: str, multi: bool) -> db.QueryVariable:
    """A variable listing the values of a label; multi-value ones include All as ``.*``."""
    variable = (db.QueryVariable(name).label(label).datasource(DATASOURCE)
                .query({"query": query_text, "refId": f"{name}-values", "qryType": 1})
                .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC))
    if multi:
        variable = (variable.multi(True).include_all(True).all_value(".*")
                    .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"])))
    return variable


def annotation_queries(*tags: str) -> list[cogbuilder.Builder[dm.AnnotationQuery]]:
    """Grafana's own annotations, then incidents and complaints pushed by ``monitor grafana annotate``.

    Tag queries on the built-in datasource show organisation annotations carrying *all* the
    tags given (matchAny false): ``incident`` or ``complaint``, plus ``tags`` (e.g. ``$platform``).
    """
    builtin = (db.AnnotationQuery().name("Annotations & Alerts").datasource(GRAFANA).enable(True).hide(True)
               .icon_color("rgba(0, 211, 255, 1)").type("dashboard").built_in(1)
               .target(db.AnnotationTarget().type("dashboard").limit(100).match_any(False).tags([])))

    def tagged(name: str, tag: str, color: str) -> db.AnnotationQuery:
        return (db.AnnotationQuery().name(name).datasource(GRAFANA).enable(True).hide(False).icon_color(color)
                .target(db.AnnotationTarget().type("tags").tags([tag, *tags]).match_any(False).limit(1000)))

    return [builtin, tagged("Sự cố", INCIDENT_TAG, "red"), tagged("Phản ánh (PAKN)", COMPLAINT_TAG, "purple")]


def place(panel: AnyPanel, panel_id: int, x: int, y: int, w: int, h: int) -> AnyPanel:
    """Give a panel its id and position."""
    return panel.id(panel_id).grid_pos(dm.GridPos(h=h, w=w, x=x, y=y))

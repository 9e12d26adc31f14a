"""The PromQL of the dashboards, as plain strings built from the metric contract (README, "Metrics").

Raw metrics rather than the recording rules of ``alerts/rules/``: a dashboard then works on
any Prometheus that scrapes the monitor, rules loaded or not, and every expression can be run
against a bare Prometheus in tests. Every probe selector carries ``job="monitor"`` as the rules
do (blackbox_exporter exports the same names).

Grafana variables used, and what the live test substitutes for them (see
:func:`monitor.grafana.dashboards.queries`): ``$platform`` (one platform id), ``$location``
(multi-value, so always ``=~``; All is ``.*``), ``$__rate_interval``, ``$__interval``, ``$__range``.
"""

from __future__ import annotations

JOB = 'job="monitor"'
PLATFORM = 'platform="$platform"'
LOCATION = 'location=~"$location"'
PROBER = 'prober=~"$location"'  # series without probe labels: the scrape target label is the location
VIETNAM_OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh, UTC+7, no DST (as in alerts/rules/00-settings.yml)


def selector(metric: str, *matchers: str) -> str:
    """``metric{job="monitor", <matchers>}``."""
    return f"{metric}{{{', '.join((JOB, *matchers))}}}"


def probe(metric: str, *matchers: str) -> str:
    """A probe series of the selected platform at the selected locations."""
    return selector(metric, PLATFORM, LOCATION, *matchers)


def status_now() -> str:
    """1 when the last result of every check at every selected location succeeded, else 0."""
    return f"min({probe('probe_success')})"


def availability(window: str = "$__range", by: str = "") -> str:
    """Share of successful results over ``window`` (every check and location of the platform)."""
    grouping = f" by ({by})" if by else ""
    ok = probe("probe_results_total", 'result="success"')
    every = probe("probe_results_total")
    return f"sum{grouping} (increase({ok}[{window}])) / sum{grouping} (increase({every}[{window}]))"


def availability_rate() -> str:
    """Share of successful results, as a time series."""
    ok = probe("probe_results_total", 'result="success"')
    every = probe("probe_results_total")
    return f"sum (rate({ok}[$__rate_interval])) / sum (rate({every}[$__rate_interval]))"


def latency_quantile(q: float, by: str = "", window: str = "$__rate_interval") -> str:
    """The ``q`` quantile of the total duration of successful probes (``total`` is observed only then)."""
    labels = ", ".join(filter(None, (by, "le")))
    buckets = probe("probe_phase_duration_seconds_bucket", 'phase="total"')
    return f"histogram_quantile({q:g}, sum by ({labels}) (rate({buckets}[{window}])))"


def latency_buckets() -> str:
    """Observations of the total duration per bucket and interval, for a heatmap."""
    buckets = probe("probe_phase_duration_seconds_bucket", 'phase="total"')
    return f"sum by (le) (increase({buckets}[$__rate_interval]))"


def phase_mean() -> str:
    """Mean duration of each phase (resolve … transfer); stacked they approximate a request's timeline."""
    total = probe("probe_phase_duration_seconds_sum", 'phase!="total"')
    count = probe("probe_phase_duration_seconds_count", 'phase!="total"')
    return (f"sum by (phase) (rate({total}[$__rate_interval]))"
            f" / sum by (phase) (rate({count}[$__rate_interval]))")


def results_by_outcome() -> str:
    """Results per interval by ``result``: ``success`` or a failure reason (closed set)."""
    return f"sum by (result) (increase({probe('probe_results_total')}[$__rate_interval]))"


def certificate_days_left() -> str:
    """Days until the earliest certificate expiry any selected location saw, per check."""
    return f"(min by (check) ({probe('probe_ssl_earliest_cert_expiry')}) - time()) / 86400"


def incident_open(kind: str) -> str:
    """1 while a platform-wide incident of ``kind`` is open at any selected prober."""
    series = selector("platform_incident_open", PLATFORM, f'kind="{kind}"', PROBER)
    return f"max({series})"


def local_hour() -> str:
    """The local hour of day (0-23) at each evaluation step: the row of the peak-hour grid."""
    return f"hour(vector(time() + {VIETNAM_OFFSET}))"


def local_weekday() -> str:
    """The local day of week (0 = Sunday … 6 = Saturday) at each step: the column of the peak-hour grid."""
    return f"day_of_week(vector(time() + {VIETNAM_OFFSET}))"


# --- the probers themselves (the prober-health dashboard) -------------------------------------
# Series without probe labels (lags, store backlog, build info, peak time, self-check) are told
# apart by the scrape target label ``prober`` (= the prober's location, deploy/prometheus.yml);
# per-check series (skips, unreliable results) carry ``location`` themselves.

def prober(metric: str, *matchers: str) -> str:
    """A prober-wide series of the selected probers."""
    return selector(metric, PROBER, *matchers)


def lag_quantile(metric: str, q: float) -> str:
    """The ``q`` quantile of a lag histogram (``monitor_scheduler_lag_seconds``, the event-loop lag) per prober."""
    return (f"histogram_quantile({q:g}, sum by (prober, le) "
            f"(rate({prober(metric + '_bucket')}[$__rate_interval])))")


def lag_quantile_over_range(metric: str, q: float) -> str:
    """The same quantile over the whole selected range, the worst prober: one number."""
    return f"max(histogram_quantile({q:g}, sum by (prober, le) (increase({prober(metric + '_bucket')}[$__range]))))"


def skipped() -> str:
    """Runs not started per interval, by prober and why (``overlap``, ``missed``); counters start at 0."""
    return (f"sum by (location, why) "
            f"(increase({selector('monitor_probes_skipped_total', LOCATION)}[$__rate_interval]))")


def skipped_over_range() -> str:
    """Runs not started over the selected range, every selected prober."""
    return f"sum(increase({selector('monitor_probes_skipped_total', LOCATION)}[$__range]))"


def unreliable_share(window: str = "$__rate_interval", by: str = "location") -> str:
    """Share of results the prober marked unreliable (its own stall or network), as the rules compute it:
    unreliable / (unreliable + counted in ``probe_results_total``)."""
    grouping = f" by ({by})" if by else ""
    unreliable = f"sum{grouping} (rate({selector('monitor_unreliable_results_total', LOCATION)}[{window}]))"
    counted = f"sum{grouping} (rate({selector('probe_results_total', LOCATION)}[{window}]))"
    return f"{unreliable} / ({unreliable} + {counted})"


def store_pending() -> str:
    """Results waiting to be written to the store, per prober."""
    return f"max by (prober) ({prober('monitor_store_pending_results')})"


def spool_age() -> str:
    """Age of the oldest result in each prober's local spool (0 when empty: the central store answers)."""
    return f"max by (prober) ({prober('monitor_store_spool_oldest_age_seconds')})"


def self_check_ok() -> str:
    """Per prober: 1 while its own network passes the self-check, 0 while it fails, and -1 for a prober
    without ``self_check`` (the gauge is absent there; its build info stands in, so it shows as such)."""
    return (f"max by (prober) ({prober('monitor_self_check_ok')})"
            f" or -1 * max by (prober) ({prober('monitor_build_info')})")


def build_info() -> str:
    """The version each prober runs (``monitor_build_info{version}`` is 1)."""
    return f"max by (prober, version) ({prober('monitor_build_info')})"


def peak_time() -> str:
    """Per prober: 1 during its peak hours on a Vietnamese working day, else 0."""
    return f"max by (prober) ({prober('monitor_peak_time')})"


def scraped() -> str:
    """Per prober: 1 when Prometheus' last scrape of it succeeded."""
    return f"max by (prober) ({prober('up')})"

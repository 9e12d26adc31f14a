"""The one module that owns metric objects: the metrics contract (README.md "Metrics"), served at ``/metrics``.

Counters and histograms carry every result, so nothing is lost between scrapes;
gauges say what the last result was. A phase that did not complete is never
observed (no zeros for failed phases), and ``total`` is observed only for
successful probes so latency percentiles describe requests that were served.

The per-check series (``probe_*``, ``monitor_unreliable_results_total``,
``monitor_probes_skipped_total``) live in :class:`monitor.exposition.ProbeStore`,
plain numbers per (platform, check, location), rendered by our own text encoder:
1,000 checks × 3 locations would otherwise be 300,000 prometheus_client value
objects and seconds of rendering per scrape. ``probe_phase_duration_seconds`` has
its ``PHASE_BUCKETS`` only for ``phase="total"``; every other phase has ``_sum``,
``_count`` and the ``le="+Inf"`` bucket. The store is also registered in
``registry`` as a collector, so ``registry.get_sample_value`` and
``generate_latest(registry)`` see everything (slowly; scrapes do not go that way).
The rest (lags, store backlog, incidents, build info) are ordinary prometheus_client
metrics in ``registry``.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__, exposition
from monitor.exposition import PHASE_BUCKETS, PROBE_LABELS, REASONS_BY_KIND, SKIP_REASONS, ProbeStore, render
from monitor.httpserve import gzip_accepted, serve_app
from monitor.result import ProbeResult
from monitor.workcalendar import PeakHours, is_peak

if TYPE_CHECKING:
    from monitor.domain import Incident

__all__ = ["INCIDENT_KINDS", "LAG_BUCKETS", "PHASE_BUCKETS", "PROBE_LABELS", "SKIP_REASONS", "Metrics", "serve"]

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
INCIDENT_KINDS = ("down", "degraded")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GZIP_LEVEL = 1  # a few MB of text: level 1 takes a fraction of level 9's time for a little more on the wire

# The *_created series double the series count and nothing here reads them (blackbox_exporter has none).
_disable_created_metrics: Callable[[], None] = disable_created_metrics  # unannotated in prometheus_client
_disable_created_metrics()


class Metrics:
    """The probe store and the other metric objects, registered in ``registry`` (a fresh one unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.probes = ProbeStore()
        self._collector = ProbeCollector(self.probes)
        r.register(self._collector)
        self.scheduler_lag = Histogram("monitor_scheduler_lag_seconds", "Actual probe start minus planned start.",
                                       buckets=LAG_BUCKETS, registry=r)
        self.loop_lag = Histogram("monitor_event_loop_lag_seconds", "How late the prober's event loop woke up.",
                                  buckets=LAG_BUCKETS, registry=r)
        self.store_pending = Gauge("monitor_store_pending_results", "Results waiting to be written to the store "
                                   "(in memory, and in the local spool while the central store is unavailable).",
                                   registry=r)
        self.store_spool_oldest_age = Gauge("monitor_store_spool_oldest_age_seconds", "Age of the oldest result in "
                                            "the local spool, waiting for the central store; 0 when empty.",
                                            registry=r)
        self.store_forwarded = Counter("monitor_store_forwarded_results_total", "Spooled results forwarded to the "
                                       "central store.", registry=r)
        self.store_write_failures = Counter("monitor_store_write_failures_total", "Writes to the central store that "
                                            "failed or got no answer in time (the batch was spooled or kept).",
                                            registry=r)
        self.incident_open = Gauge("platform_incident_open", "1 while a platform-wide incident of this kind is "
                                   "open (monitor/incidents.py).", ("platform", "kind"), registry=r)
        self.self_check_ok = Gauge("monitor_self_check_ok", "1 while the prober's own network passes its self-check "
                                   "(reference target and resolver), 0 while it fails.", ("location",), registry=r)
        self.peak_hours = Gauge("monitor_peak_time", "1 during peak hours (giờ cao điểm) on a Vietnamese working "
                                "day, else 0 (the prober's peak_hours setting and holiday calendar).", registry=r)
        self.build_info = Gauge("monitor_build_info", "Build information; always 1.", ("version",), registry=r)
        self.build_info.labels(__version__).set(1)

    worker_restarts: Counter  # with track_workers only: a single process has no such series
    workers_live: Gauge

    def track_workers(self, workers: list[str], live: Callable[[], float]) -> None:
        """The worker processes' health (``monitor run --workers N``, N > 1): restarts of each worker, counted from
        0, and how many are running now (``live``, read at each scrape)."""
        self.worker_restarts = Counter("monitor_worker_restarts", "Worker processes restarted after they died "
                                       "(monitor run --workers), by worker number.", ("worker",),
                                       registry=self.registry)
        for worker in workers:
            self.worker_restarts.labels(worker)
        self.workers_live = Gauge("monitor_workers_live", "Worker processes running now (monitor run --workers); "
                                  "fewer than configured while one is being restarted.", registry=self.registry)
        self.workers_live.set_function(live)

    def register_check(self, platform: str, check: str, location: str, kind: str | None = None) -> None:
        """Start a check's counters at 0 so ``rate()`` and ``increase()`` see its first failure (or stall):
        ``success`` and every failure reason a check of ``kind`` can give (``REASONS_BY_KIND``)."""
        self.probes.register(platform, check, location, REASONS_BY_KIND.get(kind or "", ()))

    def track_peak_hours(self, peak: PeakHours, clock: Callable[[], float] = time.time) -> None:
        """``monitor_peak_time`` computed at each scrape from the Vietnamese calendar (monitor/workcalendar.py)."""
        self.peak_hours.set_function(lambda: 1.0 if is_peak(clock(), peak) else 0.0)

    def skip(self, platform: str, check: str, location: str, why: str) -> None:
        """Count a run not started: ``why`` is ``overlap`` or ``missed`` (SKIP_REASONS)."""
        self.probes.skip(platform, check, location, why)

    def register_platform(self, platform: str) -> None:
        """Start the platform's incident gauges at 0, so "no incident" is a value, not an absence."""
        for kind in INCIDENT_KINDS:
            self.incident_open.labels(platform, kind).set(0)

    def set_open_incidents(self, platforms: list[str], incidents: Iterable[Incident]) -> None:
        """Export which platforms have a platform-wide incident open, by kind."""
        open_now = {(i.platform, i.kind) for i in incidents if i.scope == "platform"}
        for platform in platforms:
            for kind in INCIDENT_KINDS:
                self.incident_open.labels(platform, kind).set(1 if (platform, kind) in open_now else 0)

    def record(self, result: ProbeResult) -> None:
        """Account for one result.

        Always sets ``probe_last_run_timestamp_seconds``. An unreliable result only
        counts in ``monitor_unreliable_results_total``. Otherwise: ``probe_results_total``
        by outcome, ``probe_success`` and ``probe_duration_seconds``,
        ``probe_http_status_code`` for HTTP checks (0 without a response),
        ``probe_ssl_earliest_cert_expiry`` when a certificate was seen (else kept),
        and one observation per completed phase.
        """
        self.probes.record(result)

    def exposition(self) -> bytes:
        """What ``/metrics`` serves: the probe store, then the rest of ``registry`` (text format 0.0.4)."""
        with self._collector.hidden():  # the store is rendered by render(); not a second time through the registry
            rest = generate_latest(self.registry).decode("utf-8")
        return render(self.probes, tail=rest).encode("utf-8")


class ProbeCollector(Collector):
    """The store's families for the registry (``get_sample_value``, ``generate_latest``): slow, not for scrapes.

    ``/metrics`` renders the store with :func:`monitor.exposition.render`, then the
    registry inside :meth:`hidden`, where this collector yields nothing (on that thread).
    """

    def __init__(self, store: ProbeStore) -> None:
        self._store = store
        self._local = threading.local()

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        self._local.hidden = True
        try:
            yield
        finally:
            self._local.hidden = False

    def describe(self) -> list[Metric]:
        return self._families(())  # names only: the registry refuses a second metric of the same name

    def collect(self) -> Iterator[Metric]:
        return iter(() if getattr(self._local, "hidden", False) else self._families(self._store.snapshots()))

    @staticmethod
    def _families(snapshots: Iterable[tuple[exposition.ProbeSeries, exposition.Snapshot]]) -> list[Metric]:
        names = list(PROBE_LABELS)
        gauges = [GaugeMetricFamily(name, help_text, labels=names) for name, help_text in exposition.GAUGES]
        results = CounterMetricFamily(*exposition.RESULTS, labels=[*names, "result"])
        phases = HistogramMetricFamily(*exposition.PHASES, labels=[*names, "phase"])
        unreliable = CounterMetricFamily(*exposition.UNRELIABLE, labels=names)
        skipped = CounterMetricFamily(*exposition.SKIPPED, labels=[*names, "why"])
        for series, values in snapshots:  # the layout of ProbeSeries.snapshot()
            labels = list(series.labels)
            for family, value in zip(gauges, values[:5], strict=False):
                if value is not None:
                    family.add_metric(labels, value)
            for outcome, counted in values[5]:
                results.add_metric([*labels, outcome], counted)
            if values[6] is not None:
                unreliable.add_metric(labels, values[6])
            for why, counted in values[7]:
                skipped.add_metric([*labels, why], counted)
            for phase, (counted, total) in values[8]:
                buckets: list[tuple[str, float]] = []
                if phase == exposition.BUCKETED_PHASE and values[9] is not None:
                    buckets = list(zip(exposition.LE_TEXT, itertools.accumulate(values[9]), strict=False))
                phases.add_metric([*labels, phase], [*buckets, ("+Inf", counted)], total)
        return [*gauges, results, phases, unreliable, skipped]


def serve(metrics: Metrics, address: str, port: int, status: WSGIApplication | None = None
          ) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` (any path but ``/status``) on a background thread; ``server.server_port`` is the bound port.

    Always the text format 0.0.4 (an OpenMetrics Accept header gets it too, as
    Prometheus allows), gzipped at level 1 when the client accepts gzip. ``/status`` and the paths under it go to
    ``status`` (the status page, monitor/statuspage/), or answer 404 without it.
    """
    return serve_app(metrics_app(metrics, status), address, port, "monitor-metrics")


STATUS_PREFIX = "/status"


def is_status_path(path: str) -> bool:
    """Whether a request path is the status page's (``/status`` or under it)."""
    return path == STATUS_PREFIX or path.startswith(STATUS_PREFIX + "/")


def metrics_app(metrics: Metrics, status: WSGIApplication | None = None) -> WSGIApplication:
    """``/metrics`` (any path but ``/status``), and ``/status`` and the paths under it from ``status`` (404 without)."""
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if is_status_path(environ.get("PATH_INFO", "")):
            if status is not None:
                return list(status(environ, start_response))
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "0")])
            return [b""]
        method = environ["REQUEST_METHOD"]
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        body = metrics.exposition()
        headers = [("Content-Type", CONTENT_TYPE)]
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING")):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]

    return app

"""The one module that owns metric objects: the contract in DESIGN.md, served at ``/metrics``.

Counters and histograms carry every result, so nothing is lost between scrapes;
gauges say what the last result was. A phase that did not complete is never
observed (no zeros for failed phases), and ``total`` is observed only for
successful probes so latency percentiles describe requests that were served.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, start_http_server

from monitor import __version__
from monitor.result import ProbeResult

PROBE_LABELS = ("platform", "check", "location")
PHASE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SKIP_REASONS = ("overlap", "missed")
INCIDENT_KINDS = ("down", "degraded")

# The *_created series double the series count and nothing here reads them (blackbox_exporter has none).
disable_created_metrics()


class Metrics:
    """Metric objects registered in ``registry`` (a fresh one unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.probe_success = Gauge("probe_success", "Whether the last probe succeeded (1) or failed (0).",
                                   PROBE_LABELS, registry=r)
        self.probe_duration = Gauge("probe_duration_seconds", "Duration of the last probe, to success, failure "
                                    "or deadline.", PROBE_LABELS, registry=r)
        self.http_status = Gauge("probe_http_status_code", "Status code of the last HTTP response (0 when none).",
                                 PROBE_LABELS, registry=r)
        self.cert_expiry = Gauge("probe_ssl_earliest_cert_expiry", "Unix time of the earliest expiry in the peer's "
                                 "certificate chain.", PROBE_LABELS, registry=r)
        self.last_run = Gauge("probe_last_run_timestamp_seconds", "Unix time the last probe started.",
                              PROBE_LABELS, registry=r)
        self.results = Counter("probe_results", "Probe results by outcome: success or a failure reason.",
                               (*PROBE_LABELS, "result"), registry=r)
        self.phases = Histogram("probe_phase_duration_seconds", "Duration of each completed probe phase.",
                                (*PROBE_LABELS, "phase"), buckets=PHASE_BUCKETS, registry=r)
        self.unreliable = Counter("monitor_unreliable_results", "Results measured while the prober itself was "
                                  "stalled; kept out of the probe_* series.", PROBE_LABELS, registry=r)
        self.scheduler_lag = Histogram("monitor_scheduler_lag_seconds", "Actual probe start minus planned start.",
                                       buckets=LAG_BUCKETS, registry=r)
        self.loop_lag = Histogram("monitor_event_loop_lag_seconds", "How late the prober's event loop woke up.",
                                  buckets=LAG_BUCKETS, registry=r)
        self.skipped = Counter("monitor_probes_skipped", "Probe runs not started: overlap with a run still "
                               "going, or missed beyond the grace time.", (*PROBE_LABELS, "why"), registry=r)
        self.store_pending = Gauge("monitor_store_pending_results", "Results waiting to be written to the store.",
                                   registry=r)
        self.incident_open = Gauge("platform_incident_open", "1 while a platform-wide incident of this kind is "
                                   "open (monitor/incidents.py).", ("platform", "kind"), registry=r)
        self.build_info = Gauge("monitor_build_info", "Build information; always 1.", ("version",), registry=r)
        self.build_info.labels(__version__).set(1)

    def register_check(self, platform: str, check: str, location: str) -> None:
        """Start a check's counters at 0 so ``rate()`` and ``increase()`` see its first failure (or stall)."""
        self.results.labels(platform, check, location, "success")
        self.unreliable.labels(platform, check, location)
        for why in SKIP_REASONS:
            self.skipped.labels(platform, check, location, why)

    def register_platform(self, platform: str) -> None:
        """Start the platform's incident gauges at 0, so "no incident" is a value, not an absence."""
        for kind in INCIDENT_KINDS:
            self.incident_open.labels(platform, kind).set(0)

    def set_open_incidents(self, platforms: list[str], incidents: list) -> None:
        """Export which platforms have a platform-wide incident open, by kind."""
        open_now = {(i.platform, i.kind) for i in incidents if i.scope == "platform"}
        for platform in platforms:
            for kind in INCIDENT_KINDS:
                self.incident_open.labels(platform, kind).set(1 if (platform, kind) in open_now else 0)

    def record(self, result: ProbeResult) -> None:
        """Account for one result."""
        labels = (result.platform, result.check, result.location)
        self.last_run.labels(*labels).set(result.started_at)
        if result.unreliable:
            self.unreliable.labels(*labels).inc()
            return
        self.results.labels(*labels, result.outcome).inc()
        self.probe_success.labels(*labels).set(1 if result.success else 0)
        self.probe_duration.labels(*labels).set(result.duration)
        if result.kind == "http":
            self.http_status.labels(*labels).set(result.status_code or 0)
        if result.cert_expiry is not None:
            self.cert_expiry.labels(*labels).set(result.cert_expiry)
        for phase, seconds in result.phases.items():
            self.phases.labels(*labels, phase).observe(seconds)


def serve(metrics: Metrics, address: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` on a background thread; ``server.server_port`` is the bound port."""
    return start_http_server(port, addr=address, registry=metrics.registry)

"""Grafana: dashboards built as code, pushed with grafana-client, and the evidence as annotations.

- :mod:`monitor.grafana.dashboards`: ``build()`` the dashboards' JSON, ``write()`` it to ``dashboards/``,
  ``queries()`` lists every PromQL expression (for the live Prometheus test);
- :mod:`monitor.grafana.sync`: ``push_dashboards()`` and ``annotate()`` (idempotent);
- :mod:`monitor.grafana.settings`: ``GrafanaSettings`` (URL, token as a secret) and ``connect()``;
- :mod:`monitor.grafana.cli`: ``monitor grafana build | push | annotate``.
"""

from monitor.grafana.annotations import Annotation, desired
from monitor.grafana.dashboards import build, queries, write
from monitor.grafana.settings import GrafanaError, GrafanaSettings, GrafanaSettingsError, connect
from monitor.grafana.sync import AnnotateCounts, Pushed, annotate, push_dashboards

__all__ = [
    "AnnotateCounts", "Annotation", "GrafanaError", "GrafanaSettings", "GrafanaSettingsError", "Pushed",
    "annotate", "build", "connect", "desired", "push_dashboards", "queries", "write",
]

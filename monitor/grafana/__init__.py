"""Grafana: dashboards built as code, pushed with grafana-client, and the evidence as annotations.

- :mod:`monitor.grafana.dashboards`: ``build()`` the dashboards' JSON, ``write()`` it to ``dashboards/``,
  ``queries()`` lists every PromQL expression (for the live Prometheus test);
- :mod:`monitor.grafana.sync`: ``push_dashboards()`` and ``annotate()`` (idempotent);
- :mod:`monitor.grafana.client`: ``connect()`` with :class:`monitor.config.grafana.GrafanaSettings` (URL, token
  as a secret);
- :mod:`monitor.grafana.cli`: ``monitor grafana build | push | annotate``.

Nothing is imported here, so the settings and the CLI parser do not load the HTTP client.
"""

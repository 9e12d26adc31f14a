"""A grafana-client API object from :class:`~monitor.config.grafana.GrafanaSettings`: :func:`connect`.

grafana-client (and its HTTP stack) is imported only when connecting, so configuration and the
``monitor`` argument parser do not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.config.grafana import GrafanaSettings

if TYPE_CHECKING:
    from grafana_client import GrafanaApi

DEFAULT_MESSAGE = "monitor grafana push"  # version message in Grafana's history
TIMEOUT = 10.0


def connect(settings: GrafanaSettings, timeout: float = TIMEOUT) -> GrafanaApi:
    """A grafana-client API object for ``settings`` (Bearer token); makes no request."""
    from grafana_client import GrafanaApi  # here: configuration must not load the HTTP stack

    parts = urlsplit(settings.url)
    prefix = parts.path.strip("/")
    return GrafanaApi(settings.secret().get_secret_value(), host=parts.hostname, port=parts.port,
                      url_path_prefix=f"{prefix}/" if prefix else "",  # grafana-client appends "api" directly
                      protocol=parts.scheme, timeout=timeout)

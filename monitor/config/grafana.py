"""Where Grafana is and how to authenticate: :class:`GrafanaSettings`.

Part of :class:`monitor.config.Settings` as ``grafana`` (``MONITOR_GRAFANA__URL``, ``__TOKEN``,
``__TOKEN_FILE``, ``__FOLDER``); without it, the conventional ``GRAFANA_URL``, ``GRAFANA_TOKEN`` or
``GRAFANA_TOKEN_FILE`` and ``GRAFANA_FOLDER`` are read. The token is a :class:`~pydantic.SecretStr`:
it is never printed, logged or put in an error message. :func:`monitor.grafana.client.connect` makes
a client of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from monitor.errors import GrafanaSettingsError

DEFAULT_FOLDER = "Nền tảng số của Đảng"


class GrafanaSettings(BaseModel):
    """Grafana's base URL, a service-account token (inline or in a file) and the dashboards' folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    token: SecretStr | None = None
    token_file: Path | None = None
    folder: str = DEFAULT_FOLDER

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GrafanaSettings:
        """From ``GRAFANA_URL``, ``GRAFANA_TOKEN``, ``GRAFANA_TOKEN_FILE`` and ``GRAFANA_FOLDER``."""
        env = os.environ if environ is None else environ
        if not env.get("GRAFANA_URL"):
            raise GrafanaSettingsError("GRAFANA_URL is not set (e.g. https://grafana.example.vn)")
        values = {"url": env["GRAFANA_URL"]}
        for key, field in (("GRAFANA_TOKEN", "token"), ("GRAFANA_TOKEN_FILE", "token_file"),
                           ("GRAFANA_FOLDER", "folder")):
            if env.get(key):
                values[field] = env[key]
        return cls.model_validate(values)  # the strings validated as the fields' types (SecretStr, Path)

    def secret(self) -> SecretStr:
        """The token, from ``token`` or ``token_file`` (exactly one of them)."""
        if self.token is not None and self.token_file is not None:
            raise GrafanaSettingsError("give GRAFANA_TOKEN or GRAFANA_TOKEN_FILE, not both")
        if self.token is not None:
            value = self.token.get_secret_value().strip()
        elif self.token_file is not None:
            try:
                value = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise GrafanaSettingsError(
                    f"cannot read the Grafana token file {self.token_file}: {exc.strerror}") from None
        else:
            raise GrafanaSettingsError("no Grafana token: set GRAFANA_TOKEN or GRAFANA_TOKEN_FILE "
                               "(a service-account token with Editor rights)")
        if not value:
            raise GrafanaSettingsError("the Grafana token is empty")
        return SecretStr(value)

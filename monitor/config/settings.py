"""Process settings (pydantic-settings): environment ``MONITOR_*`` over ``monitor.yml`` over defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from monitor.config.selfcheck import SelfCheckSettings
from monitor.errors import ConfigError, ConfigProblem
from monitor.grafana.settings import GrafanaSettings
from monitor.incidents import IncidentPolicy
from monitor.matching import MatchPolicy

SETTINGS_FILE_ENV = "MONITOR_SETTINGS_FILE"
RUNBOOK_BASE_URL = "https://github.com/ORG/party-platform-monitor/blob/main/"  # placeholder: set yours


class Settings(BaseSettings):
    """Everything about how this prober runs; what it probes lives in ``checks/``.

    Sources, highest first: arguments, ``MONITOR_*`` environment variables, the YAML
    file named by ``MONITOR_SETTINGS_FILE`` (default ``monitor.yml``, optional), defaults.
    Nested values use ``__`` in the environment. Lists are JSON:
    ``MONITOR_CHECKS='["checks", "/etc/monitor/extra.yml"]'``.
    Raises :class:`ConfigError` when ``MONITOR_SETTINGS_FILE`` names a file that does not exist.
    """

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid", yaml_file="monitor.yml"
    )

    checks: list[Path] = [Path("checks")]  # files or directories of *.yml
    listen_address: str = "127.0.0.1"  # metrics server; loopback unless you mean it
    listen_port: Annotated[int, Field(ge=0, lt=65536)] = 9180
    location: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")] = "local"
    store: Path = Path("var/monitor.db")
    retention_days: Annotated[int, Field(gt=0)] = 30
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_concurrency: Annotated[int, Field(gt=0)] = 200  # probes in flight at once
    shutdown_grace: Annotated[float, Field(gt=0)] = 10.0  # seconds to wait for probes in flight on stop
    loop_lag_threshold: Annotated[float, Field(gt=0)] = 0.05  # prober stall (s) that marks results unreliable
    incidents: IncidentPolicy = IncidentPolicy()  # confirmation, hysteresis, locations (monitor.incidents)
    matching: MatchPolicy = MatchPolicy()  # how far around a complaint to look for its incident
    peak_hours: list[str] = ["07:30-11:00", "13:30-16:30"]  # giờ cao điểm, local time, working days
    week_start: Annotated[int, Field(ge=0, le=6)] = 4  # bulletin week starts on (0 = Monday … 4 = Friday)
    reports: Path = Path("var/reports")  # where `monitor report` writes
    # PAKN export columns: our field -> extra header names accepted (besides the built-in ones)
    grafana: GrafanaSettings | None = None  # url, token or token_file (secret), folder: monitor grafana ...
    complaint_columns: dict[Literal["id", "received_at", "unit", "province", "text"], list[str]] = {}
    self_check: SelfCheckSettings | None = None  # the prober's own network: url, resolve_name (monitor.selfcheck)
    runbook_base_url: str = RUNBOOK_BASE_URL  # rendered into alerts/rules by `monitor alerts build`

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get(SETTINGS_FILE_ENV)
        # The default file is optional; a file someone named on purpose must exist, or a typo
        # in the path would silently run on defaults.
        if named is not None and not Path(named).is_file():
            problem = ConfigProblem(named, None, "", "", f"settings file not found (named by {SETTINGS_FILE_ENV})")
            raise ConfigError([problem])
        yaml_file = named if named is not None else "monitor.yml"
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))

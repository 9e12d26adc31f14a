"""Process settings (pydantic-settings): environment ``MONITOR_*`` over ``monitor.yml`` over defaults."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from monitor.config.grafana import GrafanaSettings
from monitor.config.selfcheck import SelfCheckSettings
from monitor.config.statuspage import StatusPageSettings
from monitor.domain import IncidentPolicy, MatchPolicy
from monitor.errors import ConfigError, ConfigProblem

SETTINGS_FILE_ENV = "MONITOR_SETTINGS_FILE"
RUNBOOK_BASE_URL = "https://github.com/ORG/party-platform-monitor/blob/main/"  # placeholder: set yours
ENV_PREFIX = "MONITOR_"
LOCAL_CHECKS = Path("checks")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # one DNS label: 1-63 characters, no hyphen at either end
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL})(\.{_LABEL})*\.?$")


def packaged_checks() -> Path:
    """The default checks shipped inside the package (a copy of the repository's ``checks/``)."""
    return Path(str(resources.files("monitor") / "checks"))


def default_checks() -> list[Path]:
    """Where the checks are when nobody named them: ``./checks`` if it exists, else the packaged copy.

    The full search order: ``--checks`` arguments, then ``MONITOR_CHECKS`` (or ``checks:`` in
    ``monitor.yml``), then ``./checks`` in the working directory, then the checks shipped with the package.
    """
    return [LOCAL_CHECKS] if LOCAL_CHECKS.is_dir() else [packaged_checks()]


def _store_location(value: object) -> object:
    """A store setting: a ``postgresql://`` or ``postgres://`` URL stays text (never a path; checked in full when
    the store opens, :mod:`monitor.store.location`), anything else is a path."""
    text = str(value).strip() if isinstance(value, str | Path) else None
    if text is None or text.partition(":")[0].lower() not in ("postgresql", "postgres") or ":" not in text:
        return value
    if isinstance(value, Path):  # Path collapsed "//" to "/": give the URL back its authority
        scheme, _, rest = text.partition(":")
        return f"{scheme}://{rest.lstrip('/')}"
    return text


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

    checks: list[Path] = Field(default_factory=default_checks)  # files or directories of *.yml
    listen_address: str = "127.0.0.1"  # metrics server; loopback unless you mean it
    listen_port: Annotated[int, Field(ge=0, lt=65536)] = 9180
    location: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")] = "local"
    # location id -> name shown in the report, `monitor incidents` and the status page (monitor.provinces)
    location_names: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")],
                         Annotated[str, Field(min_length=1, max_length=80)]] = {}
    # a SQLite file, or a PostgreSQL database: postgresql://USER:PASSWORD@HOST:PORT/DB (monitor.store.location)
    store: Annotated[Path | str, BeforeValidator(_store_location)] = Path("var/monitor.db")
    spool: Path = Path("var/spool.db")  # results waiting for a central store (PostgreSQL) that is unavailable
    retention_days: Annotated[int, Field(gt=0)] = 30
    rollup_retention_days: Annotated[int, Field(gt=0)] = 400  # 15-minute rollups (the report's figures)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_concurrency: Annotated[int, Field(gt=0)] = 200  # probes in flight at once
    # processes that probe for `monitor run` (None: one per usable core; 1: probes in the daemon's own process)
    workers: Annotated[int, Field(gt=0)] | None = None
    shutdown_grace: Annotated[float, Field(gt=0)] = 10.0  # seconds to wait for probes in flight on stop
    # a loop stall (s) that marks the results around it unreliable where the prober's own delay in each phase is not
    # measured (the lab's simulated runs); `monitor run` measures it (monitor.ownlag) and judges each phase by it
    loop_lag_threshold: Annotated[float, Field(gt=0)] = 0.05
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
    status_page: StatusPageSettings = StatusPageSettings()  # /status: enabled, refresh, days (monitor.statuspage)

    @field_validator("listen_address")
    @classmethod
    def _address(cls, value: str) -> str:
        """An IP address or a host name, so a typo fails ``config check`` rather than ``monitor run``."""
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
        if not _HOSTNAME.match(value) or re.fullmatch(r"[0-9.]+", value):
            raise ValueError(f"{value!r} is neither an IP address nor a host name (e.g. 127.0.0.1, 0.0.0.0, ::1)")
        return value

    @field_validator("peak_hours")
    @classmethod
    def _peak(cls, value: list[str]) -> list[str]:
        """``HH:MM-HH:MM`` windows, end after start, checked here so every command agrees."""
        from monitor.workcalendar import PeakHours

        PeakHours.parse(value).seconds()  # raises ValueError naming the bad window
        return value

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


def setting_names() -> list[str]:
    """Every ``MONITOR_*`` variable the settings read, nested ones with ``__`` (e.g. ``MONITOR_INCIDENTS__WINDOW``)."""
    names = [SETTINGS_FILE_ENV]
    for name, field in Settings.model_fields.items():
        names.append(f"{ENV_PREFIX}{name.upper()}")
        for nested in _nested_fields(field.annotation):
            names.append(f"{ENV_PREFIX}{name.upper()}__{nested.upper()}")
    return names


def _nested_fields(annotation: object) -> list[str]:
    import typing

    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return [f.name for f in dataclasses.fields(candidate)]
    return []


def unknown_environment(environ: Mapping[str, str]) -> list[str]:
    """One warning per ``MONITOR_*`` variable that is no setting, with the closest valid name.

    The settings ignore such variables, so a typo (``MONITOR_LISTEN_PORTT``) would silently run
    on the default. Names are compared case-insensitively, as the settings read them.
    """
    known = setting_names()
    warnings = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        # Compared without the common prefix, which would make every name look alike.
        close = difflib.get_close_matches(upper.removeprefix(ENV_PREFIX),
                                          [name.removeprefix(ENV_PREFIX) for name in known], n=1, cutoff=0.6)
        hint = (f"did you mean {ENV_PREFIX}{close[0]}?" if close
                else "no setting has a similar name (see README.md, Configuration)")
        warnings.append(f"monitor: warning: {variable} is not a setting and is ignored; {hint}")
    return warnings

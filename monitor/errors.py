"""Exceptions raised by the monitor.

Hierarchy::

    MonitorError                 base of everything we raise on purpose
    ├── ConfigError              checks or settings are invalid; carries every problem found
    ├── ProbeFailure             a probe saw the target fail; carries one closed-set reason
    └── StoreError               the history store cannot be opened or migrated

    GrafanaError                 Grafana refused a request or could not be reached (``monitor grafana``)
    └── GrafanaSettingsError     the Grafana URL or token is missing or unusable

Library exceptions (httpx, ssl, dnspython, sqlite3) are mapped to these at the
boundary with ``raise ... from exc`` so the original stays in the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.result import Reason


class MonitorError(Exception):
    """Base class for errors raised by the monitor."""


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid point in a configuration file."""

    file: str
    line: int | None
    where: str  # e.g. "platform 'gqthc', check 'home'"
    field: str  # e.g. "timeout"; "" when the problem is the whole file
    message: str

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        parts = [location]
        if self.where:
            parts.append(self.where)
        parts.append(f"{self.field}: {self.message}" if self.field else self.message)
        return ": ".join(parts)


class ConfigError(MonitorError):
    """The configuration is invalid. ``problems`` lists every problem found."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ProbeFailure(MonitorError):
    """A probe observed a failure of the target.

    ``reason`` is one value of the closed set in :class:`monitor.result.Reason`;
    ``detail`` is the raw, human-readable error text (stored and logged, never a label).
    """

    def __init__(self, reason: Reason, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


class StoreError(MonitorError):
    """The history store cannot be opened, migrated or written."""


class GrafanaError(Exception):
    """Grafana refused a request or could not be reached; the message says which and what to do."""


class GrafanaSettingsError(GrafanaError):
    """The Grafana URL or token is missing or unusable: nothing was sent."""

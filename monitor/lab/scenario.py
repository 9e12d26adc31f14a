"""Scenarios for the platform lab: what each platform does over a bulletin week, as data.

A scenario file (``monitor/lab/scenarios/<name>.yml`` or any path) has four keys::

    seed: 20260601                      # decisions are reproducible for a given seed
    peak: ["07:30-11:00", "13:30-16:30"]  # optional; default monitor.workcalendar.DEFAULT_PEAK
    profiles:                           # per platform; platforms without one are healthy
      sotaydangvien:
        delay: {median: 150ms, p95: 600ms}   # server processing time, lognormal
        body_bytes: 48000                    # size of the normal page
        transfer_rate: 2000000               # bytes/s (or `transfer: 40ms`, a fixed time)
        load: {peak: [0.95, 0.5], offpeak: 0.3, night: 0.05, weekend: 0.1}
        under_load: {latency_factor: 8, busy_503: 0.2, timeout: 0.04, reset: 0.02}
    events:
      - id: dichvucong-outage
        platform: dichvucong
        kind: outage_refused
        days: [tue]                     # or day: 2026-06-02, or day: 4 (index in the week)
        from: "14:00"                   # local time, quoted: YAML reads 14:00 as a number
        to: "14:45"
        params: {}

Validation is strict (unknown keys are errors) and every problem is reported at
once as ``file:line: where: field: message``, like ``checks/*.yml``. What the
load model does with a profile is documented in :mod:`monitor.lab.behaviour`.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from monitor.config.model import Duration, Slug, parse_duration
from monitor.config.yamlsource import (
    DataPath,
    YamlSource,
    data_path,
    describe,
    field_name,
    message,
    model_at,
    unknown_key,
)
from monitor.errors import ConfigError, ConfigProblem
from monitor.workcalendar import DEFAULT_PEAK, PeakHours, clock_seconds

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOAD_PREFIX = "load-"  # ids of load-induced (congestion) truth events; scripted ids may not use it


def _strict_number(value: object) -> object:
    if isinstance(value, bool):  # YAML true/false would otherwise pass as 1/0
        raise ValueError(f"expected a number, found {describe(value)}")
    return value


def _clock(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads unquoted 13:30 as 810 (base 60); say so instead of guessing.
        raise ValueError('expected a time "HH:MM" in quotes, found a number')
    if not isinstance(value, str):
        raise ValueError(f'expected a time "HH:MM" in quotes, found {describe(value)}')
    return clock_seconds(value)


def _day(value: object) -> object:
    if isinstance(value, (dt.datetime, bool)):
        raise ValueError(f"expected a date like 2026-06-01 or a day index 0-6, found {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 6:
            raise ValueError(f"day index {value} is outside the week (0 = its first day … 6 = its last)")
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected a date like 2026-06-01 or a day index 0-6, found {value!r}") from None
    return value


def _peak_load(value: object) -> object:
    # One type, not a union: a union would report each bad value twice (once per member).
    return tuple(_load(item) for item in value) if isinstance(value, list) else _load(value)


def _load(item: object) -> float:
    if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 1:
        shown = describe(item) if isinstance(item, (bool, str, list, dict)) or item is None else item
        raise ValueError(f"expected a load from 0 to 1 or a list of them, found {shown}")
    return float(item)


def _peak(value: object) -> object:
    if value is None or isinstance(value, PeakHours):
        return value
    if not isinstance(value, list) or not value:
        raise ValueError(f'expected a list of windows like ["07:30-11:00"], found {describe(value)}')
    return PeakHours.parse(value)


Share = Annotated[float, BeforeValidator(_strict_number), Field(ge=0, le=1, allow_inf_nan=False)]
Clock = Annotated[int, BeforeValidator(_clock)]
NonNegativeDuration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              arbitrary_types_allowed=True)


class Delay(_Strict):
    """Server processing time when idle: lognormal with this median and 95th percentile."""

    median: Duration = 0.08
    p95: Duration = 0.25

    @model_validator(mode="after")
    def _ordered(self) -> Delay:
        if self.p95 < self.median:
            raise ValueError("p95 must not be below the median")
        return self


class Load(_Strict):
    """Load (0..1) by time of day: in peak windows (one value, or one per window), outside them,
    at night (22:00–06:00) on working days, and all day on weekends and public holidays."""

    peak: Annotated[float | tuple[float, ...], BeforeValidator(_peak_load)] = 0.4
    offpeak: Share = 0.2
    night: Share = 0.05
    weekend: Share = 0.05


class UnderLoad(_Strict):
    """What load does: delay multiplier factor, and the shares of requests failing at load 1.0."""

    latency_factor: Annotated[float, BeforeValidator(_strict_number), Field(ge=0, le=1000)] = 1.0
    busy_503: Share = 0.0
    timeout: Share = 0.0
    reset: Share = 0.0

    @model_validator(mode="after")
    def _at_most_all(self) -> UnderLoad:
        if self.busy_503 + self.timeout + self.reset > 1:
            raise ValueError("busy_503 + timeout + reset must not exceed 1")
        return self


class Profile(_Strict):
    """How one platform behaves when no scripted event applies. Every field has a healthy default."""

    delay: Delay = Delay()
    body_bytes: Annotated[StrictInt, Field(ge=0)] = 30_000
    transfer: NonNegativeDuration | None = None  # fixed time to send the body
    transfer_rate: Annotated[float, BeforeValidator(_strict_number), Field(gt=0, allow_inf_nan=False)] | None = None
    load: Load = Load()
    under_load: UnderLoad = UnderLoad()
    # Days the platform's normal certificate stays valid from the lab's start (OpenSSL checks the real clock).
    certificate_days: Annotated[float, Field(gt=0, le=3650)] = 365.0

    @model_validator(mode="after")
    def _one_transfer(self) -> Profile:
        if self.transfer is not None and self.transfer_rate is not None:
            raise ValueError("give either 'transfer' or 'transfer_rate', not both")
        return self

    def transfer_time(self) -> float:
        """Seconds to send the normal page when idle (default rate 2 MB/s)."""
        if self.transfer is not None:
            return self.transfer
        return self.body_bytes / (self.transfer_rate or 2_000_000)


DEFAULT_PROFILE = Profile()


class NoParams(_Strict):
    """The event kind takes no parameters."""


class GatewayParams(_Strict):
    """gateway_502 / gateway_504: the gateway answers quickly with an error page."""

    delay: NonNegativeDuration = 0.02
    share: Share = 1.0  # of requests; the rest behave normally


class SlowParams(_Strict):
    """slow: ``delay`` is added to the normal processing time."""

    delay: Duration
    share: Share = 1.0


class ContentParams(_Strict):
    """wrong_content: 200 with an error page instead of the platform's page."""

    message: Annotated[str, Field(min_length=1, max_length=200)] = "Đã xảy ra lỗi hệ thống"
    share: Share = 1.0


class DnsParams(_Strict):
    """dns_failure: how the name fails."""

    failure: Literal["servfail", "nxdomain", "drop"] = "servfail"


class EventBase(_Strict):
    """A scripted event: a kind of fault on one platform in a local time window on some days."""

    id: Slug
    platform: Slug
    kind: str  # narrowed per kind, in the subclasses below
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] | None = None
    day: Annotated[dt.date | int, BeforeValidator(_day)] | None = None
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")
    params: _Strict  # narrowed per kind

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith(LOAD_PREFIX):
            raise ValueError(f"ids starting with {LOAD_PREFIX!r} are reserved for congestion events")
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("give at least one weekday")
        return value

    @model_validator(mode="after")
    def _when(self) -> EventBase:
        if (self.days is None) == (self.day is None):
            raise ValueError("give exactly one of 'days' (weekday names) or 'day' (a date or day index)")
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


def _omitted_params() -> Any:
    """An omitted ``params`` is validated as ``{}``: a missing required parameter is then named."""
    return Field(default_factory=dict, validate_default=True)


class OutageRefusedEvent(EventBase):
    kind: Literal["outage_refused"]
    params: NoParams = _omitted_params()


class Gateway502Event(EventBase):
    kind: Literal["gateway_502"]
    params: GatewayParams = _omitted_params()


class Gateway504Event(EventBase):
    kind: Literal["gateway_504"]
    params: GatewayParams = _omitted_params()


class SlowEvent(EventBase):
    kind: Literal["slow"]
    params: SlowParams = _omitted_params()


class CertExpiredEvent(EventBase):
    kind: Literal["cert_expired"]
    params: NoParams = _omitted_params()


class CertWrongHostEvent(EventBase):
    kind: Literal["cert_wrong_host"]
    params: NoParams = _omitted_params()


class WrongContentEvent(EventBase):
    kind: Literal["wrong_content"]
    params: ContentParams = _omitted_params()


class DnsFailureEvent(EventBase):
    kind: Literal["dns_failure"]
    params: DnsParams = _omitted_params()


# A scripted event, one model per kind, chosen by `kind`: `event.params` is that kind's parameters.
Event: TypeAlias = Annotated[OutageRefusedEvent | Gateway502Event | Gateway504Event | SlowEvent | CertExpiredEvent
                             | CertWrongHostEvent | WrongContentEvent | DnsFailureEvent, Field(discriminator="kind")]
EVENT_MODELS: dict[str, type[EventBase]] = {typing.get_args(model.model_fields["kind"].annotation)[0]: model
                                            for model in typing.get_args(typing.get_args(Event)[0])}
EVENT_KINDS = tuple(EVENT_MODELS)


class Scenario(_Strict):
    """A whole scenario: seed, optional peak hours, per-platform profiles and scripted events."""

    seed: StrictInt = 0
    peak: Annotated[PeakHours | None, BeforeValidator(_peak)] = None
    profiles: dict[Slug, Profile] = {}
    events: tuple[Event, ...] = ()

    @property
    def peak_hours(self) -> PeakHours:
        """The scenario's peak windows, or the default ones."""
        return self.peak or DEFAULT_PEAK

    def profile(self, platform: str) -> Profile:
        """The platform's profile, or the healthy default."""
        return self.profiles.get(platform, DEFAULT_PROFILE)


def problems(scenario: Scenario | Mapping[str, object], platforms: Iterable[str] | None = None,
             line: Callable[[DataPath], int | None] = lambda path: None) -> list[tuple[DataPath, str]]:
    """Checks across fields, as (data path, message): duplicate event ids, unknown platforms (when
    ``platforms`` is given), and peak loads that do not match the number of peak windows.

    Takes a :class:`Scenario` or the raw file data, so a file that fails validation still gets them.
    """
    data = _outline(scenario) if isinstance(scenario, Scenario) else scenario
    found: list[tuple[DataPath, str]] = []
    known = None if platforms is None else list(platforms)
    peak = data.get("peak")
    windows = len(peak) if isinstance(peak, list) and peak else len(DEFAULT_PEAK.windows)
    profiles = data.get("profiles")
    for name, profile in profiles.items() if isinstance(profiles, dict) else ():
        if known is not None and isinstance(name, str) and name not in known:
            found.append((("profiles", name), _unknown_platform(name, known)))
        load = profile.get("load") if isinstance(profile, dict) else None
        values = load.get("peak") if isinstance(load, dict) else None
        if isinstance(values, (list, tuple)) and len(values) != windows:
            found.append((("profiles", name, "load", "peak"),
                          f"{len(values)} peak loads for {windows} peak windows (give one value or one per window)"))
    first: dict[str, int] = {}
    events = data.get("events")
    for index, event in enumerate(events if isinstance(events, list) else []):
        event_id = event.get("id") if isinstance(event, dict) else None
        platform = event.get("platform") if isinstance(event, dict) else None
        if isinstance(event_id, str) and event_id in first:
            defined = line(("events", first[event_id]))
            where = f"line {defined}" if defined else f"event #{first[event_id] + 1}"
            found.append((("events", index, "id"), f"duplicate event id (first defined at {where})"))
        elif isinstance(event_id, str):
            first[event_id] = index
        if known is not None and isinstance(platform, str) and _SLUG.fullmatch(platform) and platform not in known:
            found.append((("events", index, "platform"), _unknown_platform(platform, known)))
    return found


def _outline(scenario: Scenario) -> dict[str, object]:
    """The parts of a validated scenario that :func:`problems` reads, as plain data."""
    return {"peak": list(scenario.peak_hours.windows),
            "profiles": {name: {"load": {"peak": p.load.peak}} for name, p in scenario.profiles.items()},
            "events": [{"id": e.id, "platform": e.platform} for e in scenario.events]}


def _unknown_platform(name: str, known: list[str]) -> str:
    hint = unknown_key(name, known).removeprefix("unknown key")
    return f"unknown platform {name!r}{hint}"


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped with the lab (``demo``, ``peak-week``, …)."""
    folder = resources.files("monitor.lab").joinpath("scenarios")
    return sorted(item.name.removesuffix(".yml") for item in folder.iterdir() if item.name.endswith(".yml"))


def load_scenario(name_or_path: str, platforms: Iterable[str] | None = None) -> Scenario:
    """Load a packaged scenario by name (``"peak-week"``) or a scenario file by path.

    With ``platforms`` (the catalog's platform ids), profiles and events for any other
    platform are errors. Raises :class:`ConfigError` listing every problem with file and line.
    """
    text, label = _read(name_or_path)
    source = YamlSource(label)
    if not source.parse(text):
        raise ConfigError(source.problems)
    found: list[tuple[DataPath, str]] = list(source.duplicate_keys)
    scenario = None
    if not isinstance(source.data, dict):
        what = "the file is empty" if source.data is None else f"found {describe(source.data)}"
        problem = f"expected a mapping with 'profiles' and 'events'; {what}"
        raise ConfigError([ConfigProblem(label, None, "", "", problem)])
    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as exc:
        found.extend(_from_pydantic(source.data, error) for error in exc.errors())
    found.extend(problems(source.data, platforms, source.line))
    if found:
        listed = [_problem(label, source, path, problem) for path, problem in found]
        raise ConfigError(sorted(listed, key=lambda p: p.line or 0))
    assert scenario is not None
    return scenario


def _read(name_or_path: str) -> tuple[str, str]:
    """The text of a packaged scenario or a file, and the name to use in messages."""
    if "/" not in name_or_path and not name_or_path.endswith((".yml", ".yaml")):
        packaged = resources.files("monitor.lab").joinpath("scenarios", f"{name_or_path}.yml")
        if not packaged.is_file():
            names = ", ".join(packaged_scenarios())
            raise ConfigError([ConfigProblem(name_or_path, None, "", "",
                                             f"no such scenario (packaged: {names}; or give a file path)")])
        return packaged.read_text(encoding="utf-8"), f"monitor/lab/scenarios/{name_or_path}.yml"
    try:
        return Path(name_or_path).read_text(encoding="utf-8"), name_or_path
    except OSError as exc:
        raise ConfigError([ConfigProblem(name_or_path, None, "", "", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(name_or_path, None, "", "", "cannot read: not UTF-8 text")]) from None


def _from_pydantic(data: object, error: ErrorDetails) -> tuple[DataPath, str]:
    """One pydantic error -> (data path, message worded for someone editing YAML)."""
    pydantic_loc = tuple(error["loc"])
    tagged = len(pydantic_loc) > 2 and pydantic_loc[0] == "events" and pydantic_loc[2] in EVENT_MODELS
    # The event's kind, which pydantic puts after events[i], is no key of the data: left out of the path.
    loc = data_path(data, pydantic_loc[:2] + pydantic_loc[3:] if tagged else pydantic_loc)
    kinds = ", ".join(EVENT_KINDS)
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        if tag == "congestion":
            return (*loc, "kind"), "'congestion' is reserved for load-induced events (describe load in profiles)"
        return (*loc, "kind"), f"unknown event kind {tag!r} (expected one of: {kinds})"
    if error["type"] == "union_tag_not_found":
        return (*loc, "kind"), f"required field is missing (one of: {kinds})"
    if error["type"] == "extra_forbidden":
        model = model_at(Scenario, pydantic_loc[:-1])
        fields = [f.alias or name for name, f in model.model_fields.items()] if model else []
        return loc, unknown_key(loc[-1], fields)
    return loc, message(error)


def _problem(label: str, source: YamlSource, path: DataPath, problem: str) -> ConfigProblem:
    """A problem at a data path: ``event 'x'`` / ``profile 'y'`` and the field inside it."""
    where, rest = "", path
    data = source.data if isinstance(source.data, dict) else {}
    if path[:1] == ("events",) and len(path) > 1 and isinstance(data.get("events"), list):
        raw = data["events"][path[1]] if isinstance(path[1], int) and path[1] < len(data["events"]) else None
        name = raw.get("id") if isinstance(raw, dict) else None
        where = f"event {name!r}" if isinstance(name, str) and name else f"event #{path[1] + 1}"
        rest = path[2:]
    elif path[:1] == ("profiles",) and len(path) > 1:
        where, rest = f"profile {path[1]!r}", path[2:]
    return ConfigProblem(label, source.line(path), where, field_name(rest), problem)

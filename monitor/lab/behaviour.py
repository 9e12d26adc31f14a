"""ScenarioWorld: the lab's :class:`~monitor.lab.world.World`, computed from a :class:`Scenario`.

Pure and deterministic: no I/O, no clock. Two layers decide every plan:

1. **Scripted events** (the scenario's ``events``), expanded onto the local days of the
   bulletin week the world is built for, take precedence. Within its window the first
   active event (file order) that concerns the layer decides: ``outage_refused`` resets
   connections (and requests), ``cert_*`` pick the certificate, ``gateway_502/504``,
   ``slow`` and ``wrong_content`` shape responses (for ``share`` of the requests; the rest
   fall through to the load model) and ``dns_failure`` fails the name.
2. **The load model**, per platform profile. Load (0..1) follows the local calendar:
   ``peak`` inside the peak windows of working days, ramping linearly over
   :data:`RAMP` (30 min) before each window opens and after it closes; ``offpeak`` in
   the working day (06:00–22:00, ramped the same way); ``night`` outside it; ``weekend``
   all day on Saturdays, Sundays and Vietnamese public holidays. At load ``L``:

   - processing delay = lognormal(median, p95) × (1 + latency_factor × L²), and the
     transfer time is stretched by the same factor;
   - while ``L`` >= :data:`CONGESTION_LOAD` (0.6) the platform is *congested*: each such
     contiguous stretch of a local day is one truth event of kind ``congestion``, id
     ``load-<platform>-<YYYY-MM-DD>-<am|pm>`` (by its start; ``-2``… if a half-day has
     several). Only there do requests fail, with shares ``busy_503``, ``timeout`` (hang)
     and ``reset`` scaled by (L − 0.6) / (1 − 0.6): zero as congestion begins, the
     configured shares at load 1.0.

Every plan shaped by an event, fault or merely slowed by congestion, names it in
``event``; ``events()`` returns every one of them. Random decisions come from a
``random.Random`` seeded with a stable hash of (seed, layer, platform, at, path, n), where
n counts earlier calls with the same key, so the same calls give the same plans in every run.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config.yamlsource import field_name
from monitor.lab.scenario import (
    WEEKDAYS,
    DnsFailureEvent,
    Event,
    Gateway502Event,
    Gateway504Event,
    OutageRefusedEvent,
    Profile,
    Scenario,
    SlowEvent,
    WrongContentEvent,
    problems,
)
from monitor.lab.world import Certificate, ConnectionPlan, DnsPlan, ResponsePlan, TruthEvent
from monitor.localtime import VIETNAM, local
from monitor.workcalendar import is_working_day

CONGESTION_LOAD = 0.6  # load from which a platform is congested (a truth event) and may fail requests
RAMP = 1800.0  # seconds over which load moves between levels
DAYTIME = (6 * 3600, 22 * 3600)  # working-day hours outside which load is `night`
_DAY = 86400
_Z95 = 1.6448536269514722  # standard normal 95th percentile

BUSY_PAGE = (
    '<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"><title>Hệ thống đang quá tải</title></head>\n'
    "<body><h1>Máy chủ đang bận, vui lòng thử lại sau</h1>\n"
    "<p>Hệ thống đang phục vụ số lượng truy cập lớn. Đề nghị đồng chí truy cập lại sau ít phút.</p>\n"
    "</body></html>\n"
).encode()
_GATEWAY_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}
_CONNECTION_KINDS = ("outage_refused", "cert_expired", "cert_wrong_host")
_RESPONSE_KINDS = ("outage_refused", "gateway_502", "gateway_504", "slow", "wrong_content")


def gateway_page(status: int) -> bytes:
    """The page a reverse proxy (nginx) sends when the application behind it fails."""
    title = f"{status} {_GATEWAY_REASONS.get(status, 'Error')}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def error_page(message: str) -> bytes:
    """A 200 page in which the application reports its own failure."""
    return (f'<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"><title>Thông báo lỗi</title></head>\n'
            f"<body><h1>{message}</h1>\n<p>Đề nghị đồng chí thử lại hoặc liên hệ quản trị hệ thống.</p>\n"
            "</body></html>\n").encode()


@dataclass(frozen=True)
class _Scripted:
    truth: TruthEvent
    event: Event


@dataclass(frozen=True)
class _DayLoad:
    """One platform's load over one local day: piecewise linear through knots, and its congested stretches."""

    midnight: float
    xs: tuple[float, ...]  # seconds after midnight
    ys: tuple[float, ...]
    windows: tuple[TruthEvent, ...]


class ScenarioWorld:
    """The World of a scenario over one bulletin week [week_start, week_end) for these platforms."""

    def __init__(self, scenario: Scenario, week_start: float, week_end: float, platforms: Iterable[str],
                 seed: int | None = None):
        self.scenario = scenario
        self.platforms = tuple(platforms)
        self.week_start, self.week_end = week_start, week_end
        self.seed = scenario.seed if seed is None else seed
        bad = problems(scenario, self.platforms)
        if bad:
            raise ValueError("; ".join(f"{field_name(path)}: {message}" for path, message in bad))
        if week_end <= week_start:
            raise ValueError("week_end must be after week_start")
        self._peak = scenario.peak_hours.seconds()
        self._lock = threading.Lock()
        self._calls: dict[bytes, int] = {}
        self._loads: dict[tuple[str, dt.date], _DayLoad] = {}
        self._scripted = self._expand()

    # -- the World protocol ---------------------------------------------------------------

    def connection(self, platform: str, at: float) -> ConnectionPlan:
        """Refused during an outage, a bad certificate during a cert event, else served."""
        active = self._active(platform, at, _CONNECTION_KINDS)
        if active is None:
            return ConnectionPlan()
        event_id = active.truth.id
        if active.truth.kind == "outage_refused":
            return ConnectionPlan(action="reset", event=event_id)
        certificate: Certificate = "expired" if active.truth.kind == "cert_expired" else "wrong_host"
        return ConnectionPlan(certificate=certificate, event=event_id)

    def response(self, platform: str, at: float, path: str) -> ResponsePlan:
        """The scripted event's answer if one applies, else the load model's."""
        profile = self.scenario.profile(platform)
        rng = self._rng("response", platform, at, path)
        delay = _processing(profile, rng)
        transfer = profile.transfer_time()
        active = self._active(platform, at, _RESPONSE_KINDS)
        if active is not None:
            share = getattr(active.event.params, "share", 1.0)
            if share >= 1 or rng.random() < share:
                return _scripted_response(active, delay, transfer)
        load = self.load(platform, at)
        under = profile.under_load
        stretch = 1 + under.latency_factor * load * load
        window = self._window_at(platform, at)
        if window is None:
            return ResponsePlan(delay=delay * stretch, transfer=transfer * stretch)
        scale = _fault_scale(load)
        draw = rng.random()
        if draw < under.busy_503 * scale:
            return ResponsePlan(delay=delay, status=503, body=BUSY_PAGE, event=window.id)
        if draw < (under.busy_503 + under.timeout) * scale:
            return ResponsePlan(action="hang", event=window.id)
        if draw < (under.busy_503 + under.timeout + under.reset) * scale:
            return ResponsePlan(action="reset", event=window.id)
        return ResponsePlan(delay=delay * stretch, transfer=transfer * stretch, event=window.id)

    def dns(self, platform: str, at: float) -> DnsPlan:
        """A failure during a dns_failure event, else an answer."""
        active = self._active(platform, at, ("dns_failure",))
        if active is None or not isinstance(active.event, DnsFailureEvent):  # the latter: never, by its kind
            return DnsPlan()
        return DnsPlan(action=active.event.params.failure, event=active.truth.id)

    def events(self, start: float, end: float) -> list[TruthEvent]:
        """Scripted and congestion events overlapping [start, end), by start time then id."""
        if end <= start:
            return []
        found = [s.truth for s in self._scripted if s.truth.start < end and s.truth.end > start]
        day, last = local(start).date(), local(end).date()
        while day <= last:
            for platform in self.platforms:
                found.extend(w for w in self._day_load(platform, day).windows if w.start < end and w.end > start)
            day += dt.timedelta(days=1)
        return sorted(found, key=lambda e: (e.start, e.id))

    # -- the load model --------------------------------------------------------------------

    def load(self, platform: str, at: float) -> float:
        """The platform's load (0..1) at ``at``."""
        day = local(at).date()
        model = self._day_load(platform, day)
        x = at - model.midnight
        i = bisect.bisect_right(model.xs, x)
        if i <= 0:
            return model.ys[0]
        if i >= len(model.xs):
            return model.ys[-1]
        x0, x1, y0, y1 = model.xs[i - 1], model.xs[i], model.ys[i - 1], model.ys[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def _window_at(self, platform: str, at: float) -> TruthEvent | None:
        windows = self._day_load(platform, local(at).date()).windows
        return next((w for w in windows if w.start <= at < w.end), None)

    def _day_load(self, platform: str, day: dt.date) -> _DayLoad:
        key = (platform, day)
        cached = self._loads.get(key)
        if cached is None:
            cached = self._loads[key] = self._compute_day(platform, day)  # races only recompute the same value
        return cached

    def _compute_day(self, platform: str, day: dt.date) -> _DayLoad:
        profile = self.scenario.profile(platform)
        levels = profile.load
        midnight = _midnight(day)
        if not is_working_day(day):
            xs: tuple[float, ...] = (0.0, float(_DAY))
            ys: tuple[float, ...] = (levels.weekend, levels.weekend)
        else:
            peaks = levels.peak if isinstance(levels.peak, tuple) else (levels.peak,) * len(self._peak)
            edges = {0.0, float(_DAY)}
            for start, end in (DAYTIME, *self._peak):
                edges.update((start - RAMP, float(start), float(end), end + RAMP))
            xs = tuple(sorted(x for x in edges if 0 <= x <= _DAY))
            ys = tuple(_level(x, levels.night, levels.offpeak, self._peak, peaks) for x in xs)
        return _DayLoad(midnight, xs, ys, self._congestion(platform, day, midnight, xs, ys, profile))

    def _congestion(self, platform: str, day: dt.date, midnight: float, xs: tuple[float, ...],
                    ys: tuple[float, ...], profile: Profile) -> tuple[TruthEvent, ...]:
        stretches: list[tuple[float, float, float]] = []  # start, end, peak load (seconds after midnight)
        begin = 0.0 if ys[0] >= CONGESTION_LOAD else None
        top = ys[0]
        for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:], strict=False):  # segments: one fewer than knots
            if begin is None and y1 >= CONGESTION_LOAD:  # crosses up inside this segment (y0 < threshold)
                begin, top = x0 + (CONGESTION_LOAD - y0) / (y1 - y0) * (x1 - x0), y1
            elif begin is not None and y1 < CONGESTION_LOAD:  # crosses down (y0 >= threshold)
                stretches.append((begin, x0 + (y0 - CONGESTION_LOAD) / (y0 - y1) * (x1 - x0), top))
                begin = None
            elif begin is not None:
                top = max(top, y1)
        if begin is not None:
            stretches.append((begin, xs[-1], top))
        under = profile.under_load
        windows: list[TruthEvent] = []
        for start, end, peak in stretches:
            base = f"load-{platform}-{day.isoformat()}-{'am' if start < 12 * 3600 else 'pm'}"
            taken = sum(1 for w in windows if w.id == base or w.id.startswith(base + "-"))
            scale = _fault_scale(peak)
            params = {"peak_load": round(peak, 4), "latency_multiplier": round(1 + under.latency_factor * peak**2, 4),
                      "busy_503": round(under.busy_503 * scale, 4), "timeout": round(under.timeout * scale, 4),
                      "reset": round(under.reset * scale, 4)}
            windows.append(TruthEvent(base if not taken else f"{base}-{taken + 1}", platform, "congestion",
                                      midnight + round(start), midnight + round(end), params))
        return tuple(windows)

    # -- scripted events and randomness -------------------------------------------------------

    def _expand(self) -> list[_Scripted]:
        days = []
        day = local(self.week_start).date()
        while _midnight(day) < self.week_end:
            days.append(day)
            day += dt.timedelta(days=1)
        expanded: list[_Scripted] = []
        for event in self.scenario.events:
            if event.days is not None:
                dates = [d for d in days if WEEKDAYS[d.weekday()] in event.days]
            elif isinstance(event.day, int):
                if event.day >= len(days):
                    raise ValueError(f"event {event.id!r}: day index {event.day} is outside the week")
                dates = [days[event.day]]
            else:
                if event.day not in days:
                    raise ValueError(f"event {event.id!r}: {event.day} is outside the week "
                                     f"{days[0].strftime('%d/%m/%Y')} – {days[-1].strftime('%d/%m/%Y')}")
                dates = [event.day]
            recurring = event.days is not None and len(event.days) > 1
            for date in dates:
                midnight = _midnight(date)
                truth = TruthEvent(f"{event.id}-{date.isoformat()}" if recurring else event.id, event.platform,
                                   event.kind, midnight + event.start, midnight + event.end, event.params.model_dump())
                expanded.append(_Scripted(truth, event))
        return expanded

    def _active(self, platform: str, at: float, kinds: tuple[str, ...]) -> _Scripted | None:
        return next((s for s in self._scripted if s.truth.platform == platform and s.truth.kind in kinds
                     and s.truth.start <= at < s.truth.end), None)

    def _rng(self, layer: str, platform: str, at: float, path: str) -> random.Random:
        key = hashlib.blake2b(f"{self.seed}\x1f{layer}\x1f{platform}\x1f{float(at):.3f}\x1f{path}".encode(),
                              digest_size=16).digest()
        with self._lock:
            count = self._calls.get(key, 0)
            self._calls[key] = count + 1
        seed = hashlib.blake2b(key + count.to_bytes(8, "big"), digest_size=8).digest()
        return random.Random(int.from_bytes(seed, "big"))


def _midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), VIETNAM).timestamp()


def _weight(x: float, start: float, end: float) -> float:
    """1 inside [start, end], falling linearly to 0 over RAMP on either side."""
    distance = start - x if x < start else max(0.0, x - end)
    return max(0.0, 1 - distance / RAMP)


def _level(x: float, night: float, offpeak: float, windows: tuple[tuple[int, int], ...],
           peaks: tuple[float, ...]) -> float:
    """The load at ``x`` seconds after midnight on a working day (evaluated at the knots only)."""
    base = night + (offpeak - night) * _weight(x, *DAYTIME)
    best = (0.0, base)  # (weight, level) of the nearest peak window; ties: the higher level
    for (start, end), peak in zip(windows, peaks, strict=True):
        weight = _weight(x, start, end)
        if weight > 0:
            best = max(best, (weight, base + (peak - base) * weight))
    return best[1]


def _fault_scale(load: float) -> float:
    return min(1.0, max(0.0, (load - CONGESTION_LOAD) / (1 - CONGESTION_LOAD)))


def _processing(profile: Profile, rng: random.Random) -> float:
    median, p95 = profile.delay.median, profile.delay.p95
    return rng.lognormvariate(math.log(median), math.log(p95 / median) / _Z95)


def _scripted_response(active: _Scripted, delay: float, transfer: float) -> ResponsePlan:
    event, event_id = active.event, active.truth.id
    if isinstance(event, OutageRefusedEvent):
        return ResponsePlan(action="reset", event=event_id)
    if isinstance(event, (Gateway502Event, Gateway504Event)):
        status = int(event.kind[-3:])
        return ResponsePlan(delay=event.params.delay, status=status, body=gateway_page(status), event=event_id)
    if isinstance(event, SlowEvent):
        return ResponsePlan(delay=delay + event.params.delay, transfer=transfer, event=event_id)
    if isinstance(event, WrongContentEvent):
        return ResponsePlan(delay=delay, body=error_page(event.params.message), event=event_id)
    raise ValueError(f"{event.kind} shapes no response")  # never: _RESPONSE_KINDS are the kinds above

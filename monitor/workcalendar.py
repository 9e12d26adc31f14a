"""The Vietnamese working calendar: working days, peak hours and bulletin weeks.

All local times are Asia/Ho_Chi_Minh (UTC+7, no daylight saving time). Public
holidays come from the ``holidays`` package (``country_holidays("VN")``); a
holiday counts as a day off like a weekend. Used by the platform lab's load
model, complaint classification and the weekly report.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import holidays

from monitor.localtime import VIETNAM, local

_CLOCK = re.compile(r"(\d{2}):(\d{2})")
_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    """Vietnamese public holidays of one year (computed once per year)."""
    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a Vietnamese public holiday."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def clock_seconds(text: str) -> int:
    """``"07:30"`` -> 27000 seconds after local midnight; ``"24:00"`` is the end of the day.

    Raises ``ValueError`` for anything but a zero-padded ``HH:MM`` from 00:00 to 24:00.
    """
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid time {text!r} (use HH:MM, e.g. 07:30)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"invalid time {text!r} (from 00:00 to 24:00)")
    return hours * 3600 + minutes * 60


@dataclass(frozen=True)
class PeakHours:
    """Peak-hour windows (giờ cao điểm) as local ``("HH:MM", "HH:MM")`` pairs, start included, end excluded.

    They apply on working days only. The default is the office day's two rushes,
    07:30–11:00 and 13:30–16:30.
    """

    windows: tuple[tuple[str, str], ...] = (("07:30", "11:00"), ("13:30", "16:30"))

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("peak hours need at least one window")
        for start, end in self.windows:
            if clock_seconds(end) <= clock_seconds(start):
                raise ValueError(f"peak window {start}-{end}: the end must come after the start")

    @classmethod
    def parse(cls, items: list[str] | tuple[str, ...]) -> PeakHours:
        """``["07:30-11:00", "13:30-16:30"]`` -> PeakHours; raises ``ValueError`` with the bad item."""
        windows = []
        for item in items:
            start, dash, end = item.partition("-") if isinstance(item, str) else ("", "", "")
            if not dash:
                raise ValueError(f"invalid peak window {item!r} (use HH:MM-HH:MM, e.g. 07:30-11:00)")
            windows.append((start.strip(), end.strip()))
        return cls(tuple(windows))

    def seconds(self) -> tuple[tuple[int, int], ...]:
        """The windows as (start, end) seconds after local midnight."""
        return tuple((clock_seconds(start), clock_seconds(end)) for start, end in self.windows)


DEFAULT_PEAK = PeakHours()


def is_peak(unix_time: float, peak: PeakHours = DEFAULT_PEAK) -> bool:
    """True when ``unix_time`` falls on a working day inside one of the peak windows (local time)."""
    moment = local(unix_time)
    if not is_working_day(moment.date()):
        return False
    second = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    return any(start <= second < end for start, end in peak.seconds())


def bulletin_week(week: str, week_start: int = 4) -> tuple[float, float]:
    """[start, end) unix times of the bulletin week for ISO week ``"2026-W23"``.

    The bulletin week starts at local midnight on weekday ``week_start`` (0 = Monday …
    4 = Friday, the bulletin's "TUẦN TỪ 29/5/2026 - 04/6/2026") and is the one that
    contains that ISO week's Monday: 2026-W23 -> Fri 29/05/2026 00:00 to Fri 05/06/2026
    00:00. Raises ``ValueError`` for a malformed or non-existent week or a bad ``week_start``.
    """
    if isinstance(week_start, bool) or not isinstance(week_start, int) or not 0 <= week_start <= 6:
        raise ValueError(f"invalid week start {week_start!r} (0 = Monday … 6 = Sunday)")
    match = _ISO_WEEK.fullmatch(week.strip()) if isinstance(week, str) else None
    if match is None:
        raise ValueError(f"invalid ISO week {week!r} (use YYYY-Www, e.g. 2026-W23)")
    try:
        monday = dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValueError(f"invalid ISO week {week!r}: year {match.group(1)} has no week {match.group(2)}") from None
    first = monday - dt.timedelta(days=(monday.weekday() - week_start) % 7)
    start = dt.datetime.combine(first, dt.time(), VIETNAM)
    return start.timestamp(), (start + dt.timedelta(days=7)).timestamp()


def is_bulletin_week(start: float, end: float, week_start: int = 4) -> bool:
    """True when [start, end) is exactly one bulletin week (see :func:`bulletin_week`)."""
    first = local(start).date()
    monday = first + dt.timedelta(days=(0 - first.weekday()) % 7)
    year, number, _ = monday.isocalendar()
    try:
        return bulletin_week(f"{year}-W{number:02d}", week_start) == (start, end)
    except ValueError:
        return False

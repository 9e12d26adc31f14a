"""What the measurements of one platform cover: a pure function of the minutes that hold a result.

The report's single pass marks, per platform, every local minute of the period in which at least
one reliable result started (a ``bytearray``, one byte a minute). From that alone:

- the **measured span**: the first and the last such minute;
- the platform's **interval**: the median spacing between consecutive marked minutes (minute
  resolution: a 30 s check and a 1 min check both give 1 minute);
- **gaps**: a result vouches for one interval after it; results spaced more than ``GAP_INTERVALS``
  intervals and more than ``MIN_GAP`` apart leave a gap from one interval after the first to the
  next (a missed probe or a restart is no gap); the stretches before the first and after the last
  result count the same way when they are that long;
- the **covered share** of the period, and of each local day: what is not in such a stretch.

A day whose share is 0 has no data ("không có số liệu") and must never be shown as 100 % or
"ổn định"; a partial day says its share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

GAP_INTERVALS = 3  # a stretch without results longer than this many intervals …
MIN_GAP = 15 * 60  # … and longer than this many seconds is a gap in the data
NEARLY_ALL = 0.95  # "measured over the whole period" (needed to call a platform "ổn định")
_EMPTY = re.compile(rb"\x00+")


@dataclass(frozen=True)
class Coverage:
    """The span, gaps and share of the period that one platform's reliable results cover."""

    first: float | None  # start of the first minute with a result (unix); None without any result
    last: float | None  # one interval after the last minute with a result (what that result vouches for)
    gaps: tuple[tuple[float, float], ...]  # [from, to) without results inside [first, last], longer than gap_after
    share: float  # of the period covered (not before first, after last or in a gap, when those are gaps), 0..1
    daily: tuple[float, ...]  # the same share for each local day of the period
    locations: tuple[str, ...]  # that reported reliable results, sorted
    interval: float  # typical spacing of the results, seconds (minute resolution)
    gap_after: float  # seconds without a result that make a gap

    @property
    def has_data(self) -> bool:
        return self.first is not None

    @property
    def nearly_all(self) -> bool:
        """Measured over (nearly) the whole period: only then may the report call the platform stable."""
        return self.share >= NEARLY_ALL

    @property
    def span(self) -> tuple[float, float]:
        """``(first, last)``: only for coverage with data (a platform with reliable results)."""
        if self.first is None or self.last is None:
            raise ValueError("coverage without any result has no measured span")
        return self.first, self.last

    @property
    def gap_seconds(self) -> float:
        return sum(hi - lo for lo, hi in self.gaps)


def _interval_minutes(seen: bytearray, lo: int, hi: int, marked: int) -> int:
    """Median spacing in minutes between consecutive marked minutes of ``seen[lo:hi]``."""
    spacings: dict[int, int] = {}
    runs = 0
    for run in _EMPTY.finditer(seen, lo, hi):
        if run.start() > lo and run.end() < hi:  # interior runs only
            spacings[run.end() - run.start() + 1] = spacings.get(run.end() - run.start() + 1, 0) + 1
            runs += 1
    adjacent = marked - 1 - runs
    if adjacent > 0:
        spacings[1] = spacings.get(1, 0) + adjacent
    total = sum(spacings.values())
    if not total:
        return 1
    middle, count = total // 2, 0
    for spacing in sorted(spacings):
        count += spacings[spacing]
        if count > middle:
            return spacing
    return 1  # pragma: no cover - the loop always returns


def coverage(seen: bytearray, locations: Iterable[str], base: float, start: float, end: float) -> Coverage:
    """The coverage of one platform from its per-minute marks.

    ``seen[i]`` is non-zero when a reliable result started in the minute ``base + 60 * i`` (``base``
    a local midnight); the period is ``[start, end)``. Pure: no clock, no I/O.
    """
    m0 = max(0, int((start - base) // 60))
    m1 = min(len(seen), -(-int(end - base) // 60))
    ndays = -(-len(seen) // 1440)
    day_minutes = [0] * ndays  # the period's minutes in each local day
    for day in range(ndays):
        day_minutes[day] = max(0, min(m1, (day + 1) * 1440) - max(m0, day * 1440))
    marked = seen.count(1, m0, m1) if m1 > m0 else 0
    if not marked:
        return Coverage(None, None, (), 0.0, (0.0,) * ndays, tuple(sorted(locations)), 0.0, float(MIN_GAP))
    first_m = seen.index(1, m0, m1)
    last_m = seen.rindex(1, m0, m1)
    interval = _interval_minutes(seen, first_m, last_m + 1, marked)
    gap_minutes = max(GAP_INTERVALS * interval, MIN_GAP // 60)  # a spacing above this is a gap
    missing = [0] * ndays  # minutes of each day inside a gap or an uncovered edge
    gaps = []
    for run in _EMPTY.finditer(seen, m0, m1):
        lo, hi = run.start(), run.end()
        if lo > m0:  # the result just before covers one interval
            lo = min(hi, lo - 1 + interval)
        edge = lo == m0 or hi == m1
        if hi - lo <= 0 or (hi - lo) + (0 if edge else interval) <= gap_minutes:
            continue
        if not edge:
            gaps.append((base + 60 * lo, base + 60 * hi))
        for day in range(lo // 1440, (hi - 1) // 1440 + 1):
            missing[day] += min(hi, (day + 1) * 1440) - max(lo, day * 1440)
    period_minutes = sum(day_minutes)
    share = 1 - sum(missing) / period_minutes if period_minutes else 0.0
    daily = tuple(1 - gone / minutes if minutes else 0.0 for gone, minutes in zip(missing, day_minutes, strict=True))
    return Coverage(
        first=max(start, base + 60 * first_m), last=min(end, base + 60 * (last_m + interval)), gaps=tuple(gaps),
        share=share, daily=daily, locations=tuple(sorted(locations)), interval=60.0 * interval,
        gap_after=60.0 * gap_minutes)

"""The week's figures per platform and location: availability, p95 response time and the number of probes.

Pure. The input is narrow on purpose, so the figures can come from raw results today and from 15-minute rollups
later: per (platform, location), how many reliable probes there were, how many succeeded, and the totals
(seconds) of the successful HTTP probes the p95 is taken from. :class:`LocationTally` collects them, one probe
at a time (:meth:`LocationTally.add`, fed by :func:`from_results`) or a bucket at a time
(:meth:`LocationTally.add_counts`); :meth:`LocationTally.figures` gives the table. A platform measured from one
location has no table (it would repeat the platform's own figures).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.result import ProbeResult


@dataclass(frozen=True)
class LocationFigures:
    """One location's week for one platform. ``availability`` None: no reliable probe (never 100 %)."""

    location: str  # the prober's location id
    probes: int  # reliable results, every check of the platform
    successes: int
    availability: float | None  # percent
    p95: float | None  # seconds, successful HTTP probes' total; None when none succeeded
    latencies: int  # how many successful HTTP probes the p95 is from


def quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, as the report's other p95s (:mod:`monitor.report.figures`)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class LocationTally:
    """Probes, successes and successful HTTP totals per (platform, location)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}  # (platform, location) -> [probes, successes]
        self._totals: dict[tuple[str, str], list[float]] = {}

    def add(self, platform: str, location: str, success: bool, total: float | None = None) -> None:
        """One reliable probe; ``total`` is a successful HTTP probe's total time (seconds), else None."""
        self.add_counts(platform, location, 1, 1 if success else 0, () if total is None else (total,))

    def add_counts(self, platform: str, location: str, probes: int, successes: int,
                   totals: Iterable[float] = ()) -> None:
        """A bucket of reliable probes at once (e.g. a rollup): counts and its successful HTTP totals."""
        key = (platform, location)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0, 0]
            self._totals[key] = []
        counts[0] += probes
        counts[1] += successes
        self._totals[key].extend(totals)

    def figures(self, platform: str) -> tuple[LocationFigures, ...]:
        """The platform's table, by location id; empty when it was measured from fewer than two locations."""
        keys = sorted(key for key in self._counts if key[0] == platform and self._counts[key][0] > 0)
        if len(keys) < 2:
            return ()
        out = []
        for key in keys:
            probes, successes = self._counts[key]
            totals = sorted(self._totals[key])
            out.append(LocationFigures(key[1], probes, successes, 100.0 * successes / probes,
                                       quantile(totals, 0.95) if totals else None, len(totals)))
        return tuple(out)

    def platforms(self) -> set[str]:
        return {platform for platform, _ in self._counts}

    def table(self) -> dict[str, tuple[LocationFigures, ...]]:
        """:meth:`figures` of every platform measured from at least two locations."""
        out = {platform: self.figures(platform) for platform in sorted(self.platforms())}
        return {platform: rows for platform, rows in out.items() if rows}


def from_results(results: Iterable[ProbeResult], start: float, end: float) -> LocationTally:
    """The tally of the reliable results started in ``[start, end)`` (unreliable ones say nothing of the platform).

    One pass over millions of results: :meth:`LocationTally.add` inlined.
    """
    tally = LocationTally()
    counts, totals = tally._counts, tally._totals
    for r in results:
        if r.unreliable or not start <= r.started_at < end:
            continue
        key = (r.platform, r.location)
        found = counts.get(key)
        if found is None:
            found = counts[key] = [0, 0]
            totals[key] = []
        found[0] += 1
        if r.success:
            found[1] += 1
            if r.kind == "http":
                total = r.phases.get("total")
                if total is not None:
                    totals[key].append(total)
    return tally

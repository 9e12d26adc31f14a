"""Measure the prober's own event-loop lag, so its stalls are never reported as platform latency."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

from monitor.result import ProbeResult

HISTOGRAM_INTERVAL = 0.5
"""Seconds between samples where the loop's lag feeds only the histogram (a prober whose results are judged by
:mod:`monitor.ownlag`). Each sample wakes an idle loop, which costs about 0.3 ms of CPU on the benchmark's VM: at
0.1 s, 3.5 ms a second of an idle prober and a twentieth of a millisecond per probe at 50 probes/s. Two samples a
second still give the quantiles over any rate window, and see every stall of half a second or more."""


class LoopLagMonitor:
    """Wakes every ``interval`` seconds and records how late it woke.

    Stalls longer than ``threshold`` are remembered (wall-clock windows) so a
    result measured during them can be marked unreliable: when the stalls add up to more
    than ``tolerance`` of the probe's run. A stall delays each timestamp by at most its
    length, so 60 ms in a 5 s probe changes nothing a reader would notice, while 60 ms
    in a 100 ms probe is most of what was measured.
    """

    def __init__(self, threshold: float, interval: float = 0.1, observe: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 tolerance: float = 0.05):
        self.threshold = threshold
        self.tolerance = tolerance
        self.interval = interval
        self._observe = observe
        self._clock = clock
        self._wall_clock = wall_clock
        self._stalls: deque[tuple[float, float]] = deque(maxlen=1000)  # (wall time the loop woke, lag)
        self._due: float | None = None  # when the measuring sleep should end (monotonic)

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            before = self._clock()
            self._due = before + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, self._clock() - before - self.interval)
            if self._observe:
                self._observe(lag)
            if lag > self.threshold:
                end = self._wall_clock()
                self._stalls.append((end, lag))

    async def watch(self, probe: Awaitable[ProbeResult]) -> ProbeResult:
        """Await ``probe``; its result is marked unreliable, with ``details["stalled"]`` (seconds), if
        stalls took too much of the run.

        The run is timed on this monitor's own wall clock, not by the result's timestamp,
        which may be simulated (the demo and the simulated week stamp results in lab time).
        """
        began = self._wall_clock()
        result = await probe
        ended = self._wall_clock()
        stalled = self.stalled(began, ended)
        if stalled > self.tolerance * (ended - began):  # kept: what a stall cannot explain is still evidence
            # the probe may have judged its own delay already (monitor.ownlag): keep the larger of the two
            stalled = max(stalled, float(result.details.get("stalled", 0.0)))  # type: ignore[arg-type]
            result = replace(result, unreliable=True, details={**result.details, "stalled": round(stalled, 4)})
        return result

    def stalled(self, start: float, end: float) -> float:
        """Seconds of stalls above the threshold inside the wall-clock window [start, end].

        Includes a stall still in progress: the loop may run the caller before the monitor wakes.
        """
        in_progress = self._clock() - self._due if self._due is not None else 0.0
        stalled = in_progress if in_progress > self.threshold else 0.0
        for woke, lag in reversed(self._stalls):  # newest first; those that ended before ``start`` do not count
            if woke <= start:
                break
            stalled += max(0.0, min(woke, end) - max(woke - lag, start))
        return stalled

"""Measure the prober's own event-loop lag, so its stalls are never reported as platform latency."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace

from monitor.result import ProbeResult


class LoopLagMonitor:
    """Wakes every ``interval`` seconds and records how late it woke.

    Stalls longer than ``threshold`` are remembered (wall-clock windows) so a
    result measured during one can be marked unreliable.
    """

    def __init__(self, threshold: float, interval: float = 0.1, observe: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self.threshold = threshold
        self.interval = interval
        self._observe = observe
        self._clock = clock
        self._wall_clock = wall_clock
        self._stalls: deque[tuple[float, float]] = deque(maxlen=1000)  # (wall start, wall end)
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
                self._stalls.append((end - self.interval - lag, end))

    async def watch(self, probe: Awaitable[ProbeResult]) -> ProbeResult:
        """Await ``probe``; its result is marked unreliable if a stall overlapped the run.

        The run is timed on this monitor's own wall clock, not by the result's timestamp,
        which may be simulated (the demo and the simulated week stamp results in lab time).
        """
        began = self._wall_clock()
        result = await probe
        if self.stalled(began, self._wall_clock()):
            result = replace(result, unreliable=True)
        return result

    def stalled(self, start: float, end: float) -> bool:
        """Whether a stall above the threshold overlapped the wall-clock window [start, end].

        Includes a stall still in progress: the loop may run the caller before the monitor wakes.
        """
        if self._due is not None and self._clock() - self._due > self.threshold:
            return True
        return any(s <= end and e >= start for s, e in self._stalls)

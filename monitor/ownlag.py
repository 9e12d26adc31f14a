"""The prober's own delay inside a probe: how late the event loop may have read each phase's end.

A probe reads its clock when its task resumes after an await. The data it awaited may have
arrived earlier, while the loop was busy with other work (other probes, the scheduler, the
metrics server, a garbage collection, every stretch however short): that busy time is reported
as the platform's unless we know it. :class:`LoopBusy` wraps the loop's selector and keeps the
last few busy stretches (the time the loop spent *outside* ``select()``); :meth:`LoopBusy.late`
bounds how late a timestamp read now can be. :func:`material` is the rule: whether that delay is
a material share of the phase (or total) it lands in.

Why the last few stretches bound the delay: the selector reports data at the first ``select()``
after it arrived, and the awaiting task resumes ``CHAIN`` loop iterations later (the transport's
read callback sets a future, the task steps on the next iteration). The data therefore arrived
after the ``select()`` before the one that reported it, so only the busy time since then can
separate its arrival from our reading: ``CHAIN`` whole stretches and the current one, fewer when
one of those ``select()`` calls blocked (then nothing was ready when it began). Time a
``select()`` blocked is the loop waiting for the network, never ours; time inside it waiting for
a CPU after the data came (the kernel's count), for the GIL while another thread of ours ran (that
thread's CPU time), and collections on other threads (``gc.callbacks``) are ours. Not seen: the GIL
held by another thread of ours while another process keeps that thread from a CPU.

Checked against a server in another process that notes, on the shared monotonic clock, when each
answer left (plain HTTP, 100 probes/s, a busy shared machine): the bound was never below the real
delay by more than 0.5 ms, and was 0.0 / 0.6 ms above it at the median / 90th percentile; with
``CHAIN = 1`` it fell short on 392 of 1,000. With a thread hogging the GIL it fell short on 82–110
of 500 (202 before other threads' CPU time was counted): the case not seen, above.

Waiting for a concurrency slot (monitor.scheduler) happens before the probe starts its clock, so
it is not inside any phase and is not counted here. An HTTP probe's phases end by the kernel's clock where
the kernel gives it (:mod:`monitor.probes._stream`): no delay of ours is in them, and none is counted
(:meth:`monitor.probes.Observation.end`), unless the read that ended one also carried later bytes, whose time
it may then be (the kernel merges queued segments under the newest's): back to the bound above, it is ours.
Read by the loop, a handshake's own delay is also how late we read each flight we answered
(:meth:`monitor.probes.Observation.answered`), not only its end.
"""

from __future__ import annotations

import asyncio
import gc
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

FLOOR = 0.003
"""Seconds of own delay that are never material to a phase. The stretch that reads a phase's end holds the
probe's own work on what arrived, which every prober has inside its phases: above all a TLS handshake's
certificate check and key exchange, 1.2–1.3 ms at the median with probes close together, and 2.0–2.2 ms when
they are spaced out (10 probes/s: a cold CPU). With a 2 ms floor the benchmark of 26/11/2026 flagged 5–27 % of
the results at 10/s, almost all by their TLS phase. A reliable phase holds at most this much of the prober's
delay, under the 5 ms the benchmark allows with 2 ms for what it cannot see."""

TOTAL_FLOOR = 0.004
"""Seconds of own delay that are never material to a probe's total. The total's own delay is the sum of its
phases' (each late reading postpones what follows), so it holds every phase's own work: the handshake's, and
0.1–0.9 ms at each of the other phase ends, 2.9–4.3 ms in all on quiet probes at 10/s. Judged by the phases'
floor, totals were flagged for the work every probe does."""

SHARE = 0.05
"""The share of a measured phase the prober's own delay may take before the phase is not the platform's: a
100 ms answer is flagged from 5 ms of own delay, a 2 s one from 100 ms; under 60 ms the floor decides."""

CHAIN = 2
"""Loop iterations from the ``select()`` reporting a probe's data to the probe's task reading its clock
(asyncio streams, plain or TLS: the transport's read callback, then the task's step)."""


HIDDEN_MIN = 0.0002
"""A ``select()`` that may block and lasts longer than this (s) either blocked (nothing was ready when it began)
or was kept from running once its data came: by another process on its CPU (the kernel counts that wait,
``/proc/thread-self/schedstat``) or by another thread of ours holding the GIL (at most that thread's CPU time
meanwhile). Both are read around such calls only (5 µs); what remains is blocking."""


def material(measured: float, own: float, floor: float = FLOOR, share: float = SHARE) -> bool:
    """Whether ``own`` seconds of the prober's delay are a material share of a ``measured`` phase."""
    return own > max(floor, share * measured)


def unreliable_phases(phases: Mapping[str, float], own: Mapping[str, float]) -> list[str]:
    """The phases (including ``total``, judged from :data:`TOTAL_FLOOR`) whose reported time is not the platform's,
    by :func:`material`."""
    return [name for name, seconds in own.items()
            if name in phases and material(phases[name], seconds, TOTAL_FLOOR if name == "total" else FLOOR)]


class LoopBusy:
    """Records the busy stretches of one event loop, by wrapping its selector's ``select``.

    Costs two clock readings and one append per loop iteration (0.4 µs), and 12 µs more around
    a ``select()`` that may block (3.5 per probe at 50 probes/s, 0.3 at 200/s). ``late(since)``
    (1 µs) is what :class:`monitor.probes.Observation` asks at each phase's end.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter, chain: int = CHAIN, gc_pauses: int = 64):
        self._clock = clock
        self.chain = chain
        # (entered select, left select, seconds inside it spent waiting for a CPU) of the last chain + 1
        # iterations, oldest first
        self._selects: deque[tuple[float, float, float]] = deque([(-1e18, -1e18, 0.0)] * (chain + 1),
                                                                 maxlen=chain + 1)
        self._gc: deque[tuple[float, float]] = deque(maxlen=gc_pauses)  # (start, end) of collections off the loop
        self._gc_started: float | None = None
        self._loop_thread: int | None = None
        self._selector: Any = None
        self.iterations = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> LoopBusy:
        """Start recording ``loop`` (a selector event loop, as asyncio's default on Linux); returns self."""
        selector = getattr(loop, "_selector", None)
        if not isinstance(selector, selectors.BaseSelector):
            raise TypeError(f"{type(loop).__name__} has no selector to time")
        inner = selector.select
        clock, selects, thread_stats, process_cpu = self._clock, self._selects, _thread_stats(), time.process_time

        def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            if timeout == 0:  # a poll cannot block: all its time is ours (waiting for the GIL, for a CPU)
                entered = clock()
                events = inner(timeout)
                left = clock()
                selects.append((entered, left, left - entered))
                return events
            ran, waited = thread_stats()
            all_ran = process_cpu()
            entered = clock()
            events = inner(timeout)
            left = clock()
            hidden = 0.0
            if left - entered > HIDDEN_MIN:  # blocked, or kept from running once its data came: ask the kernel
                ran_after, waited_after = thread_stats()
                others = process_cpu() - all_ran - (ran_after - ran)  # other threads' CPU: each may hold the GIL
                hidden = min(left - entered, waited_after - waited + max(0.0, others))
            selects.append((entered, left, hidden))
            return events

        selector.select = select  # type: ignore[method-assign]
        self._selector = selector
        self._loop_thread = threading.get_ident()
        gc.callbacks.append(self._on_gc)
        return self

    def uninstall(self) -> None:
        """Stop recording (the loop's selector gets its own ``select`` back)."""
        if self._selector is not None:
            del self._selector.select
            self._selector = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def late(self, since: float) -> float:
        """Seconds by which a timestamp read now may be late, counting only the loop's busy time after ``since``.

        ``since`` is a reading of the same clock: the phase's start (its data cannot have arrived earlier).
        """
        now = self._clock()
        busy, after, first = 0.0, now, since
        for index, (entered, left, hidden) in enumerate(reversed(self._selects)):  # newest first
            busy += max(0.0, after - max(left, since))  # the stretch from this select to the next (or now)
            first = max(left, since)
            if index == self.chain or left <= since:
                break
            busy += hidden
            if left - entered - hidden > HIDDEN_MIN:
                first = max(entered, since)  # a collection on another thread may have held up its waking
                break  # it blocked: nothing was ready when it began, so the data came after
            after = entered
        for start, end in reversed(self._gc):
            if end <= first:
                break
            busy += max(0.0, min(end, now) - max(start, first))
        return busy

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() == self._loop_thread:
            return  # inside one of the loop's busy stretches already
        if phase == "start":
            self._gc_started = self._clock()
        elif self._gc_started is not None:
            self._gc.append((self._gc_started, self._clock()))
            self._gc_started = None


def _thread_stats() -> Callable[[], tuple[float, float]]:
    """A function giving this thread's seconds on a CPU and seconds runnable but waiting for one (0s if unknown)."""
    try:
        fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        return lambda: (0.0, 0.0)

    def stats() -> tuple[float, float]:
        ran, waited, _ = os.pread(fd, 64, 0).split()
        return int(ran) / 1e9, int(waited) / 1e9

    return stats

"""Waiting for what a test needs to have happened, never for a guessed length of time.

A loaded 2-core CI machine makes any fixed sleep either too short (the test flakes) or too long
(every run pays for the worst case). These poll the condition itself and return as soon as it
holds; the deadline only bounds a failure, with a message saying what never happened.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, what: str = "the condition",
               poll: float = 0.01) -> T:
    """``condition()``'s first truthy value; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(poll)


async def until(condition: Callable[[], T], timeout: float = 10.0, what: str = "the condition",
                poll: float = 0.01) -> T:
    """:func:`wait_until` for a coroutine: the event loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(poll)


class ManualClock:
    """A clock that moves only when told (``advance``), for code that takes its clock injected.

    A server thread may advance it while the code under test reads it: what the code then
    measures is exactly what the server said it took, whatever the machine's load.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

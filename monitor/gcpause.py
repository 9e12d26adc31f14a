"""Pausing the cyclic garbage collector while building many objects that hold no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_collection() -> Iterator[None]:
    """The collector paused for the block, and restored as it was after it.

    Millions of new results or rollups would otherwise trigger a collection every few hundred
    allocations, each one scanning every object built so far: most of the time of a read.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

"""A central store that may be down when the prober starts: opened on first use, and again after a failed open.

``monitor run`` on a fleet must start, probe and spool while the central PostgreSQL is unreachable
(monitor/store/spool.py). :class:`LazyStore` stands for the central store from the start: every call opens it
if it is not open yet, and raises :class:`~monitor.errors.StoreError` while it cannot be opened, which every
caller of a store already handles (the forwarder retries, the hourly evidence save and the status page log and
try again next time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from monitor.errors import StoreError
from monitor.result import ProbeResult
from monitor.store.interface import Store

log = logging.getLogger(__name__)


class LazyStore:
    """A :class:`Store` opened by ``opener`` on first use; ``name`` (without secrets) is what logs call it."""

    def __init__(self, opener: Callable[[], Store], name: str):
        self._opener = opener
        self._name = name
        self._store: Store | None = None
        self._lock = threading.Lock()  # one open at a time; calls on an open store do not take it
        self._closed = False
        self._unreachable = False  # logged once per episode

    def open(self) -> Store:
        """The open store, opening it now if needed; raises :class:`StoreError` while it cannot be opened."""
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._closed:
                raise StoreError(f"central store {self._name} is closed")
            if self._store is None:
                try:
                    self._store = self._opener()
                except StoreError as exc:
                    if not self._unreachable:
                        log.warning("central store %s cannot be opened (%s); trying again at its next use",
                                    self._name, exc)
                    self._unreachable = True
                    raise
                if self._unreachable:
                    log.warning("central store %s opened", self._name)
                self._unreachable = False
            return self._store

    def close(self) -> None:
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            store.close()

    # --- the Store protocol, on the opened store ---------------------------------------------

    def add_results(self, results: Sequence[ProbeResult]) -> list[ProbeResult]:
        """Store ``results`` in the central store (see :meth:`Store.add_results`)."""
        return self.open().add_results(results)

    def __getattr__(self, name: str) -> Any:
        """Every other :class:`Store` method, on the opened store (so this class follows the protocol as it grows)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.open(), name)

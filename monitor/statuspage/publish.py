"""``monitor status-page``: the page from the store at ``settings.store``, written as files or served.

The use-cases behind the command (which only parses and prints): the store is opened read-only, so this works on
a copy, a read-only mount, or beside the daemon that writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from monitor.config import Catalog, Settings
from monitor.statuspage.api import render_json
from monitor.statuspage.app import StatusPage, rendering
from monitor.statuspage.model import Summary
from monitor.statuspage.render import render_html
from monitor.statuspage.source import StatusSource
from monitor.store import Store, open_store, store_exists
from monitor.store.location import describe
from monitor.workcalendar import PeakHours


def source_for(store: Store, settings: Settings, catalog: Catalog) -> StatusSource:
    page = settings.status_page
    return StatusSource(store, catalog, settings.incidents, PeakHours.parse(settings.peak_hours), days=page.days,
                        incident_days=page.incident_days, location_names=settings.location_names)


def open_read_only(settings: Settings) -> Store:
    """The store at ``settings.store``, read-only; ``FileNotFoundError`` saying what to run when there is none."""
    if not store_exists(settings.store):
        raise FileNotFoundError(f"no history at {describe(settings.store)}: run `monitor run` or `monitor simulate` "
                                "first")
    return open_store(settings.store, read_only=True)


def summary_now(settings: Settings, catalog: Catalog, now: float | None = None) -> Summary:
    store = open_read_only(settings)
    try:
        return source_for(store, settings, catalog).summary(time.time() if now is None else now)
    finally:
        store.close()


def write_files(summary: Summary, out: Path) -> list[Path]:
    """``out/index.html`` and ``out/api/v1/summary`` (the JSON), laid out like the served URLs."""
    html, data = out / "index.html", out / "api" / "v1" / "summary"
    data.parent.mkdir(parents=True, exist_ok=True)
    html.write_bytes(render_html(summary))  # public by design: no personal data (README "Status page")
    data.write_bytes(render_json(summary))
    return [html, data]


def served_page(settings: Settings, catalog: Catalog, clock: Callable[[], float] = time.time
                ) -> tuple[StatusPage, Store]:
    """A cached page over the store, read-only, for ``--serve``; the caller closes the store."""
    store = open_read_only(settings)
    source = source_for(store, settings, catalog)
    return StatusPage(rendering(source.summary), settings.status_page.refresh, clock), store

"""The public status page (``/status``, ``monitor status-page``): is it the platform, or is it us?

``state.py`` decides (pure: tallies, daily bars, peak-hour latency, each platform's state from the incident
detection), ``source.py`` reads a :class:`~monitor.store.Store` for it, ``render.py`` (HTML) and ``api.py`` (JSON)
write it, ``app.py`` caches it and serves it, ``aside.py`` computes it in a process of its own for ``monitor
run``. ``model.py`` holds the data; ``wording.py`` the Vietnamese words.
"""

from monitor.statuspage.app import StatusPage, serve, status_app
from monitor.statuspage.source import StatusSource

__all__ = ["StatusPage", "StatusSource", "serve", "status_app"]

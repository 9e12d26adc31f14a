"""Serving the status page: a cache recomputed at most every ``refresh`` seconds, off the request path, and a WSGI
application for ``/status`` (HTML) and ``/status/api/v1/summary`` (JSON).

A request never waits for a recomputation unless nothing has been computed yet: when the copy is older than
``refresh``, one background thread recomputes while requests keep getting the previous copy (rendered and
gzipped once per recomputation). The page is read-only: GET and HEAD only.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from monitor.errors import StoreError
from monitor.httpserve import gzip_accepted, serve_app
from monitor.statuspage.api import render_json
from monitor.statuspage.model import Summary
from monitor.statuspage.render import CSP, render_html

log = logging.getLogger(__name__)
PREFIX = "/status"
API_PATH = "/api/v1/summary"
FIRST_WAIT = 60.0  # seconds a request waits for the very first computation


@dataclass(frozen=True)
class Rendered:
    """One computation, ready to send."""

    html: bytes
    html_gzip: bytes
    json: bytes
    json_gzip: bytes
    etag: str


def render(summary: Summary) -> Rendered:
    html, data = render_html(summary), render_json(summary)
    etag = '"' + hashlib.sha256(html + data).hexdigest()[:20] + '"'
    return Rendered(html, gzip.compress(html, 6), data, gzip.compress(data, 6), etag)


def rendering(compute: Callable[[float], Summary]) -> Callable[[float], Rendered]:
    """``compute`` followed by :func:`render`: what :class:`StatusPage` calls."""
    return lambda now: render(compute(now))


class StatusPage:
    """The cached page: ``produce(now)`` gives a :class:`Rendered` copy, called at most once per ``refresh`` seconds
    (:func:`rendering` in this process, or :class:`monitor.statuspage.aside.PageProcess` in another).

    One worker thread, started at the first request, does every computation (a store gives each thread its own
    connection, so a thread per refresh would leave connections behind).
    """

    def __init__(self, produce: Callable[[float], Rendered], refresh: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._produce = produce
        self.refresh = refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._ready = threading.Event()
        self._current: Rendered | None = None
        self._worker: threading.Thread | None = None
        self._tried = -float("inf")  # monotonic time a computation was last asked for (it may have failed)
        self.computations = 0
        self._store_away = False  # the last computation failed with a StoreError (logged once until it answers)

    @property
    def ready(self) -> bool:
        """Whether a copy is there to serve: :meth:`current` then never waits."""
        return self._current is not None

    def current(self) -> Rendered | None:
        """The latest copy (asking for a recomputation when it is stale); the first call waits for one."""
        with self._lock:
            current = self._current
            if time.monotonic() - self._tried >= self.refresh:  # at most one attempt per refresh, failed or not
                self._tried = time.monotonic()
                self._wanted.set()
                if self._worker is None:
                    self._worker = threading.Thread(target=self._work, name="status-page", daemon=True)
                    self._worker.start()
        if current is None:
            self._ready.wait(FIRST_WAIT)
            current = self._current
        return current

    def _work(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                rendered = self._produce(self._clock())
            except StoreError as exc:  # the store is away (a central database down): one line when it goes
                if not self._store_away:
                    log.warning("status page not recomputed, the last copy is served until the store answers: %s",
                                exc)
                self._store_away = True
            except Exception:  # a broken store must not break the process; the old copy is served meanwhile
                log.exception("status page not recomputed")
            else:
                if self._store_away:
                    log.info("status page recomputed: the store answers again")
                self._store_away = False
                with self._lock:
                    self._current = rendered
                    self.computations += 1
            finally:
                self._ready.set()


SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("X-Frame-Options", "DENY")]


def status_app(page: StatusPage, prefix: str = PREFIX) -> WSGIApplication:
    """``{prefix}`` and ``{prefix}/`` serve the HTML, ``{prefix}/api/v1/summary`` the JSON; anything else is 404."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if path in (prefix, prefix + "/", prefix + "/index.html"):
            kind = "html"
        elif path == prefix + API_PATH:
            kind = "json"
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), *SECURITY_HEADERS])
            return ["Không có trang này. Trang trạng thái: /status\n".encode()]
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        rendered = page.current()
        if rendered is None:
            body = "Trang trạng thái chưa có số liệu, xin thử lại sau ít phút.\n".encode()
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                       ("Retry-After", "30"), *SECURITY_HEADERS])
            return [body]
        headers = [("Cache-Control", f"public, max-age={max(1, int(page.refresh))}"), ("ETag", rendered.etag),
                   ("Vary", "Accept-Encoding"), *SECURITY_HEADERS]
        if kind == "html":
            headers += [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", CSP)]
            plain, packed = rendered.html, rendered.html_gzip
        else:
            headers += [("Content-Type", "application/json; charset=utf-8"), ("Access-Control-Allow-Origin", "*")]
            plain, packed = rendered.json, rendered.json_gzip
        if environ.get("HTTP_IF_NONE_MATCH") == rendered.etag:
            start_response("304 Not Modified", headers)
            return [b""]
        body = plain
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING")):
            body = packed
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]

    return app


def serve(app: WSGIApplication, address: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``app`` on a background thread (``monitor status-page --serve``); ``server.server_port`` is the port."""
    return serve_app(app, address, port, "status-page-server")

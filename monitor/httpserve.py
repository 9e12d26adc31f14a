"""Serving a WSGI application on a background thread, quietly, for ``/metrics`` and ``/status`` alike."""

from __future__ import annotations

import socket
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # "format": the base class's name
        """Log nothing: one line per request."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request in progress never holds up shutdown


def serve_app(app: WSGIApplication, address: str, port: int, name: str) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``app`` on ``address``:``port`` (IPv4 or IPv6) from a thread called ``name``; ``server.server_port``
    is the bound port."""
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_class = type("_Server", (_ThreadingServer,), {"address_family": family})
    server: WSGIServer = make_server(address, port, app, server_class, handler_class=_SilentHandler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return server, thread


def gzip_accepted(header: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (and not with q=0)."""
    for part in (header or "").split(","):
        coding, *params = (item.strip().lower() for item in part.split(";"))
        if coding in ("gzip", "x-gzip"):
            return not any(param.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for param in params)
    return False

"""deploy/nginx/: the shipped configuration, run by a real nginx in front of the status page's WSGI app (the one
`monitor run` serves), on loopback: the prober answers once per interval whatever the visitors do, and nothing but
the page is published."""

from __future__ import annotations

import threading

import httpx
import pytest

from bench.proxy import status_proxy
from monitor.httpserve import serve_app
from monitor.metrics import Metrics, metrics_app
from monitor.statuspage import StatusPage, status_app
from monitor.statuspage.app import rendering
from monitor.statuspage.model import Summary


@pytest.fixture
def published(tmp_path):
    """(nginx's base URL, the requests the prober saw): the shipped files with this test's ports and directories
    (bench/proxy.py)."""
    seen: list[str] = []
    lock = threading.Lock()
    page = StatusPage(rendering(lambda now: Summary(now, (), (), 90, 7)), refresh=3600)
    inner = metrics_app(Metrics(), status_app(page))

    def prober(environ, start_response):
        with lock:
            seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    upstream, _ = serve_app(prober, "127.0.0.1", 0, "prober")
    try:
        with status_proxy(tmp_path / "nginx", upstream.server_port) as port:
            yield f"http://127.0.0.1:{port}", seen
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_visitors_get_the_cached_page_and_the_prober_answers_once_per_encoding(published):
    base, seen = published
    with httpx.Client(base_url=base) as client:
        first = client.get("/status", headers={"Accept-Encoding": "gzip"})
        for _ in range(50):
            again = client.get("/status", headers={"Accept-Encoding": "gzip"})
            assert again.status_code == 200 and again.content == first.content
        plain = [client.get("/status", headers={"Accept-Encoding": "identity"}) for _ in range(20)]
        api = [client.get("/status/api/v1/summary") for _ in range(20)]
        unchanged = client.get("/status", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]})
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert "default-src 'none'" in first.headers["content-security-policy"]  # the page's own headers pass
    assert again.headers["x-cache-status"] == "HIT"
    assert "content-encoding" not in plain[-1].headers and plain[-1].text == first.text  # its own cached copy
    assert api[-1].json()["platforms"] == [] and unchanged.status_code == 304
    assert seen.count("/status") == 2 and seen.count("/status/api/v1/summary") == 1  # 91 visits, 3 questions


def test_only_the_page_is_published(published):
    base, seen = published
    assert httpx.get(f"{base}/metrics").status_code == 404
    assert httpx.get(f"{base}/status/../metrics").status_code == 404
    assert httpx.get(f"{base}/status/other").status_code == 404
    assert httpx.post(f"{base}/status", content=b"x").status_code == 403
    assert "/metrics" not in seen

"""A small Grafana stand-in on loopback: the HTTP API endpoints ``monitor.grafana`` uses, and nothing else.

A real HTTP server (threading ``http.server``) that keeps folders, dashboards and annotations in
memory, checks ``Authorization: Bearer <token>`` like Grafana (401 otherwise) and the shape of
each body, and records every request (method, path, query, headers, raw body) for the tests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class State:
    token: str
    folders: list[dict] = field(default_factory=list)
    dashboards: dict[str, dict] = field(default_factory=dict)  # uid -> the saved request body
    annotations: dict[int, dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per response: headers and body in one segment (no delayed-ACK stall)

    def log_message(self, *args) -> None:  # quiet
        pass

    def _reply(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(method, url.path, parse_qs(url.query), dict(self.headers.items()), raw)
        state = self.server.state
        with self.server.lock:
            state.requests.append(request)
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._reply(401, {"message": "Unauthorized"})
            try:
                status, payload = self.server.route(request)
            except (KeyError, TypeError, ValueError, AssertionError) as exc:  # a body Grafana would reject
                status, payload = 400, {"message": f"bad request: {exc!r}"}
        self._reply(status, payload)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = State(token)
        self.lock = threading.Lock()

    def route(self, r: Request) -> tuple[int, object]:
        s = self.state
        if r.method == "GET" and r.path == "/api/health":
            return 200, {"database": "ok", "version": "11.3.0"}
        if r.method == "GET" and r.path == "/api/folders":
            return 200, [{"id": f["id"], "uid": f["uid"], "title": f["title"]} for f in s.folders]
        if r.method == "POST" and r.path == "/api/folders":
            body = r.json()
            uid = body.get("uid") or f"f{s.next_id}"
            if any(f["uid"] == uid or f["title"] == body["title"] for f in s.folders):
                return 409, {"message": "a folder with the same name or uid already exists"}
            folder = {"id": s.new_id(), "uid": uid, "title": body["title"]}
            s.folders.append(folder)
            return 200, folder
        if r.method == "POST" and r.path == "/api/dashboards/db":
            body = r.json()
            dashboard = body["dashboard"]
            assert dashboard["uid"] and dashboard["title"] and dashboard.get("id") is None
            assert any(f["uid"] == body["folderUid"] for f in s.folders), "no such folder"
            if dashboard["uid"] in s.dashboards and not body.get("overwrite"):
                return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
            version = s.dashboards.get(dashboard["uid"], {}).get("version", 0) + 1
            s.dashboards[dashboard["uid"]] = {**body, "version": version}
            return 200, {"id": s.new_id(), "uid": dashboard["uid"], "status": "success", "version": version,
                         "url": f"/d/{dashboard['uid']}"}
        if r.method == "GET" and r.path == "/api/annotations":
            tags = r.query.get("tags", [])
            assert r.query.get("type") == ["annotation"]
            found = [a for a in s.annotations.values() if set(tags) <= set(a["tags"])]
            limit = int(r.query.get("limit", ["100"])[0])
            return 200, sorted(found, key=lambda a: -a["time"])[:limit]
        if r.method == "POST" and r.path == "/api/annotations":
            body = r.json()
            annotation = self._annotation(s.new_id(), body)
            s.annotations[annotation["id"]] = annotation
            return 200, {"id": annotation["id"], "message": "Annotation added"}
        if r.method == "PUT" and r.path.startswith("/api/annotations/"):
            number = int(r.path.rsplit("/", 1)[1])
            if number not in s.annotations:
                return 404, {"message": "Annotation not found"}
            s.annotations[number] = self._annotation(number, r.json())
            return 200, {"message": "Annotation updated"}
        return 404, {"message": "Not found"}

    @staticmethod
    def _annotation(number: int, body: dict) -> dict:
        assert isinstance(body["time"], int) and isinstance(body["text"], str) and body["text"]
        assert isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])
        end = body.get("timeEnd") or body["time"]
        assert end >= body["time"]
        return {"id": number, "alertId": 0, "dashboardId": 0, "dashboardUID": "", "panelId": 0,
                "time": body["time"], "timeEnd": end, "tags": list(body["tags"]), "text": body["text"]}


class GrafanaStandIn:
    """Start with ``with GrafanaStandIn(token) as grafana:``; ``grafana.url``, ``grafana.state``."""

    def __init__(self, token: str):
        self._server = _Server(token)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def state(self) -> State:
        return self._server.state

    def requests(self, method: str, path: str) -> list[Request]:
        return [r for r in self.state.requests if r.method == method and r.path == path]

    def __enter__(self) -> GrafanaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

"""HTTP(S) probe: one request over a fresh connection, timed by phase.

Phases: ``resolve`` and ``connect`` are timed by our network backend (DNS is
resolved before the TCP connect, so they are separate); ``tls``, ``processing``
(request sent -> response headers received, i.e. time to first byte; like blackbox_exporter,
the time to write the request is not in it) and
``transfer`` (headers -> end of body) come from httpcore's trace events.
Across redirects each phase is summed, like blackbox_exporter does.

The common check (see :func:`lean_eligible`) takes the lean path, :mod:`monitor.probes.http_lean`: the same
requests and outcomes without an httpx client and pool per probe. ``MONITOR_HTTP_PATH=httpx`` in the environment sends
every check through httpx (for the differential test and benchmark).
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from typing import Any

import httpcore
import httpx

from monitor.config.model import HttpCheck, SecretRef, header_value_problem
from monitor.errors import ProbeFailure
from monitor.probes import http_lean
from monitor.probes._net import connect_failure
from monitor.probes.base import Observation, ProbeContext
from monitor.probes.http_common import (
    USER_AGENT,
    VERSIONS,
    Backend,
    body_problem,
    header_problem,
    json_problem,
    tracer,
)
from monitor.result import Reason


class _Transport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool that never keeps a connection alive and uses our backend."""

    def __init__(self, check: HttpCheck, ssl_context: ssl.SSLContext, backend: Backend):
        http1, http2, _ = VERSIONS[check.http_version]
        super().__init__(verify=ssl_context, http1=http1, http2=http2)
        # httpx does not expose network_backend; replace its pool (httpx is pinned, tests cover this).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_keepalive_connections=0, keepalive_expiry=0,
            http1=http1, http2=http2, network_backend=backend,
        )


# What a redirect to another host may carry of the check's own headers: nothing that identifies or authorises.
SAFE_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "cache-control", "content-type",
                          "pragma", "user-agent"})


def _secret_headers(check: HttpCheck) -> dict[str, str]:
    """The check's headers read from secrets, and ``Authorization`` from ``auth``. Blocking (a secret file)."""
    headers: dict[str, str] = {}
    try:
        for name, value in check.headers.items():
            if isinstance(value, SecretRef):
                headers[name] = value.reveal().get_secret_value()
                if header_value_problem(headers[name]):  # rotated since start-up; never show the value
                    source = f"environment variable {value.env}" if value.env is not None else f"file {value.file}"
                    raise ProbeFailure(Reason.OTHER, f"header {name}: secret from {source} is not ASCII on one line")
        if check.auth is not None and check.auth.basic is not None:
            password = check.auth.basic.password.reveal().get_secret_value()
            pair = base64.b64encode(f"{check.auth.basic.username}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        elif check.auth is not None and check.auth.bearer is not None:
            headers["Authorization"] = f"Bearer {check.auth.bearer.reveal().get_secret_value()}"
    except ValueError as exc:  # a secret gone since start-up: names the variable or file, never the value
        raise ProbeFailure(Reason.OTHER, str(exc)) from None
    return headers


def _same_host(origin: httpx.URL, url: httpx.URL) -> bool:
    """May a request to ``url`` carry what the check sends to ``origin``? The same host name, any port, but
    never from HTTPS down to plain HTTP (where anyone on the path reads it)."""
    return url.host == origin.host and not (origin.scheme == "https" and url.scheme != "https")


class _Client(httpx.AsyncClient):
    """httpx's client; after a redirect to another host only safe headers go along.

    httpx itself drops ``Authorization`` on another origin but sends a check's ``X-Api-Key`` anywhere.
    Here the check's private headers (every one not in :data:`SAFE_HEADERS`, and ``Authorization``) go
    only to the check's own host, and come back if a later redirect returns there.
    """

    def __init__(self, *, private: dict[str, str], origin: httpx.URL | None, **kwargs: Any):
        super().__init__(**kwargs)
        self._private = private
        self._origin = origin

    def _redirect_headers(self, request: httpx.Request, url: httpx.URL, method: str) -> httpx.Headers:
        headers = super()._redirect_headers(request, url, method)
        if self._private:
            for name in self._private:
                headers.pop(name, None)
            if self._origin is not None and _same_host(self._origin, url):
                headers.update(self._private)
        return headers


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ProbeFailure(Reason.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def lean_eligible(check: HttpCheck) -> bool:
    """May the lean path (:mod:`monitor.probes.http_lean`) probe ``check`` with the httpx path's outcome?

    GET or HEAD over HTTP/1.1 or ``auto`` (the lean path offers what httpx offers and hands a connection on
    which the server chose HTTP/2 to httpcore's own HTTP/2 connection), with no headers of its own, no auth
    and no body. ``http_version: "2"`` stays with httpx.
    """
    return (check.method in ("GET", "HEAD") and check.body is None and check.auth is None and not check.headers
            and check.http_version in ("1.1", "auto"))


async def probe(check: HttpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """Request ``check.url`` once over a fresh connection; raise :class:`ProbeFailure` on failure."""
    if lean_eligible(check) and os.environ.get("MONITOR_HTTP_PATH") != "httpx":
        await http_lean.probe(check, ctx, obs)
    else:
        await probe_httpx(check, ctx, obs)


async def probe_httpx(check: HttpCheck, ctx: ProbeContext, obs: Observation) -> None:
    """The httpx path: any check, HTTP/1.1 or HTTP/2, with headers, auth and bodies."""
    ssl_context = await ctx.ssl_context(check.tls.verify, check.tls.ca_file, VERSIONS[check.http_version][2])
    transport = _Transport(check, ssl_context, Backend(obs, check, ctx))
    headers: dict[str, Any] = {"User-Agent": USER_AGENT}
    private: dict[str, str] = {}
    if check.headers or check.auth is not None:
        headers.update(check.headers)
        if check.auth is not None or any(isinstance(v, SecretRef) for v in check.headers.values()):
            # Secrets are read per probe (rotation needs no restart); a secret file is disk I/O, so off the loop.
            headers.update(await asyncio.to_thread(_secret_headers, check))
        private = {name: value for name, value in headers.items() if name.lower() not in SAFE_HEADERS}
    url = str(check.url)
    try:
        async with _Client(transport=transport, follow_redirects=check.follow_redirects, timeout=None,
                           max_redirects=check.max_redirects, private=private,
                           origin=httpx.URL(url) if private else None) as client:
            request = client.build_request(check.method, url, headers=headers, content=check.body,
                                           extensions={"trace": tracer(obs)})
            response = await client.send(request, stream=True)
            try:
                obs.status_code = response.status_code
                obs.details["http_version"] = response.http_version
                obs.details["redirects"] = len(response.history)
                body = await _read_body(response, check.max_body_bytes)
            finally:
                await response.aclose()
    except ProbeFailure:
        raise
    except httpx.TooManyRedirects as exc:
        raise ProbeFailure(Reason.TOO_MANY_REDIRECTS, f"more than {check.max_redirects} redirects") from exc
    except httpx.ConnectError as exc:
        raise connect_failure(exc) from exc
    except (httpx.ProtocolError, httpx.ReadError, httpx.WriteError, httpx.DecodingError) as exc:
        raise ProbeFailure(Reason.PROTOCOL, f"{type(exc).__name__}: {exc}") from exc

    if check.fail_if_not_ssl and response.url.scheme != "https":  # a platform quietly downgraded is an incident
        raise ProbeFailure(Reason.NOT_HTTPS, f"ended on plain HTTP at http://{response.url.netloc.decode()}/")
    if not any(low <= response.status_code <= high for low, high in check.expect_status):
        raise ProbeFailure(Reason.HTTP_STATUS, f"status {response.status_code} {response.reason_phrase}")
    if check.fail_if_header_matches or check.fail_if_header_not_matches:
        problem = header_problem(check, response.headers)
        if problem:
            raise ProbeFailure(Reason.HEADER_MISMATCH, problem)
    text = body.decode(response.encoding or "utf-8", errors="replace")
    problem = body_problem(check, text) or (json_problem(check.body_json, text) if check.body_json else None)
    if problem:
        raise ProbeFailure(Reason.BODY_MISMATCH, problem)


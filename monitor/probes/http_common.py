"""What both HTTP probe paths share (:mod:`monitor.probes.http`, httpx; :mod:`monitor.probes.http_lean`, h11):
the User-Agent, the versions offered, the timed network backend, the trace of phases, and the rules a response is
judged by (body, headers, JSON).
"""

from __future__ import annotations

import asyncio
import functools
import json
import operator
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore
import httpx

from monitor import __version__
from monitor.config.model import HttpCheck, JsonAssertion
from monitor.probes._net import connect_timed, earliest_expiry, peer_text, pick, resolve
from monitor.probes.base import Observation, ProbeContext

USER_AGENT = f"party-platform-monitor/{__version__} (health check)"

# httpcore trace step -> (phase that starts, phase that ends)
_TRACE_STEPS: dict[tuple[str, str], tuple[str | None, str | None]] = {
    ("start_tls", "started"): ("tls", None),
    ("start_tls", "complete"): (None, "tls"),
    ("send_request_headers", "started"): ("processing", None),  # a deadline while sending is a read timeout too,
    ("send_request_body", "complete"): ("processing", None),  # but the clock restarts once the request is sent
    ("receive_response_headers", "complete"): ("transfer", "processing"),
    ("receive_response_body", "complete"): (None, "transfer"),
}


# Phases that end when the bytes that end them arrived, by the kernel's clock (monitor.probes._stream)
_ON_ARRIVAL = frozenset({"tls", "processing", "transfer"})

# http_version -> (http1, http2, the ALPN protocols offered in the TLS handshake)
VERSIONS = {"1.1": (True, False, ("http/1.1",)), "2": (False, True, ("h2",)), "auto": (True, True, ("h2", "http/1.1"))}


class Backend(httpcore.AsyncNetworkBackend):
    """Resolves (timed, or from the check's ``resolve`` overrides) then connects (timed)."""

    def __init__(self, obs: Observation, check: HttpCheck, ctx: ProbeContext):
        self._obs = obs
        self._overrides = check.resolve
        self._prefer = check.ip_protocol
        self._fallback = check.ip_protocol_fallback
        self._ctx = ctx

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        override = self._overrides.get(host)
        if override:
            ip, pinned = override[0] if self._prefer is None else pick(host, override, self._prefer, self._fallback)
            port = pinned or port
        else:
            ip, port = await resolve(host, port, self._obs, self._prefer, self._fallback)
        self._obs.peer = peer_text(ip, port)
        return await connect_timed(ip, port, self._ctx.source_address or local_address, self._ctx, self._obs)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError("unix sockets are not probed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def tracer(obs: Observation) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    async def trace(event: str, info: dict[str, Any]) -> None:
        _, step, state = event.rsplit(".", 2)
        if (step, state) == ("start_tls", "complete"):
            ssl_object = info["return_value"].get_extra_info("ssl_object")
            obs.expiry(earliest_expiry(ssl_object))
            if ssl_object is not None:
                obs.details["tls_version"] = ssl_object.version()
        begin, end = _TRACE_STEPS.get((step, state), (None, None))
        ended = obs.end(end, on_arrival=end in _ON_ARRIVAL) if end else None
        if begin == "processing" and step == "send_request_body":
            # the request left when its last bytes did, not when we got here
            obs.begin(begin, at=obs.last_write, unsure=obs.write_window)
        elif begin == "transfer":
            obs.begin(begin, at=ended)  # when the answer's head came
        elif begin:
            obs.begin(begin)

    return trace


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def body_problem(check: HttpCheck, text: str) -> str | None:
    """The first body rule the text breaks, described; None when all hold."""
    for needle in check.body_contains:
        if needle not in text:
            return f"body does not contain {needle!r}"
    for needle in check.body_not_contains:
        if needle in text:
            return f"body contains {needle!r}"
    for pattern in check.body_matches:
        if not _regex(pattern).search(text):
            return f"body does not match /{pattern}/"
    for pattern in check.body_not_matches:
        if _regex(pattern).search(text):
            return f"body matches /{pattern}/"
    return None


def header_problem(check: HttpCheck, headers: httpx.Headers) -> str | None:
    """The first header rule the response breaks, described (never the header's value); None when all hold.

    A header sent several times is judged on every value, as blackbox_exporter does: one matching value fails
    ``fail_if_header_matches``, and ``fail_if_header_not_matches`` needs one value that matches.
    """
    for rule in check.fail_if_header_matches:
        if any(_regex(rule.regexp).search(value) for value in headers.get_list(rule.header)):
            return f"header {rule.header} matches /{rule.regexp}/"
    for rule in check.fail_if_header_not_matches:
        values = headers.get_list(rule.header)
        if not values and not rule.allow_missing:
            return f"header {rule.header} is missing"
        if values and not any(_regex(rule.regexp).search(value) for value in values):
            return f"header {rule.header} does not match /{rule.regexp}/"
    return None


_MISSING = object()
_COMPARE = {"lt": (operator.lt, "<"), "le": (operator.le, "<="), "gt": (operator.gt, ">"), "ge": (operator.ge, ">=")}


def json_problem(assertions: list[JsonAssertion], text: str) -> str | None:
    """The first JSON assertion the body breaks, described; None when all hold."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return f"body is not JSON: {exc}"
    for assertion in assertions:
        value = _json_at(document, assertion.path)
        where = "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in assertion.path)
        kind = assertion.operator
        if kind == "exists":
            if (value is not _MISSING) is not assertion.exists:
                return f"body {where} {'is missing' if assertion.exists else 'exists'}"
            continue
        if value is _MISSING:
            return f"body {where} is missing"
        if kind == "equals":
            if not _json_equal(value, assertion.equals):
                return f"body {where} is {_shown(value)}, expected {_shown(assertion.equals)}"
            continue
        compare, symbol = _COMPARE[kind]
        bound = getattr(assertion, kind)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"body {where} is {_shown(value)}, not a number (expected {symbol} {bound:g})"
        if not compare(value, bound):
            return f"body {where} is {_shown(value)}, expected {symbol} {bound:g}"
    return None


def _json_at(document: object, path: tuple[str | int, ...]) -> object:
    for step in path:
        if isinstance(step, int) and isinstance(document, list) and step < len(document):  # noqa: SIM114 (narrowing)
            document = document[step]
        elif isinstance(step, str) and isinstance(document, dict) and step in document:
            document = document[step]
        else:
            return _MISSING
    return document


def _json_equal(value: object, expected: object) -> bool:
    if isinstance(value, bool) or isinstance(expected, bool):  # true is not 1
        return type(value) is type(expected) and value == expected
    return value == expected  # 1 == 1.0; "1" != 1


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."

"""Check definitions as data: the pydantic models behind ``checks/*.yml``.

Every model is strict (unknown keys are errors) and frozen. Durations accept
``30s``, ``1m``, ``500ms`` or a number of seconds.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import dns.exception
import dns.name
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> object:
    """``"30s"`` -> 30.0, ``"500ms"`` -> 0.5, ``"2m"`` -> 120.0; numbers are seconds."""
    if isinstance(value, bool):  # YAML `yes`/`true` would otherwise pass as 1 second
        raise ValueError("invalid duration: found true/false (use e.g. 500ms, 30s, 1m)")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {value!r} (use e.g. 500ms, 30s, 1m)")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def format_duration(seconds: float) -> str:
    """Inverse of :func:`parse_duration` for messages: 30.0 -> ``30s``, 0.5 -> ``500ms``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):  # not match(): `$` would accept a trailing newline
        raise ValueError(f"invalid id {value!r} (use lowercase letters, digits, '-' and '_', "
                         f"starting with a letter or digit)")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0, allow_inf_nan=False)]
Slug = Annotated[str, Field(max_length=64), AfterValidator(_slug)]
"""An id used in metrics, the store and URLs: ``gqthc``, ``quantri-gqthc``."""


def _parse_address(value: object) -> object:
    """``"127.0.0.1:8443"`` / ``"[::1]:8443"`` / ``"127.0.0.1"`` -> (ip, port|None)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"invalid address {value!r} (use ip or ip:port)")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"invalid address {value!r} (use ip or ip:port)")
        port = int(port_text)
    else:
        host = text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"invalid address {value!r}: {host!r} is not an IP address") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"invalid address {value!r}: port out of range")
    return (host, port)


Address = Annotated[tuple[str, int | None], BeforeValidator(_parse_address)]
"""An IP address with an optional port, written ``ip``, ``ip:port`` or ``[v6]:port``."""
Addresses = Annotated[list[Address], Field(min_length=1),
                      BeforeValidator(lambda value: value if isinstance(value, list) else [value])]
"""One address or a list of them (a name's IPv4 and IPv6 addresses, chosen by ``ip_protocol``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret comes from: an environment variable or a file. Never the secret itself."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def reveal(self) -> SecretStr:
        """Read the secret now. Raises ``ValueError`` naming the source when it is missing."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ValueError(f"environment variable {self.env} is not set")
            return SecretStr(value)
        assert self.file is not None
        try:
            return SecretStr(self.file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ValueError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            # Not the codec's message: it quotes the offending byte, which is part of the secret.
            raise ValueError(f"secret file {self.file} is not UTF-8 text") from None


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a header value, or None."""
    if not value.isascii() or any(ch in value for ch in "\r\n"):
        return "value must be ASCII on one line (HTTP sends bytes)"
    return None


def _header_value_kind(value: object) -> str:
    return "secret-ref" if isinstance(value, (dict, SecretRef)) else "text-value"  # tags: not field names


HeaderValue = Annotated[
    Annotated[str, Tag("text-value")] | Annotated[SecretRef, Tag("secret-ref")],
    Discriminator(_header_value_kind),
]
"""A header's value: the text itself, or ``{env: VARIABLE}`` / ``{file: PATH}`` for a key or token."""


class BasicAuth(_Strict):
    """HTTP basic authentication; the password comes from a secret."""

    username: str
    password: SecretRef


class Auth(_Strict):
    """Request authentication: ``basic`` or ``bearer`` (a token from a secret)."""

    basic: BasicAuth | None = None
    bearer: SecretRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Auth:
        if (self.basic is None) == (self.bearer is None):
            raise ValueError("give exactly one of 'basic' or 'bearer'")
        return self


def parse_status(value: object) -> tuple[int, int]:
    """``200`` -> (200, 200); ``"2xx"`` -> (200, 299); ``"200-399"`` -> (200, 399).

    Codes must lie in 100..599 and a range must not run backwards.
    """
    low = high = None
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"[1-5]xx", text):
            low = int(text[0]) * 100
            high = low + 99
        elif match := re.fullmatch(r"(\d{3})\s*-\s*(\d{3})", text):
            low, high = int(match.group(1)), int(match.group(2))
        elif re.fullmatch(r"\d{3}", text):
            low = high = int(text)
    if low is None or high is None:
        raise ValueError(f"invalid status {value!r} (use 200, '2xx' or '200-399')")
    if not (100 <= low <= 599 and 100 <= high <= 599):
        raise ValueError(f"invalid status {value!r} (HTTP status codes run from 100 to 599)")
    if low > high:
        raise ValueError(f"invalid status range {value!r} (the lower code comes first)")
    return (low, high)


StatusRange = Annotated[tuple[int, int], BeforeValidator(parse_status)]


def _compile(value: object) -> object:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        except RecursionError:  # Python's parser recurses per group: a few hundred nested ones exhaust the stack
            raise ValueError("invalid regular expression: groups nested too deeply") from None
    return value


Regex = Annotated[str, BeforeValidator(_compile)]


class HeaderRule(_Strict):
    """A regular expression on a response header, like blackbox_exporter's ``fail_if_header_matches``."""

    header: str
    regexp: Regex
    allow_missing: bool = False  # for fail_if_header_not_matches: a missing header passes

    @field_validator("header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        if not _HEADER_NAME.fullmatch(header):
            raise ValueError(f"invalid header name {header!r}")
        return header


_JSON_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"\\]*)"\]')


def parse_json_path(value: object) -> object:
    """``$.status`` / ``data.items[0].state`` / ``$["a b"]`` -> ("status",) / ("data", "items", 0, "state")."""
    if not isinstance(value, str):
        return value
    text = value.removeprefix("$")
    if text and text[0] not in ".[":
        text = "." + text  # gatus style: data.items[0].state
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _JSON_STEP.match(text, position)
        if match is None:
            raise ValueError(f"invalid JSON path {value!r} at character {position + len(value) - len(text) + 1} "
                             "(use e.g. $.status or data.items[0].state)")
        key, index, quoted = match.groups()
        steps.append(int(index) if index is not None else key if key is not None else quoted)
        position = match.end()
    if not steps:
        raise ValueError(f"invalid JSON path {value!r}: names nothing (use e.g. $.status)")
    return tuple(steps)


JsonScalar = bool | int | float | str | None
Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(lambda v: _number(v))]


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, found {value!r}")
    return value


class JsonAssertion(_Strict):
    """One condition on a JSON response body, like a gatus ``[BODY].status == UP`` condition."""

    path: Annotated[tuple[str | int, ...], BeforeValidator(parse_json_path)]
    equals: JsonScalar = None
    lt: Number | None = None
    le: Number | None = None
    gt: Number | None = None
    ge: Number | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> JsonAssertion:
        given = [name for name in ("equals", "lt", "le", "gt", "ge", "exists") if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of 'equals', 'lt', 'le', 'gt', 'ge' or 'exists'")
        return self

    @property
    def operator(self) -> str:
        return next(name for name in ("equals", "lt", "le", "gt", "ge", "exists") if name in self.model_fields_set)


class TlsOptions(_Strict):
    """How a check trusts certificates. Verification is on unless switched off."""

    verify: bool = True
    ca_file: Path | None = None  # trust this CA bundle instead of the default (certifi)


class _Check(_Strict):
    id: Slug
    interval: Duration = 30.0
    # Validated even when defaulted, so `interval: 5s` alone is caught against the 10s default.
    timeout: Annotated[Duration, Field(validate_default=True)] = 10.0

    # A field validator (not a model validator) so the error is located at `timeout`.
    @field_validator("timeout")
    @classmethod
    def _timeout_below_interval(cls, timeout: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")  # absent when the interval itself is invalid
        if interval is not None and timeout >= interval:
            raise ValueError(
                f"must be shorter than interval ({format_duration(timeout)} >= {format_duration(interval)})"
            )
        return timeout


class HttpCheck(_Check):
    """An HTTP(S) request over a fresh connection, with phase timings and expectations."""

    kind: Literal["http"]
    url: AnyHttpUrl
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, HeaderValue] = {}  # sent to the check's host; to another host after a redirect, only safe ones
    body: str | None = None
    auth: Auth | None = None
    http_version: Literal["1.1", "2", "auto"] = "auto"
    follow_redirects: bool = True
    max_redirects: Annotated[int, Field(ge=0, le=30)] = 5
    expect_status: list[StatusRange] = [(200, 399)]
    body_matches: list[Regex] = []
    body_not_matches: list[Regex] = []
    body_contains: list[str] = []
    body_not_contains: list[str] = []
    max_body_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    tls: TlsOptions = TlsOptions()
    resolve: dict[str, Addresses] = {}  # host -> ip[:port] (or a list of them), like curl --resolve
    fail_if_not_ssl: bool = False  # the final URL, after redirects, must be HTTPS
    fail_if_header_matches: list[HeaderRule] = []
    fail_if_header_not_matches: list[HeaderRule] = []
    body_json: list[JsonAssertion] = []
    ip_protocol: Literal["ip4", "ip6"] | None = None  # prefer this family among a name's addresses
    ip_protocol_fallback: bool = True  # else the other family when the name has none of it

    @field_validator("headers")
    @classmethod
    def _headers_are_ascii(cls, headers: dict[str, str | SecretRef]) -> dict[str, str | SecretRef]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            problem = header_value_problem(value) if isinstance(value, str) else None  # a secret: read at load
            if problem:
                raise ValueError(f"header {name!r}: {problem}")
        return headers

    @field_validator("url")
    @classmethod
    def _host_required(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if not url.host:
            raise ValueError("URL has no host")
        # The URL shows up in logs and reprs; a password must come from a SecretRef.
        if url.username or url.password:
            raise ValueError("credentials in the URL are not allowed (use auth.basic with a password from env or file)")
        return url


class TlsCheck(_Check):
    """A TLS handshake only: certificate expiry, chain, host name, protocol version."""

    kind: Literal["tls"]
    host: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 443
    server_name: str | None = None  # SNI and name to verify; defaults to host
    tls: TlsOptions = TlsOptions()
    address: Address | None = None  # connect here instead of resolving host


class DnsCheck(_Check):
    """A DNS query: record type, rcode, latency, optionally the expected addresses."""

    kind: Literal["dns"]
    name: str

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            raise ValueError(f"invalid DNS name {name!r}: {exc}") from None
        return name
    record_type: Literal["A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA"] = "A"
    server: Address | None = None  # default: the system's resolvers (/etc/resolv.conf)
    expect_rcode: Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"] = "NOERROR"
    expect_addresses: list[str] = []


class TcpCheck(_Check):
    """A TCP connect, timed."""

    kind: Literal["tcp"]
    host: str
    port: Annotated[int, Field(gt=0, lt=65536)]
    address: Address | None = None  # connect here instead of resolving host


Check = Annotated[HttpCheck | TlsCheck | DnsCheck | TcpCheck, Field(discriminator="kind")]
CHECK_MODELS: dict[str, type[_Check]] = {"http": HttpCheck, "tls": TlsCheck, "dns": DnsCheck, "tcp": TcpCheck}
CHECK_KINDS = tuple(CHECK_MODELS)


class Platform(_Strict):
    """A service people complain about, with the checks that watch it."""

    id: Slug
    name: str = Field(min_length=1)  # Vietnamese display name
    domains: list[str] = []
    aliases: list[str] = []  # names people use for it in complaint text
    slow_after: Duration = 2.5  # an HTTP probe slower than this (total) counts as slow (chậm)
    checks: list[Check] = []

    @property
    def monitored(self) -> bool:
        """A platform without checks (no known address yet) is listed but unmonitored."""
        return bool(self.checks)

"""What one probe execution produced: :class:`ProbeResult` and the closed set of failure reasons."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Reason(enum.StrEnum):
    """Why a probe failed. A closed set: metric labels and the store only ever hold these."""

    DNS = "dns"  # the name did not resolve (NXDOMAIN, SERVFAIL, timeout while resolving)
    CONNECT_REFUSED = "connect_refused"  # TCP connection refused or unreachable
    CONNECT_TIMEOUT = "connect_timeout"  # TCP connection not established before the deadline
    TLS_HANDSHAKE = "tls_handshake"  # TLS handshake failed for a reason other than the certificate
    TLS_EXPIRED = "tls_expired"  # certificate expired (or not yet valid)
    TLS_HOSTNAME = "tls_hostname"  # certificate does not cover the host name
    TLS_UNTRUSTED = "tls_untrusted"  # certificate chain does not lead to a trusted CA
    NOT_HTTPS = "not_https"  # fail_if_not_ssl: the final URL, after redirects, is plain HTTP
    HTTP_STATUS = "http_status"  # status code not in the expected set
    HEADER_MISMATCH = "header_mismatch"  # a response header failed a fail_if_header_(not_)matches rule
    BODY_MISMATCH = "body_mismatch"  # body failed a must/must-not match or contain rule
    BODY_TOO_LARGE = "body_too_large"  # body longer than the check's limit
    TOO_MANY_REDIRECTS = "too_many_redirects"  # redirect limit exceeded (or a loop)
    READ_TIMEOUT = "read_timeout"  # connected, but the response did not arrive before the deadline
    TIMEOUT = "timeout"  # the probe's total deadline expired in any other phase
    PROTOCOL = "protocol"  # malformed response, connection closed or reset mid-exchange, wrong protocol
    OTHER = "other"  # anything else; the detail is in the log and the stored result


PROBER_NETWORK = "prober_network"
"""The ``details`` key of a result that failed because the prober's own network was down (monitor/selfcheck.py):
stored as unreliable, kept out of ``probe_*``, never evidence against a platform."""


PHASES = ("resolve", "connect", "tls", "processing", "transfer", "total")
"""Probe phases, in order. A phase that did not complete is absent, never 0."""


@dataclass(frozen=True)
class ProbeResult:
    """One execution of one check at one location."""

    platform: str
    check: str
    kind: str
    location: str
    started_at: float  # unix time (UTC)
    success: bool
    duration: float  # seconds the probe took, to success, failure or deadline (includes our own set-up)
    reason: Reason | None = None
    error: str | None = None
    # seconds; completed phases only; "total" (the phases' sum) on success
    phases: dict[str, float] = field(default_factory=dict)
    status_code: int | None = None
    cert_expiry: float | None = None  # unix time of the earliest peer certificate expiry
    peer: str | None = None  # "ip:port" actually connected to
    details: dict[str, object] = field(default_factory=dict)  # kind-specific facts (tls version, rcode, ...)
    unreliable: bool = False  # the prober itself was stalled while measuring

    @property
    def outcome(self) -> str:
        """``success`` or the failure reason: the value of the ``result`` metric label."""
        return "success" if self.success else (self.reason or Reason.OTHER).value

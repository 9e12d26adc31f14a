"""What the lab's platforms do, decided per connection and per request: the contract between
the behaviour model (:mod:`monitor.lab.scenario`) and the servers (:mod:`monitor.lab.servers`).

A :class:`World` is asked at simulated instant ``at`` (unix seconds). Every plan that is
not plain success names the truth event that caused it, so the lab can record which
events it actually applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

Certificate = Literal["good", "expired", "wrong_host"]


@dataclass(frozen=True)
class ConnectionPlan:
    """What happens to a new TCP connection to a platform, before any TLS."""

    action: Literal["serve", "reset", "hang"] = "serve"  # reset: RST at once; hang: accept, never speak
    certificate: Certificate = "good"
    event: str | None = None  # id of the truth event behind a fault


@dataclass(frozen=True)
class ResponsePlan:
    """How the platform answers one HTTP request."""

    action: Literal["respond", "reset", "hang"] = "respond"
    delay: float = 0.0  # seconds before the response headers (server processing)
    status: int = 200
    body: bytes = b""  # empty: the platform's normal page
    transfer: float = 0.0  # seconds over which the body is sent
    event: str | None = None


@dataclass(frozen=True)
class DnsPlan:
    """How the lab's DNS responder answers for a platform's name."""

    action: Literal["answer", "nxdomain", "servfail", "drop"] = "answer"
    event: str | None = None


@dataclass(frozen=True)
class TruthEvent:
    """One scripted or load-induced event: the ground truth detection is scored against."""

    id: str  # stable, e.g. "dichvucong-outage-1" or "load-sotaydangvien-2026-06-01-am"
    platform: str
    kind: str  # outage_refused, gateway_502, gateway_504, slow, cert_expired, cert_wrong_host,
    #            wrong_content, dns_failure, congestion
    start: float  # unix seconds
    end: float
    params: Mapping[str, float | str]  # the event's parameters, JSON scalars (e.g. share, delay, failure)


class World(Protocol):
    """The behaviour of every lab platform over simulated time."""

    def connection(self, platform: str, at: float) -> ConnectionPlan:
        """Plan for a TCP connection accepted at ``at``."""
        ...

    def response(self, platform: str, at: float, path: str) -> ResponsePlan:
        """Plan for a request for ``path`` received at ``at``."""
        ...

    def dns(self, platform: str, at: float) -> DnsPlan:
        """Plan for a DNS query for one of the platform's names at ``at``."""
        ...

    def events(self, start: float, end: float) -> list[TruthEvent]:
        """Every truth event overlapping [start, end), scripted and load-induced, by start time."""
        ...

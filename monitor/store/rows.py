"""Results and evidence as table rows: the columns, types and conversions the SQLite and PostgreSQL stores share.

Both stores (and the prober's spool) keep a result in the same columns with the same types (times and phases as
floats, flags as 0/1), so one pair of functions builds and reads their rows and a result reads back exactly as
written in either.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from monitor.domain import Classification, Complaint, Incident
from monitor.result import PHASES, ProbeResult, Reason

COLUMNS = (
    "platform", "check_id", "kind", "location", "started_at", "success", "reason", "error", "duration",
    *(f"{phase}_s" for phase in PHASES),
    "status_code", "cert_expiry", "peer", "details", "unreliable",
)
"""The ``results`` columns a result is stored in, in the order of :func:`to_row` (the id is the store's)."""

INCIDENT_COLUMNS = ("id", "platform", "kind", "scope", "started_at", "ended_at", "locations", "reasons",
                    "worst_latency", "probes", "failed")
COMPLAINT_COLUMNS = ("id", "received_at", "unit", "province", "text", "source_row", "platforms",
                     "platform_phrases", "symptom", "symptom_phrase", "peak", "pain_from", "pain_to", "time_phrase")


def _text(value: object, name: str) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"ProbeResult.{name} must be a str, got {type(value).__name__}")


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def to_row(result: ProbeResult) -> tuple[Any, ...]:
    """Flatten a result into the column order of ``COLUMNS``; raise on values we could not read back."""
    unknown = set(result.phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown probe phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    return (
        *(_text(getattr(result, name), name) for name in ("platform", "check", "kind", "location")),
        float(result.started_at),
        int(bool(result.success)),
        None if result.reason is None else Reason(result.reason).value,
        None if result.error is None else str(result.error),
        float(result.duration),
        # A phase that did not complete stays NULL: 0 would read as "instant".
        *(_optional_float(result.phases.get(phase)) for phase in PHASES),
        None if result.status_code is None else int(result.status_code),
        _optional_float(result.cert_expiry),
        None if result.peer is None else str(result.peer),
        # default=str: an odd detail value (bytes, datetime) is kept as text rather
        # than making the whole result unstorable.
        json.dumps(result.details, ensure_ascii=False, sort_keys=True, default=str),
        int(bool(result.unreliable)),
    )


_REASONS = {reason.value: reason for reason in Reason}
_NEW, _SET = object.__new__, object.__setattr__


def from_row(row: Sequence[Any]) -> ProbeResult:
    """The result a row holds (hot: millions per report, so no dataclass __init__ and no needless JSON)."""
    (platform, check, kind, location, started_at, success, reason, error, duration,
     resolve, connect, tls, processing, transfer, total, status_code, cert_expiry, peer, details, unreliable) = row
    phases = {}
    for phase, value in (("resolve", resolve), ("connect", connect), ("tls", tls), ("processing", processing),
                         ("transfer", transfer), ("total", total)):
        if value is not None:
            phases[phase] = value
    result = _NEW(ProbeResult)
    # The fields ProbeResult.__init__ would set, set at once: a frozen dataclass sets them one by one.
    _SET(result, "__dict__", {
        "platform": platform, "check": check, "kind": kind, "location": location, "started_at": started_at,
        "success": success == 1, "duration": duration, "reason": None if reason is None else _REASONS[reason],
        "error": error, "phases": phases, "status_code": status_code, "cert_expiry": cert_expiry, "peer": peer,
        "details": {} if details == "{}" else json.loads(details), "unreliable": unreliable == 1,
    })
    return result


LEAN_COLUMNS = ("platform", "check_id", "kind", "location", "started_at", "success", "reason", "duration", "total_s",
                "cert_expiry", "unreliable", "CASE WHEN unreliable = 1 THEN details ELSE '{}' END")
"""What a period's evidence reads of a result (:func:`from_lean_row`): no error text, peer, status or phases but
the total, and ``details`` only where a stall is recorded (an unreliable result's ``stalled`` seconds)."""


def from_lean_row(row: Sequence[Any]) -> ProbeResult:
    """The result a row of :data:`LEAN_COLUMNS` holds: ``phases`` has only ``total``; no error, peer or status."""
    (platform, check, kind, location, started_at, success, reason, duration, total, cert_expiry, unreliable,
     details) = row
    result = _NEW(ProbeResult)
    _SET(result, "__dict__", {
        "platform": platform, "check": check, "kind": kind, "location": location, "started_at": started_at,
        "success": success == 1, "duration": duration, "reason": None if reason is None else _REASONS[reason],
        "error": None, "phases": {} if total is None else {"total": total}, "status_code": None,
        "cert_expiry": cert_expiry, "peer": None, "details": {} if details == "{}" else json.loads(details),
        "unreliable": unreliable == 1,
    })
    return result


def incident_row(i: Incident, now: float) -> tuple[object, ...]:
    """An incident in the order of ``INCIDENT_COLUMNS``, then ``updated_at``."""
    return (i.id, i.platform, i.kind, i.scope, i.start, i.end, json.dumps(list(i.locations)), json.dumps(i.reasons),
            i.worst_latency, i.probes, i.failed, now)


def incident_from_row(r: Sequence[Any]) -> Incident:
    """The incident a row of ``INCIDENT_COLUMNS`` holds."""
    return Incident(id=r[0], platform=r[1], kind=r[2], scope=r[3], start=r[4], end=r[5],
                    locations=tuple(json.loads(r[6])), reasons=json.loads(r[7]), worst_latency=r[8], probes=r[9],
                    failed=r[10])


def complaint_row(c: Complaint, k: Classification) -> tuple[object, ...]:
    """A complaint and its classification in the order of ``COMPLAINT_COLUMNS``."""
    return (c.id, c.received_at, c.unit, c.province, c.text, c.source_row, _json_list(k.platforms),
            _json_list(k.platform_phrases), k.symptom, k.symptom_phrase, int(k.peak), k.pain_from, k.pain_to,
            k.time_phrase)


def complaint_from_row(r: Sequence[Any]) -> tuple[Complaint, Classification]:
    """The complaint and classification a row of ``COMPLAINT_COLUMNS`` holds."""
    return (Complaint(id=r[0], received_at=r[1], unit=r[2], province=r[3], text=r[4], source_row=r[5]),
            Classification(platforms=tuple(json.loads(r[6])), platform_phrases=tuple(json.loads(r[7])),
                           symptom=r[8], symptom_phrase=r[9], peak=bool(r[10]), pain_from=r[11], pain_to=r[12],
                           time_phrase=r[13]))


def _json_list(items: tuple[str, ...]) -> str:
    """A JSON list of platform ids or phrases. The same few repeat through an import, so a short list is
    encoded once (the cache holds at most 1,024 lists of at most 200 characters)."""
    return _json_short(items) if sum(map(len, items)) <= 200 else json.dumps(list(items), ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def _json_short(items: tuple[str, ...]) -> str:
    return json.dumps(list(items), ensure_ascii=False)

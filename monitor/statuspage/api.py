"""``/status/api/v1/summary``: the page's facts as JSON, for the bulletin team's tools and a PAKN banner.

Times are ISO 8601 in Asia/Ho_Chi_Minh (``+07:00``); dates ``yyyy-mm-dd``; shares 0..1, ``null`` without data.
Reasons are the closed set only; the operator's note is the only free text.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.localtime import local
from monitor.statuspage import wording
from monitor.statuspage.model import IncidentView, PlatformStatus, Summary

VERSION = 1


def _iso(unix_time: float | None) -> str | None:
    return None if unix_time is None else local(unix_time).isoformat(timespec="seconds")


def _platform(p: PlatformStatus) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "state": p.state, "state_label": wording.STATE[p.state],
        "since": _iso(p.since), "latest_result": _iso(p.latest),
        "locations": [{"location": s.location, "state": s.state} for s in p.locations],
        "peak_today": {"status": p.peak.status, "p50_seconds": p.peak.p50, "p95_seconds": p.peak.p95,
                       "probes": p.peak.probes},
        "days": [{"date": local(d.day_start).date().isoformat(), "probes": d.probes,
                  "availability": None if d.availability is None else round(d.availability, 6)} for d in p.days],
    }


def _incident(view: IncidentView, now: float) -> dict[str, Any]:
    i = view.incident
    return {
        "id": i.id, "platform": i.platform, "platform_name": view.platform_name, "kind": i.kind,
        "kind_label": wording.KIND[i.kind], "scope": i.scope, "locations": list(i.locations),
        "start": _iso(i.start), "end": _iso(i.end), "ongoing": i.ongoing(now),
        "end_unknown": i.end is None and not i.ongoing(now),
        "data_until": _iso(i.data_until), "reasons": wording.public_reasons(i.reasons), "note": view.note,
    }


def summary_dict(summary: Summary) -> dict[str, Any]:
    now = summary.generated_at
    return {
        "version": VERSION,
        "generated_at": _iso(now),
        "time_zone": "Asia/Ho_Chi_Minh",
        "days": summary.days,
        "incident_days": summary.incident_days,
        "platforms": [_platform(p) for p in summary.platforms],
        "incidents": [_incident(v, now) for v in summary.incidents],
    }


def render_json(summary: Summary) -> bytes:
    return json.dumps(summary_dict(summary), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

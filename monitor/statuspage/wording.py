"""The status page's Vietnamese words: states, kinds, the closed reason set, numbers, times (Asia/Ho_Chi_Minh).

The report's wording (:mod:`monitor.report.text`) is not imported: importing it loads the report package
(matplotlib, python-docx) into the daemon. The reason labels are the report's own (:mod:`monitor.reasons`).
"""

from __future__ import annotations

import math
import unicodedata

from monitor.domain import Incident
from monitor.localtime import format_datetime, local
from monitor.provinces import places
from monitor.result import Reason
from monitor.statuspage.model import State

STATE: dict[State, str] = {
    "ok": "Hoạt động bình thường",
    "degraded": "Chậm",
    "down": "Gián đoạn",
    "no_data": "Chưa có số liệu đo",
    "unmonitored": "Chưa giám sát",
}
STATE_AT: dict[State, str] = {"down": "gián đoạn", "degraded": "chậm", "no_data": "chưa có số liệu đo",
                              "ok": "bình thường", "unmonitored": "chưa giám sát"}
KIND = {"down": "Gián đoạn", "degraded": "Chậm, nghẽn"}

PUBLIC_REASONS = frozenset({r.value for r in Reason} | {"slow"})  # the closed set; nothing else is published


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def public_reasons(counts: dict[str, int]) -> dict[str, int]:
    """Only the closed reason set, most frequent first."""
    items = sorted(((k, v) for k, v in counts.items() if k in PUBLIC_REASONS), key=lambda kv: (-kv[1], kv[0]))
    return dict(items)


def percent(share: float) -> str:
    """A share 0..1 as ``99,85 %``; 100 only when nothing failed (never rounded up)."""
    if share >= 1:
        return "100 %"
    return f"{math.floor(round(share * 10000, 6)) / 100:.2f}".replace(".", ",") + " %"


def seconds(value: float) -> str:
    return "dưới 0,01 giây" if value < 0.005 else f"{value:.2f}".replace(".", ",") + " giây"


def count(value: int) -> str:
    """``1.440``: thousands separated by dots."""
    return f"{value:,}".replace(",", ".")


def date(unix_time: float) -> str:
    return local(unix_time).strftime("%d/%m/%Y")


def moment(unix_time: float) -> str:
    """``26/11/2026 08:15``."""
    return format_datetime(unix_time, seconds=False)


def duration(value: float) -> str:
    """``45 phút``, ``1 giờ 05 phút``, ``2 ngày 3 giờ``; under a minute: ``dưới 1 phút``."""
    minutes = int(value // 60 + (1 if value % 60 >= 30 else 0))
    if minutes <= 0:
        return "dưới 1 phút"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} ngày {hours % 24} giờ"
    return f"{hours} giờ {minutes:02d} phút" if hours else f"{minutes} phút"


def only_at(state: str, names: list[str]) -> str:
    """``chỉ gián đoạn tại Cao Bằng``, ``chỉ chậm tại Cao Bằng và Lạng Sơn``: a state some locations alone are in."""
    return f"chỉ {state} tại {places(names)}"


def only_in(states: list[tuple[str, str]]) -> str:
    """``chỉ gián đoạn tại Cao Bằng và Lạng Sơn; chỉ chậm tại Huế`` from (state, location name) pairs, by state."""
    groups: dict[str, list[str]] = {}
    for state, name in states:
        groups.setdefault(state, []).append(name)
    return "; ".join(only_at(state, names) for state, names in groups.items())


def where(incident: Incident, names: tuple[str, ...]) -> str:
    """``toàn hệ thống``, or ``chỉ tại Cao Bằng`` (``… tại Cao Bằng và Lạng Sơn``) for an incident of some locations
    only; ``names`` are its locations' names (the ids where none is given)."""
    if incident.scope == "platform":
        return "toàn hệ thống"
    return f"chỉ tại {places(list(names or incident.locations))}"


def incident_end(incident: Incident, now: float) -> str:
    """``26/11/2026 09:00``; ``đang diễn ra``; or ``chưa rõ thời điểm kết thúc; số liệu đến …`` (never "until now")."""
    if incident.end is not None:
        return moment(incident.end)
    if incident.ongoing(now):
        return "đang diễn ra"
    return f"chưa rõ thời điểm kết thúc; số liệu đến {moment(incident.data_until or incident.start)}"

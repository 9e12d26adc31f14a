"""Vietnamese wording shared by the findings and every renderer: numbers, durations, dates, reasons."""

from __future__ import annotations

import math
import unicodedata

from monitor.domain import Incident
from monitor.localtime import format_datetime, local
from monitor.reasons import REASON

NO_DATA = "không có số liệu đo"
UNMONITORED = "chưa được giám sát"

KIND = {"down": "gián đoạn", "degraded": "chậm, nghẽn"}


SYMPTOM = {
    "slow": "chậm",
    "unavailable": "không truy cập được",
    "login": "lỗi đăng nhập",
    "tls": "lỗi chứng chỉ",
    "data": "dữ liệu",
    "feature": "chức năng, giao diện",
    "local": "đường truyền, thiết bị tại cơ sở",
    "other": "nội dung khác",
}

VERDICT = {  # what a verdict may claim (README.md "Incidents, complaints and the report")
    "corroborated": "trùng sự cố đo được",
    "location_only": "chỉ ghi nhận tại một số điểm đo",  # the report names them: "chỉ ghi nhận tại Cao Bằng"
    "sporadic": "ghi nhận lỗi rời rạc",
    "not_measured": "nền tảng hoạt động bình thường tại mọi điểm đo",
    "no_data": "không có số liệu đo",
    "unmonitored": "nền tảng chưa được giám sát",
    "not_measurable": "nội dung giám sát từ xa không đo được",
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def number(value: float, decimals: int) -> str:
    """``99.5`` -> ``99,50`` (Vietnamese decimal comma)."""
    return f"{value:.{decimals}f}".replace(".", ",")


def percent(value: float | None) -> str:
    """Availability as the bulletin writes it: ``99,55%``; exactly 100 only when nothing failed.

    Never rounds up to 100: 99.999 % is shown as ``99,99%``. ``None`` (no data) is ``không có số liệu đo``.
    """
    if value is None:
        return NO_DATA
    if value >= 100:
        return "100%"
    return number(math.floor(round(value * 100, 6)) / 100, 2) + "%"  # round(): 99.99 * 100 is 9998.999…


def seconds(value: float) -> str:
    """A latency in seconds: ``0,21``; below 0,01 s shown as ``<0,01``."""
    return "<0,01" if value < 0.005 else number(value, 2)


def latency(pair: tuple[float, float] | None) -> str:
    """``0,21 / 1,85 giây`` (p50 / p95)."""
    if pair is None:
        return NO_DATA
    return f"{seconds(pair[0])} / {seconds(pair[1])} giây"


def duration(value: float) -> str:
    """``45 phút``, ``1 giờ 05 phút``, ``26 giờ 00 phút``; under a minute but not zero: ``dưới 1 phút``."""
    if value <= 0:
        return "0 phút"
    minutes = int(value // 60 + (1 if value % 60 >= 30 else 0))
    if minutes == 0:
        return "dưới 1 phút"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ {minutes:02d} phút" if hours else f"{minutes} phút"


def clock(second_of_day: int) -> str:
    """``27000`` -> ``7h30``; ``86400`` -> ``24h00``."""
    hours, rest = divmod(int(second_of_day), 3600)
    return f"{hours}h{rest // 60:02d}"


def date(unix_time: float) -> str:
    """``02/06/2026``."""
    return local(unix_time).strftime("%d/%m/%Y")


def moment(unix_time: float) -> str:
    """``02/06/2026 14:00``."""
    return format_datetime(unix_time, seconds=False)


def week_heading(start: float, end: float) -> str:
    """``TUẦN TỪ 29/5/2026 - 04/6/2026``, copying the bulletin's style; the end is the last day included."""
    first, last = local(start).date(), local(end - 1).date()
    return f"TUẦN TỪ {first.day}/{first.month}/{first.year} - {last.day:02d}/{last.month}/{last.year}"


def period_heading(start: float, end: float, bulletin_week: bool) -> str:
    """The title's period: :func:`week_heading` for a bulletin week, else ``TỪ NGÀY 29/05/2026 ĐẾN NGÀY 30/05/2026``.

    A period that does not start or end at local midnight names its times too.
    """
    if bulletin_week:
        return week_heading(start, end)
    first, last = local(start), local(end)
    whole = (first.hour, first.minute, first.second, last.hour, last.minute, last.second) == (0,) * 6
    if whole:
        return f"TỪ NGÀY {date(start)} ĐẾN NGÀY {date(end - 1)}"
    return f"TỪ {at(start)} ĐẾN {at(end)}"


def in_period(bulletin_week: bool) -> str:
    """``trong tuần`` for a bulletin week, else ``trong kỳ báo cáo``."""
    return "trong tuần" if bulletin_week else "trong kỳ báo cáo"


def at(unix_time: float) -> str:
    """``7h29 ngày 29/05/2026``: a time the way a sentence says it."""
    moment = local(unix_time)
    return f"{moment.hour}h{moment.minute:02d} ngày {moment:%d/%m/%Y}"


def day_part(unix_time: float) -> str:
    """``sáng 29/5``, ``chiều 02/6``, ``tối 04/6``, ``đêm 30/5``: the part of the local day and the day, bulletin
    style."""
    moment = local(unix_time)
    hour = moment.hour
    part = "đêm" if hour < 5 else "sáng" if hour < 12 else "chiều" if hour < 18 else "tối" if hour < 22 else "đêm"
    return f"{part} {moment.day:02d}/{moment.month}"


def hm(unix_time: float) -> str:
    """``7h29``: the local time of day."""
    moment = local(unix_time)
    return f"{moment.hour}h{moment.minute:02d}"


def incident_end(incident: Incident, now: float) -> str:
    """When an incident ended: ``02/06/2026 14:00``; ``đang diễn ra`` while ongoing; or, when the data stopped
    while it was bad, ``chưa rõ thời điểm kết thúc; số liệu đến 02/06/2026 19:00`` (never "until now")."""
    if incident.end is not None:
        return moment(incident.end)
    if incident.ongoing(now):
        return "đang diễn ra"
    return f"chưa rõ thời điểm kết thúc; số liệu đến {moment(incident.data_until or incident.start)}"


def share(value: float) -> str:
    """A share 0..1 as ``38 %``; below 1 % but not zero ``dưới 1 %``; never 100 % unless it is exactly 1."""
    if value <= 0:
        return "0 %"
    if value >= 1:
        return "100 %"
    pct = math.floor(value * 100 + 0.5)
    if pct == 0:
        return "dưới 1 %"
    return f"{min(pct, 99)} %"


def reasons(counts: dict[str, int]) -> str:
    """``máy chủ từ chối kết nối (18 lần đo), phản hồi chậm (3 lần đo)``, most frequent first."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{REASON.get(code, code)} ({count} lần đo)" for code, count in items) or "—"


def names(items: list[str]) -> str:
    """``A``, ``A và B``, ``A, B và C``; ``A; B, C và D`` when an item holds a comma (names like
    "Hệ thống tiếp nhận phản ánh, kiến nghị" must stay one item)."""
    if len(items) <= 1:
        return "".join(items)
    separator = "; " if any("," in item for item in items) else ", "
    return separator.join(items[:-1]) + " và " + items[-1]


def only_at(places: list[str]) -> str:
    """``chỉ ghi nhận tại Cao Bằng``, ``… tại Cao Bằng và Lạng Sơn``, ``… tại A, B và C``: an incident of these
    locations only; ``chỉ ghi nhận tại một số điểm đo`` when none is known."""
    return f"chỉ ghi nhận tại {names(places)}" if places else VERDICT["location_only"]


def items(parts: list[str]) -> str:
    """A list whose items may contain commas: ``A; B, C và D`` -> ``A; B, C; D`` joined by semicolons."""
    return "; ".join(parts)

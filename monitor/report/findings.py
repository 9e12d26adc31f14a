"""Findings (nhận định) and recommendations (đề nghị), written FROM the figures in the bulletin's voice.

Every sentence states a measured number; a recommendation appears only when the evidence
for it exists (e.g. capacity only for slowdowns concentrated in peak hours).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from monitor.domain import MEASURABLE, CertificateWarning, Classification, Complaint, Incident
from monitor.report import phrases, text
from monitor.report.model import Concentration, PlatformFigures

Complaints = Sequence[tuple[Complaint, Classification]]

PEAK_SHARE = 0.5  # more than half of the slowdown time in peak hours -> a capacity problem
_DOMAIN = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.dcs\.vn\b", re.IGNORECASE)


def _where(found: Concentration | None, count: int) -> str:
    """``, tập trung 7h30–9h00 các ngày làm việc``; nothing for a single incident (the table shows it)."""
    if found is None or found.span is None or count < 2:
        return ""
    days = " các ngày làm việc" if found.working_days else ""
    return f", tập trung {text.clock(found.span[0])}–{text.clock(found.span[1])}{days}"


def _symptom_words(complaints: Complaints, platform_id: str) -> str:
    seen = dict.fromkeys(cls.symptom for _, cls in complaints if platform_id in cls.platforms and cls.measurable)
    return text.names([text.SYMPTOM[s] for s in seen])  # measurable symptoms' names hold no comma


def _platform_sentences(p: PlatformFigures, complaints: Complaints, incidents: Sequence[Incident], now: float,
                        p95: dict[str, float | None]) -> list[str]:
    """One sentence per kind with every incident's day, hours, duration, p95 and failed share."""
    out = []
    own = [i for i in incidents if i.platform == p.id and i.scope == "platform"]
    down = [i for i in own if i.kind == "down"]
    slow = [i for i in own if i.kind == "degraded"]
    if down:
        where = _where(p.down_concentration, len(down))
        out.append(f"{p.name} bị gián đoạn {len(down)} lần (tổng {text.duration(p.downtime)}){where}: "
                   f"{phrases.incidents(down, now, p95)}.")
    if slow:
        where = _where(p.degraded_concentration, len(slow))
        out.append(f"{p.name} chậm, nghẽn {len(slow)} lần{where}: {phrases.incidents(slow, now, p95)}.")
    if out and p.measurable:
        out[-1] = out[-1][:-1] + (f"; {phrases.of(p.corroborated, p.measurable)} về tình trạng "
                                  f"{_symptom_words(complaints, p.id)} trùng với sự cố đo được.")
    return out


def _location_sentences(local: Sequence[Incident], names: Mapping[str, str], places: Mapping[str, str],
                        now: float) -> list[str]:
    """One sentence per platform and set of locations that alone saw incidents: ``Sổ tay đảng viên điện tử gián
    đoạn 1 lần, chỉ ghi nhận tại Cao Bằng: …; các điểm đo khác vẫn truy cập bình thường: …``."""
    groups: dict[tuple[str, tuple[str, ...]], list[Incident]] = {}
    for i in local:
        groups.setdefault((i.platform, tuple(sorted(i.locations))), []).append(i)
    out = []
    for (platform, locations), items in groups.items():
        where = text.names([places.get(loc) or loc for loc in locations])
        kinds = text.names([f"{text.KIND[kind]} {n} lần" for kind in ("down", "degraded")
                            if (n := sum(1 for i in items if i.kind == kind))])
        link = "đường truyền tại " + where if len(locations) == 1 else "đường truyền của các điểm đo đó"
        out.append(f"{names.get(platform, platform)} {kinds}, chỉ ghi nhận tại {where}: "
                   f"{phrases.incidents(items, now, {})}; các điểm đo khác vẫn truy cập bình thường: nguyên nhân "
                   f"nhiều khả năng ở {link}, không phải ở nền tảng.")
    return out


def _coverage_sentences(measured: list[PlatformFigures], period: str) -> list[str]:
    """What the data covers, for platforms measured over only part of the period (none when all were measured)."""
    partial = [p for p in measured if not p.coverage.nearly_all]
    if not partial:
        return []
    of_period = f"thời gian của {period.removeprefix('trong ')}"
    firsts = [p.coverage.span[0] for p in partial]
    lasts = [p.coverage.span[1] for p in partial]
    shares = [p.coverage.share for p in partial]
    if max(firsts) - min(firsts) <= 3600 and max(lasts) - min(lasts) <= 3600:  # one span for all of them
        low, high = text.share(min(shares)), text.share(max(shares))
        which = f"cả {len(partial)} nền tảng" if len(partial) == len(measured) and len(partial) > 1 else \
            text.names([p.name for p in partial])
        out = [f"Số liệu đo của {which} chỉ có từ {text.at(min(firsts))} đến {text.at(max(lasts))}, bao phủ "
               f"{low if low == high else f'{low}–{high}'} {of_period}; ngày, giờ không có số liệu chưa đánh giá được."]
    else:
        spans = [f"{p.name} {phrases.coverage_span(p.coverage)} ({text.share(p.coverage.share)})" for p in partial]
        out = [f"Số liệu đo chỉ bao phủ một phần {of_period}: {text.items(spans)}; ngày, giờ không có số liệu "
               "chưa đánh giá được."]
    quiet = [p.name for p in partial if not p.incidents_down and not p.incidents_degraded]
    if quiet:
        out.append(f"{text.names(quiet)}: không ghi nhận sự cố gián đoạn hay chậm, nghẽn trong thời gian có số liệu.")
    return out


def _domain_complaints(complaints: Complaints) -> tuple[int, list[str]]:
    count = 0
    domains: dict[str, None] = {}  # an ordered set
    for complaint, cls in complaints:
        if cls.symptom != "other":
            continue
        found = [d.lower() for d in _DOMAIN.findall(complaint.text)]
        if len(set(found)) >= 2 or "tên miền" in complaint.text.lower():
            count += 1
            domains.update(dict.fromkeys(found))
    return count, list(domains)


def findings(platforms: Sequence[PlatformFigures], incidents: Sequence[Incident],
             certificates: Sequence[CertificateWarning], complaints: Complaints, names: Mapping[str, str], *,
             now: float = 0.0, p95: dict[str, float | None] | None = None, week: bool = True,
             places: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The "Nhận định" bullets: each incident with its day, hours, duration, p95 and share of failed probes;
    an incident of some locations only with the names of those locations (``places``: location id -> name,
    :mod:`monitor.provinces`); what the data covers when it does not cover the whole period; verdicts only as far
    as their evidence goes (README.md "Incidents, complaints and the report").
    """
    out: list[str] = []
    period = text.in_period(week)
    p95 = p95 or {}
    monitored = [p for p in platforms if p.monitored]
    measured = [p for p in monitored if p.has_data]
    if not measured:
        out.append(f"Không có số liệu đo {period}: hệ thống giám sát chưa ghi nhận kết quả đo tin cậy nào, "
                   "chưa thể đánh giá tình trạng hoạt động của các nền tảng.")
    out += _coverage_sentences(measured, period)
    for p in measured:
        out += _platform_sentences(p, complaints, incidents, now, p95)
    stable = [p for p in measured if not p.incidents_down and not p.incidents_degraded and p.coverage.nearly_all]
    if stable and len(stable) < len(measured):
        out.append(f"{text.names([p.name for p in stable])} hoạt động ổn định theo số liệu đo, "
                   "không ghi nhận sự cố gián đoạn hay chậm, nghẽn.")
    for p in monitored:
        if p.not_measured:
            out.append(f"{p.not_measured} phản ánh về {p.name} không trùng với sự cố đo được: nền tảng vẫn hoạt động "
                       "bình thường tại mọi điểm đo, nhiều khả năng do đường truyền tại cơ sở, tài khoản hoặc dữ liệu.")
        if p.sporadic:
            out.append(f"{p.sporadic} phản ánh về {p.name} trùng với thời điểm điểm đo ghi nhận lỗi rời rạc "
                       "(một số lần đo lỗi hoặc chậm, chưa đủ để xác nhận sự cố).")
        if p.no_data:
            out.append(f"{p.no_data} phản ánh về {p.name} rơi vào thời gian không có số liệu đo, chưa đối chiếu được.")
    missing = [p.name for p in monitored if not p.has_data]
    if measured and missing:
        out.append(f"{text.names(missing)}: {text.NO_DATA} {period}, chưa đánh giá được.")
    out += _location_sentences([i for i in incidents if i.scope == "location"], names, places or {}, now)
    other: dict[str, int] = {}
    for _, cls in complaints:
        if cls.symptom not in MEASURABLE:
            other[cls.symptom] = other.get(cls.symptom, 0) + 1
    if other:
        parts = text.items([f"{n} về {text.SYMPTOM[s]}"
                            for s, n in sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))])
        out.append(f"{sum(other.values())} phản ánh về nội dung giám sát từ xa không đo được: {parts}.")
    for p in platforms:
        if not p.monitored and p.complaints:
            out.append(f"{p.complaints} phản ánh nêu {p.name}, nền tảng chưa có địa chỉ để giám sát "
                       "nên chưa đối chiếu được với số liệu đo.")
    for w in certificates:
        days = int(w.days_left)
        state = f"còn {days} ngày" if w.days_left >= 0 else "đã hết hạn"
        out.append(f"Chứng chỉ số của {names[w.platform]} hết hạn ngày {text.date(w.expires_at)}, {state}.")
    if (measured and not complaints and not any(i.scope == "platform" for i in incidents)
            and all(p.coverage.nearly_all for p in monitored)):
        out.append(f"Theo số liệu đo, các nền tảng được giám sát hoạt động ổn định {period}: không ghi nhận "
                   "sự cố gián đoạn hay chậm, nghẽn và không tiếp nhận phản ánh.")
    return tuple(text.nfc(s) for s in out)


def recommendations(platforms: Sequence[PlatformFigures], incidents: Sequence[Incident],
                    certificates: Sequence[CertificateWarning], complaints: Complaints, names: Mapping[str, str], *,
                    week: bool = True) -> tuple[str, ...]:
    """The "Đề xuất, kiến nghị" bullets: only those the measured evidence supports."""
    out: list[str] = []
    period = text.in_period(week)
    monitored = [p for p in platforms if p.monitored]
    if monitored and not any(p.has_data for p in monitored):
        out.append(f"Đề nghị kiểm tra hoạt động của hệ thống giám sát: không có số liệu đo {period}.")
    for p in monitored:
        found = p.degraded_concentration
        if p.incidents_degraded and found is not None and found.peak_share > PEAK_SHARE:
            out.append(f"Đề nghị nâng cấp, tối ưu hóa năng lực xử lý của {p.name} nhằm khắc phục tình trạng chậm, "
                       f"nghẽn trong giờ cao điểm: số liệu đo ghi nhận {p.incidents_degraded} sự cố chậm, nghẽn"
                       f"{_where(found, p.incidents_degraded)}.")
    for p in monitored:
        if p.incidents_down:
            out.append(f"Đề nghị đơn vị vận hành {p.name} làm rõ nguyên nhân, có biện pháp bảo đảm hoạt động liên tục: "
                       f"số liệu đo ghi nhận {p.incidents_down} sự cố gián đoạn, tổng {text.duration(p.downtime)}.")
    for w in certificates:
        left = f" (còn {int(w.days_left)} ngày)" if w.days_left >= 0 else " (đã hết hạn)"
        out.append(f"Đề nghị gia hạn chứng chỉ số của {names[w.platform]} trước ngày {text.date(w.expires_at)}{left}.")
    unmonitored = [p for p in platforms if not p.monitored and p.complaints]
    if unmonitored:
        count = sum(p.complaints for p in unmonitored)
        out.append(f"Đề nghị cung cấp địa chỉ truy cập của {text.names([p.name for p in unmonitored])} để đưa vào "
                   f"giám sát, đối chiếu với {count} phản ánh {period}.")
    missing = [p.name for p in monitored if not p.has_data]
    if missing and len(missing) < len(monitored):
        out.append(f"Đề nghị kiểm tra việc đo {text.names(missing)}: {text.NO_DATA} {period}.")
    local = sum(1 for _, cls in complaints if cls.symptom == "local")
    if local:
        out.append(f"Đề nghị hỗ trợ nâng cấp đường truyền, thiết bị tại cơ sở cấp xã: {local} phản ánh {period} "
                   "về đường truyền, thiết bị tại cơ sở.")
    count, domains = _domain_complaints(complaints)
    if count:
        listed = f" ({', '.join(domains)})" if domains else ""
        out.append(f"Đề nghị nghiên cứu quy hoạch, tích hợp các địa chỉ truy cập{listed} về một cổng điều hành tập "
                   f"trung, thống nhất: {count} phản ánh {period} về việc sử dụng nhiều tên miền.")
    return tuple(text.nfc(s) for s in out)

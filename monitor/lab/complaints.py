"""A synthetic PAKN export for a simulated bulletin week, with the truth to score matching against.

Complaints follow the lab's truth events (more for longer, harsher, busier-hour faults; short
night faults often go unreported), written the way party members write: the platform named by
its display name, an alias, an abbreviation or its domain; a quarter without diacritics, some in
NFD, some in odd case. Unrelated complaints (no signal in the commune, feature requests, wrong
data, a slow report when nothing was measured wrong, an unmonitored platform, none named) are
spread over the week with ``event_id`` None. Everything is decided by ``seed``; each event draws
from its own generator, so adding an event does not reword the others' complaints.

``include_broken=True`` appends the mess of real exports, each row marked in ``defect``:
``duplicate_id`` (an exact repeat of an earlier row, same id), ``empty_content`` (no Nội dung)
and ``missing_time`` (empty Thời gian tiếp nhận in the export; ``received_at`` keeps the truth).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NotRequired, TypedDict

from monitor.complaints.scrub import scrub
from monitor.config import Platform
from monitor.csvsafe import safe_writer
from monitor.domain import Complaint
from monitor.lab.world import TruthEvent
from monitor.localtime import VIETNAM, format_datetime, local

HEADERS = ("Mã PAKN", "Thời gian tiếp nhận", "Đơn vị gửi", "Tỉnh/Thành phố", "Nội dung")  # the sample's, in order
MAX_REPORT_DELAY = 28 * 3600.0  # latest receipt after the moment a member met the fault (next morning)


@dataclass(frozen=True)
class SyntheticComplaint:
    """One PAKN row plus what it truly is: the event behind it, the intended platform and symptom."""

    id: str
    received_at: float  # unix seconds, whole minutes (the export shows HH:MM)
    unit: str
    province: str
    text: str
    event_id: str | None
    symptom: str
    platform: str | None
    defect: str | None = None  # only with include_broken: duplicate_id, empty_content, missing_time


class ComplaintCause(TypedDict):
    """What a synthetic complaint is truly about: the event behind it (None: none) and the intended platform."""

    id: str
    event_id: str | None
    platform: str | None
    defect: NotRequired[str]  # only with include_broken: duplicate_id, empty_content, missing_time


class ComplaintTruth(ComplaintCause):
    """One row of complaints-truth.jsonl (:func:`write_truth`)."""

    symptom: str
    received_at: str  # ISO 8601, +07:00


# Complaints per hour of fault while people are at work; the first hour counts most.
_RATE = {"congestion": 3.0, "outage_refused": 3.0, "gateway_502": 3.0, "gateway_504": 2.5, "dns_failure": 2.0,
         "wrong_content": 2.0, "slow": 1.5, "cert_expired": 1.0, "cert_wrong_host": 1.0}
_POPULARITY = {"sotaydangvien": 1.6, "dichvucong": 1.0, "gqthc": 0.8, "quantri-gqthc": 0.5, "pakn": 0.4}
_EXTRA_NAMES = {"sotaydangvien": ("STĐV", "Sổ tay ĐV", "sổ tay"), "dichvucong": ("DVC", "dichvucong"),
                "gqthc": ("GQTTHC", "TTHC", "hệ thống TTHC"), "quantri-gqthc": ("quản trị GQTTHC",)}

_T = {  # wording per symptom group; {p} is the platform as the member names it
    "slow": ("{p} rất chậm, nghẽn, đảng viên phải chờ rất lâu mới mở được trang.",
             "{p} quá tải, thao tác nào cũng phải chờ mấy phút.", "Vào {p} xoay mãi không vào được.",
             "{p} load rất lâu, nhiều lúc phải tải lại trang mới hiện.",
             "Giờ cao điểm truy cập {p} rất chậm, không tải được tài liệu sinh hoạt chi bộ.",
             "{p} ì ạch, mở một văn bản mất hơn 1 phút.", "{p} báo quá tải hệ thống, không thao tác được.",
             "Truy cập {p} chập chờn, tốc độ rất chậm.", "{p} bị treo, xoay vòng tròn mãi không lên.",
             "{p} nghẽn, cả chi bộ không mở được tài liệu."),
    "login_busy": ("Đăng nhập {p} xoay mãi không xong, chờ rất lâu rồi quay về trang đăng nhập.",
                   "{p} không đăng nhập được trong giờ cao điểm, báo máy chủ đang bận."),
    "down": ("Không truy cập được {p}.", "{p} mất kết nối, không vào được.", "Vào {p} bị trắng trang.",
             "{p} không hoạt động, báo không kết nối được máy chủ.", "Cả đơn vị không ai vào được {p}.",
             "Không mở được {p}, trình duyệt báo trang web không khả dụng."),
    "outage_refused": ("{p} báo ERR_CONNECTION_REFUSED, không truy cập được.",
                       "Trình duyệt báo 'Không thể kết nối' khi vào {p}.", "{p} từ chối kết nối, không vào được."),
    "gateway_502": ("{p} báo lỗi 502 Bad Gateway.", "Truy cập {p} liên tục báo 502 Bad Gateway.",
                    "{p} hiện 'Bad Gateway', không làm được gì.", "Không truy cập được {p}, báo lỗi 502."),
    "gateway_504": ("{p} chờ rất lâu rồi báo 504 Gateway Timeout.", "{p} báo Gateway Time-out, không vào được.",
                    "Không truy cập được {p}, trình duyệt báo lỗi 504 Gateway Timeout."),
    "dns_failure": ("Vào {p} báo không tìm thấy địa chỉ trang.", "{p} báo lỗi DNS_PROBE_FINISHED_NXDOMAIN.",
                    "Không tìm thấy máy chủ của {p}, trình duyệt báo không truy cập được trang web này."),
    "wrong_content": ("{p} hiển thị thông báo lỗi hệ thống thay vì trang chủ.",
                      "Mở {p} thì trang hiển thị thông báo lỗi hệ thống.",
                      "{p} báo 'Máy chủ đang bận, vui lòng thử lại sau'."),
    "login": ("{p} không đăng nhập được, báo lỗi hệ thống.", "Đăng nhập {p} xong bị đẩy ra ngay, báo lỗi.",
              "Không đăng nhập được vào {p}."),
    "cert_expired": ("Truy cập {p} trình duyệt báo trang không an toàn.", "{p} báo chứng chỉ hết hạn, không vào được.",
                     "Trình duyệt cảnh báo chứng chỉ bảo mật của {p} đã hết hạn (NET::ERR_CERT_DATE_INVALID).",
                     "{p} thông báo hết hạn chứng chỉ bảo mật, trình duyệt cảnh báo trang không an toàn."),
    "cert_wrong_host": ("Vào {p} trình duyệt báo kết nối không riêng tư, chứng chỉ không đúng tên miền.",
                        "{p} báo lỗi NET::ERR_CERT_COMMON_NAME_INVALID.",
                        "Trình duyệt báo trang không an toàn khi mở {p}."),
}
# event kind -> (weight, symptom, template groups)
_KIND = {
    "congestion": ((0.85, "slow", ("slow",)), (0.15, "login", ("login_busy",))),
    "slow": ((1.0, "slow", ("slow",)),),
    "outage_refused": ((0.85, "unavailable", ("down", "outage_refused")), (0.15, "login", ("login",))),
    "gateway_502": ((1.0, "unavailable", ("down", "gateway_502", "gateway_502")),),
    "gateway_504": ((1.0, "unavailable", ("down", "gateway_504", "gateway_504")),),
    "dns_failure": ((1.0, "unavailable", ("dns_failure", "dns_failure", "down")),),
    "wrong_content": ((0.7, "unavailable", ("wrong_content",)), (0.3, "login", ("login",))),
    "cert_expired": ((1.0, "tls", ("cert_expired",)),),
    "cert_wrong_host": ((1.0, "tls", ("cert_wrong_host",)),),
}
_ENDINGS = ("", "", "", "", " Đề nghị kiểm tra, khắc phục.", " Đề nghị Trung ương nâng cấp hệ thống.",
            "\nĐề nghị hỗ trợ gấp.", " Đơn vị đã thử nhiều trình duyệt vẫn không được.",
            " Ảnh hưởng đến sinh hoạt chi bộ.", " Liên hệ đồng chí Trần Thị Hoa, SĐT 0987 000 {n}.")

# Unrelated complaints: (symptom, platform id or None, template).
_LOCAL = (("local", "sotaydangvien", "Thôn chưa có sóng điện thoại nên đảng viên không sử dụng được {p}."),
          ("local", "sotaydangvien", "Sóng 4G tại xã rất yếu, mở {p} trên điện thoại không lên."),
          ("local", "dichvucong", "Máy tính cấu hình thấp, mở {p} rất ì ạch."),
          ("local", "gqthc",
           "Đường truyền internet tại trụ sở xã chập chờn do mưa bão, không gửi được hồ sơ trên {p}."),
          ("local", "sotaydangvien", "Điện thoại của nhiều đảng viên lớn tuổi đời cũ, không cài được {p}."))
_FEATURE = (("feature", "sotaydangvien", "Đề nghị bổ sung tính năng tra cứu văn bản trên {p}."),
            ("feature", "dichvucong", "Đề nghị ban hành tài liệu hướng dẫn sử dụng {p} cho cán bộ cấp xã."),
            ("feature", "sotaydangvien", "{p} hoạt động bình thường, đề nghị bổ sung chức năng nhắc lịch sinh hoạt."),
            ("feature", "gqthc", "Đề nghị hướng dẫn thao tác chuyển sinh hoạt Đảng trên {p}."),
            ("feature", "dichvucong", "Đề nghị tích hợp chatbot AI hướng dẫn nghiệp vụ trên {p}."))
_DATA = (("data", "sotaydangvien",
          "Dữ liệu đảng viên trên {p} hiển thị chưa đúng nơi sinh hoạt Đảng, đề nghị rà soát."),
         ("data", "sotaydangvien", "{p} hiển thị sai ngày vào Đảng của một số đồng chí."),
         ("data", "sotaydangvien", "Thông tin đảng viên trên {p} chưa được cập nhật sau khi sáp nhập xã."),
         ("data", "sotaydangvien", "Danh sách chi bộ trên {p} còn thiếu 3 đồng chí mới kết nạp."))
_UNMONITORED = (("feature", "hdh-tacnghiep", "Đề nghị ban hành tài liệu hướng dẫn chức năng lịch công tác trên {p}."),
                ("slow", "hdh-tacnghiep", "{p} chạy rất chậm, mở văn bản mất vài phút."),
                ("login", "hdh-tacnghiep", "Không đăng nhập được {p}, báo sai mật khẩu dù đã đổi."))
_NO_PLATFORM = (("other", None, "Các hệ thống nằm trên nhiều tên miền khác nhau (gqthc.dcs.vn, dichvucong.dcs.vn, "
                                "sotaydangvien.dcs.vn), cán bộ khó nhớ địa chỉ truy cập."),
                ("other", None, "Đề nghị có cơ chế hỗ trợ kinh phí cho Tổ công nghệ số cộng đồng."),
                ("local", None, "Mạng internet tại trụ sở Đảng ủy xã chập chờn, không vào được các phần mềm của Đảng."),
                ("feature", None, "Đề nghị tổ chức tập huấn sử dụng các phần mềm chuyển đổi số cho cán bộ cấp xã."))

_PLACES = {  # province -> (communes, wards, villages)
    "Hà Nội": (("Thanh Trì", "Hòa Bình", "Sóc Sơn", "Ba Vì"), ("Cầu Giấy", "Hoàn Kiếm"), ()),
    "Cao Bằng": (("Quảng Hòa", "Trà Lĩnh", "Bảo Lạc"), ("Thục Phán",), ("Nà Pò", "Khuổi Ky", "Lũng Rì")),
    "Đà Nẵng": (("Hòa Vang",), ("Hải Châu", "Sơn Trà"), ()),
    "TP. Hồ Chí Minh": (("Cần Giờ", "Củ Chi"), ("Bến Thành", "Sài Gòn", "Thủ Đức"), ()),
    "Nghệ An": (("Con Cuông", "Quỳnh Lưu", "Nam Đàn"), ("Vinh Phú",), ("Xốp Mạt",)),
    "Lai Châu": (("Mường Tè", "Sìn Hồ"), ("Tân Phong",), ("Pa Ủ", "Nậm Cuổi")),
    "Huế": (("Phú Lộc", "Phong Điền"), ("Vĩnh Ninh", "Thuận Hóa"), ()),
    "Thái Nguyên": (("Tân Lập", "Định Hóa"), ("Phan Đình Phùng",), ("Bản Ná",)),
    "Ninh Bình": (("Yên Thịnh", "Gia Viễn"), ("Hoa Lư",), ()),
    "Quảng Ninh": (("Đông Hưng", "Ba Chẽ"), ("Hạ Long",), ("Khe Tâm",)),
    "Cần Thơ": (("Mỹ Xuyên", "Phong Điền"), ("Ninh Kiều", "Cái Răng"), ()),
    "Tuyên Quang": (("Lũng Cú", "Đồng Văn"), ("Minh Xuân",), ("Sủng Là", "Lô Lô Chải")),
    "Gia Lai": (("Ia Grai", "Chư Prông"), ("Pleiku",), ("Plei Ring",)),
    "Hà Tĩnh": (("Hương Sơn", "Cẩm Xuyên"), ("Thành Sen",), ()),
    "Điện Biên": (("Mường Nhé", "Tủa Chùa"), ("Điện Biên Phủ",), ("Huổi Lếch", "Nậm Pồ")),
}


def _ascii(text: str) -> str:
    """Vietnamese without diacritics, as typed on a phone without a Vietnamese keyboard."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def _variant(rng: random.Random, text: str) -> str:
    """Case and Unicode form as real rows come: mostly NFC, a quarter ASCII, some NFD, some odd case."""
    roll = rng.random()
    if roll < 0.08:
        text = text.lower()
    elif roll < 0.12:
        text = text.upper()
    roll = rng.random()
    if roll < 0.25:
        return _ascii(text)
    return unicodedata.normalize("NFD", text) if roll < 0.4 else text


def _mention(rng: random.Random, platform_id: str, catalog: dict[str, Platform]) -> str:
    """The platform as a member names it: display name, alias, domain or abbreviation."""
    platform = catalog.get(platform_id)
    if platform is None:
        return platform_id
    forms = [(3.0, [platform.name]), (3.5, platform.aliases), (2.0, platform.domains),
             (1.5, list(_EXTRA_NAMES.get(platform_id, ())))]
    forms = [(w, names) for w, names in forms if names]
    names = rng.choices([n for _, n in forms], [w for w, _ in forms])[0]
    return rng.choice(names)


def _sentence(template: str, mention: str) -> str:
    text = template.format(p=mention)
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if "." not in first else text  # a domain keeps its case


def _sender(rng: random.Random) -> tuple[str, str]:
    province = rng.choice(list(_PLACES))
    communes, wards, villages = _PLACES[province]
    shapes = [f"Đảng ủy xã {rng.choice(communes)}", f"Văn phòng Đảng ủy xã {rng.choice(communes)}",
              f"Đảng ủy phường {rng.choice(wards)}", f"Chi bộ khu phố {rng.randint(1, 12)}",
              f"Chi bộ {rng.randint(1, 9)}, Đảng ủy xã {rng.choice(communes)}",
              f"Chi bộ Trường THCS {rng.choice(('Kim Đồng', 'Lê Lợi', 'Nguyễn Du'))}",
              f"Ban Tổ chức Đảng ủy phường {rng.choice(wards)}"]
    shapes += [f"Chi bộ thôn {v}" for v in villages] * 2
    return rng.choice(shapes), province


def _at_work(t: float) -> bool:
    d = local(t)
    return d.weekday() < 5 and 7 <= d.hour + d.minute / 60 < 17.5


def _night(t: float) -> bool:
    return not 6 <= local(t).hour < 22


def _next_morning(rng: random.Random, t: float) -> float:
    d = local(t)
    day = d.date() if d.hour < 6 else d.date() + dt.timedelta(days=1)
    base = dt.datetime.combine(day, dt.time(6, 45), VIETNAM).timestamp()
    return base + rng.uniform(0, 165) * 60


def _time_phrase(encounter: float, received: float) -> str:
    d = local(encounter)
    if local(received).date() != d.date():
        return "từ tối qua" if d.hour >= 18 else "từ chiều qua" if d.hour >= 12 else "từ sáng hôm qua"
    if d.minute >= 30:
        return f"khoảng {d.hour} giờ 30"
    return f"từ {d.hour}h sáng" if d.hour < 11 else f"từ {d.hour}h"


def _expected(event: TruthEvent) -> float:
    """Complaints to expect: grows with duration and harshness, damped outside working hours."""
    hours = max(0.0, event.end - event.start) / 3600
    samples = [event.start + (event.end - event.start) * (i + 0.5) / 24 for i in range(24)]
    busy = sum(map(_at_work, samples)) / len(samples)
    rate = _RATE.get(event.kind, 1.0) * _POPULARITY.get(event.platform, 0.6)
    return min(12.0, (0.5 + rate * min(hours, 6.0)) * (0.25 + 0.75 * busy))


def _for_event(event: TruthEvent, catalog: dict[str, Platform], start: float, end: float,
               seed: int) -> list[SyntheticComplaint]:
    rng = random.Random(f"{seed}:{event.id}")
    count = int(_expected(event) + rng.random())  # randomised rounding: short faults often go unreported
    options = _KIND.get(event.kind, ((1.0, "other", ("down",)),))
    duration = max(60.0, event.end - event.start)
    out = []
    for _ in range(count):
        skew = 1.0 if duration > 12 * 3600 else 1.7  # a short fault is noticed early; a long one all along
        encounter = event.start + duration * rng.random() ** skew
        if _night(encounter) or rng.random() < 0.08:
            received = _next_morning(rng, encounter)
        else:
            received = encounter + 60 * min(150.0, max(2.0, rng.lognormvariate(math.log(15), 0.9)))
            if _night(received):
                received = _next_morning(rng, received)
        received = math.ceil(received / 60) * 60
        if not start <= received < end:
            continue
        _, symptom, groups = rng.choices(options, [o[0] for o in options])[0]
        text = _sentence(rng.choice(_T[rng.choice(groups)]), _mention(rng, event.platform, catalog))
        if rng.random() < 0.2 or local(received).date() != local(encounter).date():  # a late one says when
            when = _time_phrase(encounter, received)
            text = rng.choice((f"{text[:-1]}, {when}.", f"{text} Lỗi xảy ra {when}."))
        text += rng.choice(_ENDINGS).format(n=rng.randint(100, 999))
        unit, province = _sender(rng)
        out.append(SyntheticComplaint("", received, unit, province, _variant(rng, text),
                                      event.id, symptom, event.platform))
    return out


def _unrelated(events: Sequence[TruthEvent], catalog: dict[str, Platform], start: float, end: float,
               seed: int) -> list[SyntheticComplaint]:
    rng = random.Random(f"{seed}:unrelated")
    days = max(1.0, (end - start) / 86400)
    monitored: list[str | None] = [p for p in ("sotaydangvien", "dichvucong", "gqthc") if p in catalog] or [None]
    false_slow = tuple(("slow", rng.choice(monitored), t) for t in _T["slow"])
    pools = [_LOCAL, _FEATURE, _DATA, false_slow, _UNMONITORED, _NO_PLATFORM, _NO_PLATFORM]  # one of each first
    pools += rng.choices([_LOCAL, _FEATURE, _DATA, false_slow, _NO_PLATFORM], [3, 3, 2, 1, 1], k=round(days * 1.5))

    def quiet(t: float) -> bool:  # nothing measured wrong nearby: a false report, not a late one
        return all(not e.start - 3600 <= t <= e.end + 3 * 3600 for e in events)

    out = []
    for pool in pools:
        symptom, platform, template = rng.choice(pool)
        if platform is not None and platform not in catalog:
            continue
        for _ in range(200):
            day = start + rng.randrange(math.ceil(days)) * 86400
            d = local(day).replace(hour=rng.choice((7, 8, 8, 9, 9, 10, 11, 13, 14, 15, 16, 20)),
                                   minute=rng.randrange(60), second=0)
            at = d.timestamp()
            if start <= at < end and (symptom != "slow" or platform == "hdh-tacnghiep" or quiet(at)):
                break
        else:
            continue
        text = _sentence(template, _mention(rng, platform, catalog) if platform else "")
        unit, province = _sender(rng)
        out.append(SyntheticComplaint("", at, unit, province, _variant(rng, text), None, symptom, platform))
    return out


def synthesize(events: Sequence[TruthEvent], platforms: Sequence[Platform], start: float, end: float,
               seed: int = 0, *, include_broken: bool = False) -> list[SyntheticComplaint]:
    """Complaints received in [start, end): those caused by ``events`` and unrelated ones, by time, with ids.

    ``include_broken`` appends rows marked in ``defect`` (see the module docstring).
    """
    catalog = {p.id: p for p in platforms}
    rows: list[SyntheticComplaint] = []
    for event in sorted(events, key=lambda e: (e.start, e.id)):
        rows += _for_event(event, catalog, start, end, seed)
    rows += _unrelated(events, catalog, start, end, seed)
    rows.sort(key=lambda c: (c.received_at, c.text))
    rows = [replace(c, id=f"PAKN-SIM-{i:04d}") for i, c in enumerate(rows, 1)]
    if include_broken and rows:
        rng = random.Random(f"{seed}:broken")
        unit, province = _sender(rng)
        at = rows[rng.randrange(len(rows))].received_at
        rows += [replace(rows[rng.randrange(len(rows))], defect="duplicate_id"),
                 SyntheticComplaint(f"PAKN-SIM-{len(rows) + 1:04d}", at, unit, province, "", None, "other", None,
                                    "empty_content"),
                 replace(rows[rng.randrange(len(rows))], id=f"PAKN-SIM-{len(rows) + 2:04d}", defect="missing_time")]
        rows.sort(key=lambda c: c.received_at)
    return rows


def write_export(path: Path, complaints: Sequence[SyntheticComplaint]) -> None:
    """The PAKN export as Excel saves it: UTF-8 with BOM, CRLF, the sample's headers, by received time."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = safe_writer(f, lineterminator="\r\n")  # no cell can run as a formula in Excel
        writer.writerow(HEADERS)
        for c in sorted(complaints, key=lambda c: c.received_at):
            when = "" if c.defect == "missing_time" else format_datetime(c.received_at, seconds=False)
            writer.writerow((c.id, when, c.unit, c.province, c.text))


def as_complaints(rows: Sequence[SyntheticComplaint]) -> list[Complaint]:
    """The rows as the importer would give them (no defects expected; text scrubbed like an import)."""
    return [Complaint(c.id, c.received_at, c.unit, c.province, scrub(unicodedata.normalize("NFC", c.text)))
            for c in rows if c.defect is None]


def write_truth(path: Path, complaints: Sequence[SyntheticComplaint]) -> None:
    """One JSON object per complaint: id, event_id, platform, symptom, received_at (ISO, +07:00), defect if any."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for c in sorted(complaints, key=lambda c: c.received_at):
            row: ComplaintTruth = {"id": c.id, "event_id": c.event_id, "platform": c.platform, "symptom": c.symptom,
                                   "received_at": local(c.received_at).isoformat()}
            if c.defect:
                row["defect"] = c.defect
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

"""What a complaint is about: which platforms, which symptom, when (as the text says), peak or not.

Everything is matched on :func:`~monitor.complaints.text.fold` keys, so NFC, NFD, text without
diacritics and any case classify alike; phrases are reported as written.

Platforms: each platform's domains (and their first label, "dichvucong"), display name, aliases, and
the built-in abbreviations in :data:`ABBREVIATIONS`, with "thủ tục hành chính" also read as "TTHC".
The longest phrase wins and matched spans do not overlap ("quản trị GQTTHC" names quantri-gqthc only).

Symptom: the first tier (in :data:`TIERS` order) with a phrase in the text decides:

1. tls — certificate warnings; 2. local — no signal, weak line, old device (slowness the platform
did not cause); 3. login; 4. slow_eventually — "chờ … mới hiện": it did load, slowly;
5. unavailable — error codes, blank page, lost connection, DNS, "máy chủ đang bận";
6. slow — chậm, nghẽn, quá tải, treo, xoay mãi, ì ạch, chập chờn; 7. unavailable_weak — "không vào
được", "không mở được", which slowness often ends in ("xoay mãi không vào được" is slow);
8. data; 9. feature — requests for functions, guides, training (a closing "Đề nghị kiểm tra, khắc
phục" is no feature request); otherwise other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from monitor.calendar import DEFAULT_PEAK, PeakHours, is_peak
from monitor.complaints.model import Classification, Complaint
from monitor.complaints.text import Folded, fold, phrase_pattern, word_pattern
from monitor.config import Platform
from monitor.localtime import VIETNAM, local

ABBREVIATIONS: dict[str, tuple[str, ...]] = {  # platform id -> how people shorten its name
    "sotaydangvien": ("STĐV", "Sổ tay ĐV", "sổ tay", "sổ tay đảng viên điện tử"),
    "dichvucong": ("DVC", "dịch vụ công", "dịch vụ công của Đảng"),
    "gqthc": ("GQTTHC", "GQTHC", "TTHC", "hệ thống TTHC", "thủ tục hành chính"),
    "quantri-gqthc": ("quản trị GQTTHC", "trang quản trị", "quản trị TTHC", "trang quản trị GQTTHC"),
    "hdh-tacnghiep": ("HĐH tác nghiệp", "hệ điều hành tác nghiệp"),
    "pakn": ("hệ thống PAKN",),
}
_SYNONYMS = (("thu tuc hanh chinh", "tthc"),)  # folded long form -> short form, both accepted

TIERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (  # (tier, symptom, regexes over fold keys)
    ("tls", "tls", (r"chung chi(?: bao mat| ssl| so)?",
                    r"(?:trang|ket noi|website|trang web) (?:\w+ ){0,2}khong an toan",
                    r"(?:ket noi )?khong (?:phai la )?(?:ket noi )?rieng tu", r"net::err_cert\w*", r"err_cert\w*",
                    r"ssl\w*")),
    ("local", "local", (r"(?:chua|khong) co song", r"mat song", r"song (?:4g|3g|dien thoai|di dong|wifi)",
                        r"song (?:\w+ ){0,4}yeu", r"(?:duong truyen|mang internet|mang|internet|wifi)"
                        r"(?: [^.;]{0,60}?)? chap chon", r"cau hinh thap", r"doi cu",
                        r"khong cai (?:dat )?duoc", r"do mua bao")),
    ("login", "login", (r"khong (?:the )?dang nhap(?: duoc)?",
                        r"dang nhap (?:\S+ ){0,6}?(?:bi day ra|xoay mai|that bai)",
                        r"bi day ra", r"sai mat khau", r"quay (?:ve|lai) trang dang nhap")),
    ("slow_eventually", "slow", (r"cho (?:\S+ ){0,4}?moi (?:hien|mo duoc|vao duoc|len|tai (?:duoc|xong))",
                                 r"(?:lau|phut) moi (?:hien|mo duoc|vao duoc|len)")),
    ("unavailable", "unavailable", (r"loi 50[0-9]", r"50[234](?: bad)? gateway(?: time-?out)?", r"bad gateway",
                                    r"gateway time-?out", r"err_\w+", r"dns\w*", r"nxdomain",
                                    r"khong (?:the )?truy cap(?: duoc)?", r"loi truy cap", r"mat ket noi",
                                    r"trang trang", r"khong (?:the )?ket noi(?: duoc)?", r"tu choi ket noi",
                                    r"khong tim thay(?: \w+){0,3}", r"khong phan giai",
                                    r"(?:bao |thong bao )?loi he thong", r"may chu dang ban", r"khong hoat dong",
                                    r"khong kha dung", r"bi sap")),
    ("slow", "slow", (r"(?:rat |qua |hoi )?cham(?! soc| diem| dut| chi)", r"nghen", r"qua tai", r"bi treo", r"treo",
                      r"xoay (?:mai|vong(?: tron)?|tron)", r"load (?:\w+ )?(?:mai|lau)", r"tai (?:rat |qua )?lau",
                      r"i ach", r"(?:phai )?cho (?:rat |qua |kha )?lau", r"phai cho (?:may|vai|hang) phut",
                      r"cho (?:hon )?\d+ phut", r"mat (?:hon |vai |may )?(?:\d+ )?phut", r"chap chon")),
    ("unavailable_weak", "unavailable", (r"khong (?:ai )?vao duoc", r"khong mo duoc", r"khong len",
                                         r"khong tai duoc", r"khong su dung duoc", r"khong gui duoc")),
    ("data", "data", (r"hien thi (?:sai|chua dung|khong dung|nham)", r"chua dung", r"khong dung(?! duoc)", r"sai lech",
                      r"chua (?:duoc )?cap nhat", r"con thieu", r"thieu thong tin")),
    ("feature", "feature", (r"de nghi bo sung", r"bo sung (?:tinh nang|chuc nang)", r"(?:them|bo sung) tinh nang",
                            r"huong dan", r"tap huan", r"tich hop", r"ban hanh tai lieu")),
)
_SYMPTOM_PATTERNS = tuple((symptom, re.compile("|".join(word_pattern(p) for p in patterns)))
                          for _, symptom, patterns in TIERS)


def _phrases(platform: Platform) -> set[str]:
    """Every folded phrase that names ``platform``."""
    names = [platform.name, *platform.aliases, *ABBREVIATIONS.get(platform.id, ())]
    for domain in platform.domains:
        names += [domain, domain.split(".", 1)[0]]
    phrases = {fold(n) for n in names if fold(n)}
    for long, short in _SYNONYMS:
        phrases |= {p.replace(long, short) for p in phrases}
    return phrases


def _platforms(folded: Folded, platforms: Sequence[Platform]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Platform ids in order of first mention, with the phrase as written; longest match wins, no overlaps."""
    found = [(start, end, platform.id, source)
             for platform in platforms for phrase in _phrases(platform)
             for start, end, source in folded.finditer(phrase_pattern(phrase))]
    taken: list[tuple[int, int, str, str]] = []
    for match in sorted(found, key=lambda m: (m[0] - m[1], m[0])):
        if all(match[1] <= s or match[0] >= e for s, e, _, _ in taken):
            taken.append(match)
    ids: dict[str, str] = {}
    for _, _, pid, source in sorted(taken):
        ids.setdefault(pid, source)
    return tuple(ids), tuple(ids.values())


def _symptom(folded: Folded) -> tuple[str, str | None]:
    for symptom, pattern in _SYMPTOM_PATTERNS:
        for _, _, source in folded.finditer(pattern):
            return symptom, source
    return "other", None


# Stated time: (pattern over fold keys, kind).
_CLOCK = r"(?P<h>\d{1,2}) ?(?:h|gio|g)(?: ?(?P<m>\d{1,2})(?: ?phut)?)?(?: (?P<part>sang|trua|chieu|toi|dem))?"
_WHEN = (
    (re.compile(word_pattern(r"(?:tu |vao |trong )?(?:toi|buoi toi) (?:hom )?qua")), "yesterday", (18, 24)),
    (re.compile(word_pattern(r"(?:tu |vao |trong )?(?:chieu|buoi chieu) (?:hom )?qua")), "yesterday", (12, 18)),
    (re.compile(word_pattern(r"(?:tu |vao |trong )?(?:sang|buoi sang) (?:hom )?qua")), "yesterday", (6, 12)),
    (re.compile(word_pattern(r"(?:tu |vao |trong )?dem qua")), "yesterday", (22, 30)),
    (re.compile(word_pattern(r"tu (?:sang|sang nay|dau gio sang) (?:den gio|den nay|toi gio)|tu sang nay")),
     "today_from", (6, None)),
    (re.compile(word_pattern(rf"(?:trong |vao |luc )?khoang {_CLOCK}")), "around", None),
    (re.compile(word_pattern(rf"tu {_CLOCK}")), "since", None),
)


_DURATION_WORDS = ("cho ", "mat ", "doi ", "trong vong ", "len toi ", "hon ")


def _clock(match: re.Match[str]) -> tuple[int, int] | None:
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    if match.group("part") in ("chieu", "toi") and hour < 12:
        hour += 12
    return (hour, minute) if hour <= 23 and minute <= 59 else None


def _stated_time(folded: Folded, received_at: float) -> tuple[float | None, float | None, str | None]:
    """(pain_from, pain_to, phrase) from what the text says about when, relative to receipt (local time)."""
    today = local(received_at).date()

    def at(day: dt.date, hours: float) -> float:
        return dt.datetime.combine(day, dt.time(), VIETNAM).timestamp() + hours * 3600

    for pattern, kind, hours in _WHEN:
        for match in pattern.finditer(folded.key):
            phrase = folded.source(match.start(), match.end())
            if kind == "yesterday":
                start = at(today - dt.timedelta(days=1), hours[0])
                return start, min(at(today - dt.timedelta(days=1), hours[1]), received_at), phrase
            if kind == "today_from":
                return min(at(today, hours[0]), received_at), received_at, phrase
            clock = _clock(match)
            if clock is None or (kind == "around" and folded.key[:match.start()].endswith(_DURATION_WORDS)):
                continue  # "chờ khoảng 2 giờ" is how long, not when
            moment = at(today, clock[0] + clock[1] / 60)
            if moment > received_at:  # a time later than the receipt means the day before
                moment -= 86400
            if kind == "around":
                return moment - 1800, min(moment + 1800, received_at), phrase
            return moment, received_at, phrase
    return None, None, None


def classify(complaint: Complaint, platforms: Sequence[Platform], peak: PeakHours = DEFAULT_PEAK) -> Classification:
    """Platforms named, symptom, peak and stated time of one complaint (pure; see the module docstring)."""
    folded = Folded.of(complaint.text)
    ids, phrases = _platforms(folded, platforms)
    symptom, symptom_phrase = _symptom(folded)
    pain_from, pain_to, time_phrase = _stated_time(folded, complaint.received_at)
    return Classification(ids, phrases, symptom, symptom_phrase, is_peak(complaint.received_at, peak),
                          pain_from, pain_to, time_phrase)

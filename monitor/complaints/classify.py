"""What a complaint is about: which platforms, which symptom, when (as the text says), peak or not.

Everything is matched on :func:`~monitor.complaints.text.fold` keys, so NFC, NFD, text without
diacritics and any case classify alike, with teen-code expanded (:data:`~monitor.complaints.text.SHORTHAND`:
"ko vào đc" reads "khong vao duoc", "bt" "binh thuong", "j" "gi"); phrases are reported as written.

Platforms: each platform's domains (and their first label, "dichvucong"), display name, aliases, and
the built-in abbreviations in :data:`ABBREVIATIONS`, with "thủ tục hành chính" also read as "TTHC".
An admin page in :data:`ADMIN_PAGES` is also named by "(trang) quản trị" + any name of its site. The
longest phrase wins and matched spans do not overlap ("trang quản trị GQTTHC" names quantri-gqthc
only; "dịch vụ công quốc gia", in :data:`NOT_PLATFORMS`, names none). "Hệ thống", "phần mềm", "app"
alone name nothing.

Symptom: the first tier (in :data:`TIERS` order) with a phrase in the text decides:

1. tls — certificate warnings; 2. local — no signal, weak or flaky line or wifi, old device (slowness
the platform did not cause); 3. login — also OTP, captcha, session thrown out; 4. slow_eventually —
"chờ … mới hiện": it did load, slowly; 5. intermittent (slow) — "lúc được lúc không", the platform
"chập chờn"; 6. unavailable — error codes and messages, timeout, blank page, lost connection, DNS,
"máy chủ đang bận", "sập"; 7. slow — chậm, nghẽn, quá tải, treo, đơ, lag, xoay/quay/loading mãi, ì ạch;
8. unavailable_weak — "không vào được", "không mở được", which slowness often ends in ("xoay mãi không
vào được" is slow); 9. data; 10. feature — requests and suggestions (đề nghị bổ sung, cho phép, nên có,
mong có, đề xuất, guides, training; a closing "Đề nghị kiểm tra, khắc phục" is no request); otherwise
other: when no phrase is sure, ``other`` rather than a guess.

Stated time (the matcher's window, ``pain_from``/``pain_to``), first kind found in :data:`_WHEN` order:
a range ("từ 8h đến 10h", "8h-10h sáng nay"), "khoảng 10h", "từ 14h", a part of yesterday ("tối qua",
"sáng hôm qua"), "từ sáng (đến giờ)", a part of today ("sáng nay", "trưa nay", "chiều nay", "đầu giờ
sáng", "đầu giờ chiều", "suốt buổi chiều"; hours in :data:`PARTS`), "hôm qua" (unless it "vẫn bình
thường" then). Never after receipt; a time of day later than receipt (without "nay") is the day before.

Speed (issue 12): the text is folded and its words listed once (:class:`~monitor.complaints.text.Clues`);
a phrase pattern runs only when the words it needs are there, all symptom tiers share one index
(:class:`~monitor.complaints.text.FirstOf`), and platform phrases are looked up by their first tokens.
tests/test_complaints_same_decisions.py holds the decisions this must keep.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence

from monitor.complaints.text import SHORTHAND, Clues, FirstOf, Folded, WordPattern, fold
from monitor.config import Platform
from monitor.domain import Classification, Complaint
from monitor.localtime import VIETNAM, local
from monitor.workcalendar import DEFAULT_PEAK, PeakHours, is_working_day

ABBREVIATIONS: dict[str, tuple[str, ...]] = {  # platform id -> how people shorten its name
    "sotaydangvien": ("STĐV", "Sổ tay ĐV", "sổ tay", "sổ tay đảng viên điện tử", "app sổ tay"),
    "dichvucong": ("DVC", "dịch vụ công", "dịch vụ công của Đảng"),
    "gqthc": ("GQTTHC", "GQTHC", "TTHC", "hệ thống TTHC", "thủ tục hành chính"),
    "quantri-gqthc": ("quản trị GQTTHC", "trang quản trị", "quản trị TTHC", "trang quản trị GQTTHC"),
    "hdh-tacnghiep": ("HĐH tác nghiệp", "hệ điều hành tác nghiệp"),
    "pakn": ("hệ thống PAKN",),
}
ADMIN_PAGES = {"quantri-gqthc": "gqthc"}  # "trang quản trị <any name of gqthc>" names the admin page only
NOT_PLATFORMS = ("dịch vụ công quốc gia", "cổng dịch vụ công quốc gia", "DVC quốc gia", "dvcqg")  # not the Party's
_SYNONYMS = (("thu tuc hanh chinh", "tthc"),)  # folded long form -> short form, both accepted

# Symptom tiers: (tier, symptom, regexes over fold keys with SHORTHAND expanded: "ko vào đc" reads
# "khong vao duoc"). The first tier with a match decides; the phrase it matched explains it.
_CLAUSE = r"[^.;!?\n]"  # within one clause
_NOT_DENIED = r"(?<!khong )(?<!khong con )(?<!khong bi )(?<!chua )(?<!chua bi )(?<!het )"  # "không có lỗi"
TIERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tls", "tls", (r"chung chi(?: bao mat| ssl| so)?",
                    r"(?:trang|ket noi|website|trang web|web|trinh duyet|canh bao) (?:\S+ ){0,3}?khong an toan",
                    r"(?:ket noi )?khong (?:phai la )?(?:ket noi )?rieng tu", r"net::err_cert\w*", r"err_cert\w*",
                    r"ssl\w*")),
    ("local", "local", (r"(?:chua|khong) co (?:song|internet|cap quang|wifi|dien thoai thong minh|smartphone)",
                        r"mat song", r"song (?:4g|3g|dien thoai|di dong|wifi)", r"song (?:\w+ ){0,4}yeu",
                        rf"(?:duong truyen|mang internet|mang wifi|mang|internet|wifi)(?: {_CLAUSE}{{0,60}}?)? "
                        r"(?:chap chon|yeu|kem|hay mat|thuong xuyen mat(?: ket noi)?|bi mat(?: ket noi)?|mat ket noi)",
                        r"cau hinh thap", r"doi cu", r"dien thoai cuc gach", r"chi (?:dung|co) (?:song )?[34]g",
                        rf"(?:may tinh|dien thoai|thiet bi)(?: {_CLAUSE}{{0,40}}?)? (?:qua |da |hoi |rat )?cu"
                        r"(?= ?(?:qua|roi|nen|lam|,|\.|;|$))",
                        r"khong cai (?:dat )?duoc", r"do mua bao")),
    ("login", "login", (r"khong (?:the )?dang nhap(?: duoc)?", r"dang nhap (?:\S+ ){0,2}?khong duoc",
                        r"dang nhap (?:\S+ ){0,6}?(?:bi day ra|bi vang ra|bi thoat ra|xoay mai|that bai|bi loi)",
                        r"dang nhap (?:\S+ ){0,4}?(?:lai )?bi (?:vang|day|thoat|da) ra",
                        r"(?:bat|phai) dang nhap lai", r"bi day ra", r"sai (?:mat khau|ten dang nhap)",
                        r"quay (?:ve|lai) trang dang nhap", r"otp", r"ma (?:xac thuc|xac nhan)", r"captcha",
                        r"phien (?:dang nhap|lam viec) (?:\S+ ){0,2}?het han", r"tai khoan (?:bi khoa|khong ton tai)",
                        r"(?:quen|lay lai) mat khau")),
    ("slow_eventually", "slow", (r"(?:cho|doi) (?:\S+ ){0,4}?moi (?:hien|mo duoc|vao duoc|len|tai (?:duoc|xong)|xong"
                                 r"|phan hoi|chuyen)",
                                 r"(?:lau|phut|luc sau|mai) moi (?:hien|mo duoc|vao duoc|len|xong|phan hoi|chuyen"
                                 r"|xem duoc)")),
    ("intermittent", "slow", (r"(?:luc|khi|hom) (?:\S+ ){0,2}?(?:duoc|nhanh|co) (?:luc|khi|hom) (?:\S+ ){0,2}?"
                              r"(?:khong|cham|loi|bi loi|timeout)", r"chap chon")),
    ("unavailable", "unavailable", (r"loi 50[0-9]", r"50[234](?: bad)? gateway(?: time-?out)?", r"bad gateway",
                                    r"gateway time-?out", r"err_\w+", r"dns\w*", r"nxdomain",
                                    r"(?:(?<=loi )|(?<=bao )|(?<=bi ))\W?(?:40[34]|50[0-9])"
                                    r"(?: bad gateway(?: time-?out)?| gateway time-?out| service unavailable"
                                    r"| internal server error| not found)?", r"service unavailable",
                                    r"internal server error", r"(?:request |connection )?time(?:d)?[ -]?out",
                                    r"can.?t be reached", r"something went wrong",
                                    _NOT_DENIED + r"(?:da )?(?:co|xay ra) loi", r"loi (?:ket noi|server|may chu)",
                                    r"khong (?:the )?truy cap(?: duoc)?", r"loi truy cap", r"mat ket noi",
                                    r"khong co ket noi", r"trang trang", r"trang tron", r"man hinh trang",
                                    r"khong hien (?:gi|thi gi|ra gi)", r"khong (?:the )?ket noi(?: duoc)?",
                                    r"tu choi ket noi", r"khong tim thay(?: \w+){0,3}", r"khong phan giai",
                                    r"(?:bao |thong bao )?loi he thong", r"may chu dang ban", r"khong hoat dong",
                                    r"khong kha dung", _NOT_DENIED + r"bi sap", r"sap (?:roi|ca|tu|luon|het)",
                                    r"(?:server|web|he thong|may chu|trang|app) (?:bi )?sap",
                                    r"(?:la|thi|bi|tu) (?:vang|thoat|tat) ra")),
    ("slow", "slow", (r"(?:rat |qua |hoi )?cham(?! soc| diem| dut| chi)", _NOT_DENIED + r"nghen",
                      _NOT_DENIED + r"qua tai", _NOT_DENIED + r"bi treo", _NOT_DENIED + r"treo",
                      r"(?:xoay|quay)(?: (?:xoay|quay))? (?:mai|hoai|vong(?: vong| tron)?|tron)", r"quay quay",
                      r"xoay xoay", r"load (?:\w+ )?(?:mai|lau|hoai)", r"loading(?: \w+)? (?:mai|hoai|lau)",
                      r"load (?:khong|chua) (?:noi|xong)", r"khong load noi", r"tai (?:rat |qua )?lau",
                      r"mo (?:rat |qua )?lau", r"i ach", r"(?:phai )?(?:cho|doi) (?:rat |qua |kha )?lau",
                      r"(?:cho|doi) (?:mai|hoai|mon moi)", r"phai (?:cho|doi) (?:may|vai|hang|ca) phut",
                      r"(?:cho|doi) (?:hon |gan |khoang )?\d+(?:-\d+)? phut",
                      r"mat (?:hon |vai |may |gan |nua |ca )?(?:\d+ )?(?:phut|tieng)", r"mat (?:nhieu )?thoi gian",
                      _NOT_DENIED + r"giat(?: lag)?", _NOT_DENIED + r"lag", r"bi do", r"dung hinh",
                      r"bam (?:\S+ ){0,3}khong phan hoi",
                      r"nhu rua(?: bo)?")),
    ("unavailable_weak", "unavailable", (r"khong (?:ai )?vao duoc", r"khong mo duoc", r"khong len",
                                         r"khong (?:tai|load|upload|nop|gui) duoc", r"khong su dung duoc")),
    ("data", "data", (r"hien(?: thi)? (?:sai|chua dung|khong dung|nham|thieu)", r"chua dung", r"khong dung(?! duoc)",
                      r"sai lech", r"chua (?:duoc )?cap nhat", r"con thieu", r"bi thieu", r"thieu thong tin",
                      r"thieu \d+ (?:dong chi|dang vien|trang)", r"khong khop", r"(?:chua|khong) chinh xac",
                      r"khong thay (?:\S+ ){0,3}?(?:trong|tren) danh sach")),
    ("feature", "feature", (r"de nghi bo sung", r"bo sung (?:\S+ ){0,2}?(?:tinh nang|chuc nang|mau|bieu mau|muc)",
                            r"(?:them|co them) (?:tinh nang|chuc nang|muc|nut|che do|phien ban|mau)",
                            r"huong dan", r"tap huan", r"tich hop", r"ban hanh tai lieu", r"de xuat", r"cho phep",
                            r"nen co", r"mong (?:\S+ ){0,4}?(?:co|them|bo sung|ho tro|cho phep)",
                            r"kien nghi (?:\S+ ){0,5}?(?:bo sung|them|co)",
                            r"de nghi (?:\S+ ){0,5}?(?:gui (?:thong bao|tin nhan|sms)|co (?:them )?(?:chuc nang|"
                            r"tinh nang|che do|giao dien|nut|muc))",
                            r"co (?:chuc nang|tinh nang|che do|nut|muc) ",
                            r"giao dien (?:\S+ ){0,3}?(?:hon|than thien|de dung)")),
)
_SYMPTOM_PATTERNS = FirstOf(patterns for _, _, patterns in TIERS)


def _names(platform: Platform) -> tuple[str, ...]:
    """How people name ``platform``: display name, aliases, abbreviations, domains and their first label."""
    names = [platform.name, *platform.aliases, *ABBREVIATIONS.get(platform.id, ())]
    for domain in platform.domains:
        names += [domain, domain.split(".", 1)[0]]
    return tuple(names)


def _phrases(pid: str, names: tuple[str, ...], catalog: dict[str, tuple[str, ...]]) -> set[str]:
    """Every folded phrase that names platform ``pid`` (an admin page: "trang quản trị" + a name of its site)."""
    phrases = {fold(n) for n in names if fold(n)}
    for site in {fold(n) for n in catalog.get(ADMIN_PAGES.get(pid, ""), ()) if fold(n)}:
        for prefix in ("quan tri", "trang quan tri"):
            phrases |= {f"{prefix} {middle}{site}" for middle in ("", "cua ", "he thong ", "cua he thong ")}
    for long, short in _SYNONYMS:
        phrases |= {p.replace(long, short) for p in phrases}
    return phrases


_TOKEN = re.compile(r"\w+(?:[-.]\w+)*")  # a word, or words joined by '-' or '.' (a domain, "quantri-gqthc")
_JOINED = re.compile(r"[-.](?<=\w.)(?=\w)")  # '-' or '.' between word characters (found from the '-' or '.')
# The middle mapping's keys are a phrase's first two tokens.
_Index = tuple[dict[tuple[str, ...], list[str]], dict[tuple[str, ...], tuple[int, ...]], dict[str, frozenset[str]],
               frozenset[str]]


@functools.lru_cache(maxsize=16)
def _index(catalog: tuple[tuple[str, tuple[str, ...]], ...]) -> _Index:
    """Phrase tokens -> platform ids ("" for a phrase that names no platform of ours); the lengths of the
    phrases of two tokens or more by their first two; each first token of a phrase -> the other tokens
    every phrase it starts has ("trang" -> "quan", "tri"); and the first word (``\\w+``) of each first
    token: a key without any names no platform."""
    names = dict(catalog)
    named = [(phrase, pid) for pid in names for phrase in _phrases(pid, names[pid], names)]
    named += [(fold(n), "") for n in NOT_PLATFORMS]
    phrases: dict[tuple[str, ...], list[str]] = {}
    for phrase, pid in named:
        words = tuple(_TOKEN.findall(phrase))
        if words:
            phrases.setdefault(words, []).append(pid)
    lengths: dict[tuple[str, ...], set[int]] = {}  # by the first two tokens
    for words in phrases:
        if len(words) > 1:
            lengths.setdefault(words[:2], set()).add(len(words))
    needs: dict[str, frozenset[str]] = {}
    for words in phrases:
        needs[words[0]] = needs.get(words[0], frozenset(words[1:])) & frozenset(words[1:])
    return (phrases, {pair: tuple(sorted(n)) for pair, n in lengths.items()}, needs,
            frozenset(word.group() for first in needs if (word := re.match(r"\w+", first))))  # every token has one


_CATALOGS: dict[tuple[int, ...], tuple[Sequence[Platform], _Index]] = {}


def _catalog_index(platforms: Sequence[Platform]) -> _Index:
    """:func:`_index` of these platforms, remembered by identity (platforms are frozen; an import classifies
    every row with the same ones, and building the key of :func:`_index` costs as much as a classification)."""
    ids = tuple(map(id, platforms))
    cached = _CATALOGS.get(ids)
    if cached is None:
        if len(_CATALOGS) >= 16:
            _CATALOGS.clear()
        cached = _CATALOGS[ids] = (tuple(platforms), _index(tuple((p.id, _names(p)) for p in platforms)))
    return cached[1]


def _tokens(clues: Clues) -> tuple[list[str], set[str]]:
    """``_TOKEN.findall(key)`` and its set: the key's words unless a '-' or '.' joins two of them (a domain)."""
    if _JOINED.search(clues.key):
        tokens = _TOKEN.findall(clues.key)
        return tokens, set(tokens)
    return clues.runs, clues.words


def _positions(words: list[str], wanted: set[str]) -> list[int]:
    """Indexes of the words in ``wanted``, in order (found with C-speed ``list.index``)."""
    positions = []
    for word in wanted:
        i = -1
        for _ in range(words.count(word)):
            i = words.index(word, i + 1)
            positions.append(i)
    return sorted(positions)


def _offsets(key: str, tokens: list[str], count: int) -> list[int]:
    """Where each of the first ``count`` tokens starts in ``key`` (no word character lies between tokens)."""
    starts, at = [], 0
    for token in tokens[:count]:
        at = key.find(token, at)
        starts.append(at)
        at += len(token)
    return starts


def _platforms(folded: Folded, clues: Clues, platforms: Sequence[Platform]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Platform ids in order of first mention, with the phrase as written; longest match wins, no overlaps."""
    phrases, lengths, needs, first_words = _catalog_index(platforms)
    if first_words.isdisjoint(clues.words):
        return (), ()
    words, present = _tokens(clues)
    found = []
    for i in _positions(words, {word for word in needs.keys() & present if needs[word] <= present}):
        found += [(i, i + 1, pid) for pid in phrases.get((words[i],), ())]
        found += [(i, i + n, pid) for n in lengths.get(tuple(words[i:i + 2]), ()) if i + n <= len(words)
                  for pid in phrases.get(tuple(words[i:i + n]), ())]
    taken = [False] * len(words)  # per token: already part of a longer mention
    chosen = []
    for first, last, pid in sorted(found, key=lambda m: (m[0] - m[1], m[0])):
        if not any(taken[first:last]):
            taken[first:last] = [True] * (last - first)
            chosen.append((first, last, pid))
    chosen = [c for c in sorted(chosen) if c[2]]
    starts = _offsets(folded.key, words, max((last for _, last, _ in chosen), default=0))
    ids: dict[str, str] = {}
    for first, last, pid in chosen:
        ids.setdefault(pid, folded.source(starts[first], starts[last - 1] + len(words[last - 1])))
    return tuple(ids), tuple(ids.values())


def _symptom(folded: Folded, clues: Clues) -> tuple[str, str | None]:
    """The first tier with a phrase in the text, and that phrase (its first in the text) as written."""
    found = _SYMPTOM_PATTERNS.search(clues)
    if found is None:
        return "other", None
    tier, match = found
    return TIERS[tier][1], folded.source(*match.span("w"))


# Stated time. Parts of the day, in hours of the local day (22 to 30 is the night into the next day).
PARTS = {"sang": (6, 12), "trua": (11, 13.5), "chieu": (12, 18), "toi": (18, 24), "dem": (22, 30),
         "dau gio sang": (7, 9), "dau gio chieu": (13, 15), "cuoi gio sang": (10.5, 12), "cuoi gio chieu": (16, 18)}
_PART = r"(?P<part>(?:dau gio |cuoi gio )?(?:sang|chieu)|trua|toi|dem)"
_DAY = r"(?: (?:hom |ngay )?(?P<day>nay|qua))?"  # "sáng hôm qua", "10h sáng nay"
_CLOCK = r"(?P<h>\d{1,2})(?: ?(?:h|gio|g)(?: ?(?P<m>\d{1,2})(?: ?phut)?)?|:(?P<mm>\d{2}))" \
         r"(?: (?P<part>sang|trua|chieu|toi|dem))?" + _DAY
_RANGE = r"(?:tu |trong khoang |khoang |luc )?(?P<h1>\d{1,2})(?: ?(?:h|gio|g)(?: ?(?P<m1>\d{2}))?|:(?P<mm1>\d{2}))?" \
         r"(?: (?P<part1>sang|trua|chieu|toi))? ?(?:den|toi|-|–|~) ?" + _CLOCK
_NORMAL = re.compile(r" (?:(?:van |con |dung |vao )*(?:binh thuong|on|duoc|tot|nhanh))")  # "hôm qua vẫn bình thường"
_WHEN = (  # (pattern, kind), tried in this order; the first that gives a time decides
    (WordPattern(_RANGE), "range"),
    (WordPattern(rf"(?:trong |vao |luc )?khoang {_CLOCK}"), "around"),
    (WordPattern(rf"tu {_CLOCK}"), "since"),
    (WordPattern(rf"(?:tu |vao |trong |ca |suot )?(?:buoi )?{_PART} (?:hom )?qua"), "yesterday"),
    (WordPattern(rf"tu (?:buoi )?{_PART}(?: nay)?(?: (?:den|toi) (?:gio|nay))?"), "today_from"),
    (WordPattern(rf"(?:vao |trong |ca |suot )?(?:buoi )?(?:{_PART} nay|(?P<habit>dau gio|cuoi gio) "
                 r"(?:sang|chieu)|(?:ca|suot) (?:buoi )?(?:sang|chieu))"), "today"),
    (WordPattern(r"(?P<since>tu )?(?:hom|ngay) qua"), "yesterday_all"),
)
_DURATION_WORDS = ("cho ", "mat ", "doi ", "trong vong ", "len toi ", "hon ", "gan ")


def _clock(hour: str, minute: str | None, part: str | None) -> float | None:
    """Hours since midnight of "10h30 sáng", "2h chiều", "14:05"; None for no such time."""
    h, m = int(hour), int(minute or 0)
    if part in ("chieu", "toi") and h < 12:
        h += 12
    return h + m / 60 if h <= 23 and m <= 59 else None


_PART_NAMES = tuple((p, re.compile(rf"(?<!\w){p}(?!\w)")) for p in sorted(PARTS, key=len, reverse=True))


def _part_of(match: re.Match[str]) -> str:
    """The longest part of the day named in the matched phrase."""
    text = match.group("w")
    return next(p for p, pattern in _PART_NAMES if pattern.search(text))


@functools.lru_cache(maxsize=1024)
def _midnight(day: dt.date) -> float:
    """Unix time of local midnight starting ``day``."""
    return dt.datetime.combine(day, dt.time(), VIETNAM).timestamp()


def _stated_time(folded: Folded, clues: Clues, received_at: float,
                 today: dt.date) -> tuple[float | None, float | None, str | None]:
    """(pain_from, pain_to, phrase) from what the text says about when, relative to receipt (local time).

    Never after receipt: a time of day later than the receipt, with no "nay", is the day before.
    ``today`` is the local date of receipt.
    """

    def at(hours: float, days_back: int = 0) -> float:
        return _midnight(today - dt.timedelta(days=days_back)) + hours * 3600

    def window(start: float, end: float, day: str | None) -> tuple[float, float] | None:
        back = 1 if day == "qua" else 0
        first, last = at(start, back), at(end, back)
        if first > received_at:
            if day:  # "chiều nay" in a morning complaint: no time it could mean
                return None
            first, last = first - 86400, last - 86400
        return first, min(last, received_at)

    key = folded.key
    for pattern, kind in _WHEN:
        if not pattern.possible(clues):
            continue
        for match in pattern.finditer(key):
            said_from, said_to = match.span("w")
            phrase = folded.source(said_from, said_to)
            found: tuple[float, float] | None = None
            if (kind == "around" or (kind == "range" and not match.group("w").startswith("tu "))) \
                    and key[max(0, said_from - 12):said_from].endswith(_DURATION_WORDS):
                continue  # "chờ khoảng 2 giờ", "chờ 1-2 giờ" is how long, not when ("chờ từ 8h" is when)
            if kind == "range":
                end = _clock(match.group("h"), match.group("m") or match.group("mm"), match.group("part"))
                start = _clock(match.group("h1"), match.group("m1") or match.group("mm1"),
                               match.group("part1") or match.group("part"))
                if start is not None and end is not None and start >= end and not match.group("part1"):
                    start = _clock(match.group("h1"), match.group("m1") or match.group("mm1"), None)
                if start is not None and end is not None and start < end:
                    found = window(start, end, match.group("day"))
            elif kind in ("around", "since"):
                moment = _clock(match.group("h"), match.group("m") or match.group("mm"), match.group("part"))
                if moment is not None:
                    span = window(moment - 0.5, moment + 0.5, match.group("day")) if kind == "around" \
                        else window(moment, moment, match.group("day"))
                    if span is not None:
                        found = span if kind == "around" else (span[0], received_at)
            elif kind == "yesterday":
                first, last = PARTS[_part_of(match)]
                found = at(first, 1), min(at(last, 1), received_at)
            elif kind == "today_from":
                span = window(*PARTS[_part_of(match)], None)
                found = (span[0], received_at) if span else None
            elif kind == "today":
                found = window(*PARTS[_part_of(match)], None if match.group("habit") else "nay")
            elif not _NORMAL.match(key, said_to):  # "hôm qua": the whole day, unless it was fine then
                found = at(0, 1), (received_at if match.group("since") else min(at(24, 1), received_at))
            if found is not None:
                return found[0], found[1], phrase
    return None, None, None


@functools.lru_cache(maxsize=8)
def _peak_seconds(peak: PeakHours) -> tuple[tuple[int, int], ...]:
    return peak.seconds()


def _is_peak(moment: dt.datetime, peak: PeakHours) -> bool:
    """:func:`monitor.calendar.is_peak` of a local time, with the windows read once per PeakHours."""
    if not is_working_day(moment.date()):
        return False
    second = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    return any(start <= second < end for start, end in _peak_seconds(peak))


def _read(text: str) -> tuple[Folded, Clues]:
    """The text folded, with teen-code expanded (only when the key has a shorthand word), and its clues."""
    folded = Folded.of(text)
    clues = Clues.of(folded.key)
    if clues.words.isdisjoint(SHORTHAND):
        return folded, clues
    expanded = folded.expand(SHORTHAND)
    return (folded, clues) if expanded is folded else (expanded, Clues.of(expanded.key))


def classify(complaint: Complaint, platforms: Sequence[Platform], peak: PeakHours = DEFAULT_PEAK) -> Classification:
    """Platforms named, symptom, peak and stated time of one complaint (pure; see the module docstring)."""
    folded, clues = _read(complaint.text)
    ids, phrases = _platforms(folded, clues, platforms)
    symptom, symptom_phrase = _symptom(folded, clues)
    received = local(complaint.received_at)
    pain_from, pain_to, time_phrase = _stated_time(folded, clues, complaint.received_at, received.date())
    return Classification(ids, phrases, symptom, symptom_phrase, _is_peak(received, peak),
                          pain_from, pain_to, time_phrase)

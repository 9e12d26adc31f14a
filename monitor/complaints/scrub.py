"""Personal data out of complaint text: e-mails, phone numbers, ID and account numbers, names.

``scrub`` returns NFC text with readable placeholders. It works by design rather than by example:

* **e-mail** ``local@domain.tld`` -> ``[email]``;
* **labelled numbers**: after a phone label (SĐT, SDT, ĐT, DĐ, tel, phone, Zalo, hotline, điện thoại,
  di động), an ID label (CCCD, CMND, CMT, căn cước, chứng minh, định danh) or an account label (STK,
  số tài khoản, tài khoản, TK), with or without ``:``/``.``/``#`` and "số"/"là", written glued or
  spaced, any digits that follow (groups joined by space . - / and parentheses, at least 6 digits)
  -> ``[số điện thoại]``, ``[số giấy tờ]``, ``[số tài khoản]``;
* **phone numbers** anywhere: a Vietnamese mobile (0 + 3/5/7/8/9 + 8 digits) or landline (02 + 9
  digits) after ``0``, ``84``, ``+84``, ``0084`` or ``(+84)``, digits grouped by space . or -,
  "(024) 3825 1234", several joined by ``/``. A date ("03.06.2026 08:00") is not a phone;
* **long numbers**: any other run of 9 or more digits (groups joined by one space, dot or dash, the
  same throughout, not glued to a letter or a dash as in a dossier code) -> ``[số giấy tờ]`` when it
  has exactly 9 (CMND) or 12 (CCCD) digits, else ``[dãy số]``. Amounts grouped in thousands
  ("1.500.000.000 đồng") and dates stay;
* **names**: up to six capitalised words after đồng chí, đ/c, ông, bà, anh, chị (any case, with or
  without diacritics), stopping at punctuation, a digit or a lowercase word. The unmarked spellings
  "ong", "ba", "chi" count only in text typed without diacritics (in "Ba Vì", "Chi bộ" they are not
  forms of address), and never right after a place word (xã, phường, huyện, thôn …). After a label
  (họ tên, họ và tên) or "liên hệ" + a form of address, the words up to the next punctuation (at
  most six) are a name whatever their case; otherwise all-caps text (where capitals say nothing)
  keeps its words.

Every pattern starts where a token starts (a look-behind rejects any other position in O(1)) and
either has a bounded length or consumes its run possessively, so the work is linear in the text:
no input makes a pattern rescan the same run from many start positions.
"""

from __future__ import annotations

import re
import unicodedata

from monitor.complaints.text import fold

PHONE = "[số điện thoại]"
EMAIL = "[email]"
NAME = "[họ tên]"
ID_NUMBER = "[số giấy tờ]"  # CCCD (12 digits), CMND (9 digits)
ACCOUNT = "[số tài khoản]"
NUMBER = "[dãy số]"  # any other long digit run: a card, an account without its label, a code

PLACEHOLDERS = (PHONE, EMAIL, NAME, ID_NUMBER, ACCOUNT, NUMBER)

# Every Latin letter of Vietnamese (NFC) grouped by what it folds to, so a phrase matches whatever
# the marks and the case: loose("dong chi") matches "đồng chí", "Đông Chi", "DONG CHI".
_LETTERS: dict[str, str] = {}
for _code in (*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x1BA), *range(0x1EA0, 0x1EFA)):
    _char = chr(_code)
    if _char.isalpha():
        _base = "d" if _char in "đĐ" else "".join(
            c for c in unicodedata.normalize("NFD", _char) if not unicodedata.combining(c)).lower()
        if len(_base) == 1 and _base.isascii():
            _LETTERS[_base] = _LETTERS.get(_base, "") + _char


def loose(phrase: str) -> str:
    """A regex matching ``phrase`` with any diacritics and case; spaces match any whitespace run.

    ``re.fullmatch(loose("ho va ten"), "Họ và tên")`` matches.
    """
    out = []
    for char in fold(phrase):
        if char == " ":
            out.append(r"\s+")
        elif char in _LETTERS:
            out.append(f"[{_LETTERS[char]}]")
        else:
            out.append(r"\s*" + re.escape(char) + r"\s*" if char == "/" else re.escape(char))
    return "".join(out)


def _any_of(*phrases: str) -> str:
    return "|".join(loose(p) for p in sorted(phrases, key=len, reverse=True))


# --- e-mail -------------------------------------------------------------------------------
# Start only where a run of address characters starts; consume the run possessively.
_LOCAL = r"[^\s@<>()\[\],;:\"]"  # what an address's local part may hold (RFC 5322 atoms and dots)
_EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}++@[\w-]++(?:\.[\w-]++)++")

# --- labelled numbers ---------------------------------------------------------------------
_PHONE_LABELS = _any_of("so dien thoai", "dien thoai", "sdt", "dt", "dtdd", "dd", "di dong", "tel", "phone",
                        "zalo", "hotline", "mobile")
_ID_LABELS = _any_of("cccd", "cmnd", "cmt", "can cuoc", "can cuoc cong dan", "chung minh nhan dan", "chung minh",
                     "dinh danh", "so dinh danh", "ho chieu")
_ACCOUNT_LABELS = _any_of("stk", "so tai khoan", "tai khoan", "tk", "so tk")
# Between a label and its number: punctuation and "số"/"là", each bounded.
_GAP = rf"[\s:.#=\-]{{0,4}}(?:(?:{loose('so')}|{loose('la')}|{loose('cua')})[\s:.]{{1,3}}){{0,2}}"
# A number as written: optional (+84) or +, then digit groups joined by one or two of space . - / ( ).
_DIGITS = r"(?:\(\s?\+?\d{1,4}\s?\)\s?)?\+?\d++(?:[ .\-/()]{1,2}\d++)*+"
_LABELLED = re.compile(
    rf"(?<![^\W\d_])(?:(?P<phone>{_PHONE_LABELS})|(?P<id>{_ID_LABELS})|(?P<account>{_ACCOUNT_LABELS}))"
    rf"(?P<gap>{_GAP})(?P<number>{_DIGITS})")
_MIN_LABELLED_DIGITS = 6

# --- phone numbers ------------------------------------------------------------------------
_S = r"[ .\-]?"  # one optional separator between digits
_NATIONAL = rf"(?:[35789](?:{_S}\d){{8}}|2(?:{_S}\d){{9}})"
_PHONE = re.compile(
    r"(?<![\w+])"  # not glued to a word, a digit or a '+'
    r"(?!\d{1,2}([./\-])\d{1,2}\1(?:19|20)\d\d(?!\d))"  # a date is not a phone
    rf"(?:(?:\(\s?(?:\+|00)?84\s?\)|(?:\+|00)84|84){_S}(?:\(0\){_S})?{_NATIONAL}"  # +84, 0084, (+84), 84
    rf"|0{_S}{_NATIONAL}"
    rf"|\(02\d\){_S}\d(?:{_S}\d){{7}}|\(02\d\d\){_S}\d(?:{_S}\d){{6}})"  # (024) 3825 1234
    r"(?!\d)")

# --- long numbers -------------------------------------------------------------------------
# Groups joined by one kind of separator, possessive: each run is read once.
_LONG = re.compile(r"(?<![\w-])(?:\d++(?:\.\d++)++|\d++(?: \d++)++|\d++(?:-\d++)++|\d++)")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:([ .,])\d{3})(?:\1\d{3})*")
_DATE_START = re.compile(r"\d{1,2}([./\-])\d{1,2}\1(?:19|20)\d\d")

# --- names --------------------------------------------------------------------------------
# Vietnamese capitals (NFC): Latin upper-case letters up to ỹ.
_CAPS = "".join(c for c in map(chr, range(0x41, 0x1EFA)) if c.isupper() and c.isalpha())
_CAP_WORD = rf"[{re.escape(_CAPS)}](?>[^\W\d_]*)"
_WORD = r"(?>[^\W\d_]+)"
_NAME_LABELS = _any_of("ho va ten", "ho ten", "ho, ten", "ten nguoi gui", "nguoi gui")
_FORMS = _any_of("dong chi", "d/c", "ong", "ba", "anh", "chi")
# Capitalised words after a form of address or a name label. Words are apart by any whitespace but a line
# break (a no-break space from a web form included).
_NAME = re.compile(rf"(?<!\w)(?P<form>{_FORMS}|{_NAME_LABELS})(?P<gap>[^\S\r\n]*:[^\S\r\n]*|[^\S\r\n]+)"
                   rf"(?P<name>{_CAP_WORD}(?:[^\S\r\n]+{_CAP_WORD}){{0,5}})(?!\w)")
# After a name label and a colon or dash the name may be in any case: at most six words, up to punctuation.
_LABEL_NAME = re.compile(rf"(?<!\w)(?P<lead>(?:{_NAME_LABELS})[^\S\r\n]*[:\-][^\S\r\n]*)"
                         rf"(?P<name>{_WORD}(?:[^\S\r\n]+{_WORD}){{0,5}})")
# After "liên hệ" and a form of address: lowercase or all-caps words up to the next punctuation.
_CONTACT = re.compile(rf"(?<!\w)(?P<lead>(?:{_any_of('lien he')})[^\S\r\n]+(?:{_FORMS})[^\S\r\n]+)"
                      rf"(?P<name>{_WORD}(?:[^\S\r\n]+{_WORD}){{0,5}}?)(?=[^\S\r\n]*(?:[,.;:()\n]|$))")
_PROPER_FORMS = {"đồng chí", "đ/c", "ông", "bà", "anh", "chị"}  # as spelled with their marks
_UNMARKED = {"ong", "ba", "chi"}  # spellings that are other words when the text has diacritics
_PLACE_WORDS = {"xa", "phuong", "huyen", "quan", "tinh", "thon", "ban", "lang", "ap", "to", "khu", "pho",
                "thi tran", "thanh pho", "truong", "chi bo", "dang bo"}
_DIGIT = re.compile(r"\d")  # any Unicode digit, as the number patterns read them
_SIX_DIGITS = re.compile(r"(?:\d\D{0,3}){6}")  # bounded: at most 24 characters per attempt
_MARKED = re.compile(r"[À-ỹ]")  # any letter with a diacritic (NFC)


def _labelled(match: re.Match[str]) -> str:
    number = match.group("number")
    if sum(c.isdigit() for c in number) < _MIN_LABELLED_DIGITS:
        return match.group(0)
    kind = PHONE if match.group("phone") else ID_NUMBER if match.group("id") else ACCOUNT
    label = match.group("phone") or match.group("id") or match.group("account")
    return f"{label}{match.group('gap')}{kind}"


def _long(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(c.isdigit() for c in run)
    if digits < 9 or _THOUSANDS.fullmatch(run) or _DATE_START.match(run):
        return run
    return ID_NUMBER if digits in (9, 12) else NUMBER


def _after_place_word(text: str, start: int) -> bool:
    before = fold(text[max(0, start - 12):start]).split(" ")
    return bool(before) and (before[-1] in _PLACE_WORDS or " ".join(before[-2:]) in _PLACE_WORDS)


def _bare(text: str) -> bytes:
    """Lower-case ASCII letters of ``text`` with the marks dropped (đ -> d): what a loose phrase can match in.

    A gate, not a key: characters with no ASCII letter are dropped, so a phrase :func:`loose` matches in
    ``text`` always has each of its words in ``_bare(text)``.
    """
    return unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d")).encode("ascii", "ignore").lower()


def _names(text: str) -> str:
    marked = _MARKED.search(text) is not None
    all_caps = text == text.upper()
    bare = _bare(text)

    def replace(match: re.Match[str]) -> str:
        form = match.group("form")
        unmarked = form.lower() not in _PROPER_FORMS and fold(form) in _UNMARKED
        if all_caps or (marked and unmarked) or _after_place_word(text, match.start()):
            return match.group(0)
        return f"{form}{match.group('gap')}{NAME}"

    if b"ten" in bare or b"gui" in bare:  # every name label has one of these words
        text = _LABEL_NAME.sub(lambda m: f"{m.group('lead')}{NAME}", text)
    if b"lien" in bare:
        text = _CONTACT.sub(lambda m: f"{m.group('lead')}{NAME}", text)
    return _NAME.sub(replace, text)


def scrub(text: str) -> str:
    """``text`` in NFC with e-mails, phone, ID and account numbers and personal names replaced by placeholders.

    ``scrub("Liên hệ đồng chí Nguyễn Văn A, SĐT 0912 345 678, email nva@example.vn")``
    == ``"Liên hệ đồng chí [họ tên], SĐT [số điện thoại], email [email]"``.
    Linear in the length of ``text`` (see the module docstring).
    """
    text = unicodedata.normalize("NFC", text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if len(_DIGIT.findall(text)) >= 6 and _SIX_DIGITS.search(text):  # every number pass needs six digits close by
        text = _LABELLED.sub(_labelled, text)
        text = _PHONE.sub(PHONE, text)
        text = _LONG.sub(_long, text)
    return _names(text)

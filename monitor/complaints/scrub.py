"""Personal data out of complaint text: phone numbers, e-mail addresses, names after forms of address.

``scrub`` returns NFC text with placeholders. What counts:

* e-mail: ``local@domain.tld``;
* phone: a Vietnamese number, ``0`` or ``+84``/``84`` then 9 digits (mobile) or ``2`` + 9 digits
  (landline), digits optionally grouped by one space, dot or dash ("0912 345 678", "+84 912 345 678",
  "024.3825.1234"), or "(024) 3825 1234". Codes, dates and counts ("lỗi 502", "29/05/2026",
  "hơn 1 phút") are too short or not led by 0/84;
* name: up to six capitalised words after đồng chí, đ/c, ông, bà, anh, chị (any case, with or without
  diacritics), stopping at punctuation, a digit or a lowercase word. The unmarked spellings "ong",
  "ba", "chi" count only in text typed without diacritics (in "Ba Vì", "Chi bộ" they are not forms
  of address), and never right after a place word (xã, phường, huyện, thôn …). After "liên hệ", a
  lowercase or all-caps name up to the next punctuation is scrubbed too; otherwise all-caps text
  (where capitals say nothing) keeps its words.
"""

from __future__ import annotations

import re
import unicodedata

from monitor.complaints.text import fold

PHONE = "[số điện thoại]"
EMAIL = "[email]"
NAME = "[họ tên]"

_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"]+@[\w-]+(?:\.[\w-]+)+")
_SEP = r"[ .\-]?"
_PHONE = re.compile(
    rf"(?<![\w/+.,:-])(?:\+84|84|0){_SEP}(?:2(?:{_SEP}\d){{9}}|[1-9](?:{_SEP}\d){{8}})(?![\d/])"
    rf"|\(0\d{{2,3}}\){_SEP}\d{{3,4}}{_SEP}\d{{3,4}}(?![\d/])"
)

# Vietnamese capitals (NFC): Latin upper-case letters up to ỹ.
_CAPS = "".join(c for c in map(chr, range(0x41, 0x1EFA)) if c.isupper() and c.isalpha())
_CAP_WORD = rf"[{re.escape(_CAPS)}][^\W\d_]*"
_FORMS = r"đồng chí|dong chi|đ/c|d/c|ông|ong|bà|ba|anh|chị|chi"
_NAME = re.compile(rf"(?<!\w)(?P<form>(?i:{_FORMS}))(?P<gap>\s+)(?P<name>{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,5}})"
                   rf"(?!\w)")
_CONTACT = re.compile(rf"(?<!\w)(?P<lead>(?i:liên hệ|lien he)\s+(?i:{_FORMS})\s+)"
                      rf"(?P<name>[^\W\d_]+(?:[ \t]+[^\W\d_]+){{0,5}}?)(?=\s*(?:[,.;:()\n]|$))")
_UNMARKED = {"ong", "ba", "chi"}  # spellings that are other words when the text has diacritics
_PLACE_WORDS = {"xa", "phuong", "huyen", "quan", "tinh", "thon", "ban", "lang", "ap", "to", "khu", "pho",
                "thi tran", "thanh pho", "truong", "chi bo", "dang bo"}


def _has_marks(text: str) -> bool:
    return fold(text) != " ".join(text.lower().split())


def _after_place_word(text: str, start: int) -> bool:
    before = fold(text[max(0, start - 12):start]).split(" ")
    return bool(before) and (before[-1] in _PLACE_WORDS or " ".join(before[-2:]) in _PLACE_WORDS)


def _names(text: str) -> str:
    marked = _has_marks(text)
    all_caps = not any(c.islower() for c in text)

    def replace(match: re.Match[str]) -> str:
        form = match.group("form")
        if all_caps or (marked and form.lower() in _UNMARKED) or _after_place_word(text, match.start()):
            return match.group(0)
        return f"{form}{match.group('gap')}{NAME}"

    text = _CONTACT.sub(lambda m: f"{m.group('lead')}{NAME}", text)
    return _NAME.sub(replace, text)


def scrub(text: str) -> str:
    """``text`` in NFC with e-mails, phone numbers and personal names replaced by placeholders.

    ``scrub("Liên hệ đồng chí Nguyễn Văn A, SĐT 0912 345 678, email nva@example.vn")``
    == ``"Liên hệ đồng chí [họ tên], SĐT [số điện thoại], email [email]"``.
    """
    text = unicodedata.normalize("NFC", text)
    text = _EMAIL.sub(EMAIL, text)
    text = _PHONE.sub(PHONE, text)
    return _names(text)

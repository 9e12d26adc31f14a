"""The scrub skips a pass when a cheap look says it cannot match (no six digits, no label word).

These tests write the labels, names and numbers every way people and hostile files do (no marks,
NFD, capitals, tabs and no-break spaces, fullwidth digits) and check the data still goes.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.complaints.scrub import ID_NUMBER, NAME, NUMBER, PHONE, scrub

LABELS = ("Họ và tên", "Họ tên", "Họ, tên", "Tên người gửi", "Người gửi")
CONTACTS = ("Liên hệ anh", "liên hệ chị", "Liên hệ đồng chí")
NAMES = ("nguyễn văn an", "Trần Thị Hoa", "LÊ ĐỨC THỌ", "pham minh duc")


def _strip_marks(text: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


@st.composite
def spelled(draw: st.DrawFn, phrase: str) -> str:
    """``phrase`` as someone might type it: marks or not, any case, NFC or NFD, any whitespace between words."""
    if draw(st.booleans()):
        phrase = _strip_marks(phrase)
    phrase = draw(st.sampled_from([phrase, phrase.upper(), phrase.lower(), phrase.title()]))
    words = phrase.split(" ")
    gaps = draw(st.lists(st.sampled_from([" ", "  ", "\t", "\u00a0"]), min_size=len(words) - 1,
                         max_size=len(words) - 1))
    phrase = words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))
    return unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), phrase)


def _has_words(text: str, name: str) -> bool:
    """Whether any word of ``name`` is still in ``text`` as a word of its own."""
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in name.split())


_FILLER = st.sampled_from(["", "Sổ tay đảng viên chậm. ", "web dvc ko vao dc, ", "Lỗi 504 lúc 8h. "])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_labelled_name_goes_whatever_the_spelling(data: st.DataObject) -> None:
    label = data.draw(spelled(data.draw(st.sampled_from(LABELS))))
    name = data.draw(st.sampled_from(NAMES))
    filler, separator = data.draw(_FILLER), data.draw(st.sampled_from([": ", " : ", " - ", ":"]))
    text = filler + label + separator + name + ", đề nghị xem xét."
    scrubbed = scrub(text)
    assert NAME in scrubbed, (text, scrubbed)
    assert not _has_words(scrubbed, name), (text, scrubbed)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_contact_name_goes_whatever_the_spelling(data: st.DataObject) -> None:
    lead = data.draw(spelled(data.draw(st.sampled_from(CONTACTS))))
    name = data.draw(st.sampled_from(NAMES))
    text = data.draw(_FILLER) + lead + " " + name + ". Cảm ơn."
    scrubbed = scrub(text)
    assert NAME in scrubbed, (text, scrubbed)
    assert not _has_words(scrubbed, name), (text, scrubbed)


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=9, max_size=12), wide=st.lists(st.booleans(), min_size=12,
                                                                                    max_size=12))
def test_numbers_in_any_digits_go(digits: str, wide: list[bool]) -> None:
    """Fullwidth (or mixed) digits are digits to the number passes and to the check that gates them."""
    written = "".join(d.translate(FULLWIDTH) if w else d for d, w in zip(digits, wide, strict=False))
    scrubbed = scrub(f"Sổ tay đảng viên lỗi, số {written} giúp em")
    assert written not in scrubbed
    assert any(p in scrubbed for p in (PHONE, ID_NUMBER, NUMBER)), scrubbed


def test_short_digit_runs_and_plain_words_are_left_alone() -> None:
    """The gates only skip work: text with five digits and no label word comes back as written."""
    text = "Từ 8h đến 10h sáng 12/5 hệ thống chậm, tên đăng nhập đúng vẫn không vào được."
    assert scrub(text) == text

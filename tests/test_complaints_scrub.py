"""Folding Vietnamese text for comparison, and scrubbing personal data from complaints."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.complaints.scrub import EMAIL, NAME, PHONE, scrub
from monitor.complaints.text import Folded, find_phrase, fold

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


def test_fold_equates_nfc_nfd_ascii_and_case():
    forms = ["Sổ tay Đảng viên", NFD("Sổ tay Đảng viên"), "so tay dang vien", "SỔ TAY ĐẢNG VIÊN", "sO  tAy\tdAnG viEn"]
    assert {fold(f) for f in forms} == {"so tay dang vien"}


def test_find_phrase_returns_the_text_as_written():
    assert find_phrase("so tay dang vien", "Vào SỔ TAY ĐẢNG VIÊN bị lỗi") == "SỔ TAY ĐẢNG VIÊN"
    nfd = NFD("Vào sổ tay  đảng viên bị lỗi")
    assert find_phrase("Sổ tay đảng viên", nfd) == NFD("sổ tay  đảng viên")


def test_find_phrase_respects_word_boundaries():
    assert find_phrase("dvc", "cổng dvcqg") is None
    assert find_phrase("treo", "bị treo máy") == "treo"
    assert find_phrase("treo", "xem treolink") is None
    assert find_phrase("gqthc", "vào quantri-gqthc.dcs.vn") is None  # part of another platform's domain
    assert find_phrase("gqthc.dcs.vn", "địa chỉ gqthc.dcs.vn.") == "gqthc.dcs.vn"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_fold_is_idempotent_and_normalisation_invariant(text):
    assert fold(fold(text)) == fold(text)
    assert fold(NFD(text)) == fold(unicodedata.normalize("NFC", text))


@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ "
               "ABCĐÂÊÔƠƯ", max_size=40))
def test_folded_source_round_trips_on_vietnamese(text):
    folded = Folded.of(text)
    assert fold(folded.source(0, len(folded.key))) == fold(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("Liên hệ đồng chí Nguyễn Văn A, SĐT 0912 345 678, email nva@example.vn",
     "Liên hệ đồng chí [họ tên], SĐT [số điện thoại], email [email]"),
    ("Liên hệ đồng chí Trần Thị Hoa, SĐT 0987 000 123.", "Liên hệ đồng chí [họ tên], SĐT [số điện thoại]."),
    ("lien he dong chi Tran Thi Hoa, SDT +84 912 345 678.", "lien he dong chi [họ tên], SDT [số điện thoại]."),
    ("LIÊN HỆ ĐỒNG CHÍ TRẦN THỊ HOA, SĐT 0987 000 123.", "LIÊN HỆ ĐỒNG CHÍ [họ tên], SĐT [số điện thoại]."),
    ("liên hệ đồng chí trần thị hoa, sđt 0987000123", "liên hệ đồng chí [họ tên], sđt [số điện thoại]"),
    ("Gặp ông Lê Văn Tám và bà Trần Thị Bích ở xã", "Gặp ông [họ tên] và bà [họ tên] ở xã"),
    ("Đ/C Phạm Hùng báo lỗi", "Đ/C [họ tên] báo lỗi"),
    ("Hỏi anh Tuấn và chị Lan.", "Hỏi anh [họ tên] và chị [họ tên]."),
    ("Gọi (024) 3825 1234 hoặc 024.3825.1234 hoặc 84912345678", "Gọi [số điện thoại] hoặc [số điện thoại] hoặc "
                                                               "[số điện thoại]"),
])
def test_scrub_replaces_personal_data(text, expected):
    assert scrub(text) == expected


def test_scrub_reads_nfd_names():
    assert scrub(NFD("Liên hệ đồng chí Nguyễn Văn A, email nva@example.vn")) == \
        "Liên hệ đồng chí [họ tên], email [email]"


@pytest.mark.parametrize("text", [
    "Danh sách chi bộ còn thiếu 3 đồng chí mới kết nạp.",
    "hiển thị sai ngày vào Đảng của một số đồng chí.",
    "Trình duyệt báo lỗi 502, rồi 504 Gateway Timeout lúc 29/05/2026 08:17, chờ hơn 1 phút.",
    "Đảng ủy xã Ba Vì", "Chi bộ Trường THCS Kim Đồng", "Đảng ủy xã Ba Chẽ", "Chi bộ 5",
    "Anh huong den sinh hoat chi bo.", "DANH SACH CHI BO TREN SO TAY CON THIEU 3 DONG CHI.",
    "Mã PAKN-2026-0433, năm 2026, 12 đảng viên, phiên bản 2.0.1",
])
def test_scrub_leaves_ordinary_text(text):
    assert scrub(text) == text


_PHONE_SHAPE = re.compile(r"(?:\+?84|0)(?:[ .\-]?\d){9,10}")


@st.composite
def _phones(draw):
    """A Vietnamese number as people write it: mobile (9 digits after 0/+84) or landline (2 + 9 digits)."""
    prefix = draw(st.sampled_from(["0", "+84", "84", "+84 "]))
    mobile = draw(st.booleans())
    head = draw(st.sampled_from("35789")) if mobile else "2"
    digits = head + draw(st.text(alphabet="0123456789", min_size=8 if mobile else 9, max_size=8 if mobile else 9))
    sep = draw(st.sampled_from(["", " ", ".", "-"]))
    groups = [digits[:3], digits[3:6], digits[6:]] if mobile else [digits[:3], digits[3:7], digits[7:]]
    return prefix + sep.join(groups)


@settings(max_examples=200)
@given(_phones(), st.sampled_from(["SĐT ", "gọi ", "số: ", "(", ""]),
       st.sampled_from([".", ",", " để hỗ trợ", ")", ""]))
def test_scrub_never_leaves_a_phone(phone, before, after):
    scrubbed = scrub(f"Liên hệ {before}{phone}{after}")
    assert PHONE in scrubbed
    assert not _PHONE_SHAPE.search(scrubbed)


@given(st.emails())
def test_scrub_removes_emails(address):
    scrubbed = scrub(f"Gửi về {address} giúp.")
    assert "@" not in scrubbed and EMAIL in scrubbed


def test_scrub_is_idempotent_on_its_output():
    once = scrub("Liên hệ đồng chí Nguyễn Văn A, SĐT 0912 345 678, email nva@example.vn")
    assert scrub(once) == once and NAME in once

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


# --- every form of personal data (issue 12) ------------------------------------------------

from itertools import product  # noqa: E402

from monitor.complaints.scrub import ACCOUNT, ID_NUMBER, NUMBER  # noqa: E402

ISSUE_EXAMPLE = ("SĐT:0912345678 ĐT.0912345678 tel:0912345678 (+84)912345678 0084912345678 "
                 "0912345678/0987654321 CCCD 001089012345 CMND 012345678")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_the_issue_example_comes_out_clean():
    scrubbed = scrub(ISSUE_EXAMPLE)
    assert _digits(scrubbed) == ""
    assert scrubbed == ("SĐT:[số điện thoại] ĐT.[số điện thoại] tel:[số điện thoại] [số điện thoại] "
                        "[số điện thoại] [số điện thoại]/[số điện thoại] CCCD [số giấy tờ] CMND [số giấy tờ]")


_PREFIXES = ["0", "+84", "+84 ", "0084", "(+84)", "(+84) ", "84", "+84 (0)"]
_SEPARATORS = ["", " ", ".", "-"]
_LABELS = ["", "SĐT", "sđt", "SDT", "ĐT", "đt", "DT", "tel", "Tel", "Zalo", "zalo", "ĐTDĐ", "điện thoại", "hotline"]
_PUNCT = ["", ":", ".", ": ", " ", " - "]


@pytest.mark.parametrize(("prefix", "sep"), list(product(_PREFIXES, _SEPARATORS)))
def test_every_phone_form_is_scrubbed(prefix, sep):
    national = sep.join(["912", "345", "678"]) if sep else "912345678"
    if prefix == "0" and sep:
        national = sep.join(["912", "345", "678"])
    for label, punct, normal in product(_LABELS, _PUNCT, ("NFC", "NFD")):
        if not label and punct.strip():
            continue
        text = unicodedata.normalize(normal, f"Cần hỗ trợ gấp {label}{punct}{prefix}{national} cảm ơn")
        scrubbed = scrub(text)
        assert "912345678" not in _digits(scrubbed), text
        assert PHONE in scrubbed, text


@pytest.mark.parametrize("text", [
    "0912345678/0987654321", "0912.345.678/0987.654.321", "0912 345 678 / 0987 654 321",
    "024.3825.1234", "(024) 3825 1234", "0203 3825 123", "+84 24 3825 1234", "0912-345-678",
    "091 234 5678", "09123 45678", "sđt0912345678", "SĐT: 0912 345 6789",  # a typo'd 11-digit number too
])
def test_phones_joined_grouped_or_mistyped_leave_no_digits(text):
    scrubbed = scrub(f"Liên hệ {text}.")
    assert _digits(scrubbed) == "", scrubbed


@pytest.mark.parametrize(("text", "expected"), [
    ("CCCD 001089012345", f"CCCD {ID_NUMBER}"), ("cccd: 001 089 012 345", f"cccd: {ID_NUMBER}"),
    ("CMND số 012345678", f"CMND số {ID_NUMBER}"), ("căn cước công dân 001089012345", f"căn cước công dân {ID_NUMBER}"),
    ("can cuoc 001089012345", f"can cuoc {ID_NUMBER}"), ("chứng minh nhân dân: 012.345.678",
                                                          f"chứng minh nhân dân: {ID_NUMBER}"),
    ("số 001089012345", f"số {ID_NUMBER}"), ("mã 012345678", f"mã {ID_NUMBER}"),
    ("STK 0123456789012", f"STK {ACCOUNT}"), ("stk: 0123 4567 8901", f"stk: {ACCOUNT}"),
    ("số tài khoản 19036512345678", f"số tài khoản {ACCOUNT}"), ("so tai khoan: 1903-6512-3456",
                                                                  f"so tai khoan: {ACCOUNT}"),
    ("TK 123456", f"TK {ACCOUNT}"), ("tk.9704123456789012", f"tk.{ACCOUNT}"),
    ("STK là 0071000123456 Vietcombank", f"STK là {ACCOUNT} Vietcombank"),
    ("thẻ 9704 1234 5678 9012", f"thẻ {NUMBER}"),
    ("gửi nva@example.vn, Tran.Thi-Hoa+pakn@mail.dcs.vn", f"gửi {EMAIL}, {EMAIL}"),
])
def test_ids_accounts_and_emails_become_placeholders(text, expected):
    assert scrub(text) == expected
    assert scrub(NFD(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Họ tên: Nguyễn Văn An, đơn vị Chi bộ 3", "Họ tên: [họ tên], đơn vị Chi bộ 3"),
    ("họ và tên: nguyễn văn an; sổ tay chậm", "họ và tên: [họ tên]; sổ tay chậm"),
    ("HỌ VÀ TÊN: NGUYỄN VĂN AN. SỔ TAY CHẬM", "HỌ VÀ TÊN: [họ tên]. SỔ TAY CHẬM"),
    ("ho ten - nguyen van an, so tay cham", "ho ten - [họ tên], so tay cham"),
    ("họ tên Nguyễn Văn An phản ánh", "họ tên [họ tên] phản ánh"),
    ("Đồng chí Nguyễn Văn An phản ánh", "Đồng chí [họ tên] phản ánh"),
    ("đ/c Nguyễn Văn An, Đ/C Trần Thị Hoa, D/C Le Van Tam", "đ/c [họ tên], Đ/C [họ tên], D/C [họ tên]"),
    ("dong chi Nguyen Van An bao loi", "dong chi [họ tên] bao loi"),
    ("ông Lê Văn Tám, bà Trần Thị Bích, anh Tuấn, chị Lan", "ông [họ tên], bà [họ tên], anh [họ tên], chị [họ tên]"),
    ("ong Le Van Tam va ba Tran Thi Bich", "ong [họ tên] va ba [họ tên]"),
    ("Đồng chí: ĐỖ VĂN ĐỨC báo lỗi", "Đồng chí: [họ tên] báo lỗi"),
])
def test_names_after_forms_of_address_and_labels(text, expected):
    assert scrub(text) == expected
    assert scrub(NFD(text)) == expected


@pytest.mark.parametrize("text", [
    "Lúc 03.06.2026 08:00 và 03/06/2026 08:17 và 2026-06-03 08:17 sổ tay không vào được.",
    "Thiệt hại 1.500.000.000 đồng, 1 500 000 đồng, 120.000 lượt truy cập.",
    "Mã PAKN-2026-0433, hồ sơ 000.00.12.H29-260601-0001, lỗi 0x80070005, phiên bản 2.0.1.",
    "ghi sai họ tên của đảng viên trên sổ tay", "Tài khoản bị khóa 30 phút, đăng nhập lại 3 lần.",
])
def test_scrub_keeps_dates_amounts_codes_and_ordinary_words(text):
    assert scrub(text) == text


@pytest.mark.parametrize("adversarial", [
    "lol" * 100_000, "a@" * 100_000, "1 " * 100_000, "0" * 200_000, "ông A" * 40_000, "liên hệ anh a " * 20_000,
    "aA" * 100_000, "STK " * 50_000, "Họ tên: " * 30_000, "0912." * 50_000,
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo+/" * 8_000,  # a pasted base64 image
])
def test_scrub_handles_adversarial_text_without_choking(adversarial):
    """Linear by construction (bench/intake.py times 1 MB of each); here: it finishes and stays sane."""
    scrubbed = scrub(adversarial)
    assert scrub(scrubbed) == scrubbed
    assert len(scrubbed) <= len(adversarial) + 20 * len(adversarial) // 5

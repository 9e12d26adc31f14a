"""Classifying complaints: platforms, symptom, stated time, peak — on the sample and on simulated weeks."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.complaints.classify import classify
from monitor.complaints.importer import read_export
from monitor.complaints.text import SHORTHAND, Folded, fold
from monitor.config import load_catalog
from monitor.domain import SYMPTOMS, Complaint
from monitor.lab.complaints import _ascii, synthesize, write_export
from monitor.lab.world import TruthEvent
from monitor.localtime import VIETNAM
from monitor.workcalendar import PeakHours

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/pakn-sample.csv: a clone of the repository stands alone.
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"
PLATFORMS = load_catalog([ROOT / "checks/dcs.yml"]).platforms
WEEK_START = dt.datetime(2026, 5, 29, tzinfo=VIETNAM).timestamp()  # Friday
MONDAY_0803 = dt.datetime(2026, 6, 1, 8, 3, tzinfo=VIETNAM).timestamp()


def _at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM).timestamp()


def _classify(text: str, received_at: float = MONDAY_0803, platforms=PLATFORMS):
    return classify(Complaint("T-1", received_at, "", "", text), platforms)


SAMPLE_TRUTH = {  # id -> (platforms, symptom)
    "PAKN-2026-0412": (("sotaydangvien",), "slow"),
    "PAKN-2026-0413": (("sotaydangvien",), "unavailable"),
    "PAKN-2026-0414": (("gqthc",), "slow"),
    "PAKN-2026-0415": (("sotaydangvien",), "data"),
    "PAKN-2026-0416": (("dichvucong",), "slow"),
    "PAKN-2026-0417": (("sotaydangvien",), "login"),
    "PAKN-2026-0418": (("sotaydangvien",), "unavailable"),  # "load mãi … rồi báo mất kết nối": it ended in an error
    "PAKN-2026-0419": (("sotaydangvien",), "local"),
    "PAKN-2026-0420": (("quantri-gqthc",), "unavailable"),
    "PAKN-2026-0421": (("hdh-tacnghiep",), "feature"),
    "PAKN-2026-0422": (("gqthc", "dichvucong", "sotaydangvien"), "other"),
    "PAKN-2026-0423": (("dichvucong",), "local"),
    "PAKN-2026-0424": (("gqthc",), "unavailable"),
    "PAKN-2026-0425": (("sotaydangvien",), "feature"),
    "PAKN-2026-0426": (("sotaydangvien",), "slow"),
    "PAKN-2026-0427": (("sotaydangvien",), "slow"),  # "trắng trang, chờ hơn 1 phút mới hiện": it did load
    "PAKN-2026-0428": (("sotaydangvien",), "unavailable"),
    "PAKN-2026-0432": (("dichvucong",), "tls"),
    "PAKN-2026-0433": (("sotaydangvien",), "unavailable"),
    "PAKN-2026-0434": (("dichvucong",), "slow"),
}


def test_sample_rows_classify_as_expected():
    batch = read_export(SAMPLE)
    assert {c.id for c in batch.accepted} == set(SAMPLE_TRUTH)
    for complaint in batch.accepted:
        result = classify(complaint, PLATFORMS)
        assert (result.platforms, result.symptom) == SAMPLE_TRUTH[complaint.id], complaint.text
        assert all(p in complaint.text for p in result.platform_phrases)  # as written
        assert result.symptom_phrase is None or result.symptom_phrase in complaint.text
        assert (result.symptom_phrase is None) == (result.symptom == "other")


def _forms(text: str) -> list[str]:
    return [text, unicodedata.normalize("NFD", text), _ascii(text), text.upper(), text.lower(),
            unicodedata.normalize("NFD", text.upper()), _ascii(text).upper()]


@pytest.mark.parametrize("complaint_id", sorted(SAMPLE_TRUTH))
def test_unicode_form_and_case_do_not_matter(complaint_id):
    [complaint] = [c for c in read_export(SAMPLE).accepted if c.id == complaint_id]
    reference = classify(complaint, PLATFORMS)
    for text in _forms(complaint.text):
        result = _classify(text, complaint.received_at)
        assert (result.platforms, result.symptom, result.peak, result.pain_from, result.pain_to) == \
            (reference.platforms, reference.symptom, reference.peak, reference.pain_from, reference.pain_to), text
        assert [fold(p) for p in result.platform_phrases] == [fold(p) for p in reference.platform_phrases]
        assert all(p in text for p in result.platform_phrases)


@pytest.mark.parametrize(("text", "platforms", "phrases"), [
    ("Không vào được quản trị GQTTHC.", ("quantri-gqthc",), ("quản trị GQTTHC",)),
    ("Trang quản trị hệ thống giải quyết TTHC (quantri-gqthc) lỗi.", ("quantri-gqthc",),
     ("Trang quản trị hệ thống giải quyết TTHC",)),
    ("quantri-gqthc.dcs.vn chậm", ("quantri-gqthc",), ("quantri-gqthc.dcs.vn",)),
    ("Sổ tay đảng viên điện tử chậm", ("sotaydangvien",), ("Sổ tay đảng viên điện tử",)),
    ("DVC chậm, còn STĐV và hệ thống TTHC thì không vào được, DVC vẫn chậm",
     ("dichvucong", "sotaydangvien", "gqthc"), ("DVC", "STĐV", "hệ thống TTHC")),
    ("Hệ thống rất chậm", (), ()),
    ("Trang dvcqg.gov.vn chậm", (), ()),
])
def test_platform_mentions_longest_match_in_order(text, platforms, phrases):
    result = _classify(text)
    assert (result.platforms, result.platform_phrases) == (platforms, phrases)


@pytest.mark.parametrize(("text", "platforms", "symptom", "phrase"), [
    ("stdv ko vao dc", ("sotaydangvien",), "unavailable", "ko vao dc"),
    ("Sổ tay ĐV k mở đc", ("sotaydangvien",), "unavailable", "k mở đc"),
    ("trang quản trị gqthc ko đăng nhập đc", ("quantri-gqthc",), "login", "ko đăng nhập đc"),
    ("trang quan tri GQTTHC bao loi 502", ("quantri-gqthc",), "unavailable", "loi 502"),
    ("Quản trị của hệ thống GQTHC chậm", ("quantri-gqthc",), "slow", "chậm"),
    ("DVC web trắng trơn, ko hiện j", ("dichvucong",), "unavailable", "trắng trơn"),
    ("DVC báo timeout", ("dichvucong",), "unavailable", "timeout"),
    ("DVC hay bị timeout, lúc được lúc không", ("dichvucong",), "slow", "lúc được lúc không"),
    ("app sổ tay loading mãi", ("sotaydangvien",), "slow", "loading mãi"),
    ("gqthc lag qua", ("gqthc",), "slow", "lag"),
    ("DVC nhập captcha mãi ko được", ("dichvucong",), "login", "captcha"),
    ("Mạng ở xã chập chờn nên STĐV lúc được lúc không", ("sotaydangvien",), "local", "Mạng ở xã chập chờn"),
    ("Sổ tay nên có chế độ chữ to", ("sotaydangvien",), "feature", "nên có"),
    ("Hệ thống lúc được lúc không", (), "slow", "lúc được lúc không"),
    ("Phần mềm ko vào đc", (), "unavailable", "ko vào đc"),
    ("Cổng dịch vụ công quốc gia rất chậm", (), "slow", "rất chậm"),
    ("Dịch vụ công hôm qua dùng bt, nay ko vào đc", ("dichvucong",), "unavailable", "ko vào đc"),
    ("Cảm ơn các đồng chí", (), "other", None),
    ("Phần mềm ổn định, không có lỗi, không còn nghẽn", (), "other", None),  # denied, not reported
])
def test_how_members_write(text, platforms, symptom, phrase):
    """Teen-code, loanwords, intermittency, admin pages and vague references, with the phrase that decided."""
    for form in (text, unicodedata.normalize("NFD", text), _ascii(text)):
        result = _classify(form)
        assert (result.platforms, result.symptom) == (platforms, symptom), form
        if phrase is None:
            assert result.symptom_phrase is None
        else:  # as written in this form of the text
            assert result.symptom_phrase in form and fold(result.symptom_phrase) == fold(phrase), form


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ko", "K", "đc", "ĐC", "dc", "bt", "j", "vs", "hs", "k-", "dcs.vn", "kô", "được",
                                 "Sổ", "tay", "ĐV", "xoay", "\u0301", " ", "  ", ".", ",", "-", "\n"]), max_size=25))
def test_shorthand_expansion_keeps_where_every_key_character_came_from(pieces):
    text = "".join(pieces)
    folded = Folded.of(text)
    expanded = folded.expand(SHORTHAND)
    assert len(expanded.starts) == len(expanded.ends) == len(expanded.key)
    for i in range(len(expanded.key)):
        assert (expanded.source(i, i + 1) in text and expanded.source(i, i + 1).strip()) or expanded.key[i] == " "
    assert expanded.source(0, len(expanded.key)) == folded.source(0, len(folded.key))
    assert not set(expanded.key.split(" ")) & {"ko", "dc", "bt", "j", "vs", "hs"}


def test_abbreviations_apply_only_to_platforms_given():
    only_dvc = [p for p in PLATFORMS if p.id == "dichvucong"]
    assert _classify("STĐV và DVC chậm", platforms=only_dvc).platforms == ("dichvucong",)
    assert _classify("STĐV chậm", platforms=[]).platforms == ()


@pytest.mark.parametrize(("text", "symptom", "phrase"), [
    ("Sổ tay đảng viên hoạt động bình thường, đề nghị bổ sung tính năng tra cứu.", "feature", "đề nghị bổ sung"),
    ("Máy tính cấu hình thấp, mở dịch vụ công rất ì ạch.", "local", "cấu hình thấp"),
    ("Buổi tối truy cập dichvucong bình thường nhưng ban ngày rất chậm.", "slow", "rất chậm"),
    ("DVC rất chậm. Đề nghị kiểm tra, khắc phục.", "slow", "rất chậm"),
    ("Không truy cập được DVC. Đề nghị Trung ương nâng cấp hệ thống.", "unavailable", "Không truy cập được"),
    ("Mạng internet tại trụ sở Đảng ủy xã chập chờn, không vào được các phần mềm.", "local",
     "Mạng internet tại trụ sở Đảng ủy xã chập chờn"),
    ("Truy cập STĐV chập chờn, tốc độ rất chậm.", "slow", "chập chờn"),
    ("Vào STĐV xoay mãi không vào được.", "slow", "xoay mãi"),
    ("STĐV chờ rất lâu rồi báo 504 Gateway Timeout.", "unavailable", "504 Gateway Timeout"),
    ("Đăng nhập STĐV xoay mãi không xong, chờ rất lâu.", "login", "Đăng nhập STĐV xoay mãi"),
    ("STĐV báo lỗi NET::ERR_CERT_DATE_INVALID.", "tls", "NET::ERR_CERT_DATE_INVALID"),
    ("STĐV báo lỗi DNS_PROBE_FINISHED_NXDOMAIN.", "unavailable", "DNS_PROBE_FINISHED_NXDOMAIN"),
    ("Đề nghị có cơ chế hỗ trợ kinh phí cho Tổ công nghệ số cộng đồng.", "other", None),
    ("Đề nghị chăm sóc đảng viên lớn tuổi.", "other", None),
])
def test_symptom_priorities(text, symptom, phrase):
    result = _classify(text)
    assert (result.symptom, result.symptom_phrase) == (symptom, phrase)
    assert symptom in SYMPTOMS


@pytest.mark.parametrize(("text", "received", "start", "end"), [
    ("STĐV chậm từ tối qua.", (2, 7, 10), (1, 18, 0), (2, 0, 0)),
    ("STĐV chậm, tu chieu qua.", (2, 7, 10), (1, 12, 0), (1, 18, 0)),
    ("Lỗi xảy ra từ sáng hôm qua.", (2, 7, 10), (1, 6, 0), (1, 12, 0)),
    ("STĐV chậm, khoảng 9 giờ 30.", (2, 10, 15), (2, 9, 0), (2, 10, 0)),
    ("STĐV chậm, KHOANG 9 GIO 30.", (2, 10, 15), (2, 9, 0), (2, 10, 0)),
    ("STĐV chậm, khoảng 10h.", (2, 10, 15), (2, 9, 30), (2, 10, 15)),  # never after receipt
    ("GQTTHC báo lỗi 502 trong khoảng 10h sáng.", (2, 11, 0), (2, 9, 30), (2, 10, 30)),
    ("STĐV chậm từ 8h sáng.", (2, 9, 40), (2, 8, 0), (2, 9, 40)),
    ("STĐV chậm từ 14h.", (2, 15, 5), (2, 14, 0), (2, 15, 5)),
    ("STĐV chậm từ 2h chiều.", (2, 15, 5), (2, 14, 0), (2, 15, 5)),
    ("so tay khong dang nhap duoc tu sang den gio", (2, 8, 3), (2, 6, 0), (2, 8, 3)),
    # received (day, h, m) -> window; day 2 is Monday 01/06/2026
    ("STĐV chậm từ sáng nay.", (2, 9, 40), (2, 6, 0), (2, 9, 40)),
    ("Sáng nay DVC không vào được.", (2, 15, 0), (2, 6, 0), (2, 12, 0)),
    ("Chiều nay GQTTHC báo lỗi 502.", (2, 17, 30), (2, 12, 0), (2, 17, 30)),
    ("Trưa nay sổ tay không mở được.", (2, 16, 0), (2, 11, 0), (2, 13, 30)),
    ("DVC lỗi 504 từ 8h đến 10h.", (2, 11, 0), (2, 8, 0), (2, 10, 0)),
    ("DVC lỗi 504 từ 8h đến 10h.", (2, 9, 0), (2, 8, 0), (2, 9, 0)),  # never after receipt
    ("STĐV chậm 8h-10h sáng nay.", (2, 14, 0), (2, 8, 0), (2, 10, 0)),
    ("STĐV chậm 8h30 - 9h15.", (2, 14, 0), (2, 8, 30), (2, 9, 15)),
    ("Sổ tay chậm từ 2 đến 4 giờ chiều.", (2, 17, 0), (2, 14, 0), (2, 16, 0)),
    ("Sổ tay chậm từ 10h đến 2h chiều.", (2, 17, 0), (2, 10, 0), (2, 14, 0)),
    ("STĐV lỗi từ 8h đến 10h sáng hôm qua.", (2, 9, 0), (1, 8, 0), (1, 10, 0)),
    ("DVC lỗi từ 14h đến 16h.", (2, 9, 0), (1, 14, 0), (1, 16, 0)),  # later than receipt: the day before
    ("STĐV nghẽn vào đầu giờ chiều.", (2, 16, 0), (2, 13, 0), (2, 15, 0)),
    ("STĐV nghẽn vào đầu giờ sáng.", (2, 8, 17), (2, 7, 0), (2, 8, 17)),
    ("STĐV nghẽn đầu giờ chiều.", (2, 10, 0), (1, 13, 0), (1, 15, 0)),  # not yet today: the day before
    ("Hôm qua STĐV không vào được.", (2, 9, 0), (1, 0, 0), (2, 0, 0)),
    ("STĐV không vào được từ hôm qua đến giờ.", (2, 9, 0), (1, 0, 0), (2, 9, 0)),
    ("Tối qua sổ tay không đăng nhập được.", (2, 7, 30), (1, 18, 0), (2, 0, 0)),
    ("DVC hôm qua vẫn bình thường, sáng nay không vào được.", (2, 10, 0), (2, 6, 0), (2, 10, 0)),
    ("STĐV lỗi khoảng 10h sáng hôm qua.", (2, 15, 0), (1, 9, 30), (1, 10, 30)),
    ("STĐV lỗi từ 14:30.", (2, 15, 0), (2, 14, 30), (2, 15, 0)),
    ("STĐV chập chờn suốt buổi chiều.", (2, 17, 0), (2, 12, 0), (2, 17, 0)),
    ("STĐV không vào được, chờ từ 8h đến giờ.", (2, 9, 40), (2, 8, 0), (2, 9, 40)),  # since when, not how long
])
def test_stated_time(text, received, start, end):
    day = dt.date(2026, 6, 1)

    def when(offset_hour_minute):
        d, h, m = offset_hour_minute
        return _at(day + dt.timedelta(days=d - 1), h, m)

    for form in _forms(text):
        result = _classify(form, when(received))
        assert (result.pain_from, result.pain_to) == (when(start), when(end)), form
        assert result.time_phrase is not None and result.time_phrase in form


@pytest.mark.parametrize("text", ["STĐV rất chậm vào buổi sáng, giờ cao điểm.",
                                  "STĐV phải chờ khoảng 2 giờ mới vào được.",
                                  "dvc hom qua van bt, hom nay ko vao dc", "DVC phải đợi 5-7 phút mới nộp xong.",
                                  "STĐV chờ 1-2 giờ mới vào được.", "Chiều nay STĐV chậm."])
def test_no_stated_time_is_none(text):
    result = _classify(text)
    assert (result.pain_from, result.pain_to, result.time_phrase) == (None, None, None)


def test_peak_follows_calendar():
    monday = dt.date(2026, 6, 1)
    assert _classify("STĐV chậm", _at(monday, 8, 3)).peak
    assert not _classify("STĐV chậm", _at(monday, 12, 0)).peak
    assert not _classify("STĐV chậm", _at(dt.date(2026, 5, 30), 9, 0)).peak  # Saturday
    evening = PeakHours((("19:00", "21:00"),))
    assert classify(Complaint("T", _at(monday, 20, 0), "", "", "x"), PLATFORMS, evening).peak


def _events(rng: random.Random) -> list[TruthEvent]:
    kinds = ("congestion", "slow", "outage_refused", "gateway_502", "gateway_504", "dns_failure", "wrong_content",
             "cert_expired", "cert_wrong_host")
    platforms = ("sotaydangvien", "dichvucong", "gqthc", "quantri-gqthc", "pakn")
    events = []
    for i in range(14):
        start = WEEK_START + rng.randrange(7) * 86400 + rng.choice((1, 8, 9, 10, 14, 15, 20, 23)) * 3600 \
            + rng.randrange(60) * 60
        events.append(TruthEvent(f"e{i}", rng.choice(platforms), kinds[i % len(kinds)], start,
                                 start + rng.choice((600, 1800, 3600, 4 * 3600)), {}))
    return events


def test_simulated_weeks_classify_like_the_truth(tmp_path):
    """Symptom must match the generator's; a named platform must be found; a platform-less one not blamed on one."""
    total = symptom_ok = platform_ok = 0
    for seed in (0, 1, 2, 3, 5, 8, 13):
        rows = synthesize(_events(random.Random(seed)), PLATFORMS, WEEK_START, WEEK_START + 7 * 86400, seed,
                          include_broken=True)
        path = tmp_path / f"week-{seed}.csv"
        write_export(path, rows)
        truth = {c.id: c for c in rows if c.defect is None}
        for complaint in read_export(path).accepted:
            expected, result = truth[complaint.id], classify(complaint, PLATFORMS)
            total += 1
            symptom_ok += result.symptom == expected.symptom
            if expected.platform is None:
                platform_ok += len(result.platforms) != 1  # none named, or a list of addresses (not one blamed)
            else:
                platform_ok += expected.platform in result.platforms
    print(f"\nsimulated complaints: {total}, symptom accuracy {symptom_ok / total:.3f}, "
          f"platform accuracy {platform_ok / total:.3f}")
    assert total > 200
    assert symptom_ok / total >= 0.95
    assert platform_ok / total >= 0.97

"""The report states what its data covers, and section 5 can be pasted into the bulletin as it is.

Every statement is checked against facts built into the input: results on known days, incidents
with known ends, complaints with known verdicts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from monitor.domain import Incident, Match, MatchStatus
from monitor.report import build_report, render_markdown
from monitor.report.chart import build_figure, day_labels, days_without_data, hours_without_data
from monitor.report.coverage import coverage
from monitor.report.text import incident_end, names, period_heading
from monitor.workcalendar import bulletin_week, is_bulletin_week
from tests.test_report_figures import LOCATIONS, START, at, complaint, week_input, week_results

TWO_DAYS_END = START + 2 * 86400  # Fri 29/05 and Sat 30/05 measured, Sun 31/05 .. Thu 04/06 not


def two_day_input(**changes):
    values = dict(results=[r for r in week_results() if r.started_at < TWO_DAYS_END], incidents=[])
    return week_input(**{**values, **changes})


@pytest.fixture(scope="module")
def partial():
    return build_report(two_day_input())


# --- coverage, pure ----------------------------------------------------------------------

def test_coverage_of_five_minute_data_with_one_long_hole():
    seen = bytearray(7 * 1440)
    for minute in range(0, 2 * 1440, 5):  # two days every 5 minutes …
        if not 600 <= minute < 640:  # … except 40 minutes on the first morning
            seen[minute] = 1
    c = coverage(seen, {"hanoi", "caobang"}, START, START, START + 7 * 86400)
    assert c.interval == 300 and c.gap_after == 15 * 60
    assert c.gaps == ((START + 600 * 60, START + 640 * 60),)  # the result at 9h55 vouches for 5 minutes
    assert (c.first, c.last) == (START, START + 2 * 86400)
    assert c.daily[2:] == (0.0,) * 5 and c.daily[1] == 1.0
    assert c.daily[0] == pytest.approx(1 - 40 / 1440)
    assert c.share == pytest.approx((2 * 1440 - 40) / (7 * 1440))
    assert c.locations == ("caobang", "hanoi") and not c.nearly_all


def test_coverage_gap_is_judged_in_intervals():
    seen = bytearray(1440)
    seen[0:1440:20] = b"\x01" * 72  # every 20 minutes: a 20-minute spacing is the interval, not a gap
    c = coverage(seen, (), START, START, START + 86400)
    assert c.interval == 20 * 60 and c.gaps == () and c.nearly_all
    seen[600:700] = bytes(100)  # 100 minutes without a result: more than 3 intervals
    assert len(coverage(seen, (), START, START, START + 86400).gaps) == 1


def test_coverage_without_data():
    c = coverage(bytearray(2 * 1440), (), START, START, START + 2 * 86400)
    assert not c.has_data and c.share == 0 and c.daily == (0.0, 0.0)


# --- a partly measured week ----------------------------------------------------------------

def test_partly_measured_week_states_its_coverage(partial):
    sotay = partial.platform("sotaydangvien")
    assert sotay.coverage.share == pytest.approx(2 / 7, abs=0.01)
    assert sotay.daily_availability[2:] == (None,) * 5  # never 100 % for a day without data
    assert days_without_data(partial) == [2, 3, 4, 5, 6]
    findings = "\n".join(partial.findings)
    assert "ổn định" not in findings
    assert ("Số liệu đo của cả 2 nền tảng chỉ có từ 0h00 ngày 29/05/2026 đến 0h00 ngày 31/05/2026, bao phủ 29 % "
            "thời gian của tuần") in findings
    assert "không ghi nhận sự cố gián đoạn hay chậm, nghẽn trong thời gian có số liệu" in findings
    md = render_markdown(partial)
    assert "| Sổ tay đảng viên điện tử | 100% (số liệu bao phủ 29 % thời gian) |" in md
    assert "31/05–04/06: không có số liệu" in md
    assert "| 2 (Cao Bằng, Hà Nội) |" in md and "| 1.152 |" in md  # 2 days x 288 x 2 locations


def test_fully_measured_quiet_platform_is_stable_and_partly_measured_is_not():
    results = [r for r in week_results() if r.platform != "gqthc" or r.started_at < TWO_DAYS_END]
    report = build_report(week_input(results=results, incidents=[], complaints=[], matches=[],
                                     certificate_warnings=[]))
    findings = "\n".join(report.findings)
    assert "Sổ tay đảng viên điện tử hoạt động ổn định theo số liệu đo" in findings
    assert "Hệ thống giải quyết thủ tục hành chính của Đảng hoạt động ổn định" not in findings
    assert "Số liệu đo của Hệ thống giải quyết thủ tục hành chính của Đảng chỉ có từ" in findings


def test_day_labels_and_hours_in_the_chart(partial):
    assert hours_without_data(partial) == []
    labels = day_labels(build_report(two_day_input(results=[
        r for r in week_results() if r.started_at < START + 86400 + 12 * 3600])))
    assert labels[0] == "29/05" and labels[1] == "30/05\nsố liệu 50 %" and labels[2] == "31/05"


def test_chart_marks_missing_hours_and_keeps_the_legend_off_the_data():
    results = [r for r in week_results() if not 2 <= (r.started_at + 7 * 3600) % 86400 // 3600 < 4]
    report = build_report(week_input(results=results))
    assert hours_without_data(report) == [2, 3]
    figure = build_figure(report)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    for axis in figure.axes:
        assert not box.overlaps(axis.get_window_extent(renderer))
    labels = [t.get_text() for t in legend.get_texts()]
    assert "Không có số liệu" in labels and "Giờ cao điểm (ngày làm việc)" in labels
    hatched = [p for p in figure.axes[0].patches if p.get_hatch()]
    assert len(hatched) == 2


# --- titles ------------------------------------------------------------------------------

def test_title_says_week_only_for_a_bulletin_week():
    start, end = bulletin_week("2026-W23")
    assert is_bulletin_week(start, end) and not is_bulletin_week(start, start + 2 * 86400)
    assert not is_bulletin_week(start + 86400, end + 86400)
    assert is_bulletin_week(*bulletin_week("2026-W23", 0), 0) and not is_bulletin_week(start, end, 0)
    assert period_heading(start, end, True) == "TUẦN TỪ 29/5/2026 - 04/6/2026"
    assert period_heading(start, start + 2 * 86400, False) == "TỪ NGÀY 29/05/2026 ĐẾN NGÀY 30/05/2026"
    md = render_markdown(build_report(two_day_input(end=TWO_DAYS_END, bulletin_week=False)))
    assert "**(TỪ NGÀY 29/05/2026 ĐẾN NGÀY 30/05/2026)**" in md and "TUẦN" not in md
    assert "Trong kỳ báo cáo, Hệ thống PAKN–SKGP ghi nhận" in md and "trong tuần" not in md.lower()


# --- incidents whose data stopped --------------------------------------------------------

def test_an_incident_whose_data_stopped_is_never_shown_lasting_until_now():
    stopped = Incident("gqthc-stop", "gqthc", "down", "platform", at(dt.date(2026, 6, 2), 14), None, LOCATIONS,
                       {"dns": 8}, probes=8, failed=8, failed_share=1.0, last_bad=at(dt.date(2026, 6, 2), 14, 35),
                       data_until=at(dt.date(2026, 6, 2), 14, 35), interval=300.0)
    now = at(dt.date(2026, 6, 5), 8)
    assert incident_end(stopped, now) == "chưa rõ thời điểm kết thúc; số liệu đến 02/06/2026 14:35"
    report = build_report(week_input(incidents=[stopped], generated_at=now))
    md = render_markdown(report)
    assert "| 02/06/2026 14:00 | chưa rõ thời điểm kết thúc; số liệu đến 02/06/2026 14:35 | 40 phút |" in md
    assert "đang diễn ra" not in md
    assert "chiều 02/6, từ 14h00 (chưa rõ thời điểm kết thúc; số liệu đến 02/06/2026 14:35; ghi nhận ít nhất " \
           "40 phút)" in md
    ongoing = dataclasses.replace(stopped, data_until=now - 60, last_bad=now - 60)
    assert incident_end(ongoing, now) == "đang diễn ra"


# --- section 5 -----------------------------------------------------------------------------

def test_section_5_is_paste_ready(tmp_path):
    report = build_report(week_input())
    md = render_markdown(report)
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings[:6] == ["5.1. Tổng hợp phản ánh và kết quả đo", "5.2. Số liệu đo theo nền tảng",
                            "5.3. Phạm vi số liệu đo", "5.4. Sự cố trong tuần", "5.5. Đề xuất, kiến nghị",
                            "5.6. Biểu đồ"]
    assert headings[6] == "Phụ lục. Danh sách phản ánh trong tuần"
    opening = md.split("## 5.1. Tổng hợp phản ánh và kết quả đo\n\n")[1].split("\n\n")[0]
    assert opening.startswith("Trong tuần, Hệ thống PAKN–SKGP ghi nhận 9 phản ánh liên quan đến các nền tảng số "
                              "của Đảng, trong đó 5 phản ánh về Sổ tay đảng viên điện tử;")
    assert "2 phản ánh không nêu nền tảng cụ thể" in opening and "4 phản ánh về tình trạng chậm" in opening
    assert "5 phản ánh đối chiếu được với số liệu đo, trong đó 4 trên 5 phản ánh trùng với sự cố đo được" in md
    assert not re.search(r"\b\d+/\d+ phản ánh", md)  # "12 trên 12 phản ánh", never "12/12"
    assert not re.search(r"(?<!nhiều )khả năng do", md)
    assert "chiều 02/6, từ 14h00 đến 14h45 (45 phút), không có lần đo thành công, 100 % lần đo lỗi" in md


def test_every_verdict_has_its_own_words_and_only_not_measured_says_normal():
    day = dt.date(2026, 6, 3)
    pairs = [complaint(f"v{n}", at(day, 9, n), "Sổ tay đảng viên chậm", ("sotaydangvien",), "slow")
             for n in range(4)]
    statuses = (MatchStatus.SPORADIC, MatchStatus.NO_DATA, MatchStatus.NOT_MEASURED, MatchStatus.LOCATION_ONLY)
    matches = [Match(f"v{n}", "sotaydangvien", status, "loc-1" if status is MatchStatus.LOCATION_ONLY else None)
               for n, status in enumerate(statuses)]
    md = render_markdown(build_report(week_input(complaints=pairs, matches=matches)))
    rows = {line.split(" | ")[0][2:]: line for line in md.splitlines() if line.startswith("| v")}
    assert "| ghi nhận lỗi rời rạc |" in rows["v0"]
    assert "| không có số liệu đo |" in rows["v1"]
    assert "| nền tảng hoạt động bình thường tại mọi điểm đo |" in rows["v2"]
    assert "| chỉ ghi nhận tại Cao Bằng |" in rows["v3"]
    assert [line for line in rows.values() if "hoạt động bình thường" in line] == [rows["v2"]]
    assert "1 phản ánh trùng với sự cố chỉ ghi nhận tại một số điểm đo (Cao Bằng)" in md
    assert "1 phản ánh trùng với thời điểm ghi nhận lỗi rời rạc" in md
    without = [(c, m) for c, m in zip(pairs, matches, strict=True) if m.status is not MatchStatus.NOT_MEASURED]
    md = render_markdown(build_report(week_input(complaints=[c for c, _ in without], matches=[m for _, m in without])))
    assert "hoạt động bình thường" not in md  # only a not_measured verdict may say the platform was fine


def test_appendix_lists_every_complaint_without_text_or_unit():
    report = build_report(week_input())
    md = render_markdown(report)
    appendix = md.split("## Phụ lục. Danh sách phản ánh trong tuần")[1]
    for cid in ("s1", "s2", "s3", "s4", "g1", "d1", "l1", "h1", "o1"):
        assert f"\n| {cid} | " in appendix
    assert "| g1 | 02/06/2026 14:10 | Hệ thống giải quyết thủ tục hành chính của Đảng | không truy cập được | " \
           "trùng sự cố đo được | số 4: gián đoạn, 02/06/2026 14:00 |" in appendix
    for personal in ("Đảng ủy xã", "Tuyên Quang", "Sổ tay hiển thị sai nơi sinh hoạt", "Không vào được gqthc"):
        assert personal not in md


def test_lists_of_names_with_commas_stay_unambiguous():
    assert names(["A", "B", "C"]) == "A, B và C"
    assert names(["Hệ thống tiếp nhận phản ánh, kiến nghị", "Sổ tay", "Dịch vụ công"]) == \
        "Hệ thống tiếp nhận phản ánh, kiến nghị; Sổ tay và Dịch vụ công"

"""monitor.report: figures, findings and recommendations computed from a constructed week."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from monitor.config.model import Platform
from monitor.domain import CertificateWarning, Classification, Complaint, Incident, Match, MatchStatus
from monitor.localtime import VIETNAM
from monitor.report import ReportInput, build_report, render_markdown
from monitor.result import ProbeResult, Reason
from monitor.workcalendar import bulletin_week, is_peak

START, END = bulletin_week("2026-W23")  # Fri 29/05/2026 00:00 .. Fri 05/06/2026 00:00 (local)
STEP = 300
LOCATIONS = ("hanoi", "caobang")
SLOW_DAYS = (dt.date(2026, 5, 29), dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3))


def at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM).timestamp()


TUESDAY = dt.date(2026, 6, 2)
OUTAGE = (at(TUESDAY, 14), at(TUESDAY, 14, 45))


def platform(pid: str, name: str, monitored: bool = True) -> Platform:
    checks = [{"id": "home", "kind": "http", "url": f"https://{pid}.dcs.vn/"}] if monitored else []
    return Platform.model_validate({"id": pid, "name": name, "domains": [f"{pid}.dcs.vn"], "checks": checks})


PLATFORMS = (
    platform("sotaydangvien", "Sổ tay đảng viên điện tử"),
    platform("gqthc", "Hệ thống giải quyết thủ tục hành chính của Đảng"),
    platform("dichvucong", "Dịch vụ công trực tuyến của Đảng"),
    platform("hdh-tacnghiep", "Hệ điều hành tác nghiệp", monitored=False),
)


def ok(pid: str, location: str, t: float, total: float, unreliable: bool = False, kind: str = "http") -> ProbeResult:
    return ProbeResult(pid, "home", kind, location, t, True, total, phases={"total": total}, status_code=200,
                       unreliable=unreliable)


def failed(pid: str, location: str, t: float, unreliable: bool = False) -> ProbeResult:
    return ProbeResult(pid, "home", "http", location, t, False, 10.0, reason=Reason.CONNECT_REFUSED,
                       unreliable=unreliable)


def week_results() -> list[ProbeResult]:
    results = []
    for n in range(int((END - START) // STEP)):
        t = START + n * STEP
        moment = dt.datetime.fromtimestamp(t, VIETNAM)
        minute = moment.hour * 60 + moment.minute
        slow = moment.date() in SLOW_DAYS and 450 <= minute < 540  # 07:30-09:00
        for location in LOCATIONS:
            results.append(ok("sotaydangvien", location, t, 3.0 if slow else 0.2))
            if OUTAGE[0] <= t < OUTAGE[1]:
                results.append(failed("gqthc", location, t))
            else:
                results.append(ok("gqthc", location, t, 0.3))
        if moment.weekday() >= 5:  # a stalled prober over the weekend: must not count anywhere
            results.append(ok("sotaydangvien", "hanoi", t + 1, 9.0, unreliable=True))
            results.append(failed("gqthc", "hanoi", t + 1, unreliable=True))
    return results


def incidents() -> list[Incident]:
    out = [Incident("down-1", "gqthc", "down", "platform", OUTAGE[0], OUTAGE[1], LOCATIONS,
                    {"connect_refused": 18}, probes=18, failed=18, failed_share=1.0),
           Incident("loc-1", "gqthc", "down", "location", at(dt.date(2026, 6, 4), 20), at(dt.date(2026, 6, 4), 20, 20),
                    ("caobang",), {"connect_timeout": 4}, probes=4, failed=4, failed_share=1.0)]
    for n, day in enumerate(SLOW_DAYS):
        out.append(Incident(f"slow-{n}", "sotaydangvien", "degraded", "platform", at(day, 7, 30), at(day, 9),
                            LOCATIONS, {"slow": 36}, worst_latency=3.0, probes=36))
    return out


def complaint(cid: str, t: float, text: str, platforms: tuple[str, ...], symptom: str):
    return (Complaint(cid, t, "Đảng ủy xã", "Tuyên Quang", text),
            Classification(platforms, platforms, symptom, None if symptom == "other" else symptom, False))


def complaints() -> tuple[list, list[Match]]:
    pairs, matches = [], []

    explains = {"s1": "slow-0", "s2": "slow-1", "s3": "slow-2", "g1": "down-1"}  # the incident each one matched

    def add(cid, t, text, platforms, symptom, *statuses):
        pairs.append(complaint(cid, t, text, platforms, symptom))
        for pid, status in zip(platforms or (None,), statuses, strict=True):
            matches.append(Match(cid, pid, status, explains.get(cid) if status is MatchStatus.CORROBORATED else None))

    c, nm = MatchStatus.CORROBORATED, MatchStatus.NOT_MEASURED
    add("s1", at(SLOW_DAYS[0], 8), "Sổ tay đảng viên chậm", ("sotaydangvien",), "slow", c)
    add("s2", at(SLOW_DAYS[1], 8), "Sổ tay đảng viên rất chậm", ("sotaydangvien",), "slow", c)
    add("s3", at(SLOW_DAYS[2], 8), "Sổ tay đảng viên nghẽn", ("sotaydangvien",), "slow", c)
    add("s4", at(dt.date(2026, 6, 4), 8), "Sổ tay đảng viên chậm", ("sotaydangvien",), "slow", nm)
    add("g1", at(TUESDAY, 14, 10), "Không vào được gqthc", ("gqthc",), "unavailable", c)
    add("d1", at(TUESDAY, 10), "Sổ tay hiển thị sai nơi sinh hoạt", ("sotaydangvien",), "data",
        MatchStatus.NOT_MEASURABLE)
    add("l1", at(TUESDAY, 9), "Mạng tại xã chập chờn", (), "local", MatchStatus.NOT_MEASURABLE)
    add("h1", at(TUESDAY, 15), "Hệ điều hành tác nghiệp thiếu chức năng lịch", ("hdh-tacnghiep",), "feature",
        MatchStatus.UNMONITORED)
    add("o1", at(TUESDAY, 16), "Quá nhiều địa chỉ: quantri-gqthc.dcs.vn, gqthc.dcs.vn", (), "other",
        MatchStatus.NOT_MEASURABLE)
    return pairs, matches


CERT = CertificateWarning("gqthc", "cert", "hanoi", at(dt.date(2026, 6, 20), 0), at(dt.date(2026, 6, 4), 12))


def week_input(**changes) -> ReportInput:
    pairs, matches = complaints()
    values = dict(start=START, end=END, platforms=PLATFORMS, results=week_results(), incidents=incidents(),
                  certificate_warnings=[CERT], complaints=pairs, matches=matches,
                  generated_at=at(dt.date(2026, 6, 5), 8), bulletin_week=True)
    values.update(changes)
    return ReportInput(**values)


@pytest.fixture(scope="module")
def report():
    return build_report(week_input())


def test_availability_counts_reliable_probes_only(report):
    gqthc = report.platform("gqthc")
    assert (gqthc.probes, gqthc.successes) == (4032, 4032 - 18)  # the weekend's unreliable failures are not counted
    assert gqthc.availability == pytest.approx(100 * 4014 / 4032)
    assert report.platform("sotaydangvien").availability == 100.0
    md = render_markdown(report)
    assert "| Hệ thống giải quyết thủ tục hành chính của Đảng | 99,55% | 45 phút | 1 | 0 |" in md
    # 2,97 not 3,00: percentiles come from the 15-minute rollups' latency sketches, within 1 % (monitor.rollup)
    assert ("| Sổ tay đảng viên điện tử | 100% | 0 phút | 0 | 4 | 0,20 / 2,97 giây | 0,20 / 0,20 giây "
            "| 5 / 4 / 3 |") in md


def test_unreliable_results_do_not_change_latency(report):
    # 576 unreliable 9 s results off-peak would make the off-peak p95 9 s if they were counted.
    # Percentiles come from latency sketches: within 1 % of the exact ones (monitor.rollup).
    assert report.platform("sotaydangvien").latency_offpeak == pytest.approx((0.2, 0.2), rel=0.01)
    assert report.platform("sotaydangvien").latency_peak == pytest.approx((0.2, 3.0), rel=0.01)
    assert max(v for v in report.platform("sotaydangvien").hourly_latency if v is not None) == pytest.approx(
        3.0, rel=0.01)
    counted = build_report(week_input(results=[
        ProbeResult(**{**r.__dict__, "unreliable": False}) for r in week_results()]))
    assert counted.platform("sotaydangvien").latency_offpeak[1] == pytest.approx(9.0, rel=0.01)  # the fixture
    # can fail the test


def test_downtime_and_incident_counts(report):
    gqthc = report.platform("gqthc")
    assert gqthc.downtime == 45 * 60
    assert (gqthc.incidents_down, gqthc.incidents_degraded, gqthc.incidents_location) == (1, 0, 1)
    assert report.platform("sotaydangvien").incidents_degraded == 4


def test_open_incident_counts_to_period_end_and_overlaps_merge():
    # Still failing at the latest result, 30 s before the period ends: ongoing, counted to the end.
    open_ = Incident("open", "gqthc", "down", "platform", END - 3600, None, LOCATIONS, {"dns": 10},
                     last_bad=END - 30, data_until=END - 30, interval=30.0)
    inside = Incident("inside", "gqthc", "down", "platform", END - 1800, END - 600, LOCATIONS, {"dns": 3})
    before = Incident("before", "gqthc", "down", "platform", START - 7200, START + 600, LOCATIONS, {"dns": 3})
    figures = build_report(week_input(incidents=[open_, inside, before])).platform("gqthc")
    assert figures.downtime == 3600 + 600
    assert figures.incidents_down == 3


def test_an_incident_whose_data_stopped_ends_at_its_last_bad_probe_not_at_the_period_end():
    # The prober stopped 50 minutes before the period's end while the platform was failing.
    stopped = Incident("stopped", "gqthc", "down", "platform", END - 3600, None, LOCATIONS, {"dns": 10},
                       last_bad=END - 3000, data_until=END - 3000, interval=30.0)
    figures = build_report(week_input(incidents=[stopped])).platform("gqthc")
    assert figures.downtime == 600 + 30


def test_complaint_counts_per_platform(report):
    sotay = report.platform("sotaydangvien")
    assert (sotay.complaints, sotay.measurable, sotay.corroborated, sotay.not_measured) == (5, 4, 3, 1)
    assert (report.platform("gqthc").complaints, report.platform("gqthc").corroborated) == (1, 1)
    assert report.platform("hdh-tacnghiep").complaints == 1
    assert report.complaints_total == 9
    assert sum(report.hourly_complaints) == 9 and report.hourly_complaints[8] == 4


def test_findings_sentences(report):
    findings = "\n".join(report.findings)
    assert ("Sổ tay đảng viên điện tử chậm, nghẽn 4 lần, tập trung 7h30–9h00 các ngày làm việc: sáng 29/5, từ 7h30 "
            "đến 9h00 (1 giờ 30 phút), p95 3,00 giây, 0 % lần đo lỗi; sáng 01/6, từ 7h30 đến 9h00") in findings
    assert "3 trên 4 phản ánh về tình trạng chậm trùng với sự cố đo được." in findings
    assert ("Hệ thống giải quyết thủ tục hành chính của Đảng bị gián đoạn 1 lần (tổng 45 phút): chiều 02/6, từ 14h00 "
            "đến 14h45 (45 phút), không có lần đo thành công, 100 % lần đo lỗi; 1 phản ánh về tình trạng không truy "
            "cập được trùng với sự cố đo được.") in findings
    assert ("1 phản ánh về Sổ tay đảng viên điện tử không trùng với sự cố đo được: nền tảng vẫn hoạt động bình "
            "thường tại mọi điểm đo, nhiều khả năng do đường truyền tại cơ sở, tài khoản hoặc dữ liệu.") in findings
    assert "4 phản ánh về nội dung giám sát từ xa không đo được: 1 về dữ liệu; 1 về chức năng, giao diện; " \
           "1 về đường truyền, thiết bị tại cơ sở; 1 về nội dung khác." in findings
    assert "1 phản ánh nêu Hệ điều hành tác nghiệp, nền tảng chưa có địa chỉ để giám sát" in findings
    assert "Chứng chỉ số của Hệ thống giải quyết thủ tục hành chính của Đảng hết hạn ngày 20/06/2026, còn 15 ngày." \
        in findings
    assert "Dịch vụ công trực tuyến của Đảng: không có số liệu đo trong tuần" in findings
    assert ("Hệ thống giải quyết thủ tục hành chính của Đảng gián đoạn 1 lần, chỉ ghi nhận tại Cao Bằng: tối 04/6, "
            "từ 20h00 đến 20h20 (20 phút), không có lần đo thành công, 100 % lần đo lỗi; các điểm đo khác vẫn truy "
            "cập bình thường: nguyên nhân nhiều khả năng ở đường truyền tại Cao Bằng, không phải ở nền tảng.") \
        in findings
    assert "caobang" not in findings and "tại điểm đo" not in findings  # the province's name, not the id


def test_recommendations_follow_the_evidence(report):
    recs = "\n".join(report.recommendations)
    assert all(r.startswith("Đề nghị") for r in report.recommendations)
    assert "Đề nghị nâng cấp, tối ưu hóa năng lực xử lý của Sổ tay đảng viên điện tử" in recs
    assert "nâng cấp, tối ưu hóa năng lực xử lý của Hệ thống giải quyết" not in recs  # down, not slow
    assert ("Đề nghị gia hạn chứng chỉ số của Hệ thống giải quyết thủ tục hành chính của Đảng "
            "trước ngày 20/06/2026 (còn 15 ngày).") in recs
    assert "Đề nghị cung cấp địa chỉ truy cập của Hệ điều hành tác nghiệp" in recs
    assert "Đề nghị hỗ trợ nâng cấp đường truyền, thiết bị tại cơ sở cấp xã: 1 phản ánh" in recs
    assert "(quantri-gqthc.dcs.vn, gqthc.dcs.vn) về một cổng điều hành tập trung, thống nhất" in recs


def test_no_evidence_no_recommendation():
    only_down = [i for i in incidents() if i.kind == "down"]
    report = build_report(week_input(incidents=only_down, certificate_warnings=[], complaints=[], matches=[]))
    recs = "\n".join(report.recommendations)
    assert "năng lực xử lý" not in recs
    assert "chứng chỉ" not in recs and "cung cấp địa chỉ" not in recs and "đường truyền" not in recs
    assert "tên miền" not in recs
    assert "Đề nghị đơn vị vận hành Hệ thống giải quyết thủ tục hành chính của Đảng" in recs


def test_slowdowns_outside_peak_hours_are_no_capacity_problem():
    evening = [Incident(f"e{n}", "sotaydangvien", "degraded", "platform", at(day, 20), at(day, 21), LOCATIONS,
                        {"slow": 24}) for n, day in enumerate(SLOW_DAYS)]
    report = build_report(week_input(incidents=evening))
    assert not any("năng lực xử lý" in r for r in report.recommendations)
    assert "chậm, nghẽn 4 lần, tập trung 20h00–21h00 các ngày làm việc: tối 29/5, từ 20h00 đến 21h00" \
        in "\n".join(report.findings)


def test_platform_without_results_says_no_data(report):
    dichvucong = report.platform("dichvucong")
    assert dichvucong.availability is None and dichvucong.latency_peak is None
    row = next(line for line in render_markdown(report).splitlines() if line.startswith("| Dịch vụ công"))
    assert "không có số liệu đo" in row and "100" not in row
    unmonitored = next(line for line in render_markdown(report).splitlines() if line.startswith("| Hệ điều hành"))
    assert "chưa được giám sát" in unmonitored and "1 / 0 / —" in unmonitored


def test_empty_week_never_shows_100():
    report = build_report(ReportInput(START, END, PLATFORMS, [], [], [], [], [], bulletin_week=True))
    assert not report.has_data
    md = render_markdown(report)
    assert "100" not in md
    assert md.count("không có số liệu đo") >= 3
    assert "Không có số liệu đo trong tuần" in md
    assert "Đề nghị kiểm tra hoạt động của hệ thống giám sát" in md
    assert all(v is None for p in report.platforms for v in p.daily_availability)


def test_quiet_week_is_stable():
    results = [r for r in week_results() if r.platform != "gqthc" or r.success]
    report = build_report(ReportInput(START, END, PLATFORMS[:2], results, [], [], [], [], bulletin_week=True))
    assert report.findings == ("Theo số liệu đo, các nền tảng được giám sát hoạt động ổn định trong tuần: không ghi "
                               "nhận sự cố gián đoạn hay chậm, nghẽn và không tiếp nhận phản ánh.",)
    assert report.recommendations == ()


def test_results_outside_the_period_are_ignored():
    stray = [ok("gqthc", "hanoi", START - 1, 5.0), failed("gqthc", "hanoi", END)]
    report = build_report(week_input(results=week_results() + stray))
    assert report.platform("gqthc").probes == 4032


def _peak_split(t: float) -> tuple:
    start, end = bulletin_week("2026-W36")  # Fri 28/08 .. Thu 03/09/2026: 31/08, 01/09, 02/09 are days off
    results = [ok("sotaydangvien", "hanoi", t, 1.5)]
    report = build_report(ReportInput(start, end, PLATFORMS[:1], results, [], [], [], []))
    figures = report.platform("sotaydangvien")
    return figures.latency_peak, figures.latency_offpeak


@pytest.mark.parametrize("day, peak", [
    (dt.date(2026, 8, 28), True),  # Friday, a working day
    (dt.date(2026, 9, 3), True),  # Thursday, a working day
    (dt.date(2026, 8, 29), False),  # Saturday
    (dt.date(2026, 9, 2), False),  # National Day
    (dt.date(2026, 8, 31), False),  # substituted day off
])
def test_peak_split_follows_the_working_calendar(day, peak):
    t = at(day, 8)
    assert is_peak(t) is peak
    within = pytest.approx((1.5, 1.5), rel=0.01)  # a latency sketch's value: within 1 % (monitor.rollup)
    assert _peak_split(t) == ((within, None) if peak else (None, within))
    assert _peak_split(at(day, 7, 29)) == (None, within)  # just before the window: never peak


def test_only_http_totals_are_latency():
    results = [ok("sotaydangvien", "hanoi", START + 3600, 0.01, kind="dns"),
               ok("sotaydangvien", "hanoi", START + 7200, 0.4)]
    figures = build_report(ReportInput(START, END, PLATFORMS[:1], results, [], [], [], [])).platform("sotaydangvien")
    assert figures.probes == 2 and figures.latency_offpeak == pytest.approx((0.4, 0.4), rel=0.01)  # sketch: 1 %


def test_daily_availability(report):
    daily = report.platform("gqthc").daily_availability
    assert len(daily) == len(report.days) == 7
    assert daily[4] == pytest.approx(100 * (576 - 18) / 576)  # Tuesday: 288 slots x 2 locations
    assert [d for i, d in enumerate(daily) if i != 4] == [100.0] * 6


def test_text_is_nfc():
    nfd = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
    platforms = tuple(p.model_copy(update={"name": nfd(p.name)}) for p in PLATFORMS)
    report = build_report(week_input(platforms=platforms))
    md = render_markdown(report)
    assert md == unicodedata.normalize("NFC", md)
    assert "Sổ tay đảng viên điện tử" in md

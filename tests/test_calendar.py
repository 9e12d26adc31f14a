"""The Vietnamese working calendar: working days, peak hours at their boundaries, bulletin weeks."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.localtime import VIETNAM
from monitor.workcalendar import DEFAULT_PEAK, PeakHours, bulletin_week, is_peak, is_working_day


def local(text: str) -> float:
    """``"2026-06-01 07:30:00"`` in Asia/Ho_Chi_Minh as unix seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=VIETNAM).timestamp()


@pytest.mark.parametrize(("day", "working"), [
    ("2026-06-01", True),   # Monday
    ("2026-06-05", True),   # Friday
    ("2026-06-06", False),  # Saturday
    ("2026-06-07", False),  # Sunday
    ("2026-09-01", False),  # Tuesday, National Day holiday
    ("2026-09-02", False),  # Wednesday, National Day (Quốc khánh)
    ("2026-09-03", True),   # Thursday after the holiday
    ("2026-04-30", False),  # Thursday, Reunification Day
    ("2026-02-17", False),  # Tuesday, Tết Nguyên đán
    ("2027-01-01", False),  # Friday, New Year's Day (another year: holidays are per year)
    ("2027-01-04", True),   # Monday
])
def test_working_days(day, working):
    assert is_working_day(dt.date.fromisoformat(day)) is working


@pytest.mark.parametrize(("moment", "peak"), [
    ("2026-06-01 07:29:59", False),
    ("2026-06-01 07:30:00", True),   # 00:30 UTC: only peak when read in local time
    ("2026-06-01 10:59:59", True),
    ("2026-06-01 11:00:00", False),  # the end is excluded
    ("2026-06-01 12:15:00", False),  # lunch
    ("2026-06-01 13:29:59", False),
    ("2026-06-01 13:30:00", True),
    ("2026-06-01 16:29:59", True),
    ("2026-06-01 16:30:00", False),
    ("2026-06-01 16:45:00", False),  # 09:45 UTC, which would be peak if read in UTC
    ("2026-06-01 02:00:00", False),
    ("2026-06-06 09:00:00", False),  # Saturday
    ("2026-06-07 09:00:00", False),  # Sunday
    ("2026-09-02 09:00:00", False),  # National Day
])
def test_default_peak_hours_in_local_time(moment, peak):
    assert is_peak(local(moment)) is peak


def test_custom_peak_hours():
    early = PeakHours((("06:00", "07:00"),))
    assert is_peak(local("2026-06-01 06:30:00"), early)
    assert not is_peak(local("2026-06-01 09:00:00"), early)
    assert PeakHours.parse(["07:30-11:00", "13:30 - 16:30"]) == DEFAULT_PEAK
    assert DEFAULT_PEAK.seconds() == ((27000, 39600), (48600, 59400))


@pytest.mark.parametrize(("windows", "message"), [
    ((("11:00", "07:30"),), "peak window 11:00-07:30: the end must come after the start"),
    ((("7:30", "11:00"),), "invalid time '7:30' (use HH:MM, e.g. 07:30)"),
    ((("07:30", "24:30"),), "invalid time '24:30' (from 00:00 to 24:00)"),
    ((), "peak hours need at least one window"),
])
def test_invalid_peak_hours(windows, message):
    with pytest.raises(ValueError) as info:
        PeakHours(windows)
    assert str(info.value) == message


@pytest.mark.parametrize(("week", "week_start", "first", "after"), [
    ("2026-W23", 4, "2026-05-29", "2026-06-05"),  # the bulletin's "TUẦN TỪ 29/5/2026 - 04/6/2026"
    ("2026-W23", 0, "2026-06-01", "2026-06-08"),  # ISO Monday start
    ("2026-W23", 6, "2026-05-31", "2026-06-07"),  # Sunday start
    ("2026-W01", 4, "2025-12-26", "2026-01-02"),  # across the new year
    ("2026-W53", 4, "2026-12-25", "2027-01-01"),  # 2026 has 53 ISO weeks
])
def test_bulletin_week(week, week_start, first, after):
    start, end = bulletin_week(week, week_start)
    assert (start, end) == (local(f"{first} 00:00:00"), local(f"{after} 00:00:00"))


def test_bulletin_week_is_local_midnight_friday_to_thursday():
    start, end = bulletin_week("2026-W23")
    assert start == dt.datetime(2026, 5, 28, 17, 0, tzinfo=dt.UTC).timestamp()  # 00:00 +07:00
    assert end - start == 7 * 86400
    days = [dt.datetime.fromtimestamp(start + i * 86400, VIETNAM).strftime("%a %d/%m") for i in range(7)]
    assert days == ["Fri 29/05", "Sat 30/05", "Sun 31/05", "Mon 01/06", "Tue 02/06", "Wed 03/06", "Thu 04/06"]


@pytest.mark.parametrize(("week", "week_start", "message"), [
    ("2026-23", 4, "invalid ISO week '2026-23' (use YYYY-Www, e.g. 2026-W23)"),
    ("2026-W5", 4, "invalid ISO week '2026-W5' (use YYYY-Www, e.g. 2026-W23)"),
    ("2025-W53", 4, "invalid ISO week '2025-W53': year 2025 has no week 53"),
    ("2026-W00", 4, "invalid ISO week '2026-W00': year 2026 has no week 00"),
    ("2026-W23", 7, "invalid week start 7 (0 = Monday … 6 = Sunday)"),
])
def test_bulletin_week_rejects_bad_input(week, week_start, message):
    with pytest.raises(ValueError) as info:
        bulletin_week(week, week_start)
    assert str(info.value) == message

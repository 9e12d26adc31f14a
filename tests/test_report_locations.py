"""Per-province evidence in the report: the location table's figures, and which provinces saw each incident.

The table's figures are checked against values computed here, independently, from the results as a real
SQLite store gives them back. The lab test probes the platform lab from three provinces: Cao Bằng's prober
alone cannot reach Sổ tay đảng viên for 40 minutes (its lab refuses its connections then), and all three see
Hệ thống giải quyết thủ tục hành chính refuse connections for 30 minutes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import statistics
from pathlib import Path

import pytest
from rich.console import Console

from monitor.config import load_catalog
from monitor.domain import IncidentPolicy
from monitor.incidents import detect
from monitor.lab.week import simulate_week
from monitor.localtime import VIETNAM
from monitor.report import ReportInput, build_report, render_markdown
from monitor.report.html import render_html
from monitor.report.locations import LocationTally, from_results
from monitor.report.terminal import render_rich
from monitor.report.word import render_docx
from monitor.result import ProbeResult, Reason
from monitor.store import open_store

REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog([REPO / "checks"])
START = dt.datetime(2026, 6, 1, 0, 0, tzinfo=VIETNAM).timestamp()  # Monday
END = START + 86400
PROVINCES = {"hanoi": "Hà Nội", "caobang": "Cao Bằng", "langson": "Lạng Sơn"}


def _results() -> list[ProbeResult]:
    """sotaydangvien from three provinces every minute for a day, with different latencies and failures each;
    one unreliable result; gqthc from Hà Nội only."""
    out = []
    for k, location in enumerate(PROVINCES):
        for i in range(1440):
            t = START + 60 * i + k
            failed = (location == "caobang" and 600 <= i < 640) or i % (97 + 13 * k) == 0
            total = 0.1 + 0.05 * k + (i % 37) / 100
            out.append(ProbeResult("sotaydangvien", "home", "http", location, t, not failed, total,
                                   reason=Reason.CONNECT_TIMEOUT if failed else None,
                                   phases={} if failed else {"total": total}))
            if i % 5 == 0:  # a TLS check too: counts in availability, not in the p95
                out.append(ProbeResult("sotaydangvien", "cert", "tls", location, t + 1, True, 0.05))
    out.append(ProbeResult("sotaydangvien", "home", "http", "caobang", START + 30, True, 99.0,
                           phases={"total": 99.0}, unreliable=True))
    out += [ProbeResult("gqthc", "home", "http", "hanoi", START + 60 * i, True, 0.2, phases={"total": 0.2})
            for i in range(1440)]
    return out


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> list[ProbeResult]:
    """The results as a real store gives them back."""
    store = open_store(tmp_path_factory.mktemp("locations") / "monitor.db")
    try:
        store.add_results(_results())
        return store.results_between(START, END)
    finally:
        store.close()


@pytest.fixture(scope="module")
def report(stored):
    incidents = detect(stored, CATALOG.slow_after(), IncidentPolicy())
    return build_report(ReportInput(START, END, CATALOG.platforms, stored, incidents, [], [], [],
                                    generated_at=END + 3600))


def test_the_table_matches_the_stored_results(report, stored):
    rows = report.locations["sotaydangvien"]
    assert [r.location for r in rows] == sorted(PROVINCES)
    for row in rows:
        mine = [r for r in stored if r.platform == "sotaydangvien" and r.location == row.location and not r.unreliable]
        ok = [r for r in mine if r.success]
        totals = [r.phases["total"] for r in ok if r.kind == "http"]
        assert row.probes == len(mine) and row.successes == len(ok)
        assert row.availability == pytest.approx(100 * len(ok) / len(mine))
        # numpy's default p95 (linear between closest ranks) is statistics' "inclusive" method; the report takes
        # it from latency sketches (within 1 %), monitor.report.locations from the raw totals (exact)
        expected = statistics.quantiles(totals, n=20, method="inclusive")[18]
        assert row.p95 == pytest.approx(expected, rel=0.01)
        assert row.latencies == len(totals)
        exact = next(r for r in from_results(stored, START, END).figures("sotaydangvien") if r.location == row.location)
        assert (exact.probes, exact.successes, exact.latencies) == (row.probes, row.successes, row.latencies)
        assert exact.p95 == pytest.approx(expected, rel=1e-9)
    caobang = next(r for r in rows if r.location == "caobang")
    assert caobang.probes == 1440 + 288  # the unreliable result is not counted
    assert caobang.availability < min(r.availability for r in rows if r.location != "caobang")


def test_one_location_has_no_table(report):
    assert "gqthc" not in report.locations  # measured from Hà Nội only: the table would repeat 5.2
    assert LocationTally().table() == {}


def test_counts_at_once_give_the_same_table_as_probe_by_probe(stored):
    """The rollup path (a bucket at a time) and the raw path agree."""
    raw = from_results(stored, START, END)
    buckets = LocationTally()
    for location in PROVINCES:
        mine = [r for r in stored if r.platform == "sotaydangvien" and r.location == location and not r.unreliable]
        for first in range(0, len(mine), 100):
            chunk = mine[first:first + 100]
            buckets.add_counts("sotaydangvien", location, len(chunk), sum(r.success for r in chunk),
                               [r.phases["total"] for r in chunk if r.success and r.kind == "http"])
    assert buckets.table() == {"sotaydangvien": raw.table()["sotaydangvien"]}


def test_every_format_shows_the_table_by_province_name(report):
    md = render_markdown(report, chart_name=None)
    assert "### 5.2.1. Sổ tay đảng viên điện tử: số liệu đo theo điểm đo" in md
    table = md.split("### 5.2.1.")[1].split("## ")[0]
    caobang = next(r for r in report.locations["sotaydangvien"] if r.location == "caobang")
    percent = f"{int(caobang.availability * 100) / 100:.2f}".replace(".", ",")
    assert f"| Cao Bằng | {percent}% | {caobang.p95:.2f}".replace(".", ",") in table
    assert "| Hà Nội |" in table and "| Lạng Sơn |" in table and "| 1.728 |" in table
    assert "caobang" not in md and "5.2.2." not in md
    html = render_html(report)
    assert "<h3>5.2.1. Sổ tay đảng viên điện tử: số liệu đo theo điểm đo</h3>" in html
    assert "<td>Cao Bằng</td>" in html
    console = Console(file=io.StringIO(), width=200)
    render_rich(report, console)
    terminal = console.file.getvalue()
    assert "5.2.1. Sổ tay đảng viên điện tử: số liệu đo theo điểm đo" in terminal and "Lạng Sơn" in terminal
    import docx

    document = docx.Document(io.BytesIO(render_docx(report)))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 3"]
    assert headings == ["5.2.1. Sổ tay đảng viên điện tử: số liệu đo theo điểm đo"]
    cells = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert ["Điểm đo", "Tỷ lệ truy cập thành công", "p95", "Số lần đo"] in cells
    assert any(row[0] == "Cao Bằng" and row[3] == "1.728" for row in cells)


def test_the_location_incident_is_named_by_its_province(report):
    (local,) = [i for i in report.incidents if i.scope == "location"]
    assert local.locations == ("caobang",) and local.platform == "sotaydangvien"
    findings = [f for f in report.findings if "chỉ ghi nhận tại" in f]
    assert len(findings) == 1 and findings[0].startswith(
        "Sổ tay đảng viên điện tử gián đoạn 1 lần, chỉ ghi nhận tại Cao Bằng: sáng 01/6, từ 10h00 đến 10h40")
    assert "Hà Nội" not in findings[0] and "Lạng Sơn" not in findings[0]


# --- the lab ------------------------------------------------------------------------------------------

WEEK = "2026-W23"  # Friday 29/05/2026 to Thursday 04/06/2026
PLATFORM_WIDE = """\
  - id: gqthc-outage
    platform: gqthc
    kind: outage_refused
    day: 0
    from: "03:00"
    to: "03:30"
"""
CUT = """\
  - id: caobang-link
    platform: sotaydangvien
    kind: outage_refused
    day: 0
    from: "01:00"
    to: "01:40"
"""


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory):
    """Three provinces probe the lab for the first 6 hours of the week, every minute, into one store."""
    base = tmp_path_factory.mktemp("lab")
    store = base / "monitor.db"
    for location in ("hanoi", "caobang", "langson"):
        scenario = base / f"{location}.yml"
        events = PLATFORM_WIDE + (CUT if location == "caobang" else "")
        scenario.write_text(f"seed: 7\nevents:\n{events}", encoding="utf-8")
        directory = base / location
        directory.mkdir()
        asyncio.run(simulate_week(str(scenario), WEEK, directory, store, [REPO / "checks"], location=location,
                                  days=0.25, interval=60.0, console=Console(file=io.StringIO())))
    history = open_store(store)
    try:
        start = dt.datetime(2026, 5, 29, tzinfo=VIETNAM).timestamp()
        results = history.results_between(start, start + 6 * 3600)
    finally:
        history.close()
    incidents = detect(results, CATALOG.slow_after(), IncidentPolicy())
    report = build_report(ReportInput(start, start + 6 * 3600, CATALOG.platforms, results, incidents, [], [], [],
                                      generated_at=start + 7 * 3600))
    return report, results


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_provinces_cut_link_is_reported_for_that_province_only(lab_report):
    report, results = lab_report
    assert {r.location for r in results} == {"hanoi", "caobang", "langson"}
    local = [i for i in report.incidents if i.scope == "location"]
    assert local and {i.platform for i in local} == {"sotaydangvien"} and {i.locations for i in local} == {
        ("caobang",)}
    wide = [i for i in report.incidents if i.platform == "gqthc"]
    assert wide and all(i.scope == "platform" and set(i.locations) == set(PROVINCES) for i in wide)

    md = render_markdown(report, chart_name=None)
    cut = [f for f in report.findings if f.startswith("Sổ tay đảng viên điện tử") and "chỉ ghi nhận tại" in f]
    assert len(cut) == 1
    assert "chỉ ghi nhận tại Cao Bằng:" in cut[0] and "đường truyền tại Cao Bằng" in cut[0]
    assert "Hà Nội" not in cut[0] and "Lạng Sơn" not in cut[0]
    platform_wide = [f for f in report.findings if f.startswith("Hệ thống giải quyết thủ tục hành chính")]
    assert platform_wide and all("chỉ" not in f for f in platform_wide)

    rows = [line for line in md.splitlines() if re.match(r"\| \d+ \|", line)]
    cut_rows = [r for r in rows if "Sổ tay đảng viên điện tử" in r]
    assert cut_rows and all("(chỉ ghi nhận tại Cao Bằng) |" in r for r in cut_rows)
    assert all("Hà Nội" not in r and "Lạng Sơn" not in r for r in cut_rows)
    wide_rows = [r for r in rows if "Hệ thống giải quyết thủ tục hành chính" in r]
    assert wide_rows and all("chỉ" not in r and "| Cao Bằng, Hà Nội, Lạng Sơn |" in r for r in wide_rows)

    # the location table: Cao Bằng's availability of Sổ tay đảng viên is the lowest, as its results say
    table = {r.location: r for r in report.locations["sotaydangvien"]}
    for location, row in table.items():
        mine = [r for r in results if r.platform == "sotaydangvien" and r.location == location and not r.unreliable]
        assert row.probes == len(mine) and row.successes == sum(r.success for r in mine)
    assert table["caobang"].availability < min(table["hanoi"].availability, table["langson"].availability)
    assert "### 5.2." in md and "| Cao Bằng |" in md

"""The bulletin's evidence on the lab's simulated week, end to end through the CLI an operator uses.

One simulated week (``monitor simulate --week 2026-W23 --interval 1m``: every check once a
minute, about 130,000 probes of the peak-week scenario; several minutes on 2 cores), then
``monitor complaints import`` of its synthetic PAKN export, ``monitor incidents --save`` and
``monitor report``, scored against the lab's ground truth.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.domain import DEFAULT_POLICY, Incident
from monitor.lab.evaluate import expected_kind, score_detection, score_matching
from monitor.lab.week import read_truth
from monitor.localtime import format_datetime
from monitor.store import open_store
from monitor.workcalendar import bulletin_week

# The simulated week is the slow part; everything is bounded below.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
ROOT = Path(__file__).resolve().parents[1]
WEEK = "2026-W23"
INTERVAL = 60.0
SLACK = 2 * INTERVAL  # the bound: start and end within two probe intervals
# Congestion edges are a load level (0.6) that no probe sees: latency rises and falls gradually
# around them, and a quiet spell inside a long congestion may split it in two.
CONGESTION_SLACK = 20 * 60.0


def monitor(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("week")
    earlier = os.environ.get("MONITOR_TEST_WEEK")  # development only: a directory an earlier run simulated
    if earlier:
        for name in ("monitor.db", "truth.jsonl", f"pakn-{WEEK}.csv", "complaints-truth.jsonl"):
            shutil.copy(Path(earlier) / name, directory / name)
    else:
        monitor("simulate", "--week", WEEK, "--interval", "1m", "--dir", str(directory), timeout=1500)
    return directory


@pytest.fixture(scope="module")
def imported(week) -> dict:
    store = str(week / "monitor.db")
    summary = json.loads(monitor("complaints", "import", str(week / f"pakn-{WEEK}.csv"), "--store", store,
                                 "--json").stdout)
    again = json.loads(monitor("complaints", "import", str(week / f"pakn-{WEEK}.csv"), "--store", store,
                               "--json").stdout)
    return {"first": summary, "again": again}


@pytest.fixture(scope="module")
def incidents(week, imported) -> list[Incident]:
    listed = json.loads(monitor("incidents", "--week", WEEK, "--store", str(week / "monitor.db"), "--json",
                                "--save").stdout)  # and stored, with the complaints' verdicts
    return [Incident(i["id"], i["platform"], i["kind"], i["scope"], i["start_unix"], i["end_unix"],
                     tuple(i["locations"]), i["reasons"], i["worst_latency"], i["probes"], i["failed"],
                     i["last_bad"], i["data_until"], i["interval"])
            for i in listed]


def test_the_synthetic_export_imports_whole_and_only_once(imported):
    first, again = imported["first"], imported["again"]  # `monitor simulate` imported it already
    assert first["rows"] == first["accepted"] == first["new"] + first["already_stored"] > 50
    assert first["rejected"] == first["duplicates"] == 0
    assert again["new"] == 0 and again["already_stored"] == first["rows"]


def test_detected_incidents_match_the_labs_ground_truth(week, incidents):
    _, end = bulletin_week(WEEK)
    truth = read_truth(week / "truth.jsonl")
    score = score_detection(incidents, truth, DEFAULT_POLICY.failures_to_open * INTERVAL, end)
    print(f"\n{'truth window':60} {'detected':36} start±s end±s pieces")
    for w in score.windows:
        kinds = "+".join(dict.fromkeys(e.kind for e in w.window.events))
        label = f"{w.window.platform} {kinds} {format_datetime(w.window.start, False)}–" \
                f"{format_datetime(w.window.end, False)[-5:]}"
        found = f"{w.incident.kind} {format_datetime(w.incident.start, False)}" if w.incident else "MISSED"
        errors = "" if w.incident is None else f"{w.start_error:+6.0f} {w.end_error:+6.0f} {w.pieces}"
        print(f"{label:60} {found:36} {errors}")
    assert not score.missed, score.missed
    assert not score.unexplained, [(i.platform, format_datetime(i.start)) for i in score.unexplained]
    for w in score.windows:
        bound = CONGESTION_SLACK if w.window.load_induced else SLACK
        assert abs(w.start_error) <= bound and abs(w.end_error) <= bound, w
        # A congestion may split at a lull, and a few minutes in which most requests failed inside it are an
        # outage of their own; a scripted window takes at most one incident per event. Four pieces: on
        # 26/11/2026 the 4-hour congestion of 04/06 came out in 4 pieces in every run on a lightly loaded
        # machine (3 when two simulations shared its cores), with the same code: how a lull splits it depends
        # on the prober's pace. Why it splits there is open (see the session note).
        assert w.pieces <= (4 if w.window.load_induced else len(w.window.events)), w
    scripted = [w for w in score.windows if not w.window.load_induced]
    assert {e.kind for w in scripted for e in w.window.events} >= {"outage_refused", "gateway_502", "slow",
                                                                   "dns_failure", "cert_expired", "wrong_content"}
    # Every scripted event longer than the confirmation is called what it was: an outage is never "chậm, nghẽn".
    for w in scripted:
        for event, kind in w.kinds:
            if event.end - event.start > DEFAULT_POLICY.failures_to_open * INTERVAL:
                assert kind == expected_kind(event), (event, kind)
    assert all(kind == "degraded" for w in score.windows if w.window.load_induced for _, kind in w.kinds if kind)


def test_complaints_are_matched_as_the_truth_says(week, incidents):
    start, end = bulletin_week(WEEK)
    truth = [json.loads(line) for line in (week / "complaints-truth.jsonl").read_text(encoding="utf-8").splitlines()]
    store = open_store(week / "monitor.db")
    try:
        matches = store.matches_for([row["id"] for row in truth])
        stored = store.incidents_between(start - 86400, end)
    finally:
        store.close()
    score = score_matching(truth, matches, stored, read_truth(week / "truth.jsonl"), end)
    print(f"\nmatching: {score.correct} correct of {score.corroborated} corroborated, {score.expected} expected; "
          f"precision {score.precision:.3f}, recall {score.recall:.3f}")
    assert score.expected > 30
    # Pinned at what the lab's week achieves (75 of 75 corroborated correctly, 75 expected), not at a floor
    # below it: a floor of 0.9 let matching lose up to a tenth of its verdicts without a test noticing.
    # The complaints are seeded (each from a scripted fault, or a seeded false report) and the detection test
    # above already requires every fault found and no incident without one, so less than 1.0 here is a
    # regression in matching, not noise.
    assert (score.precision, score.recall) == (1.0, 1.0), score
    assert score.correct == score.corroborated == score.expected
    false_reports = [r["id"] for r in truth if r["event_id"] is None and r["symptom"] == "slow"
                     and r["platform"] != "hdh-tacnghiep"]
    verdicts = {m.complaint_id: m.status.value for m in matches}
    assert false_reports and all(verdicts[c] == "not_measured" for c in false_reports)


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_weekly_report_is_written_in_every_format_with_a_real_chart(week, incidents):
    from docx import Document
    from PIL import Image

    out = week / "reports"
    monitor("report", "--week", WEEK, "--store", str(week / "monitor.db"), "--out", str(out), "--quiet")
    markdown = (out / f"bao-cao-{WEEK}.md").read_text(encoding="utf-8")
    assert "TUẦN TỪ 29/5/2026 - 04/6/2026" in markdown
    # the morning congestion of every working day, found and placed in time
    assert re.search(r"Sổ tay đảng viên điện tử chậm, nghẽn \d lần, tập trung [78]h\d\d–1[01]h\d\d các ngày làm "
                     r"việc: sáng 29/5, từ [78]h\d\d", markdown), markdown
    # its DNS failure on Wednesday afternoon, an outage of its own with its hours
    assert re.search(r"Sổ tay đảng viên điện tử bị gián đoạn \d lần \(tổng \d+ phút\)[^\n]*: chiều 03/6, từ 15h0\d "
                     r"đến 15h2\d", markdown), markdown
    assert re.search(r"(\d+ trên \d+|cả \d+) phản ánh về tình trạng", markdown)
    assert "Đề nghị nâng cấp, tối ưu hóa năng lực xử lý của Sổ tay đảng viên điện tử" in markdown
    assert "Hệ thống tiếp nhận phản ánh, kiến nghị hoạt động ổn định theo số liệu đo" in markdown
    document = Document(str(out / f"bao-cao-{WEEK}.docx"))
    assert any("TUẦN TỪ 29/5/2026 - 04/6/2026" in p.text for p in document.paragraphs)
    assert any("Sổ tay đảng viên điện tử" in cell.text for table in document.tables for row in table.rows
               for cell in row.cells)
    with zipfile.ZipFile(out / f"bao-cao-{WEEK}.docx") as docx:
        (png,) = [docx.read(n) for n in docx.namelist() if n.startswith("word/media/")]
    chart = Image.open(io.BytesIO(png))
    chart.load()  # decodes every pixel: a truncated or fake image fails here
    assert chart.format == "PNG" and chart.width >= 600 and chart.height >= 400
    assert sum(1 for count in chart.convert("L").histogram() if count) > 20  # drawn, not blank
    page = _Html()
    page.feed((out / f"bao-cao-{WEEK}.html").read_text(encoding="utf-8"))
    assert ("html", {"lang": "vi"}) in page.tags
    assert any(tag == "img" and a.get("src", "").startswith("data:image/png;base64,") for tag, a in page.tags)
    assert sum(tag == "table" for tag, _ in page.tags) >= 2

"""``monitor complaints import``, ``monitor incidents`` and ``monitor report`` as an operator runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from monitor.result import ProbeResult, Reason
from monitor.store import open_store

ROOT = Path(__file__).resolve().parents[1]
# A copy of ../shared/data/pakn-sample.csv: a clone of the repository stands alone.
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"
T0 = 1_780_290_000.0  # Monday 01/06/2026 12:00 in Vietnam, inside bulletin week 2026-W23


def monitor(*args: str, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "200"} | settings
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_the_sample_export_imports_with_broken_rows_rejected_and_personal_data_scrubbed(tmp_path):
    export = tmp_path / "pakn-sample.csv"
    shutil.copy(SAMPLE, export)
    store = tmp_path / "monitor.db"
    run = monitor("complaints", "import", str(export), "--store", str(store))
    assert run.returncode == 0, run.stderr
    assert "24 dòng; nhập mới 20, đã có từ trước 0, bị loại 3, trùng mã 1" in run.stdout
    for line in ("dòng 19: missing_time", "dòng 20: invalid_time", "dòng 21: empty_content",
                 "dòng 22: duplicate_id: trùng Mã PAKN: PAKN-2026-0426 đã có ở dòng 16"):
        assert line in run.stdout
    rejects = (tmp_path / "pakn-sample.rejects.csv").read_text(encoding="utf-8-sig")
    assert [line.split(",")[0] for line in rejects.splitlines()[1:]] == ["19", "20", "21", "22"]

    history = open_store(store)
    try:
        complaints = {c.id: (c, k) for c, k in history.complaints_between(T0 - 10 * 86400, T0 + 10 * 86400)}
    finally:
        history.close()
    assert len(complaints) == 20
    personal, _ = complaints["PAKN-2026-0433"]
    for leaked in ("Nguyễn Văn A", "0912", "345 678", "nva@example.vn"):
        assert leaked not in personal.text and leaked not in rejects
    assert "[số điện thoại]" in personal.text and "[email]" in personal.text
    _, unaccented = complaints["PAKN-2026-0417"]  # "so tay dang vien khong dang nhap duoc"
    assert unaccented.platforms == ("sotaydangvien",) and unaccented.symptom == "login"

    again = json.loads(monitor("complaints", "import", str(export), "--store", str(store), "--json").stdout)
    assert again["new"] == 0 and again["already_stored"] == 20 and again["duplicates"] == 1


def test_an_export_without_the_needed_columns_is_refused_with_what_was_found(tmp_path):
    export = tmp_path / "wrong.csv"
    export.write_text("Mã,Ngày\nX1,01/06/2026 08:00\n", encoding="utf-8")
    run = monitor("complaints", "import", str(export), "--store", str(tmp_path / "monitor.db"))
    assert run.returncode == 2
    assert "wrong.csv" in run.stderr and "text" in run.stderr


def test_export_columns_are_mapped_by_configurable_aliases(tmp_path):
    export = tmp_path / "khac.csv"
    export.write_text("Số phiếu;Ngày nhận;Nội dung kiến nghị\nK-1;01/06/2026 08:03;STĐV chậm quá\n", encoding="utf-8")
    store = str(tmp_path / "monitor.db")
    refused = monitor("complaints", "import", str(export), "--store", store)
    assert refused.returncode == 2  # "Số phiếu" and "Nội dung kiến nghị" are not built-in names
    aliases = '{"id": ["Số phiếu"], "received_at": ["Ngày nhận"], "text": ["Nội dung kiến nghị"]}'
    run = monitor("complaints", "import", str(export), "--store", store, "--json", MONITOR_COMPLAINT_COLUMNS=aliases)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["new"] == 1 and summary["platforms"] == {"sotaydangvien": 1} and summary["symptoms"] == {"slow": 1}


def _outage(store_path: Path) -> None:
    store = open_store(store_path)
    try:
        store.add_results([ProbeResult("sotaydangvien", "home", "http", "hanoi", T0 + i * 30, i not in range(10, 20),
                                       0.2, reason=None if i not in range(10, 20) else Reason.CONNECT_REFUSED,
                                       phases={} if i in range(10, 20) else {"total": 0.2}) for i in range(40)])
    finally:
        store.close()


def test_incidents_lists_the_outage_in_local_time(tmp_path):
    _outage(tmp_path / "monitor.db")
    listed = json.loads(monitor("incidents", "--from", "01/06/2026", "--to", "01/06/2026", "--store",
                                str(tmp_path / "monitor.db"), "--json").stdout)
    assert [(i["platform"], i["kind"], i["start"], i["end"]) for i in listed] == [
        ("sotaydangvien", "down", "01/06/2026 12:05:00", "01/06/2026 12:10:00")]
    table = monitor("incidents", "--week", "2026-W23", "--store", str(tmp_path / "monitor.db")).stdout
    assert "sotaydangvien" in table and "gián đoạn" in table and "5 phút" in table
    empty = monitor("incidents", "--week", "2026-W30", "--store", str(tmp_path / "monitor.db")).stdout
    assert "Không có số liệu đo trong khoảng thời gian này." in empty


def test_a_week_without_data_says_so_instead_of_100_percent(tmp_path):
    _outage(tmp_path / "monitor.db")
    run = monitor("report", "--week", "2026-W30", "--store", str(tmp_path / "monitor.db"), "--out",
                  str(tmp_path / "reports"), "--format", "md", "--quiet")
    assert run.returncode == 0, run.stderr
    markdown = (tmp_path / "reports" / "bao-cao-2026-W30.md").read_text(encoding="utf-8")
    assert "TUẦN TỪ 17/7/2026 - 23/7/2026" in markdown
    assert "không có số liệu đo" in markdown and "100%" not in markdown


def test_bad_periods_are_usage_errors(tmp_path):
    for args in (("--week", "2026-W99"), ("--from", "31/02/2026", "--to", "01/03/2026"), ("--from", "01/06/2026")):
        run = monitor("incidents", *args, "--store", str(tmp_path / "monitor.db"))
        assert run.returncode == 2 and run.stderr.startswith("monitor:"), (args, run.stderr)


def _provinces(store_path: Path) -> None:
    """Three provinces probe sotaydangvien; Cao Bằng alone fails for 5 minutes, then all three fail for 5 minutes."""
    results = []
    for location in ("hanoi", "caobang", "langson"):
        for i in range(80):
            bad = i in range(50, 60) or (location == "caobang" and i in range(10, 20))
            results.append(ProbeResult("sotaydangvien", "home", "http", location, T0 + i * 30, not bad, 0.2,
                                       reason=Reason.CONNECT_TIMEOUT if bad else None,
                                       phases={} if bad else {"total": 0.2}))
    store = open_store(store_path)
    try:
        store.add_results(results)
    finally:
        store.close()


def test_incidents_name_the_provinces_that_saw_them(tmp_path):
    _provinces(tmp_path / "monitor.db")
    args = ("incidents", "--from", "01/06/2026", "--to", "01/06/2026", "--store", str(tmp_path / "monitor.db"))
    listed = json.loads(monitor(*args, "--json").stdout)
    assert [(i["scope"], i["locations"], i["location_names"]) for i in listed] == [
        ("location", ["caobang"], {"caobang": "Cao Bằng"}),
        ("platform", ["caobang", "hanoi", "langson"],
         {"caobang": "Cao Bằng", "hanoi": "Hà Nội", "langson": "Lạng Sơn"})]
    table = monitor(*args)
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if "sotaydangvien" in line]
    assert len(rows) == 2
    assert "chỉ ghi nhận tại Cao Bằng" in rows[0] and "Hà Nội" not in rows[0] and "Lạng Sơn" not in rows[0]
    assert "toàn nền tảng" in rows[1] and "chỉ" not in rows[1]
    assert "Cao Bằng, Hà Nội, Lạng Sơn" in rows[1]
    assert "caobang" not in table.stdout
    renamed = monitor(*args, MONITOR_LOCATION_NAMES='{"caobang": "Trạm Cao Bằng 2"}').stdout
    assert "chỉ ghi nhận tại Trạm Cao Bằng 2" in renamed

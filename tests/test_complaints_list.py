"""``monitor complaints list`` as an operator runs it, on a real store filled by ``monitor complaints import``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"  # a copy of ../shared/data/pakn-sample.csv
PERSONAL = ("Nguyễn Văn A", "0912", "345 678", "nva@example.vn")


def monitor(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {"COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """The sample export imported into a fresh store."""
    directory = tmp_path_factory.mktemp("complaints-list")
    shutil.copy(SAMPLE, directory / "pakn-sample.csv")
    path = str(directory / "monitor.db")
    run = monitor("complaints", "import", str(directory / "pakn-sample.csv"), "--store", path)
    assert run.returncode == 0, run.stderr
    return path


def listed(store: str, *args: str) -> list[dict]:
    run = monitor("complaints", "list", "--store", store, "--json", *args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_week_lists_every_imported_complaint_with_its_classification_and_no_personal_data(store):
    rows = listed(store, "--week", "2026-W23")
    assert len(rows) == 20 and [r["received_unix"] for r in rows] == sorted(r["received_unix"] for r in rows)
    by_id = {r["id"]: r for r in rows}
    admin = by_id["PAKN-2026-0420"]
    assert (admin["received"], admin["platforms"], admin["symptom"], admin["symptom_phrase"], admin["peak"]) == \
        ("01/06/2026 09:15", ["quantri-gqthc"], "unavailable", "lỗi truy cập", True)
    assert admin["verdicts"] == []  # imported, not yet matched
    stated = by_id["PAKN-2026-0424"]  # "… trong khoảng 10h sáng."
    assert (stated["stated_time"], stated["stated_from"], stated["stated_to"]) == \
        ("trong khoảng 10h sáng", "02/06/2026 09:30", "02/06/2026 10:20")
    assert by_id["PAKN-2026-0434"]["peak"] is False  # 20:40
    table = monitor("complaints", "list", "--store", store, "--week", "2026-W23")
    assert table.returncode == 0, table.stderr
    for shown in ("PAKN-2026-0412", "29/05/2026 08:17", "slow «chờ rất lâu mới mở được»", "quantri-gqthc",
                  "chưa đối chiếu", "20 phản ánh"):
        assert shown in table.stdout
    for output in (table.stdout, json.dumps(rows, ensure_ascii=False)):
        for leaked in (*PERSONAL, "Thanh Trì", "Đảng ủy", "Cao Bằng", "thường xuyên chậm, nghẽn"):
            assert leaked not in output  # neither personal data, nor sender, nor the complaint's text


@pytest.mark.slow  # a dozen `monitor complaints list` runs
def test_filters_by_platform_period_and_verdict(store):
    assert [r["id"] for r in listed(store, "--week", "2026-W23", "--platform", "quantri-gqthc")] == ["PAKN-2026-0420"]
    assert listed(store, "--week", "2026-W23", "--platform", "none") == []
    one_day = listed(store, "--from", "01/06/2026", "--to", "01/06/2026")
    assert [r["id"] for r in one_day] == [f"PAKN-2026-04{n}" for n in range(16, 22)]
    assert len(listed(store, "--week", "2026-W23", "--status", "pending")) == 20

    matched = monitor("incidents", "--week", "2026-W23", "--store", store, "--save")  # stores the verdicts
    assert matched.returncode == 0, matched.stderr
    assert listed(store, "--week", "2026-W23", "--status", "pending") == []
    not_measurable = listed(store, "--week", "2026-W23", "--status", "not_measurable")
    assert {r["symptom"] for r in not_measurable} <= {"data", "feature", "local", "other"}
    assert "PAKN-2026-0421" in {r["id"] for r in not_measurable}  # a feature request
    no_data = listed(store, "--week", "2026-W23", "--status", "no_data")  # no probe results in this store
    assert no_data and all(v["status"] == "no_data" and v["incident"] is None for r in no_data for v in r["verdicts"])
    table = monitor("complaints", "list", "--store", store, "--week", "2026-W23", "--platform", "dichvucong")
    assert "no_data · không có số liệu đo" in table.stdout and "dichvucong: not_measurable" in table.stdout


@pytest.mark.parametrize(("option", "value", "valid"), [
    ("--platform", "stdv", "gqthc, quantri-gqthc, dichvucong, sotaydangvien, pakn, hdh-tacnghiep, none"),
    ("--status", "ok", "corroborated, location_only"),
])
def test_an_unknown_filter_exits_2_with_the_valid_values(store, option, value, valid):
    run = monitor("complaints", "list", "--store", store, "--week", "2026-W23", option, value)
    assert run.returncode == 2 and run.stdout == ""
    [line] = run.stderr.splitlines()
    assert f"unknown {option} {value!r}" in line and valid in line


def test_markup_in_a_file_is_shown_as_written(tmp_path):
    export = tmp_path / "markup.csv"
    export.write_text("Mã PAKN,Thời gian tiếp nhận,Nội dung\n"
                      "X[/]1,01/06/2026 08:03,STĐV báo lỗi [bold]502[/bold] Bad Gateway\n", encoding="utf-8")
    store = str(tmp_path / "monitor.db")
    assert monitor("complaints", "import", str(export), "--store", store).returncode == 0
    run = monitor("complaints", "list", "--store", store, "--from", "01/06/2026", "--to", "01/06/2026")
    assert run.returncode == 0, run.stderr
    assert "X[/]1" in run.stdout and "unavailable" in run.stdout


def test_without_a_store_it_says_so(tmp_path):
    run = monitor("complaints", "list", "--store", str(tmp_path / "none.db"), "--week", "2026-W23")
    assert run.returncode == 2 and "none.db" in run.stderr
    assert not (tmp_path / "none.db").exists()

"""Importing PAKN exports: the real sample, its other encodings and formats, and synthetic weeks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pytest

from monitor.complaints.importer import DEFAULT_COLUMNS, parse_time, read_export, rejects_path, write_rejects
from monitor.complaints.text import fold
from monitor.config import load_catalog
from monitor.lab.complaints import synthesize, write_export
from monitor.lab.world import TruthEvent
from monitor.localtime import VIETNAM

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/pakn-sample.csv: a clone of the repository stands alone.
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"
PLATFORMS = load_catalog([ROOT / "checks/dcs.yml"]).platforms
WEEK_START = dt.datetime(2026, 5, 29, tzinfo=VIETNAM).timestamp()

EXPECTED_REJECTS = [(19, "missing_time"), (20, "invalid_time"), (21, "empty_content")]
PERSONAL = re.compile(r"\d{3}[ .]?\d{3}[ .]?\d{3}|@|Nguyễn Văn A")


def _key(batch):
    """What an import produced, comparable across formats."""
    return ([(c.id, c.received_at, c.unit, c.province, c.text, c.source_row) for c in batch.accepted],
            [(r.row, r.reason) for r in batch.rejected], [(r.row, r.reason) for r in batch.duplicates])


def _sample_rows() -> list[list[str]]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_sample_import_accepts_good_rows_and_names_bad_ones():
    batch = read_export(SAMPLE)
    assert batch.total_rows == 24
    assert [(r.row, r.reason) for r in batch.rejected] == EXPECTED_REJECTS
    assert batch.rejected[0].fields["Mã PAKN"] == "PAKN-2026-0429"
    assert "25" in batch.rejected[1].detail and "70" in batch.rejected[1].detail
    assert batch.rejected[2].fields["Mã PAKN"] == "PAKN-2026-0431"
    [duplicate] = batch.duplicates
    assert (duplicate.row, duplicate.reason) == (22, "duplicate_id")
    assert "PAKN-2026-0426" in duplicate.detail and "dòng 16" in duplicate.detail
    assert len(batch.accepted) == 20
    ids = [c.id for c in batch.accepted]
    assert len(set(ids)) == len(ids) and "PAKN-2026-0426" in ids
    first = batch.accepted[0]
    assert (first.id, first.source_row, first.unit, first.province) == ("PAKN-2026-0412", 2, "Đảng ủy xã Thanh Trì",
                                                                         "Hà Nội")
    assert first.received_at == dt.datetime(2026, 5, 29, 8, 17, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()
    assert first.received_at == 1780017420
    assert [c.source_row for c in batch.accepted] == [*range(2, 19), 23, 24, 25]


def test_sample_personal_data_is_scrubbed():
    batch = read_export(SAMPLE)
    [row] = [c for c in batch.accepted if c.id == "PAKN-2026-0433"]
    assert row.text == ("Liên hệ đồng chí [họ tên], SĐT [số điện thoại], email [email]: "
                        "sổ tay đảng viên không mở được.")
    assert not any(PERSONAL.search(c.text) for c in batch.accepted)


def test_rejects_file_is_readable_and_has_the_rows(tmp_path):
    batch = read_export(SAMPLE)
    target = rejects_path(tmp_path / "pakn-sample.csv")
    assert target == tmp_path / "pakn-sample.rejects.csv"
    write_rejects(batch, target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with open(target, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["Dòng"]), r["Lý do"]) for r in rows] == [*EXPECTED_REJECTS, (22, "duplicate_id")]
    assert list(rows[0])[:4] == ["Dòng", "Lý do", "Chi tiết", "Mã PAKN"]
    assert rows[0]["Mã PAKN"] == "PAKN-2026-0429" and rows[0]["Đơn vị gửi"] == "Đảng ủy xã Lũng Cú"


def test_rejects_do_not_leak_personal_data(tmp_path):
    export = tmp_path / "x.csv"
    export.write_text("Mã PAKN,Thời gian tiếp nhận,Đơn vị gửi,Tỉnh/Thành phố,Nội dung\n"
                      "A1,,Chi bộ 5,Gia Lai,"
                      "\"Liên hệ đồng chí Nguyễn Văn A, SĐT 0912 345 678, email nva@example.vn\"\n",
                      encoding="utf-8")
    batch = read_export(export)
    write_rejects(batch, rejects_path(export))
    written = rejects_path(export).read_text(encoding="utf-8-sig")
    assert "missing_time" in written and not PERSONAL.search(written)


def _write_variants(tmp_path: Path) -> dict[str, Path]:
    rows = _sample_rows()
    out = {}
    out["bom_crlf"] = tmp_path / "bom.csv"
    with open(out["bom_crlf"], "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    out["semicolon"] = tmp_path / "semi.csv"
    with open(out["semicolon"], "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(rows)
    out["json"] = tmp_path / "sample.json"
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    out["json"].write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out["json_items"] = tmp_path / "wrapped.json"
    out["json_items"].write_text(json.dumps({"total": 24, "items": records}), encoding="utf-8")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(rows[0])
    for row in rows[1:]:
        when = row[1]
        try:  # real datetime cells where the text is a valid time, as Excel stores them
            cell = dt.datetime.strptime(when, "%d/%m/%Y %H:%M")
        except ValueError:
            cell = when or None
        sheet.append([row[0], cell, row[2], row[3], row[4] or None])
    out["xlsx"] = tmp_path / "sample.xlsx"
    workbook.save(out["xlsx"])
    return out


def test_every_format_gives_the_same_import(tmp_path):
    expected = _key(read_export(SAMPLE))
    variants = _write_variants(tmp_path)
    for name, path in variants.items():
        got = _key(read_export(path))
        if name.startswith("json"):  # JSON rows are object positions: header-less, one less than the sheet row
            expected_json = ([(*c[:5], c[5] - 1) for c in expected[0]], [(r - 1, why) for r, why in expected[1]],
                             [(r - 1, why) for r, why in expected[2]])
            assert got == expected_json, name
        else:
            assert got == expected, name


def test_quoted_newline_is_one_row(tmp_path):
    rows = _sample_rows()
    rows[1][4] = "Sổ tay đảng viên chậm.\r\nĐề nghị kiểm tra."
    path = tmp_path / "multiline.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    batch = read_export(path)
    assert batch.accepted[0].text == "Sổ tay đảng viên chậm.\r\nĐề nghị kiểm tra."
    assert batch.accepted[1].source_row == 3  # the next record is row 3, though it starts on line 4
    assert [(r.row, r.reason) for r in batch.rejected] == EXPECTED_REJECTS


def test_headers_match_folded_and_configurable(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("  MA PHAN ANH ;ngay tiep nhan;DON VI;Tỉnh;Nội dung phản ánh\n"
                    "X-1;2026-06-01T08:03:00+07:00;Chi bộ 1;Huế;Sổ tay chậm\n"
                    "X-2;2026-06-01T01:03:00Z;Chi bộ 2;Huế;Sổ tay chậm\n"
                    "X-3;2026-06-01 08:03;Chi bộ 3;Huế;Sổ tay chậm\n"
                    "X-4;1/6/2026 8:03:00;Chi bộ 4;Huế;Sổ tay chậm\n", encoding="utf-8")
    batch = read_export(path)
    assert {c.received_at for c in batch.accepted} == {parse_time("01/06/2026 08:03")}
    assert len(batch.accepted) == 4 and batch.accepted[0].unit == "Chi bộ 1"

    custom = tmp_path / "custom.csv"
    custom.write_text("Số phiếu,Lúc,Nội dung\nZ-9,01/06/2026 08:03,Sổ tay chậm\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"custom\.csv.*id.*Mã PAKN.*headers found: Số phiếu, Lúc, Nội dung"):
        read_export(custom)
    [complaint] = read_export(custom, columns={"id": ["so phieu"], "received_at": ["LÚC"]}).accepted
    assert (complaint.id, complaint.unit, complaint.province) == ("Z-9", "", "")
    assert "Mã PAKN" in DEFAULT_COLUMNS["id"]


@pytest.mark.parametrize(("text", "words"), [
    ("03/06/2026 25:70", ("giờ 25", "phút 70")), ("31/02/2026 08:00", ("31/02/2026",)),
    ("13/13/2026 08:00", ("13/13/2026",)), ("hôm qua", ("dd/mm/yyyy",)), ("03/06/2026", ("thiếu giờ",)),
    ("2026-06-03T25:00", ("ISO",)),
])
def test_invalid_times_say_what_is_wrong(text, words):
    with pytest.raises(ValueError) as error:
        parse_time(text)
    assert all(w in str(error.value) for w in words), str(error.value)


def test_naive_datetime_cells_are_vietnam_time():
    assert parse_time(dt.datetime(2026, 6, 1, 8, 3)) == parse_time("2026-06-01T01:03:00Z")


def _week_events() -> list[TruthEvent]:
    def at(day: int, hour: int, minute: int = 0) -> float:
        return WEEK_START + day * 86400 + hour * 3600 + minute * 60

    kinds = [("sotaydangvien", "congestion"), ("dichvucong", "outage_refused"), ("gqthc", "gateway_502"),
             ("dichvucong", "dns_failure"), ("quantri-gqthc", "gateway_504"), ("pakn", "cert_expired"),
             ("sotaydangvien", "wrong_content"), ("gqthc", "slow"), ("dichvucong", "cert_wrong_host")]
    return [TruthEvent(f"{p}-{k}-{i}", p, k, at(i % 7, (8, 9, 14, 15, 22)[i % 5], 10),
                       at(i % 7, (8, 9, 14, 15, 22)[i % 5], 10) + (1800, 5400, 4 * 3600)[i % 3], {})
            for i, (p, k) in enumerate(kinds)]


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_synthetic_export_imports_with_its_defects(tmp_path, seed):
    rows = synthesize(_week_events(), PLATFORMS, WEEK_START, WEEK_START + 7 * 86400, seed, include_broken=True)
    path = tmp_path / "week.csv"
    write_export(path, rows)
    batch = read_export(path)
    good = {c.id: c for c in rows if c.defect is None}
    assert {c.id for c in batch.accepted} == set(good)
    for complaint in batch.accepted:
        assert complaint.received_at == good[complaint.id].received_at
    defects = sorted(c.defect for c in rows if c.defect)
    assert sorted(r.reason for r in batch.rejected + batch.duplicates) == defects
    assert [r.reason for r in batch.duplicates] == ["duplicate_id"]
    assert batch.total_rows == len(rows)
    assert not any(re.search(r"0987 000 \d{3}|tran thi hoa", fold(c.text)) for c in batch.accepted)

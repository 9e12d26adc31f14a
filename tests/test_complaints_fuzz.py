"""Random and mutated CSV, JSON and XLSX bytes through the real ``monitor complaints import``.

Whatever the bytes: no exception escapes the command (a user would see a traceback), the exit code is
0 (imported, bad rows listed by row) or 2 (one line, nothing stored), the store gains exactly the new
complaints or nothing, and the rejects are reported by row number, in the summary and the rejects file
alike.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "pakn-sample.csv"
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _sample_rows() -> list[list[str]]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _csv_bytes() -> bytes:
    return SAMPLE.read_bytes()


def _json_bytes() -> bytes:
    rows = _sample_rows()
    return json.dumps([dict(zip(rows[0], r, strict=True)) for r in rows[1:]], ensure_ascii=False).encode()


def _sheet_xml() -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    for row in _sample_rows():
        book.active.append(row)
    book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


SEEDS = {"csv": _csv_bytes(), "json": _json_bytes()}
SHEET = _sheet_xml()
TOKENS = [b'"', b"\n", b"\r", b"\x00", b",", b";", b"{", b"}", b"[", b"]", b"\xff\xfe", b"\xef\xbb\xbf", b"\\",
          b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;", b"</row>", b'<c r="XFD9" t="s"><v>99</v></c>', b"=cmd|",
          b"SDT 0912345678", b'"' + b"x" * 70_000 + b'"', b"99/99/9999 99:99", b"PAKN-2026-0412"]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.sampled_from(b' ,;"\n\r09aZ<>/=:{}[]') | st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 400))] * draw(st.integers(1, 20))
    return bytes(data)


def _xlsx(sheet: bytes, corrupt_zip: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    data = buffer.getvalue()
    return corrupt_zip if corrupt_zip is not None else data


@pytest.fixture
def importer(tmp_path, monkeypatch, capsys):
    """Import bytes as a file of a given suffix; check the invariants; return the exit code."""
    monkeypatch.chdir(ROOT)
    for key in [k for k in os.environ if k.startswith("MONITOR_")]:
        monkeypatch.delenv(key)
    store = tmp_path / "monitor.db"
    counter = iter(range(1_000_000))

    def count() -> int:
        if not store.exists():
            return 0
        with sqlite3.connect(store) as conn:
            return conn.execute("SELECT count(*) FROM complaints").fetchone()[0]

    def run(data: bytes, suffix: str) -> int:
        path = tmp_path / f"export-{next(counter)}{suffix}"
        path.write_bytes(data)
        before = count()
        code = main(["complaints", "import", str(path), "--store", str(store), "--json"])
        out, err = capsys.readouterr()
        assert code in (0, 2), (code, err)
        assert "Traceback" not in out + err
        rejects = path.with_name(f"{path.stem}.rejects.csv")
        if code == 2:
            assert count() == before and err.count("\n") == 1 and str(path) in err, err
            assert not rejects.exists() and not list(tmp_path.glob("*.tmp"))
            return code
        summary = json.loads(out)
        assert count() == before + summary["new"]
        rows = [p["row"] for p in summary["problems"]]
        assert rows == sorted(rows) and all(isinstance(r, int) and r >= 1 for r in rows)
        assert len(rows) == summary["rejected"] + summary["duplicates"]
        if rows:
            with open(rejects, encoding="utf-8-sig", newline="") as f:
                assert [int(r[0]) for r in list(csv.reader(f))[1:]] == rows
        else:
            assert not rejects.exists()
        return code
    return run


@FUZZ
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".csv", ".json", ".xlsx", ".txt"]))
def test_random_bytes(importer, data, suffix):
    importer(data, suffix)


@FUZZ
@given(data=mutated(SEEDS["csv"]))
def test_mutated_csv(importer, data):
    importer(data, ".csv")


@FUZZ
@given(data=mutated(SEEDS["json"]))
def test_mutated_json(importer, data):
    importer(data, ".json")


@FUZZ
@given(sheet=mutated(SHEET))
def test_mutated_xlsx_sheet_xml(importer, sheet):
    importer(_xlsx(sheet), ".xlsx")


@FUZZ
@given(data=mutated(_xlsx(SHEET)))
def test_mutated_xlsx_zip_bytes(importer, data):
    importer(data, ".xlsx")


def test_the_unmutated_seeds_import(importer):
    assert importer(SEEDS["csv"], ".csv") == 0
    assert importer(SEEDS["json"], ".json") == 0
    assert importer(_xlsx(SHEET), ".xlsx") == 0

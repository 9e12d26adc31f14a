"""Read a PAKN export (CSV, JSON or XLSX) into complaints, keeping every row that did not import.

Row numbers are what a spreadsheet user sees: the header is row 1, the first data row is row 2.
In CSV a row is a record, not a line: a quoted Nội dung with a line break is still one row. In JSON
the row is the 1-based position of the object in the list.

Checks per row, first failure wins: ``missing_id``, ``duplicate_id`` (the id of a row already
accepted from this file; an earlier *rejected* row does not make a later one a duplicate),
``missing_time``, ``invalid_time``, ``empty_content``. Personal data is scrubbed from Nội dung and
Đơn vị gửi before anything is kept, in accepted complaints and in rejects alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.complaints.model import Complaint
from monitor.complaints.scrub import scrub
from monitor.complaints.text import fold
from monitor.localtime import VIETNAM

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("Mã PAKN", "Mã phản ánh", "Mã phản ánh kiến nghị", "Mã", "Số hiệu", "id"),
    "received_at": ("Thời gian tiếp nhận", "Ngày tiếp nhận", "Thời gian gửi", "Ngày gửi", "Thời gian",
                    "received_at"),
    "unit": ("Đơn vị gửi", "Đơn vị", "Đơn vị phản ánh", "Người gửi", "unit"),
    "province": ("Tỉnh/Thành phố", "Tỉnh/TP", "Tỉnh, thành phố", "Tỉnh", "province"),
    "text": ("Nội dung", "Nội dung phản ánh", "Nội dung PAKN", "Nội dung phản ánh kiến nghị", "text"),
}
REQUIRED = ("id", "received_at", "text")  # unit and province may be absent: stored as ""
CONTENT_FIELDS = ("text", "unit")  # scrubbed of personal data, in complaints and rejects

MESSAGES = {
    "missing_id": "thiếu Mã PAKN",
    "duplicate_id": "trùng Mã PAKN",
    "missing_time": "thiếu thời gian tiếp nhận",
    "invalid_time": "thời gian tiếp nhận không hợp lệ",
    "empty_content": "nội dung trống",
}

_VN_TIME = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2})[:hg](\d{1,2})(?::(\d{1,2}))?)?")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIST_KEYS = ("items", "data", "rows", "records", "complaints")


@dataclass(frozen=True)
class Reject:
    """A row that did not import: its number, a reason code, the Vietnamese detail and its (scrubbed) values."""

    row: int
    reason: str  # missing_id, duplicate_id, missing_time, invalid_time, empty_content
    fields: dict[str, str]  # original header -> original value, Nội dung and Đơn vị gửi scrubbed
    detail: str = ""  # Vietnamese, says what is wrong: "giờ 25 không hợp lệ (0–23)"


@dataclass(frozen=True)
class ImportBatch:
    """The outcome of one export: accepted complaints, rejected rows and repeated ids, in file order."""

    accepted: list[Complaint] = field(default_factory=list)
    rejected: list[Reject] = field(default_factory=list)
    duplicates: list[Reject] = field(default_factory=list)
    total_rows: int = 0  # data rows read, blank rows not counted


class TimeError(ValueError):
    """A receipt time that could not be read; the message (Vietnamese) says why."""


def parse_time(value: object) -> float:
    """Unix time of a receipt time: ``dd/mm/yyyy HH:MM[:SS]`` (local), ISO 8601, or a datetime cell.

    Naive times are Asia/Ho_Chi_Minh. Raises :class:`TimeError` naming what is wrong.
    """
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=VIETNAM)).timestamp()
    if isinstance(value, dt.date):
        raise TimeError(f"chỉ có ngày {value:%d/%m/%Y}, thiếu giờ")
    text = str(value).strip()
    if _ISO.match(text):
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise TimeError(f"{text!r} không phải thời gian ISO 8601 hợp lệ") from None
        return parse_time(moment) if isinstance(moment, dt.datetime) else parse_time(moment.date())
    match = _VN_TIME.fullmatch(text)
    if match is None:
        raise TimeError(f"{text!r} không đúng dạng dd/mm/yyyy HH:MM")
    day, month, year, hour, minute, second = (int(g) if g else None for g in match.groups())
    if hour is None:
        raise TimeError(f"{text!r} chỉ có ngày, thiếu giờ")
    problems = []
    if not 0 <= hour <= 23:
        problems.append(f"giờ {hour} không hợp lệ (0–23)")
    if not 0 <= minute <= 59:
        problems.append(f"phút {minute} không hợp lệ (0–59)")
    if second is not None and not 0 <= second <= 59:
        problems.append(f"giây {second} không hợp lệ (0–59)")
    try:
        date = dt.date(year, month, day)
    except ValueError:
        problems.insert(0, f"ngày {day:02d}/{month:02d}/{year} không tồn tại")
        date = None
    if problems:
        raise TimeError(f"{text!r}: " + "; ".join(problems))
    return dt.datetime.combine(date, dt.time(hour, minute, second or 0), VIETNAM).timestamp()


def _cell(value: object) -> str:
    """A cell as text, as the user would read it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M" if not value.second else "%d/%m/%Y %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1258")  # Vietnamese Windows code page, as old Excel saves


def _read_csv(text: str) -> list[tuple[int, dict[str, object]]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _table(records, start=1)


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, object]]]:
    import openpyxl  # only needed for spreadsheets

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return _table([list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)], start=1)
    finally:
        workbook.close()


def _table(records: list[list[object]], start: int) -> list[tuple[int, dict[str, object]]]:
    """(row number, header -> value) per non-blank record; the first non-blank record is the header."""
    rows: list[tuple[int, dict[str, object]]] = []
    header: list[str] | None = None
    for number, record in enumerate(records, start):
        if all(_cell(v).strip() == "" for v in record):
            continue
        if header is None:
            header = [_cell(v).strip() for v in record]
            rows.append((number, {h: h for h in header if h}))
            continue
        rows.append((number, {h: (record[i] if i < len(record) else None) for i, h in enumerate(header) if h}))
    return rows


def _read_json(text: str) -> list[tuple[int, dict[str, object]]]:
    data = json.loads(text)
    if isinstance(data, dict):
        lists = [data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)]
        lists = lists or [v for v in data.values() if isinstance(v, list)]
        if not lists:
            raise ValueError("no list of complaints in the JSON object")
        data = lists[0]
    if not isinstance(data, list):
        raise ValueError("JSON export must be a list of objects or an object holding one")
    headers: dict[str, str] = {}
    for item in data:
        if isinstance(item, dict):
            headers.update({str(k): str(k) for k in item})
    return [(0, headers)] + [(i, {str(k): v for k, v in item.items()} if isinstance(item, dict) else {})
                             for i, item in enumerate(data, 1)]


def _load(path: Path) -> list[tuple[int, dict[str, object]]]:
    """The header row first (header -> header), then the data rows, whatever the format."""
    data = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    text = _decode(data)
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
        return _read_json(text)
    return _read_csv(text)


def _resolve(headers: Sequence[str], columns: Mapping[str, Sequence[str]] | None, path: Path) -> dict[str, str]:
    """Our field -> the export's header. The caller's aliases come first, then the defaults."""
    by_key = {}
    for header in headers:
        by_key.setdefault(fold(header), header)
    resolved: dict[str, str] = {}
    for name, defaults in DEFAULT_COLUMNS.items():
        aliases = tuple((columns or {}).get(name, ())) + defaults
        taken = set(resolved.values())
        found = next((by_key[fold(a)] for a in aliases if fold(a) in by_key and by_key[fold(a)] not in taken), None)
        if found is not None:
            resolved[name] = found
    for name in (columns or {}):
        if name not in DEFAULT_COLUMNS:
            raise ValueError(f"unknown complaint field {name!r} in columns (use {', '.join(DEFAULT_COLUMNS)})")
    missing = [name for name in REQUIRED if name not in resolved]
    if missing:
        wanted = "; ".join(f"{name} ({', '.join(tuple((columns or {}).get(name, ())) + DEFAULT_COLUMNS[name])})"
                           for name in missing)
        raise ValueError(f"{path}: missing required column {wanted}; headers found: {', '.join(headers) or 'none'}")
    return resolved


def read_export(path: Path | str, columns: Mapping[str, Sequence[str]] | None = None) -> ImportBatch:
    """Every row of a PAKN export: accepted complaints, rejects and duplicates (see the module docstring).

    ``columns`` adds header aliases per field (id, received_at, unit, province, text), tried before
    :data:`DEFAULT_COLUMNS`. Raises ``ValueError`` naming the file when a required column is missing.
    """
    path = Path(path)
    rows = _load(path)
    if not rows:
        raise ValueError(f"{path}: no header row")
    (_, header_row), data_rows = rows[0], rows[1:]
    field_of = _resolve(list(header_row), columns, path)
    content_headers = {field_of[name] for name in CONTENT_FIELDS if name in field_of}
    batch = ImportBatch(total_rows=len(data_rows))
    first_row: dict[str, int] = {}
    for number, raw in data_rows:
        fields = {h: scrub(_cell(v)) if h in content_headers else _cell(v) for h, v in raw.items()}

        def value(name: str) -> str:
            return unicodedata.normalize("NFC", fields.get(field_of.get(name, ""), "")).strip()

        def reject(reason: str, detail: str = "") -> Reject:
            return Reject(number, reason, fields, f"{MESSAGES[reason]}: {detail}" if detail else MESSAGES[reason])

        complaint_id, when, text = value("id"), raw.get(field_of["received_at"]), value("text")
        if not complaint_id:
            batch.rejected.append(reject("missing_id"))
        elif complaint_id in first_row:
            batch.duplicates.append(reject("duplicate_id", f"{complaint_id} đã có ở dòng {first_row[complaint_id]}"))
        elif when is None or _cell(when).strip() == "":
            batch.rejected.append(reject("missing_time"))
        else:
            try:
                received_at = parse_time(when)
            except TimeError as error:
                batch.rejected.append(reject("invalid_time", str(error)))
                continue
            if not text:
                batch.rejected.append(reject("empty_content"))
                continue
            first_row[complaint_id] = number
            batch.accepted.append(Complaint(complaint_id, received_at, value("unit"), value("province"), text,
                                            source_row=number))
    return batch


def rejects_path(import_path: Path | str) -> Path:
    """Where the rejects of an import go: next to it, ``pakn-sample.csv`` -> ``pakn-sample.rejects.csv``."""
    path = Path(import_path)
    return path.with_name(f"{path.stem}.rejects.csv")


def write_rejects(batch: ImportBatch, path: Path | str) -> None:
    """Rejects and duplicates by row as CSV for Excel (UTF-8 with BOM, CRLF): Dòng, Lý do, Chi tiết, then the
    original columns (personal data already scrubbed)."""
    rows = sorted(batch.rejected + batch.duplicates, key=lambda r: r.row)
    headers: dict[str, None] = {}
    for reject in rows:
        headers.update(dict.fromkeys(reject.fields))
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(("Dòng", "Lý do", "Chi tiết", *headers))
        for reject in rows:
            writer.writerow((reject.row, reject.reason, reject.detail, *(reject.fields.get(h, "") for h in headers)))

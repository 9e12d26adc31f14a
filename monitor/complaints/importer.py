"""Read a PAKN export (CSV, JSON or XLSX) into complaints, keeping every row that did not import.

Row numbers are what a spreadsheet user sees: the header is row 1, the first data row is row 2.
In CSV a row is a record, not a line: a quoted Nội dung with a line break is still one row. In JSON
the row is the 1-based position of the object in the list.

Checks per row, first failure wins: ``missing_id``, ``duplicate_id`` (the id of a row already
accepted from this file; an earlier *rejected* row does not make a later one a duplicate),
``missing_time``, ``invalid_time``, ``empty_content``. Personal data is scrubbed from Nội dung,
Đơn vị gửi and Tỉnh before anything is kept; a rejected row keeps only the columns the monitor reads,
all but the id scrubbed, and so does its reason's detail.

Every format is streamed (JSON, read whole, is capped in size) within :class:`~monitor.complaints.limits.Limits`;
a file that crosses one, or is malformed, raises :class:`~monitor.complaints.limits.ExportError`: one line
naming the file, the problem and what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from monitor.complaints.limits import LIMITS, RESAVE, ExportError, Limits
from monitor.complaints.scrub import scrub
from monitor.complaints.text import fold
from monitor.complaints.xlsx import xlsx_rows
from monitor.csvsafe import restore_cell, safe_writer
from monitor.domain import Complaint
from monitor.localtime import VIETNAM
from monitor.private import open_private

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
    fields: dict[str, str]  # header -> value, for the columns we read only; all but the id scrubbed
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
    day_, month_, year_, hour_, minute_, second_ = match.groups()
    if hour_ is None:  # the minute comes with the hour
        raise TimeError(f"{text!r} chỉ có ngày, thiếu giờ")
    day, month, year, hour, minute = int(day_), int(month_), int(year_), int(hour_), int(minute_)
    second = int(second_) if second_ else None
    problems = []
    if not 0 <= hour <= 23:
        problems.append(f"giờ {hour} không hợp lệ (0–23)")
    if not 0 <= minute <= 59:
        problems.append(f"phút {minute} không hợp lệ (0–59)")
    if second is not None and not 0 <= second <= 59:
        problems.append(f"giây {second} không hợp lệ (0–59)")
    date: dt.date | None
    try:
        date = dt.date(year, month, day)
    except ValueError:
        problems.insert(0, f"ngày {day:02d}/{month:02d}/{year} không tồn tại")
        date = None
    if problems or date is None:  # no date: a problem said so
        raise TimeError(f"{text!r}: " + "; ".join(problems))
    return dt.datetime.combine(date, dt.time(hour, minute, second or 0), VIETNAM).timestamp()


def _cell(value: object) -> str:
    """A cell as text, as the user would read it (a ``'`` our own CSV writer put before ``=+-@`` dropped)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return restore_cell(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M" if not value.second else "%d/%m/%Y %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


# --- reading each format, streamed, with limits ---------------------------------------------

def _text_encoding(path: Path, head: bytes) -> str:
    """The encoding the whole file decodes in: UTF-16 (BOM), UTF-8 (BOM or not), or Windows-1258.

    Checked by decoding the file once in chunks, keeping nothing; raises ExportError if none fits.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "cp1258")  # cp1258: the Vietnamese Windows code page old Excel saves in
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ExportError(path, "undecodable bytes: not UTF-8, UTF-16 or Windows-1258 text",
                      "open it in Excel and save it again as CSV UTF-8")


def _lines(f: io.TextIOBase, path: Path, limits: Limits) -> Iterator[str]:
    while line := f.readline(limits.line_chars + 1):
        if len(line) > limits.line_chars:
            raise ExportError(path, f"a line longer than {limits.line_chars:,} characters", RESAVE)
        yield line


def _csv_records(path: Path, head: bytes, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    encoding = _text_encoding(path, head)
    with open(path, encoding=encoding, newline="") as f:
        lines = _lines(f, path, limits)
        first = next(lines, "")
        delimiter = max((",", ";", "\t"), key=first.count)
        reader = csv.reader(itertools.chain((first,), lines), delimiter=delimiter)
        number = 0
        try:
            for number, record in enumerate(reader, 1):
                if len(record) > limits.columns:
                    raise ExportError(path, f"row {number} has {len(record):,} fields, more than "
                                            f"{limits.columns:,}", RESAVE)
                if any(len(v) > limits.cell_chars for v in record):
                    raise _cell_too_long(path, number, limits)
                yield number, record
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise _cell_too_long(path, number + 1, limits) from None
            raise ExportError(path, f"row {number + 1} is not valid CSV ({error})", RESAVE) from None


def _cell_too_long(path: Path, row: int, limits: Limits) -> ExportError:
    return ExportError(path, f"row {row}: a cell holds more than {limits.cell_chars:,} characters "
                             "(Excel's own limit)", "shorten that cell or remove the row")


_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_records(path: Path, head: bytes, limits: Limits) -> Iterator[tuple[int, list[object]]]:
    size = path.stat().st_size
    if size > limits.json_bytes:
        raise ExportError(path, f"a JSON export of {size:,} bytes, more than the {limits.json_bytes:,} read at once",
                          "split it, or export CSV instead")
    text = path.read_bytes().decode(_text_encoding(path, head))
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > limits.json_depth:
            raise ExportError(path, f"JSON nested deeper than {limits.json_depth} levels",
                              "export a plain list of complaint objects")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportError(path, f"not valid JSON ({error})", "export it again from the PAKN system") from None
    except RecursionError:
        raise ExportError(path, f"JSON nested deeper than {limits.json_depth} levels",
                          "export a plain list of complaint objects") from None
    del text
    if isinstance(data, dict):
        lists = [data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)]
        lists = lists or [v for v in data.values() if isinstance(v, list)]
        if not lists:
            raise ExportError(path, "no list of complaints in the JSON object",
                              f"put them in a list, or under one of: {', '.join(_LIST_KEYS)}")
        data = lists[0]
    if not isinstance(data, list):
        raise ExportError(path, "JSON export must be a list of objects or an object holding one",
                          "export a list of complaint objects")
    headers: dict[str, None] = {}
    for item in data:
        if isinstance(item, dict):
            headers.update(dict.fromkeys(str(k) for k in item))
    yield 0, list(headers)
    for number, item in enumerate(data, 1):
        if isinstance(item, dict):
            values = {str(k): v for k, v in item.items()}
            yield number, [values.get(h) for h in headers]
        else:
            yield number, [None] * len(headers)


def _records(path: Path, limits: Limits) -> Iterator[tuple[int, Sequence[object]]]:
    """(row number, cell values) of every record, header included, whatever the format."""
    with open(path, "rb") as f:
        head = f.read(4096)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") or head.startswith(b"PK\x03\x04"):
        return xlsx_rows(path, limits)
    if suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExportError(path, "an old Excel 97-2003 workbook (.xls)", "save it as XLSX or CSV UTF-8")
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    start = head.decode(encoding, errors="ignore").lstrip()[:1]
    if suffix == ".json" or start in ("[", "{"):
        return _json_records(path, head, limits)
    return _csv_records(path, head, limits)


def _resolve(headers: Sequence[str], columns: Mapping[str, Sequence[str]] | None, path: Path) -> dict[str, str]:
    """Our field -> the export's header. The caller's aliases come first, then the defaults."""
    by_key: dict[str, str] = {}  # folded header -> header
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
        found = ", ".join(_shown(h) for h in headers[:20]) + (", …" if len(headers) > 20 else "")
        raise ExportError(path, f"missing required column {wanted}; headers found: {found or 'none'}")
    return resolved


class Export:
    """A PAKN export opened for streaming: its header is read and resolved, its rows come one by one.

    Iterating yields, in file order, each data row as a :class:`Complaint` (accepted) or a
    :class:`Reject` (rejected or duplicate); ``total_rows`` counts the data rows read so far.
    ``headers`` are the export's columns the monitor reads (the rejects file keeps only these).
    Raises :class:`ExportError` (a ``ValueError``) for a file that cannot be imported at all.
    """

    def __init__(self, path: Path | str, columns: Mapping[str, Sequence[str]] | None = None,
                 limits: Limits = LIMITS):
        self.path = Path(path)
        self.limits = limits
        self.total_rows = 0
        self._records = _records(self.path, limits)
        header = next((record for _, record in self._records if any(_cell(v).strip() for v in record)), None)
        if header is None:
            raise ExportError(self.path, "no header row", "the first non-empty row must name the columns")
        names = [_cell(v).strip() for v in header]
        field_of = _resolve([n for n in names if n], columns, self.path)
        self._index = {name: names.index(header_name) for name, header_name in field_of.items()}
        self.headers = [names[i] for i in sorted(self._index.values())]
        self._header_index = {names[i]: i for i in sorted(self._index.values())}
        self._id_header = names[self._index["id"]]

    def __iter__(self) -> Iterator[Complaint | Reject]:
        first_row: dict[str, int] = {}
        limits, index = self.limits, self._index
        for number, record in self._records:
            cells = {name: (record[i] if i < len(record) else None) for name, i in index.items()}
            if all(_cell(v).strip() == "" for v in record):
                continue
            self.total_rows += 1
            if self.total_rows > limits.rows:
                raise ExportError(self.path, f"more than {limits.rows:,} data rows",
                                  "split the export into smaller files")
            for value in cells.values():
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise _cell_too_long(self.path, number, limits)

            complaint_id = unicodedata.normalize("NFC", _cell(cells["id"])).strip()
            when = cells["received_at"]
            if not complaint_id:
                yield self._reject(number, record, "missing_id")
            elif complaint_id in first_row:
                yield self._reject(number, record, "duplicate_id",
                                   f"{complaint_id} đã có ở dòng {first_row[complaint_id]}")
            elif when is None or _cell(when).strip() == "":
                yield self._reject(number, record, "missing_time")
            else:
                try:
                    received_at = parse_time(when if not isinstance(when, str) else _cell(when))
                except TimeError as error:
                    yield self._reject(number, record, "invalid_time", str(error))
                    continue
                text = scrub(_cell(cells["text"])).strip()
                if not text:
                    yield self._reject(number, record, "empty_content")
                    continue
                first_row[complaint_id] = number
                yield Complaint(complaint_id, received_at, _scrub_label(_cell(cells.get("unit"))),
                                _scrub_label(_cell(cells.get("province"))), text, source_row=number)

    def _reject(self, number: int, record: Sequence[object], reason: str, detail: str = "") -> Reject:
        fields = {h: (_cell(record[i]) if i < len(record) else "") for h, i in self._header_index.items()}
        fields = {h: v if h == self._id_header else scrub(v) for h, v in fields.items()}
        detail = scrub(detail)
        return Reject(number, reason, fields, f"{MESSAGES[reason]}: {detail}" if detail else MESSAGES[reason])


def _scrub_label(value: str) -> str:
    """A unit or province, scrubbed. The same few hundred values repeat through an export, so a short
    one is scrubbed once (the cache holds at most 4,096 values of at most 200 characters)."""
    return _scrub_short(value) if len(value) <= 200 else scrub(value).strip()


@functools.lru_cache(maxsize=4096)
def _scrub_short(value: str) -> str:
    return scrub(value).strip()


def _shown(header: str) -> str:
    """A header as an error message may show it: one line, at most 40 characters, scrubbed."""
    header = scrub(" ".join(header.split()))
    return header if len(header) <= 40 else header[:39] + "…"


def read_export(path: Path | str, columns: Mapping[str, Sequence[str]] | None = None,
                limits: Limits = LIMITS) -> ImportBatch:
    """Every row of a PAKN export: accepted complaints, rejects and duplicates (see the module docstring).

    ``columns`` adds header aliases per field (id, received_at, unit, province, text), tried before
    :data:`DEFAULT_COLUMNS`. Raises ``ValueError`` (:class:`ExportError`) naming the file when a required
    column is missing or the file cannot be read. Holds every row in memory: ``monitor complaints import``
    streams through :class:`Export` instead.
    """
    export = Export(path, columns, limits)
    batch = ImportBatch()
    for item in export:
        if isinstance(item, Complaint):
            batch.accepted.append(item)
        elif item.reason == "duplicate_id":
            batch.duplicates.append(item)
        else:
            batch.rejected.append(item)
    return replace(batch, total_rows=export.total_rows)


def rejects_path(import_path: Path | str) -> Path:
    """Where the rejects of an import go: next to it, ``pakn-sample.csv`` -> ``pakn-sample.rejects.csv``."""
    path = Path(import_path)
    return path.with_name(f"{path.stem}.rejects.csv")


REJECT_COLUMNS = ("Dòng", "Lý do", "Chi tiết")


class RejectsFile:
    """The rejects file, written row by row as an import streams, for Excel (UTF-8 with BOM, CRLF).

    Columns: Dòng, Lý do, Chi tiết, then the export's columns the monitor reads, personal data scrubbed;
    no cell can run as a formula (:mod:`monitor.csvsafe`). Written to a temporary file (mode 0600) that
    :meth:`commit` moves into place and :meth:`discard` removes, so a failed import leaves no half file.
    """

    def __init__(self, path: Path | str, headers: Sequence[str]):
        self.path = Path(path)
        self.headers = list(headers)
        self.count = 0
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._file = open_private(self._tmp, "w", encoding="utf-8-sig", newline="")
        self._writer = safe_writer(self._file, lineterminator="\r\n")
        self._writer.writerow((*REJECT_COLUMNS, *self.headers))

    def write(self, reject: Reject) -> None:
        """Add one rejected row."""
        self._writer.writerow((reject.row, reject.reason, reject.detail,
                               *(reject.fields.get(h, "") for h in self.headers)))
        self.count += 1

    def commit(self) -> Path:
        """Close and move the file into place; returns its path."""
        self._file.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file."""
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def write_rejects(batch: ImportBatch, path: Path | str) -> None:
    """Rejects and duplicates of ``batch`` by row into ``path`` (see :class:`RejectsFile`)."""
    rows = sorted(batch.rejected + batch.duplicates, key=lambda r: r.row)
    headers: dict[str, None] = {}
    for reject in rows:
        headers.update(dict.fromkeys(reject.fields))
    rejects = RejectsFile(path, list(headers))
    try:
        for reject in rows:
            rejects.write(reject)
    except BaseException:
        rejects.discard()
        raise
    rejects.commit()

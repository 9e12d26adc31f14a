"""The rows of an XLSX workbook's first sheet, streamed from its XML with limits, trusting nothing in it.

Why not openpyxl: in read-only mode it believes the sheet's ``<dimension ref="A1:XFD1048576">`` and
pads rows to it (a 5 KB file exhausts gigabytes), and its XML parser expands entities. Here the
zip members are read in chunks through expat; a DOCTYPE or entity declaration (never present in a
file Excel writes; the way to an entity bomb) is refused; every size is checked as it is read
(:class:`~monitor.complaints.limits.Limits`). Only the cells present are kept.

Cell values: shared and inline strings as ``str``, numbers as ``float``, booleans as ``bool``, and
numbers in a date format (``styles.xml``) as ``datetime``, like Excel shows them.
"""

from __future__ import annotations

import datetime as dt
import lzma
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from monitor.complaints.limits import LIMITS, RESAVE, ExportError, Limits

_CHUNK = 64 * 1024
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships "
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


class _Refused(Exception):
    """The XML declares a DTD or entities."""


def _local(name: str) -> str:
    return name.rpartition(" ")[2]  # expat with namespace_separator=" ": "uri local" -> "local"


def _refuse(*_: object) -> NoReturn:
    raise _Refused


class _Part:
    """One XML member of the zip, parsed by expat in chunks with DTDs refused and its size bounded."""

    def __init__(self, book: _Book, name: str, start: Callable[[str, dict[str, str]], None],
                 end: Callable[[str], None], text: Callable[[str], None] | None = None):
        self.book, self.name = book, name
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = _refuse
        parser.EntityDeclHandler = _refuse
        parser.UnparsedEntityDeclHandler = _refuse
        parser.ExternalEntityRefHandler = _refuse
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text
        self.parser = parser

    def chunks(self) -> Iterator[None]:
        """Feed the member to the parser; yields after each chunk so rows can be taken as they complete."""
        book = self.book
        try:
            info = book.zip.getinfo(self.name)
        except KeyError:
            raise ExportError(book.path, f"not an Excel workbook: {self.name} is missing from it", RESAVE) from None
        limit = book.limits.xlsx_member_bytes
        if info.file_size > limit:
            raise ExportError(book.path, f"{self.name} unpacks to {info.file_size:,} bytes, more than the "
                                         f"{limit:,} an export may hold", "split the export into smaller files")
        read = 0
        try:
            with book.zip.open(info) as member:
                while chunk := member.read(_CHUNK):
                    read += len(chunk)
                    if read > limit:
                        raise ExportError(book.path, f"{self.name} unpacks to more than {limit:,} bytes",
                                          "split the export into smaller files")
                    self.parser.Parse(chunk, False)
                    yield
            self.parser.Parse(b"", True)
        except _Refused:
            raise ExportError(book.path, f"{self.name} declares a DOCTYPE or XML entities, which Excel never writes "
                                         "(refused: it could be an entity bomb)", RESAVE) from None
        except expat.ExpatError as error:
            raise ExportError(book.path, f"malformed XML in {self.name}: {error}", RESAVE) from None

    def parse(self) -> None:
        for _ in self.chunks():
            pass


class _Book:
    """The zip, the first sheet's name, shared strings and which styles are dates."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, limits: Limits):
        self.path, self.zip, self.limits = path, archive, limits
        if len(archive.infolist()) > limits.xlsx_members:
            raise ExportError(path, f"the zip holds {len(archive.infolist()):,} files, more than the "
                                    f"{limits.xlsx_members:,} a workbook may have", RESAVE)
        self.names = set(archive.namelist())
        self.epoch = _EPOCH_1900
        self.sheet, shared, styles = self._workbook()
        self.shared = self._shared_strings(shared) if shared in self.names else []
        self.date_styles = self._date_styles(styles) if styles in self.names else frozenset()

    def _workbook(self) -> tuple[str, str, str]:
        """(first sheet, shared strings, styles) member names, from workbook.xml and its relationships."""
        sheets: list[str] = []
        targets: dict[str, tuple[str, str]] = {}

        def workbook_start(name: str, attrs: dict[str, str]) -> None:
            local = _local(name)
            if local == "sheet":
                sheets.append(attrs.get(_OFFICE_REL + "id", ""))
            elif local == "workbookPr" and attrs.get("date1904", "").lower() in ("1", "true"):
                self.epoch = _EPOCH_1904

        def rels_start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship":
                target = attrs.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                targets[attrs.get("Id", "")] = (target, attrs.get("Type", "").rpartition("/")[2])

        if "xl/workbook.xml" in self.names:
            _Part(self, "xl/workbook.xml", workbook_start, lambda name: None).parse()
        if "xl/_rels/workbook.xml.rels" in self.names:
            _Part(self, "xl/_rels/workbook.xml.rels", rels_start, lambda name: None).parse()
        by_type = {kind: target for target, kind in reversed(list(targets.values()))}
        first = next((targets[r][0] for r in sheets if r in targets and targets[r][0] in self.names), None)
        if first is None:
            found = sorted(n for n in self.names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
            if not found:
                raise ExportError(self.path, "a zip file but not an Excel workbook: it has no worksheet", RESAVE)
            first = found[0]
        return (first, by_type.get("sharedStrings", "xl/sharedStrings.xml"),
                by_type.get("styles", "xl/styles.xml"))

    def _shared_strings(self, name: str) -> list[str]:
        strings: list[str] = []
        parts: list[str] = []
        state = {"in_t": False, "skip": 0, "chars": 0, "total": 0}
        limits = self.limits

        def start(tag: str, attrs: dict[str, str]) -> None:
            local = _local(tag)
            if local == "si":
                parts.clear()
                state["chars"] = 0
            elif local == "t" and not state["skip"]:
                state["in_t"] = True
            elif local == "rPh":  # phonetic guide: not part of the text
                state["skip"] += 1

        def end(tag: str) -> None:
            local = _local(tag)
            if local == "si":
                if len(strings) >= limits.xlsx_shared_strings:
                    raise ExportError(self.path, f"more than {limits.xlsx_shared_strings:,} shared strings",
                                      "split the export into smaller files")
                strings.append("".join(parts))
            elif local == "t":
                state["in_t"] = False
            elif local == "rPh":
                state["skip"] -= 1

        def text(data: str) -> None:
            if state["in_t"]:
                state["chars"] += len(data)
                state["total"] += len(data)
                if state["chars"] > limits.cell_chars:
                    raise ExportError(self.path, f"a cell holds more than {limits.cell_chars:,} characters "
                                                 "(Excel's own limit)", RESAVE)
                if state["total"] > limits.xlsx_shared_chars:
                    raise ExportError(self.path, f"its strings hold more than {limits.xlsx_shared_chars:,} "
                                                 "characters", "split the export into smaller files")
                parts.append(data)

        _Part(self, name, start, end, text).parse()
        return strings

    def _date_styles(self, name: str) -> frozenset[int]:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        custom: dict[int, str] = {}
        formats: list[int] = []
        state = {"in_xfs": False}

        def start(tag: str, attrs: dict[str, str]) -> None:
            local = _local(tag)
            if local == "numFmt":
                try:
                    custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
                except ValueError:
                    pass
            elif local == "cellXfs":
                state["in_xfs"] = True
            elif local == "xf" and state["in_xfs"]:
                try:
                    formats.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    formats.append(0)

        def end(tag: str) -> None:
            if _local(tag) == "cellXfs":
                state["in_xfs"] = False

        _Part(self, name, start, end).parse()
        dates = set()
        for index, number in enumerate(formats):
            code = custom.get(number, BUILTIN_FORMATS.get(number, ""))
            if code and is_date_format(code):
                dates.add(index)
        return frozenset(dates)


def _column(reference: str) -> int:
    """0-based column of a cell reference: "A1" -> 0, "AB12" -> 27; -1 if it has no letters."""
    index = 0
    for char in reference:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            index = index * 26 + ord(char) - 96
        else:
            break
    return index - 1


class _Sheet:
    """Parser callbacks for a worksheet: complete rows are appended to ``ready``."""

    def __init__(self, book: _Book):
        self.book, self.limits = book, book.limits
        self.ready: list[tuple[int, list[object]]] = []
        self.row_number = 0
        self.cells: dict[int, object] = {}
        self.column = -1
        self.kind, self.style = "n", 0
        self.text: list[str] | None = None
        self.chars = 0
        self.value: str | None = None
        self.inline: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "row":
            try:
                self.row_number = int(attrs["r"]) if "r" in attrs else self.row_number + 1
            except ValueError:
                self.row_number += 1
            self.cells = {}
            self.column = -1
        elif local == "c":
            reference = attrs.get("r", "")
            column = _column(reference) if reference else -1
            self.column = column if column >= 0 else self.column + 1
            if self.column >= self.limits.columns:
                raise ExportError(self.book.path, f"row {self.row_number} has a cell beyond column "
                                                  f"{self.limits.columns:,}", "delete the stray cells far right")
            self.kind = attrs.get("t", "n")
            try:
                self.style = int(attrs.get("s", "0"))
            except ValueError:
                self.style = 0
            self.value, self.inline = None, []
        elif local in ("v", "t"):
            self.text, self.chars = [], 0

    def characters(self, data: str) -> None:
        if self.text is not None:
            self.chars += len(data)
            if self.chars > self.limits.cell_chars:
                raise ExportError(self.book.path, f"row {self.row_number}: a cell holds more than "
                                                  f"{self.limits.cell_chars:,} characters (Excel's own limit)", RESAVE)
            self.text.append(data)

    def end(self, tag: str) -> None:
        local = _local(tag)
        if local == "v" and self.text is not None:
            self.value, self.text = "".join(self.text), None
        elif local == "t" and self.text is not None:
            self.inline.append("".join(self.text))
            self.text = None
        elif local == "c":
            self.cells[self.column] = self._convert()
        elif local == "row":
            width = max(self.cells) + 1 if self.cells else 0
            self.ready.append((self.row_number, [self.cells.get(i) for i in range(width)]))

    def _convert(self) -> object:
        kind, value = self.kind, self.value
        if kind == "inlineStr":
            return "".join(self.inline)
        if value is None:
            return None
        if kind == "s":
            try:
                return self.book.shared[int(value)]
            except (ValueError, IndexError):
                return None
        if kind in ("str", "e"):
            return value
        if kind == "b":
            return value.strip() in ("1", "true")
        try:
            number = float(value)
        except ValueError:
            return value
        if self.style in self.book.date_styles:
            try:
                return self.book.epoch + dt.timedelta(milliseconds=round(number * 86_400_000))  # Excel keeps ms
            except (OverflowError, ValueError):
                return number
        return number


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError,
               OSError, struct.error, ValueError, IndexError, KeyError)


def xlsx_rows(path: Path | str, limits: Limits = LIMITS) -> Iterator[tuple[int, list[object]]]:
    """(row number as Excel shows it, cell values by column) for each row present in the first sheet.

    Raises :class:`ExportError` (one line: file, problem, what to do) for a file that is not a
    readable workbook, declares XML entities, or crosses a limit.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            book = _Book(path, archive, limits)
            sheet = _Sheet(book)
            for _ in _Part(book, book.sheet, sheet.start, sheet.end, sheet.characters).chunks():
                ready, sheet.ready = sheet.ready, []
                yield from ready
            yield from sheet.ready
    except ExportError:
        raise
    except _ZIP_ERRORS as error:
        raise ExportError(path, f"not a readable XLSX file ({type(error).__name__}: {error})", RESAVE) from None

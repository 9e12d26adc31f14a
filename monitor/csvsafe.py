"""CSV files that are safe to open in a spreadsheet: every CSV the monitor writes goes through here.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and
LibreOffice as a formula ("CSV injection": ``=HYPERLINK(...)``, ``-2+3+cmd|' /C calc'!A0``). As
OWASP advises, such a cell is written with a single quote in front, which spreadsheets show as
text and do not evaluate. :func:`restore_cell` undoes it when the monitor reads its own files back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will not evaluate it: text starting like a formula gets a leading ``'``.

    Numbers stay numbers (``-3`` written from an int is a number, not a formula).
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The cell :func:`safe_cell` was given: ``"'=1+1"`` -> ``"=1+1"``; any other text unchanged."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeWriter:
    """A :func:`csv.writer` whose every cell passes through :func:`safe_cell`."""

    def __init__(self, file: Any, **options: Any):
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        """Write one row, neutralised."""
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write rows, neutralised."""
        for row in rows:
            self.writerow(row)


def safe_writer(file: Any, **options: Any) -> SafeWriter:
    """Like ``csv.writer(file, **options)``, but no cell can run as a formula when the file is opened."""
    return SafeWriter(file, **options)

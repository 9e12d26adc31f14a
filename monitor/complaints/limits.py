"""How big a PAKN export may be, and the one error a file that is too big or malformed gives.

The limits are far above what a real export reaches (a week of PAKN is hundreds to a few thousand
rows of a handful of columns) and low enough that a hostile file cannot exhaust the memory of the
host, which also runs the prober. They are stated in README.md (complaints section).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Upper bounds on one export; every reader stops with :class:`ExportError` at the first one crossed."""

    rows: int = 500_000  # data rows (blank rows not counted)
    columns: int = 1_000  # cells in one row (CSV fields, XLSX columns)
    cell_chars: int = 32_767  # characters in one cell: Excel's own maximum
    line_chars: int = 1_048_576  # characters in one physical CSV line
    json_bytes: int = 64 * 1024 * 1024  # a JSON export is read whole
    json_depth: int = 32  # nesting of arrays and objects
    xlsx_members: int = 1_000  # files inside the XLSX zip
    xlsx_member_bytes: int = 512 * 1024 * 1024  # decompressed size of one XML part
    xlsx_shared_strings: int = 1_000_000  # distinct strings in sharedStrings.xml
    xlsx_shared_chars: int = 64 * 1024 * 1024  # their total length


LIMITS = Limits()


class ExportError(ValueError):
    """An export that cannot be imported at all: malformed, too big, or not a PAKN export.

    The message is one line: the file, the problem, and what to do. Nothing is stored.
    """

    def __init__(self, path: Path | str, problem: str, advice: str = ""):
        self.path = Path(path)
        self.problem = " ".join(problem.split())  # one line, whatever the file put in it
        super().__init__(f"{path}: {self.problem}" + (f"; {advice}" if advice else ""))


RESAVE = "open it in Excel and save it again as CSV UTF-8 or XLSX"

"""Vietnamese text compared the way people type it: with or without diacritics, NFC or NFD, any case.

``fold`` gives the comparison key. :class:`Folded` keeps, for every character of the key, where it
came from in the original text, so a phrase found in the key can be shown as it was written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# A match must not continue a word: letters, digits, '_', or a '-'/'.' joining word parts
# ("gqthc" is not found inside "quantri-gqthc", "dcs.vn" not inside "gqthc.dcs.vn").
_BEFORE = r"(?<![\w-])(?<!\w\.)"
_AFTER = r"(?![\w-])(?!\.\w)"


def _fold_char(char: str) -> str:
    """One character's contribution to the key: lower case, no diacritics ('' for a combining mark)."""
    if char in "đĐ":
        return "d"
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base.lower().replace("đ", "d")


def fold(text: str) -> str:
    """Comparison key: lower case, no diacritics, đ -> d, whitespace runs -> one space, trimmed.

    ``fold("Sổ tay ĐV") == fold("SO TAY DV") == fold(NFD("sổ tay đv")) == "so tay dv"``.
    """
    return Folded.of(text).key.strip()


@dataclass(frozen=True)
class Folded:
    """A text with its fold key (whitespace collapsed, not trimmed) and, per key character, the original span."""

    original: str
    key: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Folded:
        key: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, char in enumerate(text):
            if char.isspace():
                if key and key[-1] == " ":
                    continue
                piece = " "
            else:
                piece = _fold_char(char)
            if not piece:  # a combining mark (NFD): it belongs to the character before it
                if ends:
                    ends[-1] = i + 1
                continue
            for c in piece:
                key.append(c)
                starts.append(i)
                ends.append(i + 1)
        return cls(text, "".join(key), tuple(starts), tuple(ends))

    def source(self, start: int, end: int) -> str:
        """The original text behind key[start:end], as written (with its marks)."""
        if start >= end:
            return ""
        return self.original[self.starts[start]:self.ends[end - 1]]

    def finditer(self, pattern: re.Pattern[str]) -> Iterator[tuple[int, int, str]]:
        """(start, end, original phrase) of each match of a pattern over the key."""
        for match in pattern.finditer(self.key):
            if match.end() > match.start():
                yield match.start(), match.end(), self.source(match.start(), match.end())


@functools.lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A pattern finding ``phrase`` (folded) as whole words in a fold key; any whitespace between words."""
    words = fold(phrase).split(" ")
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(word_pattern(body))


def word_pattern(regex: str) -> str:
    """Wrap a regex over fold keys so it matches whole words only."""
    return f"{_BEFORE}(?:{regex}){_AFTER}"


def find_phrase(phrase: str, text: str) -> str | None:
    """The first occurrence of ``phrase`` in ``text`` as whole words, as written in ``text``; None if absent.

    ``find_phrase("so tay dang vien", "Vào Sổ tay đảng viên bị lỗi") == "Sổ tay đảng viên"``.
    """
    folded = Folded.of(text)
    for _, _, source in folded.finditer(phrase_pattern(phrase)):
        return source
    return None

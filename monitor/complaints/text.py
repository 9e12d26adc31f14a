"""Vietnamese text compared the way people type it: with or without diacritics, NFC or NFD, any case.

``fold`` gives the comparison key. :class:`Folded` keeps, for every character of the key, where it
came from in the original text, so a phrase found in the key can be shown as it was written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# A match must not continue a word: letters, digits, '_', or a '-'/'.' joining word parts
# ("gqthc" is not found inside "quantri-gqthc", "dcs.vn" not inside "gqthc.dcs.vn").
_BEFORE = r"(?<![\w-])(?<!\w\.)"
_AFTER = r"(?![\w-])(?!\.\w)"


@functools.lru_cache(maxsize=4096)
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

    def expand(self, words: Mapping[str, str]) -> Folded:
        """The same text with whole key words replaced (``{"ko": "khong"}``); linear in the key's length.

        A replacement's characters come from the word it replaces, so :meth:`source` still shows the
        text as written ("ko vào đc" is found by "khong vao duoc" and shown as "ko vào đc").
        """
        if not words:
            return self
        pattern = _words_pattern(tuple(sorted(words)))
        key: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        done = 0
        for match in pattern.finditer(self.key):
            start, end = match.span()
            key.append(self.key[done:start])
            starts += self.starts[done:start]
            ends += self.ends[done:start]
            replacement = words[match.group()]
            key.append(replacement)
            starts += [self.starts[start]] * len(replacement)
            ends += [self.ends[end - 1]] * len(replacement)
            done = end
        if not done:
            return self
        key.append(self.key[done:])
        starts += self.starts[done:]
        ends += self.ends[done:]
        return Folded(self.original, "".join(key), tuple(starts), tuple(ends))

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


# How words are shortened when typing fast (teen-code), as fold keys -> the word meant.
SHORTHAND: dict[str, str] = {
    **dict.fromkeys(("ko", "k", "kg", "kh", "khg", "hok", "khum", "hk", "kol"), "khong"),
    "dc": "duoc",  # "đc" folds to "dc"
    "bt": "binh thuong", "bth": "binh thuong", "j": "gi", "vs": "voi", "hs": "ho so", "mk": "mat khau",
    "tk": "tai khoan", "wa": "qua", "qa": "qua", "ntn": "nhu the nao", "cx": "cung", "r": "roi",
    "lm": "lam", "trc": "truoc", "nhiu": "nhieu", "dt": "dien thoai", "mn": "moi nguoi", "tg": "thoi gian",
}


@functools.lru_cache(maxsize=8)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word of a fold key (not part of a longer word, a domain or an address)."""
    return re.compile(word_pattern("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))))


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

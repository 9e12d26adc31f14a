"""Vietnamese text compared the way people type it: with or without diacritics, NFC or NFD, any case.

``fold`` gives the comparison key. :class:`Folded` keeps, for every character of the key, where it
came from in the original text, so a phrase found in the key can be shown as it was written.

Speed (issue 12): a complaint is folded with C-speed string operations when every character folds to
exactly one ASCII key character (NFC Vietnamese, no whitespace runs); then key positions are text
positions and no position map is built. Other texts (NFD, whitespace runs, letters folding to several
characters) take the character-by-character path, which defines the key. Phrases are searched with
:class:`WordPattern`, which a C-speed scan can run and which is skipped when a word every match
needs is absent from the key (:class:`Clues`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, cast

# The regex parse tree (re._parser, private and untyped): which words a phrase pattern cannot match without.
if TYPE_CHECKING:
    import sre_parse as sre  # typeshed's stub of the same parser (sre_parse re-exports re._parser)
    from sre_constants import _NamedIntConstant as Opcode

    # One item of a parse tree: (opcode, argument). The argument's shape depends on the opcode (LITERAL: a code
    # point; SUBPATTERN: (group, add_flags, del_flags, items); BRANCH: (None, [items, ...]); a repeat: (min,
    # max, items)), which typeshed does not model: it is read here only as its opcode says.
    Item: TypeAlias = tuple[Opcode, Any]
else:
    from re import _parser as sre
Items: TypeAlias = Sequence["Item"]  # a SubPattern as read here: len, [i] and iteration give items

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


# Texts where every character folds to one ASCII key character (ASCII, and Latin letters that are an
# ASCII letter with marks, đ): their key is NFD without marks, lower case, whitespace as " ", and key
# position i is text position i. Any other character sends the text to the character-by-character path.
def _one_ascii(char: str) -> bool:
    if char in "đĐ":
        return True
    parts = unicodedata.normalize("NFD", char)
    return (len(parts) > 1 and parts[0].isascii() and not parts[0].isspace()
            and all(unicodedata.combining(mark) for mark in parts[1:]))


_OTHER = re.compile("[^\x00-\x7f" + "".join(chr(c) for c in range(0x80, 0x2000) if _one_ascii(chr(c))) + "]")
_ASCII_FOLD = {c: " " if chr(c).isspace() else chr(c).lower() for c in range(128)}  # every entry: C fast path


def _identity(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(range(n)), tuple(range(1, n + 1))


class Folded(NamedTuple):
    """A text with its fold key (whitespace collapsed, not trimmed) and, per key character, the original span.

    ``spans`` is None when key character i comes from text character i (the usual case: no map kept).
    """

    original: str
    key: str
    spans: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    @property
    def starts(self) -> tuple[int, ...]:
        return (self.spans or _identity(len(self.key)))[0]

    @property
    def ends(self) -> tuple[int, ...]:
        return (self.spans or _identity(len(self.key)))[1]

    @classmethod
    def of(cls, text: str) -> Folded:
        if _OTHER.search(text):  # a mark alone (NFD), another script, an emoji: rare, done one by one
            return cls._by_char(text)
        bare = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d")).encode("ascii", "ignore")
        key = bare.decode("ascii").translate(_ASCII_FOLD)
        if "  " in key or len(key) != len(text):  # a whitespace run collapses: positions move
            return cls._by_char(text)
        return cls(text, key)

    @classmethod
    def _by_char(cls, text: str) -> Folded:
        """The key one character at a time (the definition): marks join the character before, runs collapse."""
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
        return cls(text, "".join(key), (tuple(starts), tuple(ends)))

    def expand(self, words: Mapping[str, str]) -> Folded:
        """The same text with whole key words replaced (``{"ko": "khong"}``); linear in the key's length.

        A replacement's characters come from the word it replaces, so :meth:`source` still shows the
        text as written ("ko vào đc" is found by "khong vao duoc" and shown as "ko vào đc").
        """
        if not words:
            return self
        found = list(_shorthand_pattern(tuple(sorted(words))).finditer(self.key))
        if not found:
            return self
        old_starts, old_ends = self.spans or (range(len(self.key)), range(1, len(self.key) + 1))
        key: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        done = 0
        for match in found:
            start, end = match.span("w")
            key.append(self.key[done:start])
            starts += old_starts[done:start]
            ends += old_ends[done:start]
            replacement = words[match.group("w")]
            key.append(replacement)
            starts += [old_starts[start]] * len(replacement)
            ends += [old_ends[end - 1]] * len(replacement)
            done = end
        key.append(self.key[done:])
        starts += old_starts[done:]
        ends += old_ends[done:]
        return Folded(self.original, "".join(key), (tuple(starts), tuple(ends)))

    def source(self, start: int, end: int) -> str:
        """The original text behind key[start:end], as written (with its marks)."""
        if start >= end:
            return ""
        if self.spans is None:
            return self.original[start:end]
        return self.original[self.spans[0][start]:self.spans[1][end - 1]]

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
def _shorthand_pattern(words: tuple[str, ...]) -> WordPattern:
    """Any of ``words`` as a whole word of a fold key (not part of a longer word, a domain or an address)."""
    return WordPattern("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


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


# --- Searching fold keys fast -----------------------------------------------------------------------
#
# ``re`` tries a pattern that starts with a look-behind at every position of the key. A WordPattern
# starts instead with the character before the phrase (a non-word character), which ``re`` finds with
# a C loop; a phrase at the very start of the key is tried once, anchored. Matches are the same.
# And most phrases cannot match without some word ("cham", "treo", "khong an toan"): a pattern whose
# needed words are all absent from the key is not run at all.

DIGIT = "<digit>"  # the clue of a key with a digit (never a word of a key: '<' is not a word character)
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d")
_ASCII_NON_WORD = {c: chr(c) if re.match(r"\w", chr(c)) else " " for c in range(128)}  # every entry: C fast path


class Clues(NamedTuple):
    """A fold key, its words (maximal runs of ``\\w``) in order, and as a set with :data:`DIGIT` if it has a digit."""

    key: str
    runs: list[str]
    words: set[str]

    @classmethod
    def of(cls, key: str) -> Clues:
        runs = key.translate(_ASCII_NON_WORD).split() if key.isascii() else _WORD.findall(key)
        words = set(runs)
        if _DIGITS.search(key):
            words.add(DIGIT)
        return cls(key, runs, words)


Needles = frozenset[tuple[str, str]]  # ("word", a whole word) or ("text", a substring): a match contains one
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre.ASSERT, sre.ASSERT_NOT, sre.AT)


def _after(op: Opcode, av: Any, bounded: bool) -> bool:
    """Whether a match of one regex item always ends at a word boundary, given whether it starts at one."""
    if op is sre.LITERAL:
        return not _WORD.match(chr(av))
    if op is sre.SUBPATTERN:
        return _ends_bounded(av[-1], bounded)
    if op is sre.BRANCH:
        return all(_ends_bounded(alt, bounded) for alt in av[1])
    if op in _REPEATS:
        return _ends_bounded(av[2], bounded) and (av[0] >= 1 or bounded)
    return op in _ZERO_WIDTH and bounded


def _ends_bounded(items: Items, bounded: bool) -> bool:
    for op, av in items:
        bounded = _after(op, av, bounded)
    return bounded


def _run_needles(run: str, left: bool, right: bool) -> list[Needles]:
    """What a literal run guarantees: each of its whole words (bounded on both sides), else the run itself."""
    whole = [m.group() for m in _WORD.finditer(run) if (m.start() > 0 or left) and (m.end() < len(run) or right)]
    if whole:
        return [frozenset({("word", word)}) for word in whole]
    return [frozenset({("text", run)})] if run.strip() else []


def _needles(items: Items, left: bool, right: bool) -> list[Needles]:
    """Needle sets of a regex sequence: every match contains one needle of each set.

    ``left``/``right``: the sequence starts/ends at a word boundary. Look-arounds consume nothing.
    """
    items = [(op, av) for op, av in items if op not in _ZERO_WIDTH]
    found: list[Needles] = []
    bounded, i = left, 0
    while i < len(items):
        op, av = items[i]
        if op is sre.LITERAL:
            j = i
            while j < len(items) and items[j][0] is sre.LITERAL:
                j += 1
            run = "".join(chr(a) for _, a in items[i:j])
            found += _run_needles(run, bounded, right and j == len(items))
            bounded, i = not _WORD.match(run[-1]), j
            continue
        last = right and i == len(items) - 1
        if op is sre.SUBPATTERN:
            found.append(_best(_needles(av[-1], bounded, last)))
        elif op is sre.BRANCH:
            alternatives = [_best(_needles(alt, bounded, last)) for alt in av[1]]
            if all(alternatives):
                found.append(frozenset().union(*alternatives))
        elif op in _REPEATS and av[0] >= 1:
            if op is not sre.POSSESSIVE_REPEAT:
                found.append(_best(_needles(av[2], bounded, last and av[1] == 1)))
        elif op is sre.IN and av == [(sre.CATEGORY, sre.CATEGORY_DIGIT)]:
            found.append(frozenset({("word", DIGIT)}))
        bounded = _after(op, av, bounded)
        i += 1
    return [f for f in found if f]


# Words of most complaints: a poor first needle ("đảng viên", "trang", "không", "chi bộ").
_COMMON = frozenset(["khong", "dang", "trang", "chi", "co", "bi", "duoc", "mat", "qua", "tai", "vao", "lai", "cho",
                     "doi", "phai", "ra", "thi", "la", "tu"])


def _cost(needles: Needles) -> tuple[bool, bool, int, int]:
    """Lower for a needle set cheaper to check and less often present: words only, uncommon, long, few."""
    return (any(kind == "text" for kind, _ in needles), any(v in _COMMON for _, v in needles),
            -min(len(v) for _, v in needles), len(needles))


def _best(sets: list[Needles]) -> Needles:
    """The needle set of ``sets`` to keep when only one can be (inside an alternative)."""
    return min(sets, key=_cost, default=frozenset())


def _group_end(regex: str, start: int) -> int | None:
    """The index after the group opening at ``regex[start]`` ("("), skipping escapes and character classes."""
    depth, i = 0, start
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i += 2 if regex[i + 1:i + 2] == "]" else 1  # a "]" first in a class is a character
            while i < len(regex) and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _lead(regex: str) -> tuple[str, list[tuple[str, str]], str, int] | None:
    """``regex`` as (first, look-behinds before it, rest, width of first): first is its leading literal
    text or its leading group, of a fixed width; None when it does not start so (or splitting is unsure).

    Look-behinds before ``first`` move after it, widened by ``width`` characters, and the phrase's own
    word boundary joins them: ``re`` then finds candidates by ``first`` (a literal prefix or first-character
    set) instead of trying every position.
    """
    behind: list[tuple[str, str]] = []
    pos = 0
    while regex.startswith(("(?<!", "(?<="), pos):
        end = _group_end(regex, pos)
        if end is None:
            return None
        behind.append((regex[pos + 2:pos + 4], regex[pos + 4:end - 1]))
        pos = end
    if regex.startswith("(", pos):
        end = _group_end(regex, pos)
    else:  # literal characters up to the first special one (a quantifier takes the last back)
        end = pos
        while end < len(regex) and (regex[end].isalnum() or regex[end] in " _-:'"):
            end += 1
        if end < len(regex) and regex[end] in "?*+{":
            end -= 1
    if end is None or end <= pos or regex[end:end + 1] in ("?", "*", "+", "{"):
        return None
    first, rest = regex[pos:end], regex[end:]
    low, high = sre.parse(first).getwidth()
    whole, parts = sre.parse(regex[pos:]), (sre.parse(first), sre.parse(rest))
    if low != high or low < 1 or len(whole) != len(parts[0]) + len(parts[1]):
        return None
    return first, behind, rest, low


def _parse(regex: str) -> Items:
    """The parse tree of ``regex``: a SubPattern, which is a sequence of items (typeshed gives it no __iter__)."""
    return cast("Items", sre.parse(regex))


# (text or DIGIT, furthest offset from the match's start, the text ends a word): a match has one of them
Anchors = tuple[tuple[str, int, bool], ...]


def _anchor(items: Items, offset: int = 0, whole: bool = False) -> Anchors | None:
    """Pieces one of which every match has at a bounded distance from its start: the best literal run
    (or digit) among the leading items of bounded width, or for an alternation one piece per branch.
    No match starts before the first occurrence of a piece less its offset. ``whole``: ``items`` is
    the whole phrase, so its last run ends a word ("qua" is looked for where a word ends, not in "quan")."""
    found: list[Anchors] = []
    items = [(op, av) for op, av in items if not (whole and op in _ZERO_WIDTH)]
    i = 0
    while i < len(items):
        op, av = items[i]
        if op is sre.LITERAL:
            j = i
            while j < len(items) and items[j][0] is sre.LITERAL:
                j += 1
            run = "".join(chr(a) for _, a in items[i:j])
            if len(run.strip()) >= 2:
                found.append(((run, offset, whole and j == len(items) and bool(_WORD.match(run[-1]))),))
            offset += j - i
            i = j
            continue
        if op is sre.SUBPATTERN:
            found.append(_anchor(av[-1], offset) or ())
        elif op is sre.BRANCH:
            branches = [anchors for alt in av[1] if (anchors := _anchor(alt, offset))]
            if len(branches) == len(av[1]):  # every branch has anchors
                found.append(tuple(a for branch in branches for a in branch))
        elif op in _REPEATS and av[0] >= 1 and list(av[2]) == [(sre.IN, [(sre.CATEGORY, sre.CATEGORY_DIGIT)])]:
            found.append(((DIGIT, offset, False),))
        width = sre.SubPattern(sre.State(), [(op, av)]).getwidth()[1]
        if width >= sre.MAXREPEAT:
            break
        offset += width
        i += 1
    found = [anchors for anchors in found if anchors]
    return max(found, key=lambda anchors: (-len(anchors), min(len(text) for text, _, _ in anchors)), default=None)


@functools.lru_cache(maxsize=256)
def _word_end(text: str) -> re.Pattern[str]:
    """A pattern finding ``text`` where a word ends ("qua", not in "quan")."""
    return re.compile(re.escape(text) + r"(?!\w)")


def _earliest_start(anchors: Anchors, key: str, pos: int) -> int | None:
    """Where a match at ``pos`` or later can start at the earliest, by its anchors; None: nowhere."""
    starts = []
    for text, offset, ends_word in anchors:
        if text == DIGIT:
            found = _DIGITS.search(key, pos)
            at = found.start() if found else -1
        elif ends_word:
            found = _word_end(text).search(key, pos)
            at = found.start() if found else -1
        else:
            at = key.find(text, pos)
        if at >= 0:
            starts.append(at - offset)
    return max(pos, min(starts)) if starts else None


class WordPattern:
    """A regex over fold keys matching whole words only, like ``re.compile(word_pattern(regex))``.

    The phrase of a match is its group ``"w"``. :attr:`needs` lists needle sets: every match contains
    a needle of each (a whole word, :data:`DIGIT`, or a piece of text), so :meth:`possible` is False
    for a key without one, and the pattern need not run there.
    """

    def __init__(self, regex: str):
        self.regex = regex
        lead = _lead(regex)
        if lead:  # the leading words or group first ("re" looks for them), then what came before them
            first, behind, rest, width = lead
            back = "".join(f"(?{kind}{body}[\\s\\S]{{{width}}})" for kind, body in (*behind, ("<!", "[\\w-]"),
                                                                                 ("<!", "\\w\\.")))
            self._at_start = None
            self._inside = re.compile(f"(?P<w>{first}{back}{rest}){_AFTER}")
        else:  # the character before the phrase first (a C loop finds non-word characters), then the phrase
            self._at_start = re.compile(f"(?P<w>{regex}){_AFTER}")  # at key position 0 nothing comes before
            self._inside = re.compile(f"[^\\w-](?<!\\w\\.)(?P<w>{regex}){_AFTER}")
        self._anchor = _anchor(_parse(regex), whole=True) if lead is None else None
        self.needs = tuple(sorted(set(_needles(_parse(regex), True, True)), key=_cost))
        words_only = [needles for needles in self.needs if all(kind == "word" for kind, _ in needles)]
        self._all_of = frozenset(v for needles in words_only if len(needles) == 1 for _, v in needles)
        self._any_of = tuple(frozenset(v for _, v in needles) for needles in words_only if len(needles) > 1)
        self._mixed = tuple((frozenset(v for kind, v in needles if kind == "word"),
                             tuple(v for kind, v in needles if kind == "text"))
                            for needles in self.needs if needles not in words_only)
        self.simple = not self._any_of and not self._mixed  # possible: all of some words are in the key

    def possible(self, clues: Clues) -> bool:
        """Whether the key has a needle of every set (words first: they cost a set look-up)."""
        return self._all_of <= clues.words and (self.simple or self._possible(clues))

    def _possible(self, clues: Clues) -> bool:
        for words in self._any_of:
            if words.isdisjoint(clues.words):
                return False
        for words, texts in self._mixed:
            if words.isdisjoint(clues.words) and not any(t in clues.key for t in texts):
                return False
        return True

    def search(self, key: str, pos: int = 0) -> re.Match[str] | None:
        """The leftmost match starting at ``pos`` or later."""
        if self._at_start is None:
            return self._inside.search(key, pos)
        if self._anchor:  # no match starts before an anchor's first occurrence less its furthest offset
            start = _earliest_start(self._anchor, key, pos)
            if start is None:
                return None
            pos = start
        if pos == 0:
            match = self._at_start.match(key)
            if match:
                return match
            pos = 1
        return self._inside.search(key, pos - 1)

    def finditer(self, key: str) -> Iterator[re.Match[str]]:
        """Successive matches, none overlapping (as ``re.finditer``; no pattern here matches empty text)."""
        match = self.search(key)
        while match:
            yield match
            match = self.search(key, max(match.end(), match.start("w") + 1))


class FirstOf:
    """Groups of whole-word patterns, each group searched as one alternation ``a|b|c``: the first group with a
    match, and its leftmost match (at a tie, the earliest pattern of the group).

    Only patterns whose needles are in the key run: one index from a needed word to the patterns, over
    all groups, and the search stops at the end of the first group that matched.
    """

    def __init__(self, groups: Iterable[Iterable[str]]):
        self.patterns = tuple((g, WordPattern(r)) for g, regexes in enumerate(groups) for r in regexes)
        self._always = frozenset(i for i, (_, p) in enumerate(self.patterns) if not p.needs)
        self._by_word: dict[str, list[int]] = {}
        self._by_text: list[tuple[str, int]] = []
        for i, (_, pattern) in enumerate(self.patterns):
            for kind, value in pattern.needs[0] if pattern.needs else ():
                if kind == "word":
                    self._by_word.setdefault(value, []).append(i)
                else:
                    self._by_text.append((value, i))
        self._words = frozenset(self._by_word)

    def search(self, clues: Clues) -> tuple[int, re.Match[str]] | None:
        """(group, match) of the first group with a match; None if no pattern matches."""
        candidates = set(chain(self._always, *map(self._by_word.__getitem__, self._words & clues.words),
                               [i for text, i in self._by_text if text in clues.key]))
        best: re.Match[str] | None = None
        best_group = -1
        words = clues.words
        for i in sorted(candidates):
            group, pattern = self.patterns[i]
            if best is not None and group != best_group:
                break
            if not (pattern._all_of <= words and (pattern.simple or pattern._possible(clues))):
                continue  # (pattern.possible, inlined: this loop runs for every complaint)
            match = pattern.search(clues.key)
            if match and (best is None or match.start("w") < best.start("w")):
                best, best_group = match, group
        return (best_group, best) if best is not None else None

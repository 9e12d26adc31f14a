"""The classifier decides exactly as it did when tests/fixtures/classify-reference.jsonl was recorded.

The fixture holds texts (with their receipt time) and what ``classify`` said about each: platforms and
their phrases, symptom and its phrase, peak, stated time and its phrase. Texts come from the labelled
corpus (as written, NFD, upper case, without diacritics), the PAKN sample, simulated weeks of the lab,
rows of bench/intake.py's generated CSV and seeded token soups (teen-code, combining marks, whitespace
runs, odd letters, times). It guards speed work on the classifier: faster, never different.

Regenerate only when a decision is meant to change: ``.venv/bin/python -m tests.test_complaints_same_decisions``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import unicodedata
from pathlib import Path

import pytest

from monitor.complaints import classify as classifier
from monitor.complaints.classify import classify
from monitor.complaints.text import SHORTHAND, Clues, Folded, word_pattern
from monitor.config import load_catalog
from monitor.domain import Complaint
from monitor.localtime import VIETNAM

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "fixtures" / "classify-reference.jsonl"
PLATFORMS = load_catalog([ROOT / "checks/dcs.yml"]).platforms
RECEIVED = [dt.datetime(2026, 6, 1, 8, 3, tzinfo=VIETNAM).timestamp(),  # Monday morning, peak
            dt.datetime(2026, 6, 2, 14, 40, tzinfo=VIETNAM).timestamp(),
            dt.datetime(2026, 6, 3, 22, 15, tzinfo=VIETNAM).timestamp(),
            dt.datetime(2026, 6, 6, 3, 5, tzinfo=VIETNAM).timestamp()]  # Saturday night


def _decision(text: str, received_at: float) -> list:
    c = classify(Complaint("R", received_at, "", "", text), PLATFORMS)
    return [list(c.platforms), list(c.platform_phrases), c.symptom, c.symptom_phrase, c.peak,
            c.pain_from, c.pain_to, c.time_phrase]


def _load() -> list[dict]:
    with REFERENCE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_reference_covers_every_source():
    sources = {row["source"] for row in _load()}
    assert sources == {"corpus", "sample", "lab", "bench", "soup"}


@pytest.mark.parametrize("source", ["corpus", "sample", "lab", "bench", "soup"])
def test_same_decisions_as_recorded(source):
    rows = [row for row in _load() if row["source"] == source]
    differ = [(row["text"], row["decision"], got) for row in rows
              if (got := _decision(row["text"], row["received_at"])) != row["decision"]]
    assert not differ, f"{len(differ)} of {len(rows)} differ, first: {differ[0]}"


def _reference_key(text: str) -> tuple[str, list[int], list[int]]:
    """The fold key and source spans, one character at a time: the definition the fast paths must equal."""
    key: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, char in enumerate(text):
        if char.isspace():
            if key and key[-1] == " ":
                continue
            piece = " "
        elif char in "đĐ":
            piece = "d"
        else:
            base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            piece = base.lower().replace("đ", "d")
        if not piece:
            if ends:
                ends[-1] = i + 1
            continue
        for c in piece:
            key.append(c)
            starts.append(i)
            ends.append(i + 1)
    return "".join(key), starts, ends


def test_fold_key_and_spans_match_the_definition():
    for row in _load():
        for text in (row["text"], unicodedata.normalize("NFD", row["text"])):
            folded = Folded.of(text)
            key, starts, ends = _reference_key(text)
            assert folded.key == key
            assert list(folded.starts) == starts and list(folded.ends) == ends, text
            expanded = folded.expand(SHORTHAND)
            assert len(expanded.starts) == len(expanded.ends) == len(expanded.key)


def _keys() -> list[str]:
    """Distinct fold keys of the recorded texts, before and after teen-code expansion."""
    keys = set()
    for row in _load():
        folded = Folded.of(row["text"])
        keys |= {folded.key, folded.expand(SHORTHAND).key}
    return sorted(keys)


@pytest.mark.slow  # every pattern against the whole reference
def test_each_fast_pattern_matches_like_its_plain_regex():
    """Every symptom and time pattern finds the same phrases as ``re`` over ``word_pattern(regex)``,
    and is never skipped (``possible``) where it matches."""
    patterns = [p for _, p in classifier._SYMPTOM_PATTERNS.patterns] + [p for p, _ in classifier._WHEN]
    keys = _keys()
    for pattern in patterns:
        plain = re.compile(word_pattern(pattern.regex))
        for key in keys:
            spans = [m.span() for m in plain.finditer(key)]
            assert [m.span("w") for m in pattern.finditer(key)] == spans, (pattern.regex, key)
            assert pattern.possible(Clues.of(key)) or not spans, (pattern.regex, key)


def test_symptom_tiers_searched_at_once_decide_like_one_by_one():
    tiers = [re.compile("|".join(word_pattern(p) for p in patterns)) for _, _, patterns in classifier.TIERS]
    for key in _keys():
        expected = next(((tier, m.span()) for tier, pattern in enumerate(tiers) if (m := pattern.search(key))), None)
        found = classifier._SYMPTOM_PATTERNS.search(Clues.of(key))
        assert (found and (found[0], found[1].span("w"))) == expected, key


@pytest.mark.parametrize("text", [
    "trang quản trị " * 20_000, "không " * 50_000, "a" * 200_000, "1-2 giờ " * 30_000, "hôm qua " * 30_000,
    "xoay " * 40_000 + "mãi", "đ\u0301 \t " * 30_000, "sổ tay.dcs.vn-" * 15_000, "lúc được lúc " * 20_000,
    "chờ " * 50_000 + "mới hiện", "từ 8h đến " * 20_000,
])
def test_long_pasted_text_classifies(text):
    """Linear by construction (each pattern scans the key once from where it can start; platform phrases
    are looked up per token); here: a few hundred kilobytes finish and say something sane."""
    result = classify(Complaint("R", RECEIVED[0], "", "", text), PLATFORMS)
    assert result.symptom_phrase is None or result.symptom_phrase in text


# --- recording the reference ------------------------------------------------------------------------

_SOUP = ["ko", "K", "k", "đc", "ĐC", "dc", "bt", "j", "vs", "hs", "tk", "mk", "k-", "dcs.vn", "kô", "được",
         "Sổ", "tay", "ĐV", "STĐV", "sổ tay đảng viên", "dichvucong.dcs.vn", "DVC", "TTHC", "quản trị",
         "trang quản trị GQTTHC", "dịch vụ công quốc gia", "PAKN", "xoay", "mãi", "chậm", "chờ", "mới hiện",
         "lúc được lúc không", "lỗi 504", "504 Gateway Timeout", "timeout", "ssl", "không vào được", "không có lỗi",
         "đăng nhập", "OTP", "chứng chỉ", "không an toàn", "mạng yếu", "sóng 4G", "điện thoại cũ", "hiển thị sai",
         "đề nghị bổ sung", "tính năng", "hướng dẫn", "từ", "đến", "8h", "10h30", "14:05", "2h", "khoảng",
         "sáng nay", "chiều", "tối qua", "hôm qua", "vẫn bình thường", "đầu giờ sáng", "phút", "1-2", "~",
         "\u0301", "\u0323", " ", "  ", "\t", "\u00a0", "\n", ".", ",", "-", ";", "!", "İ", "ß", "ﬁ", "Ǆ", "😀",
         "ĐẢNG", "Ủy", "nghẽn", "không", "bị", "sập", "treo", "chưa", "lag", "load", "quay", "vòng", "không an toàn",
         "mạng", "wifi", "mất kết nối", "trắng trang",
         "đăng nhập không được", "dữ liệu", "chưa cập nhật", "mong", "có thêm", "chức năng", "trưa", "tối", "đêm",
         "ngày", "giờ", "lúc", "trong", "vào", "buổi", "suốt", "đầu giờ", "cuối giờ", "0h", "23h59", "25h", "9g15"]


def _soup(rng: random.Random) -> str:
    pieces = [rng.choice(_SOUP) for _ in range(rng.randrange(1, 30))]
    return "".join(p if rng.random() < 0.3 else p + " " for p in pieces)


def _forms(text: str) -> list[str]:
    from monitor.lab.complaints import _ascii
    return [text, unicodedata.normalize("NFD", text), text.upper(), _ascii(text)]


def _record(tmp: Path) -> list[dict]:
    from bench.intake import write_csv
    from monitor.complaints.importer import read_export
    from monitor.lab.complaints import synthesize, write_export
    from tests.test_complaints_classify import WEEK_START, _events

    rows: list[dict] = []

    def add(source: str, text: str, received_at: float) -> None:
        rows.append({"source": source, "text": text, "received_at": received_at,
                     "decision": _decision(text, received_at)})

    for name in ("complaints-tune.jsonl", "complaints-heldout.jsonl"):
        with (ROOT / "tests" / "corpus" / name).open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if line.strip():
                    for form in _forms(json.loads(line)["text"]):
                        add("corpus", form, RECEIVED[i % len(RECEIVED)])
    for c in read_export(ROOT / "tests" / "fixtures" / "pakn-sample.csv").accepted:
        add("sample", c.text, c.received_at)
    for seed in (0, 1, 2, 3, 5, 8, 13):
        path = tmp / f"week-{seed}.csv"
        write_export(path, synthesize(_events(random.Random(seed)), PLATFORMS, WEEK_START, WEEK_START + 7 * 86400,
                                      seed))
        for c in read_export(path).accepted:
            add("lab", c.text, c.received_at)
    write_csv(tmp / "bench.csv", 300_000)
    for c in read_export(tmp / "bench.csv").accepted[:1000]:
        add("bench", c.text, c.received_at)
    rng = random.Random(12)
    for i in range(1500):
        add("soup", _soup(rng), RECEIVED[i % len(RECEIVED)])
    return rows


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        recorded = _record(Path(tmp))
    with REFERENCE.open("w", encoding="utf-8", newline="\n") as out:
        for row in recorded:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(recorded)} decisions recorded in {REFERENCE.relative_to(ROOT)}")

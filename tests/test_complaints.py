"""Synthetic PAKN complaints: follow the truth events, read like members write, export like the sample."""

from __future__ import annotations

import csv
import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest

from monitor.config import load_catalog
from monitor.domain import SYMPTOMS
from monitor.lab.complaints import MAX_REPORT_DELAY, synthesize, write_export, write_truth
from monitor.lab.world import TruthEvent
from monitor.localtime import VIETNAM

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/pakn-sample.csv: a clone of the repository stands alone.
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "pakn-sample.csv"
PLATFORMS = load_catalog([ROOT / "checks"]).platforms

WEEK_START = dt.datetime(2026, 5, 29, tzinfo=VIETNAM).timestamp()  # Friday
WEEK_END = WEEK_START + 7 * 86400
SEED = 7


def _at(day: int, hour: int, minute: int = 0) -> float:
    return WEEK_START + day * 86400 + hour * 3600 + minute * 60


EVENTS = [
    TruthEvent("load-sotaydangvien-2026-06-01-am", "sotaydangvien", "congestion", _at(3, 7, 40), _at(3, 10, 5), {}),
    TruthEvent("dichvucong-outage-1", "dichvucong", "outage_refused", _at(4, 14, 0), _at(4, 14, 50), {}),
    TruthEvent("gqthc-502-1", "gqthc", "gateway_502", _at(5, 9, 55), _at(5, 10, 40), {}),
    TruthEvent("dichvucong-dns-1", "dichvucong", "dns_failure", _at(5, 15, 0), _at(5, 15, 20), {}),
]
BY_ID = {e.id: e for e in EVENTS}

# What each symptom's wording contains, compared without diacritics and in lower case.
WORDING = {
    "slow": ("cham", "nghen", "qua tai", "xoay", "load", "lau", "treo", "i ach"),
    "login": ("dang nhap",),
    "unavailable": ("khong truy cap", "mat ket noi", "trang trang", "khong vao duoc", "ket noi", "502", "504",
                    "bad gateway", "gateway", "khong tim thay", "nxdomain", "khong hoat dong", "khong mo duoc",
                    "loi he thong", "may chu", "vao duoc"),
}
KIND_SYMPTOMS = {"congestion": {"slow", "login"}, "outage_refused": {"unavailable", "login"},
                 "gateway_502": {"unavailable"}, "dns_failure": {"unavailable"}}
KIND_WORDS = {"gateway_502": ("502", "bad gateway", "khong truy cap", "mat ket noi", "trang trang",
                              "vao duoc", "khong hoat dong", "khong mo duoc", "ket noi"),
              "dns_failure": ("khong tim thay", "nxdomain", "khong truy cap", "mat ket noi", "trang trang",
                              "vao duoc", "khong hoat dong", "khong mo duoc", "ket noi")}
ABBREVIATIONS = {"sotaydangvien": ("stdv", "so tay", "sotaydangvien"), "dichvucong": ("dvc", "dichvucong"),
                 "gqthc": ("gqtthc", "tthc")}


def _plain(text: str) -> str:
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def _names(platform_id: str) -> list[str]:
    platform = next(p for p in PLATFORMS if p.id == platform_id)
    return [_plain(n) for n in (platform.name, *platform.aliases, *platform.domains,
                                *ABBREVIATIONS.get(platform_id, ()))]


@pytest.fixture(scope="module")
def complaints():
    return synthesize(EVENTS, PLATFORMS, WEEK_START, WEEK_END, seed=SEED)


def test_event_complaints_follow_their_event(complaints):
    linked = [c for c in complaints if c.event_id is not None]
    assert linked and {c.event_id for c in linked} <= set(BY_ID)
    for c in linked:
        event = BY_ID[c.event_id]
        assert event.start <= c.received_at <= event.end + MAX_REPORT_DELAY, c
        assert c.received_at % 60 == 0  # the export shows whole minutes: truth must not be finer
        assert c.platform == event.platform
    per_event = {e.id: sum(c.event_id == e.id for c in complaints) for e in EVENTS}
    assert per_event["load-sotaydangvien-2026-06-01-am"] >= 5  # a long peak-hour congestion: several
    assert 1 <= per_event["dichvucong-dns-1"] <= 2  # 20 minutes of DNS failure: one or two
    assert per_event["load-sotaydangvien-2026-06-01-am"] > per_event["dichvucong-dns-1"]


def test_wording_follows_the_symptom_and_names_the_platform(complaints):
    for c in complaints:
        assert c.symptom in SYMPTOMS
        if c.event_id is None:
            continue
        kind = BY_ID[c.event_id].kind
        text = _plain(c.text)
        assert c.symptom in KIND_SYMPTOMS[kind], c
        assert any(w in text for w in WORDING[c.symptom]), c
        assert any(w in text for w in KIND_WORDS.get(kind, WORDING[c.symptom])), c
        assert any(name in text for name in _names(c.platform)), c


def test_text_forms_vary(complaints):
    texts = [c.text for c in complaints if c.text]
    assert any(t.isascii() for t in texts), "some complaints without diacritics"
    assert any(unicodedata.normalize("NFC", t) != t for t in texts), "some complaints in NFD"
    assert any(not t.isascii() and unicodedata.normalize("NFC", t) == t for t in texts)
    ascii_share = sum(t.isascii() for t in texts) / len(texts)
    assert 0.1 <= ascii_share <= 0.45


def test_unrelated_complaints_of_each_kind(complaints):
    unrelated = [c for c in complaints if c.event_id is None]
    assert {"local", "feature", "data", "slow"} <= {c.symptom for c in unrelated}
    unmonitored = [c for c in unrelated if c.platform == "hdh-tacnghiep"]  # no known address
    assert unmonitored and all(any(n in _plain(c.text) for n in _names(c.platform)) for c in unmonitored)
    assert sum(c.platform is None for c in unrelated) >= 2
    for c in unrelated:
        assert WEEK_START <= c.received_at < WEEK_END
        if c.symptom == "slow" and c.platform != "hdh-tacnghiep":  # a false report: nothing measured then
            assert all(not e.start <= c.received_at <= e.end for e in EVENTS)


def test_ids_unique_and_deterministic(complaints):
    ids = [c.id for c in complaints]
    assert len(ids) == len(set(ids)) and all(i.startswith("PAKN-SIM-") for i in ids)
    assert synthesize(EVENTS, PLATFORMS, WEEK_START, WEEK_END, seed=SEED) == complaints
    assert synthesize(EVENTS, PLATFORMS, WEEK_START, WEEK_END, seed=SEED + 1) != complaints


def test_broken_rows_only_on_request(complaints, tmp_path):
    assert all(c.defect is None for c in complaints)
    broken = synthesize(EVENTS, PLATFORMS, WEEK_START, WEEK_END, seed=SEED, include_broken=True)
    defects = {c.defect: c for c in broken if c.defect}
    assert set(defects) == {"duplicate_id", "empty_content", "missing_time"}
    assert sum(c.id == defects["duplicate_id"].id for c in broken) == 2
    assert defects["empty_content"].text == ""
    path = tmp_path / "broken.csv"
    write_export(path, broken)
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(broken)
    assert sum(r["Thời gian tiếp nhận"] == "" for r in rows) == 1
    assert sum(r["Nội dung"] == "" for r in rows) == 1


def test_export_reads_back_like_the_sample(complaints, tmp_path):
    path = tmp_path / "pakn.csv"
    write_export(path, complaints)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") >= len(complaints) + 1
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames
    if SAMPLE.exists():
        with open(SAMPLE, encoding="utf-8-sig", newline="") as f:
            assert header == csv.DictReader(f).fieldnames
    assert len(rows) == len(complaints)
    times = [dt.datetime.strptime(r["Thời gian tiếp nhận"], "%d/%m/%Y %H:%M").replace(tzinfo=VIETNAM)
             for r in rows]
    assert times == sorted(times)
    by_id = {c.id: c for c in complaints}
    for row, when in zip(rows, times, strict=True):
        c = by_id[row["Mã PAKN"]]
        assert when.timestamp() == c.received_at
        assert (row["Đơn vị gửi"], row["Tỉnh/Thành phố"], row["Nội dung"]) == (c.unit, c.province, c.text)


def test_truth_has_one_line_per_complaint(complaints, tmp_path):
    path = tmp_path / "truth.jsonl"
    write_truth(path, complaints)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(x["id"] for x in lines) == sorted(c.id for c in complaints)
    by_id = {c.id: c for c in complaints}
    for x in lines:
        c = by_id[x["id"]]
        assert (x["event_id"], x["platform"], x["symptom"]) == (c.event_id, c.platform, c.symptom)
        received = dt.datetime.fromisoformat(x["received_at"])
        assert x["received_at"].endswith("+07:00") and received.timestamp() == c.received_at

"""The classifier on labelled complaints written the way members write (tests/corpus/README.md).

The held-out part is measured, never tuned on; the thresholds are the issue's: platform ≥ 97 %,
symptom ≥ 90 %. A wrong symptom that is not ``other`` misleads the report more than ``other``
does, so confidently wrong symptoms are counted apart and kept rare.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.complaints.classify import classify
from monitor.config import load_catalog
from monitor.domain import SYMPTOMS, Complaint
from monitor.localtime import VIETNAM

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
PLATFORMS = load_catalog([ROOT / "checks/dcs.yml"]).platforms
RECEIVED = dt.datetime(2026, 6, 1, 8, 3, tzinfo=VIETNAM).timestamp()


def _load(name: str) -> list[dict]:
    with (CORPUS / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Scores:
    """Per-class true positives, false positives, false negatives; micro-averaged precision and recall."""

    tp: Counter
    fp: Counter
    fn: Counter

    @classmethod
    def empty(cls) -> Scores:
        return cls(Counter(), Counter(), Counter())

    def add(self, expected: set[str], predicted: set[str]) -> None:
        for label in expected & predicted:
            self.tp[label] += 1
        for label in predicted - expected:
            self.fp[label] += 1
        for label in expected - predicted:
            self.fn[label] += 1

    @staticmethod
    def _ratio(good: int, bad: int) -> float:
        return good / (good + bad) if good + bad else 1.0

    @property
    def precision(self) -> float:
        return self._ratio(sum(self.tp.values()), sum(self.fp.values()))

    @property
    def recall(self) -> float:
        return self._ratio(sum(self.tp.values()), sum(self.fn.values()))

    def table(self, title: str) -> str:
        labels = sorted(set(self.tp) | set(self.fp) | set(self.fn))
        lines = [f"{title:<16} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}"]
        for label in labels:
            tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
            lines.append(f"{label:<16} {self._ratio(tp, fp):>9.3f} {self._ratio(tp, fn):>7.3f} {tp:>4} {fp:>4} {fn:>4}")
        lines.append(f"{'micro':<16} {self.precision:>9.3f} {self.recall:>7.3f}")
        return "\n".join(lines)


@dataclass
class Evaluation:
    platforms: Scores
    symptoms: Scores
    confidently_wrong: int  # a symptom other than "other" that is not the expected one
    total: int
    mistakes: list[str]

    def report(self) -> str:
        return "\n".join([self.platforms.table("platform"), "", self.symptoms.table("symptom"), "",
                          f"confidently wrong symptoms: {self.confidently_wrong}/{self.total}", "", *self.mistakes])


def evaluate(rows: list[dict]) -> Evaluation:
    """Classify every row and score platforms (a set per complaint) and the symptom against the labels."""
    platforms, symptoms = Scores.empty(), Scores.empty()
    wrong, mistakes = 0, []
    for row in rows:
        result = classify(Complaint(row["id"], RECEIVED, "", "", row["text"]), PLATFORMS)
        platforms.add(set(row["platforms"]), set(result.platforms))
        symptoms.add({row["symptom"]}, {result.symptom})
        wrong += result.symptom not in ("other", row["symptom"])
        if set(result.platforms) != set(row["platforms"]) or result.symptom != row["symptom"]:
            mistakes.append(f"{row['id']}: expected {row['platforms']} {row['symptom']}, got "
                            f"{list(result.platforms)} {result.symptom} ({result.symptom_phrase!r}): {row['text']}")
    return Evaluation(platforms, symptoms, wrong, len(rows), mistakes)


def test_the_corpus_is_labelled_with_known_platforms_and_symptoms():
    known = {p.id for p in PLATFORMS}
    held_out, tune = _load("complaints-heldout.jsonl"), _load("complaints-tune.jsonl")
    assert len(held_out) >= 100 and len(held_out) + len(tune) >= 300
    ids = [row["id"] for row in held_out + tune]
    assert len(ids) == len(set(ids))
    for row in held_out + tune:
        assert set(row["platforms"]) <= known and row["symptom"] in SYMPTOMS, row
    assert {row["text"] for row in held_out}.isdisjoint(row["text"] for row in tune)


@pytest.mark.parametrize(("name", "platform", "symptom", "wrong"), [
    ("complaints-heldout.jsonl", 0.97, 0.90, 0.05),  # the thresholds; never tuned on
    ("complaints-tune.jsonl", 0.99, 0.97, 0.02),  # what tuning achieved, kept from slipping back
])
def test_classifier_precision_and_recall(name, platform, symptom, wrong):
    evaluation = evaluate(_load(name))
    report = evaluation.report()
    print(f"\n{name}\n{report}")
    assert evaluation.platforms.precision >= platform and evaluation.platforms.recall >= platform, report
    assert evaluation.symptoms.precision >= symptom and evaluation.symptoms.recall >= symptom, report
    assert evaluation.confidently_wrong <= wrong * evaluation.total, report

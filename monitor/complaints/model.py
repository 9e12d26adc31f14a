"""What a PAKN complaint is once imported, and what classification says about it.

Shared by the importer, the classifier, the store, the matcher and the report.
Times are unix seconds (UTC); shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from dataclasses import dataclass

SYMPTOMS = ("slow", "unavailable", "login", "tls", "data", "feature", "local", "other")
MEASURABLE = frozenset({"slow", "unavailable", "login", "tls"})  # symptoms probes can see


@dataclass(frozen=True)
class Complaint:
    """One PAKN row that imported: personal data already scrubbed from ``text`` and ``unit``."""

    id: str  # Mã PAKN, the idempotency key
    received_at: float
    unit: str  # Đơn vị gửi
    province: str  # Tỉnh/Thành phố
    text: str  # Nội dung, NFC, personal data replaced by placeholders
    source_row: int | None = None  # row number in the export (header = row 1)


@dataclass(frozen=True)
class Classification:
    """What a complaint is about, with the phrases that decided it (explainable)."""

    platforms: tuple[str, ...]  # platform ids named, in order of first mention; may be empty
    platform_phrases: tuple[str, ...]  # the phrase (as written in the text) that named each platform
    symptom: str  # one of SYMPTOMS
    symptom_phrase: str | None  # the phrase (as written) that decided the symptom; None for "other"
    peak: bool  # received in peak hours on a working day
    pain_from: float | None = None  # when the text says the problem happened ("từ 10h sáng", "từ tối qua")
    pain_to: float | None = None
    time_phrase: str | None = None  # the phrase that gave pain_from/pain_to

    @property
    def measurable(self) -> bool:
        """A symptom probes can measure (slow, unavailable, login, tls)."""
        return self.symptom in MEASURABLE

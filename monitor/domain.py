"""The data the monitor reasons about, and the policies that shape it: incidents, complaints, their
verdicts, and a period's evidence.

Data only, at the bottom of the house: no algorithm lives here or is imported here. What makes an
incident is :mod:`monitor.incidents`, a verdict :mod:`monitor.matching`, a classification
:mod:`monitor.complaints.classify`; configuration, the store, the report, Grafana and the lab use these
types without depending on those algorithms. Times are unix seconds (UTC); shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from monitor.result import ProbeResult

if TYPE_CHECKING:
    from monitor.rollup import Rollup

# --- incidents (made by monitor.incidents) --------------------------------------------------------

Kind = Literal["down", "degraded"]
Scope = Literal["platform", "location"]
DEFAULT_INTERVAL = 30.0  # a stream with a single probe has no interval of its own


@dataclass(frozen=True)
class IncidentPolicy:
    """How measurements become incidents, in probes (so at any interval)."""

    failures_to_open: int = 3
    successes_to_close: int = 2
    window: int = 20  # trailing probes of a check judged for "degraded"
    bad_share: float = 0.3  # share of slow or failed probes in the window that makes it bad
    merge_probes: int = 4  # outages of a check at most this many intervals apart are one incident
    merge_degraded_probes: int = 8  # and so are bad stretches (slow or failing in share): congestion has lulls
    congested_failures: int = 6  # failures in a row that make an outage inside congestion
    location_share: float = 0.5  # share of reporting locations that makes it the platform's incident
    down_share: float = 0.5  # share of a check's probes that failed for a stretch to be "down"
    ongoing_intervals: float = 2.0  # an open incident is ongoing while the latest result is this recent
    cert_warning_days: float = 21.0

    def __post_init__(self) -> None:
        if self.failures_to_open < 1 or self.successes_to_close < 1:
            raise ValueError("failures_to_open and successes_to_close must be at least 1")
        if self.window < self.failures_to_open or self.congested_failures < self.failures_to_open:
            raise ValueError("window and congested_failures must be at least failures_to_open probes")
        if self.merge_probes < 0 or self.ongoing_intervals <= 0:
            raise ValueError("merge_probes must be at least 0 and ongoing_intervals above 0")
        for name in ("bad_share", "location_share", "down_share"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")


DEFAULT_POLICY = IncidentPolicy()


@dataclass(frozen=True)
class Incident:
    """A stretch in which a platform was down (gián đoạn) or degraded (chậm, nghẽn).

    ``scope`` is ``platform`` when enough locations saw it, ``location`` when only some
    did (a problem of that location's network, not a platform outage).
    """

    id: str  # stable: recomputing the same period gives the same id
    platform: str
    kind: Kind
    scope: Scope
    start: float  # first bad probe
    end: float | None  # first good probe after the last bad one; None when the data ends bad
    locations: tuple[str, ...]
    reasons: dict[str, int] = field(default_factory=dict)  # failure reason (or "slow") -> probes
    worst_latency: float | None = None  # slowest successful probe's total, seconds
    probes: int = 0  # reliable probes inside the incident
    failed: int = 0
    failed_share: float = 0.0  # of the check that failed most (the page people could not open), 0..1
    last_bad: float | None = None  # the last bad probe inside it
    data_until: float | None = None  # the latest result of the checks that saw it
    interval: float = DEFAULT_INTERVAL  # the finest probe interval of those checks, seconds
    ongoing_intervals: float = DEFAULT_POLICY.ongoing_intervals

    def ongoing(self, now: float) -> bool:
        """Still bad at the latest result, and that result is recent: "đang diễn ra"."""
        latest = self.data_until if self.data_until is not None else self.start
        return self.end is None and now - latest <= self.ongoing_intervals * self.interval

    def until(self, now: float) -> float:
        """When it ended: ``end``; ``now`` while ongoing; else (the data stopped) its last bad probe + one interval."""
        if self.end is not None:
            return self.end
        if self.ongoing(now):
            return max(now, self.start)
        return (self.last_bad if self.last_bad is not None else self.start) + self.interval

    def duration(self, now: float) -> float:
        """Seconds from start to :meth:`until`."""
        return self.until(now) - self.start


@dataclass(frozen=True)
class CertificateWarning:
    """A certificate that expires soon: a warning for on-call, never downtime."""

    platform: str
    check: str
    location: str
    expires_at: float
    seen_at: float

    @property
    def days_left(self) -> float:
        return (self.expires_at - self.seen_at) / 86400


# --- complaints (read by monitor.complaints, classified by monitor.complaints.classify) -----------

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


# --- verdicts (made by monitor.matching) ----------------------------------------------------------

class MatchStatus(enum.StrEnum):
    """What the measurements say about one complaint about one platform."""

    CORROBORATED = "corroborated"  # an incident of that platform, of a compatible kind, explains it
    LOCATION_ONLY = "location_only"  # only some locations saw a problem then
    SPORADIC = "sporadic"  # failed or slow probes in the window, but no confirmed incident
    NOT_MEASURED = "not_measured"  # measured densely, and up and fast from every location then
    NO_DATA = "no_data"  # no reliable measurement of that platform in the window
    UNMONITORED = "unmonitored"  # the platform has no checks
    NOT_MEASURABLE = "not_measurable"  # data, feature, local or other: not something probes see


@dataclass(frozen=True)
class Match:
    """The verdict for one (complaint, platform) pair; ``platform`` is None when none was named."""

    complaint_id: str
    platform: str | None
    status: MatchStatus
    incident_id: str | None = None


@dataclass(frozen=True)
class MatchPolicy:
    """How far around a complaint to look for its incident, in seconds."""

    before: float = 3 * 3600.0
    after: float = 600.0
    margin: float = 1800.0  # around a time the text states
    min_probes: int = 3  # "measured and fine" needs at least this many results in the window
    max_gap_intervals: float = 3.0  # and no stretch without a result longer than this many probe intervals,
    min_gap: float = 300.0  # but at least this many seconds (a missed probe or a restart at 30 s is no gap)
    max_gap: float = 1800.0  # and at most this many (hourly probes cannot vouch for an hour)


DEFAULT_MATCH_POLICY = MatchPolicy()


# --- a period's evidence (gathered by monitor.assessment) -----------------------------------------

@dataclass(frozen=True)
class Evidence:
    """Everything measured and reported about a period [start, end)."""

    start: float
    end: float
    results: list[ProbeResult]  # in the period
    incidents: list[Incident]  # overlapping the period
    certificate_warnings: list[CertificateWarning]
    complaints: list[tuple[Complaint, Classification]]  # received in the period
    matches: list[Match]
    now: float  # when it was gathered: an open incident is ongoing only if its data reaches near it
    # the period's 15-minute rollups (monitor.rollup): the report's figures; ``results`` then holds only the
    # successful probes near platform incidents (their p95; monitor.assessment.gather). None: all the results
    rollups: Sequence[Rollup] | None = None

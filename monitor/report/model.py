"""What the weekly report is computed from (:class:`ReportInput`) and what it holds (:class:`Report`).

Plain frozen dataclasses: the figures are computed once by :func:`monitor.report.figures.build_report`
and every renderer (Markdown, HTML, DOCX, chart, terminal) only formats them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from monitor.config.model import Platform
from monitor.domain import CertificateWarning, Classification, Complaint, Incident, Match, MatchStatus
from monitor.report.coverage import Coverage
from monitor.report.locations import LocationFigures
from monitor.result import ProbeResult
from monitor.rollup import Rollup
from monitor.workcalendar import DEFAULT_PEAK, PeakHours


@dataclass(frozen=True)
class ReportInput:
    """Everything the report needs for one period ``[start, end)`` (unix seconds, UTC)."""

    start: float
    end: float
    platforms: tuple[Platform, ...]  # all catalog platforms, monitored and not
    results: Sequence[ProbeResult]  # results in [start, end), every location; unreliable ones are skipped
    incidents: Sequence[Incident]  # overlapping the period, scope "platform" and "location"
    certificate_warnings: Sequence[CertificateWarning]
    complaints: Sequence[tuple[Complaint, Classification]]  # received in the period
    matches: Sequence[Match]  # one per (complaint, platform) pair; platform None when none was named
    peak: PeakHours = DEFAULT_PEAK
    generated_at: float = 0.0  # "now": an open incident whose data reaches near it is ongoing
    bulletin_week: bool = False  # [start, end) is exactly a bulletin week: titled "TUẦN TỪ …"
    location_names: Mapping[str, str] = field(default_factory=dict)  # the location_names setting: id -> name
    # the period's 15-minute rollups (monitor.rollup), where every figure but the incidents' p95 comes from; None:
    # folded from ``results`` (then all of the period's); given, ``results`` may hold only those around incidents
    rollups: Sequence[Rollup] | None = None


Latency = tuple[float, float]
"""(p50, p95) in seconds."""


@dataclass(frozen=True)
class Concentration:
    """Where in the local day most of a platform's incident time of one kind fell."""

    span: tuple[int, int] | None  # seconds after local midnight [start, end); None when spread out
    share: float  # of the kind's incident time inside the span, 0..1 (0 without a span)
    working_days: bool  # most of that time fell on working days
    peak_share: float  # of the kind's incident time inside peak hours (working days), 0..1


@dataclass(frozen=True)
class PlatformFigures:
    """The week's figures for one platform. ``None`` means no reliable measurement, never 100 %."""

    id: str
    name: str
    monitored: bool
    probes: int  # reliable results, all checks and locations
    successes: int
    availability: float | None  # percent, None when there were no reliable results
    downtime: float  # seconds of platform-scope "down" incidents inside the period (overlaps merged)
    incidents_down: int  # platform scope
    incidents_degraded: int  # platform scope
    incidents_location: int  # location scope (a location's own network), counted separately
    latency_peak: Latency | None  # successful HTTP probes' total inside peak hours
    latency_offpeak: Latency | None
    complaints: int  # complaints naming this platform
    measurable: int  # of which with a symptom probes can see
    corroborated: int  # of which matched to a measured incident
    not_measured: int  # measurable, but the platform was up and fast then
    no_data: int  # measurable, but too few reliable measurements in the window
    sporadic: int  # measurable, no incident, but failed or slow probes in the window
    daily_availability: tuple[float | None, ...]  # percent per local day of the period
    hourly_latency: tuple[float | None, ...]  # p95 seconds per local hour of day (0..23)
    hourly_complaints: tuple[int, ...]  # complaints naming this platform, per local hour of day
    down_concentration: Concentration | None
    degraded_concentration: Concentration | None
    coverage: Coverage  # measured span, gaps, locations, share of the period and of each day

    @property
    def has_data(self) -> bool:
        return self.probes > 0


@dataclass(frozen=True)
class ComplaintRow:
    """One complaint as the appendix lists it: no text, no unit, no personal data."""

    id: str
    received_at: float
    platforms: tuple[str, ...]  # platform ids named
    symptom: str
    verdicts: tuple[tuple[str | None, MatchStatus, str | None], ...]  # (platform, status, incident id) per platform


@dataclass(frozen=True)
class Report:
    """The weekly evidence for section 5 of the bulletin."""

    start: float
    end: float
    generated_at: float
    days: tuple[float, ...]  # unix time of each local midnight (or the period start) covered
    platforms: tuple[PlatformFigures, ...]  # catalog order
    incidents: tuple[Incident, ...]  # overlapping the period, both scopes, by start
    complaints_by_incident: dict[str, int]  # corroborated complaints per incident id (absent: none)
    certificate_warnings: tuple[CertificateWarning, ...]  # earliest expiry per (platform, check)
    complaints_total: int
    symptoms: dict[str, int]  # complaints per symptom
    hourly_complaints: tuple[int, ...]  # every complaint once, per local hour of day
    findings: tuple[str, ...]
    recommendations: tuple[str, ...]
    bulletin_week: bool = False  # titled "TUẦN TỪ …" only then, else "TỪ NGÀY … ĐẾN NGÀY …"
    peak: tuple[tuple[int, int], ...] = ()  # peak windows, seconds after local midnight (working days)
    incident_p95: dict[str, float | None] | None = None  # platform incidents: p95 of successful probes then
    complaint_rows: tuple[ComplaintRow, ...] = ()  # every complaint of the period, by receipt
    locations: dict[str, tuple[LocationFigures, ...]] = field(default_factory=dict)  # platform -> per location,
    # only platforms measured from two locations or more (monitor.report.locations)
    location_names: dict[str, str] = field(default_factory=dict)  # every location id named in the report -> name

    def place(self, location: str) -> str:
        """A location's name (a province's Vietnamese name, or its id), see :mod:`monitor.provinces`."""
        return self.location_names.get(location) or location

    @property
    def has_data(self) -> bool:
        """Any reliable result at all in the period."""
        return any(p.probes for p in self.platforms)

    def platform(self, platform_id: str) -> PlatformFigures:
        for figures in self.platforms:
            if figures.id == platform_id:
                return figures
        raise KeyError(platform_id)

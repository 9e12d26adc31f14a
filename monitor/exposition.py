"""The per-check probe series, kept as plain numbers and rendered as text exposition format 0.0.4.

prometheus_client keeps a value object with its own lock for every sample (about
100 per check and location: 31 MB for 1,000 series) and renders about 10 µs per
sample. Here one :class:`ProbeSeries` (``__slots__``, ints and floats) holds every
``probe_*`` value of a (platform, check, location), its label text is escaped once,
and :func:`render` writes the lines straight from a snapshot of each series.

``probe_phase_duration_seconds`` has the full ``PHASE_BUCKETS`` only for
``phase="total"`` (the only buckets alerts and dashboards read); the other phases
have ``_sum``, ``_count`` and the single bucket ``le="+Inf"``. A histogram's series
may each have their own buckets in the exposition format.

Thread safety: ``record``/``skip``/``register`` run on the event loop thread, a scrape
on a server thread. Both take :attr:`ProbeStore.lock`: a writer for one result, a
scrape for one series' snapshot at a time, so a scrape never sees half a result
(a histogram's count is always its ``+Inf`` bucket) and never holds up ``record()``
for more than one series' copy.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import threading
from collections.abc import Callable, Iterator

from prometheus_client import utils as _prometheus_utils

from monitor.result import ProbeResult, Reason

floatToGoString: Callable[[float], str] = _prometheus_utils.floatToGoString  # unannotated in prometheus_client

PROBE_LABELS = ("platform", "check", "location")
PHASE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BUCKETED_PHASE = "total"  # the one phase with PHASE_BUCKETS; the others have +Inf only
SKIP_REASONS = ("overlap", "missed")

# The failure reasons each kind of check can give, pre-created at 0 with the check (``rate()`` cannot see
# a counter's first increment when the series appears with it). A reason outside its kind's set still
# counts; its series then appears at its first failure.
_ALWAYS = (Reason.TIMEOUT, Reason.OTHER)
_CONNECT = (Reason.DNS, Reason.CONNECT_REFUSED, Reason.CONNECT_TIMEOUT)
_TLS = (Reason.TLS_HANDSHAKE, Reason.TLS_EXPIRED, Reason.TLS_HOSTNAME, Reason.TLS_UNTRUSTED, Reason.READ_TIMEOUT)
REASONS_BY_KIND: dict[str, tuple[str, ...]] = {
    "http": tuple(reason.value for reason in Reason),
    "tls": tuple(r.value for r in (*_CONNECT, *_TLS, Reason.PROTOCOL, *_ALWAYS)),
    "tcp": tuple(r.value for r in (*_CONNECT, *_ALWAYS)),
    "dns": tuple(r.value for r in (Reason.DNS, *_ALWAYS)),
}

# (name, help) of each family; GAUGES in the order of ProbeSeries.snapshot()'s first five values
GAUGES = (
    ("probe_success", "Whether the last probe succeeded (1) or failed (0)."),
    ("probe_duration_seconds", "Duration of the last probe, to success, failure or deadline."),
    ("probe_http_status_code", "Status code of the last HTTP response (0 when none)."),
    ("probe_ssl_earliest_cert_expiry", "Unix time of the earliest expiry in the peer's certificate chain."),
    ("probe_last_run_timestamp_seconds", "Unix time the last probe started."),
)
RESULTS = ("probe_results", "Probe results by outcome: success or a failure reason.")
PHASES = ("probe_phase_duration_seconds", "Duration of each completed probe phase (buckets: phase=\"total\" only).")
UNRELIABLE = ("monitor_unreliable_results", "Results measured while the prober itself was stalled; kept out of the "
              "probe_* series.")
SKIPPED = ("monitor_probes_skipped", "Probe runs not started: overlap with a run still going, or missed beyond "
           "the grace time.")


def escape(value: str) -> str:
    """A label value as the text format writes it between double quotes."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def number(value: float) -> str:
    """A sample value as prometheus_client writes it (``floatToGoString``), without its cost in the common case."""
    text = repr(value)
    if 0 < text.find(".") <= 6:  # no exponent to add, not inf or nan, not an int: floatToGoString returns repr
        return text
    return floatToGoString(value)


_PLAIN_COUNT = 1_000_000  # from 7 digits on, floatToGoString writes an exponent, as Go does


def count(value: int) -> str:
    """A counter or bucket value (an int) as prometheus_client writes it: ``3.0``, ``1.234567e+06``."""
    return f"{value}.0" if 0 <= value < _PLAIN_COUNT else floatToGoString(value)


Snapshot = tuple[
    float | None,  # success
    float | None,  # duration
    float | None,  # http_status
    float | None,  # cert_expiry
    float | None,  # last_run
    tuple[tuple[str, int], ...],  # results: (result label, count)
    int | None,  # unreliable
    tuple[tuple[str, int], ...],  # skipped: (why, count)
    tuple[tuple[str, tuple[int, float]], ...],  # phases: (phase, (count, sum))
    tuple[int, ...] | None,  # total's observations per PHASE_BUCKETS bound (not cumulative)
]
"""The values of one :class:`ProbeSeries` as :meth:`ProbeSeries.snapshot` copies them."""


def _header(name: str, kind: str, help_text: str) -> str:
    help_text = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"


class ProbeSeries:
    """Every value of one (platform, check, location); ``None`` gauges and phases absent are not exposed."""

    __slots__ = ("buckets", "cert_expiry", "check", "duration", "http_status", "labels", "last_run", "location",
                 "phases", "platform", "results", "results_text", "skipped", "success", "text", "unreliable")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        # label text made once, sorted by label name as prometheus_client writes it: check, location, platform
        platform, check, location = (f'{name}="{escape(value)}"'
                                     for name, value in zip(PROBE_LABELS, labels, strict=True))
        self.check, self.location, self.platform = check, location, platform
        self.text = f"{check},{location},{platform}"
        self.success: float | None = None
        self.duration: float | None = None
        self.http_status: float | None = None
        self.cert_expiry: float | None = None
        self.last_run: float | None = None
        self.results: dict[str, int] = {}  # result label -> count
        self.unreliable: int | None = None
        self.skipped: dict[str, int] = {}  # why -> count
        self.phases: dict[str, tuple[int, float]] = {}  # phase -> (count, sum), in the order first observed
        self.buckets: list[int] | None = None  # total's observations per PHASE_BUCKETS bound (not cumulative)
        # render's cache: (results as snapshotted, their lines)
        self.results_text: tuple[tuple[tuple[str, int], ...], str] = ((), "")

    def snapshot(self) -> Snapshot:
        """Every value, copied (call under the store's lock): the five gauges, results, unreliable, skipped,
        phases as (phase, (count, sum)), total's buckets."""
        return (self.success, self.duration, self.http_status, self.cert_expiry, self.last_run,
                tuple(self.results.items()), self.unreliable, tuple(self.skipped.items()),
                tuple(self.phases.items()), tuple(self.buckets) if self.buckets is not None else None)


class ProbeStore:
    """The probe series by (platform, check, location), created on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._series: dict[tuple[str, str, str], ProbeSeries] = {}

    def _get(self, labels: tuple[str, str, str]) -> ProbeSeries:  # call under the lock
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = ProbeSeries(labels)
        return series

    def register(self, platform: str, check: str, location: str, reasons: tuple[str, ...] = ()) -> None:
        """Counters at 0: ``probe_results_total`` for ``success`` and each of ``reasons``, the unreliable and
        skipped counters."""
        with self.lock:
            series = self._get((platform, check, location))
            series.results.setdefault("success", 0)
            for reason in reasons:
                series.results.setdefault(reason, 0)
            if series.unreliable is None:
                series.unreliable = 0
            for why in SKIP_REASONS:
                series.skipped.setdefault(why, 0)

    def skip(self, platform: str, check: str, location: str, why: str) -> None:
        with self.lock:
            skipped = self._get((platform, check, location)).skipped
            skipped[why] = skipped.get(why, 0) + 1

    def record(self, result: ProbeResult) -> None:
        """Account for one result; see :meth:`monitor.metrics.Metrics.record`."""
        with self.lock:
            series = self._get((result.platform, result.check, result.location))
            series.last_run = float(result.started_at)
            if result.unreliable:
                series.unreliable = (series.unreliable or 0) + 1
                return
            outcome = result.outcome
            series.results[outcome] = series.results.get(outcome, 0) + 1
            series.success = 1.0 if result.success else 0.0
            series.duration = float(result.duration)
            if result.kind == "http":
                series.http_status = float(result.status_code or 0)
            if result.cert_expiry is not None:
                series.cert_expiry = float(result.cert_expiry)
            phases = series.phases
            for phase, seconds in result.phases.items():
                count, total = phases.get(phase, (0, 0.0))
                phases[phase] = (count + 1, total + seconds)  # a new tuple: snapshots copy none of them
                if phase == BUCKETED_PHASE:
                    if series.buckets is None:
                        series.buckets = [0] * len(PHASE_BUCKETS)
                    index = bisect.bisect_left(PHASE_BUCKETS, seconds)  # le: a value on a bound counts in it
                    if index < len(PHASE_BUCKETS):
                        series.buckets[index] += 1

    def snapshots(self) -> Iterator[tuple[ProbeSeries, Snapshot]]:
        """(series, its values), each series copied under the lock on its own."""
        with self.lock:
            every = list(self._series.values())
        lock = self.lock
        for series in every:
            with lock:
                values = series.snapshot()
            yield series, values


LE_TEXT = tuple(floatToGoString(bound) for bound in PHASE_BUCKETS)  # as prometheus_client writes them: 1.0, 30.0
_FAMILY = PHASES[0]


@functools.lru_cache(maxsize=1024)
def _label(name: str, value: str) -> str:
    """``name="value"``, for the label values from closed sets: result, why, phase."""
    return f'{name}="{escape(value)}"'


def render(store: ProbeStore, tail: str = "") -> str:
    """The probe families in text format 0.0.4, from one snapshot per series, then ``tail`` (joined here: the
    10 MB are copied once).

    The lines are those prometheus_client's ``generate_latest`` writes for
    :class:`monitor.metrics.ProbeCollector`, byte for byte: label names sorted, values by ``floatToGoString``.
    """
    gauges: tuple[list[str], ...] = tuple([] for _ in GAUGES)
    names = tuple(name for name, _ in GAUGES)
    results: list[str] = []
    phases: list[str] = []
    unreliable: list[str] = []
    skipped: list[str] = []
    for series, values in store.snapshots():
        text = series.text
        for lines, name, value in zip(gauges, names, values[:5], strict=True):
            if value is not None:
                lines.append(f"{name}{{{text}}} {number(value)}\n")
        # Most counters did not move since the last scrape (and most are failure reasons at 0): their
        # lines are reused. Concurrent scrapes may both write the cache; each writes a consistent pair.
        cached_counts, cached_text = series.results_text
        if cached_counts != values[5]:
            cached_text = "".join(f"probe_results_total{{{text},{_label('result', outcome)}}} {count(counted)}\n"
                                  for outcome, counted in values[5])
            series.results_text = (values[5], cached_text)
        results.append(cached_text)
        if values[6] is not None:
            unreliable.append(f"monitor_unreliable_results_total{{{text}}} {count(values[6])}\n")
        for why, counted in values[7]:
            skipped.append(f"monitor_probes_skipped_total{{{text},{_label('why', why)}}} {count(counted)}\n")
        for phase, (counted, total) in values[8]:
            rest = f"{series.location},{_label('phase', phase)},{series.platform}"  # le sorts after check
            labels = f"{series.check},{rest}"
            bucket, closing = f'{_FAMILY}_bucket{{{series.check},le="', f'",{rest}}} '
            lines = []
            if phase == BUCKETED_PHASE and values[9] is not None:
                cumulatives = itertools.accumulate(values[9])
                if counted < _PLAIN_COUNT:  # every bucket too, then: count()'s text without a call per bucket
                    lines = [f"{bucket}{le}{closing}{cumulative}.0\n"
                             for le, cumulative in zip(LE_TEXT, cumulatives, strict=True)]
                else:
                    lines = [f"{bucket}{le}{closing}{count(cumulative)}\n"
                             for le, cumulative in zip(LE_TEXT, cumulatives, strict=True)]
            counted_text = count(counted)
            lines.append(f"{bucket}+Inf{closing}{counted_text}\n{_FAMILY}_count{{{labels}}} {counted_text}\n"
                         f"{_FAMILY}_sum{{{labels}}} {number(total)}\n")
            phases.append("".join(lines))
    parts: list[str] = []
    for (name, help_text), lines in zip(GAUGES, gauges, strict=True):
        parts += (_header(name, "gauge", help_text), *lines)
    parts += (_header(f"{RESULTS[0]}_total", "counter", RESULTS[1]), *results)
    parts += (_header(_FAMILY, "histogram", PHASES[1]), *phases)
    parts += (_header(f"{UNRELIABLE[0]}_total", "counter", UNRELIABLE[1]), *unreliable)
    parts += (_header(f"{SKIPPED[0]}_total", "counter", SKIPPED[1]), *skipped, tail)
    return "".join(parts)

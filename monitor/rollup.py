"""15-minute rollups of probe results: pure folding, merging and a compact binary form for the store.

A rollup sums the results of one stream (platform, check, kind, location) that started in one
15-minute bucket aligned to UTC (so also to local Vietnam hours: UTC+7, no daylight saving time).
The weekly report reads about 100,000 of them instead of millions of results
(docs/performance.md, "Weekly report over 3 million results").

Only **reliable** results count toward the figures, as the report's scan of raw results did:
``probes``, ``successes``, ``reasons`` (failures by reason), ``minutes`` (a 15-bit mask of the
bucket's minutes in which a reliable result started: coverage), ``first``/``last`` (the earliest and
latest start: a stream's interval) and ``sketch`` (the successful HTTP probes' ``total``). Every
result counts toward ``unreliable`` (when it was), ``slowest`` (the slowest successful HTTP total,
reliable or not: incident detection reads a bucket raw when it may hold a slow probe) and the
certificate seen last (``cert_seen``, ``cert_expiry``).

:class:`Sketch` is a DDSketch-style latency sketch: value ``x > 0`` goes to bin
``ceil(log(x) / log(gamma))`` with ``gamma = (1 + a) / (1 - a)``, ``a = 0.01``; a bin stands for
``2 * gamma**k / (gamma + 1)``, within 1 % of every value in it. Sketches merge by adding counts,
so merging is associative and commutative, and a quantile of merged sketches is the quantile of
all their values within 1 %: :meth:`Sketch.quantile` uses the report's definition (linear
interpolation between closest ranks) on the bins' values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.result import ProbeResult

BUCKET = 900  # seconds: 15 minutes
ACCURACY = 0.01  # relative error of a sketch's values
GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
_SCALE = 2 / (GAMMA + 1)
TINY = 1e-9  # seconds: values at or below it are counted as 0 (a latency is never that small)
MINUTES = BUCKET // 60
FULL_MASK = (1 << MINUTES) - 1

Key = tuple[str, str, str, str, int]
"""(platform, check, kind, location, bucket start): one rollup."""


def bucket_of(t: float) -> int:
    """The start (unix seconds) of the 15-minute bucket ``t`` falls in."""
    return int(t // BUCKET) * BUCKET


def bin_of(value: float) -> int:
    """The sketch bin of a value above :data:`TINY`."""
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bin_value(index: int) -> float:
    """The value a bin stands for: within ``ACCURACY`` of every value in it."""
    return _SCALE * GAMMA ** index


_HEADER = struct.Struct("<BII")  # item code (2: int16 bin + uint16 count, 4: int32 + uint32), zero count, bins
_PAIRS = {2: "<i2,<u2", 4: "<i4,<u4"}


class Sketch:
    """Counts of values per logarithmic bin (see the module docstring); ``zero`` counts values <= TINY.

    One read from the store stays in its binary form until its bins are needed (:meth:`decode` is lazy):
    the report merges a week of them at once with :func:`merge_many`, without a dictionary each.
    """

    __slots__ = ("_bins", "_blob", "zero")

    def __init__(self, bins: dict[int, int] | None = None, zero: int = 0) -> None:
        self._bins: dict[int, int] | None = {} if bins is None else bins
        self._blob: bytes | None = None
        self.zero = zero

    @property
    def bins(self) -> dict[int, int]:
        if self._bins is None:
            self._bins = self._decode_bins()
            self._blob = None
        return self._bins

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sketch) and self.zero == other.zero and self.bins == other.bins

    def __repr__(self) -> str:
        return f"Sketch({self.bins!r}, zero={self.zero})"

    @property
    def count(self) -> int:
        return self.zero + sum(self.bins.values())

    def count_from(self, threshold: float) -> int:
        """How many values are in bins that may hold a value above ``threshold``: at least as many as are above it."""
        if threshold <= TINY:
            return self.count
        first = bin_of(threshold)
        return sum(c for index, c in self.bins.items() if index >= first)

    def add(self, value: float, count: int = 1) -> None:
        if value <= TINY:
            self.zero += count
        else:
            index = bin_of(value)
            bins = self.bins
            bins[index] = bins.get(index, 0) + count

    def update(self, other: Sketch) -> None:
        """Add ``other``'s counts to this sketch (in place)."""
        self.zero += other.zero
        bins = self.bins
        for index, count in other.bins.items():
            bins[index] = bins.get(index, 0) + count

    def merged(self, other: Sketch) -> Sketch:
        out = Sketch(dict(self.bins), self.zero)
        out.update(other)
        return out

    def _ranked(self) -> Iterator[tuple[float, int]]:
        if self.zero:
            yield 0.0, self.zero
        bins = self.bins
        for index in sorted(bins):
            yield bin_value(index), bins[index]

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile by linear interpolation between closest ranks (the report's definition), from the
        bins' values: within ``ACCURACY`` of the exact one. None for an empty sketch."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        qs = list(qs)
        n = self.count
        if not n:
            return [None for _ in qs]
        wanted: dict[int, float] = {}
        for q in qs:
            position = (n - 1) * q
            low = int(position)
            wanted[low] = wanted[min(low + 1, n - 1)] = 0.0
        ranks = sorted(wanted)
        seen, k = 0, 0
        for value, count in self._ranked():
            seen += count
            while k < len(ranks) and ranks[k] < seen:
                wanted[ranks[k]] = value
                k += 1
            if k == len(ranks):
                break
        out: list[float | None] = []
        for q in qs:
            position = (n - 1) * q
            low = int(position)
            high = min(low + 1, n - 1)
            out.append(wanted[low] + (wanted[high] - wanted[low]) * (position - low))
        return out

    def encode(self) -> bytes:
        """Compact binary form: a header, then (bin, count) for each bin holding values, by bin (2 + 2 bytes, or
        4 + 4 when a count or a bin does not fit)."""
        if self._bins is None and self._blob is not None:
            return self._blob
        bins = self.bins
        pairs = [x for index in sorted(bins) for x in (index, bins[index])]
        small = all(-(1 << 15) <= x < 1 << 15 for x in pairs[::2]) and max(pairs[1::2], default=0) < 1 << 16
        code, item = (2, "hH") if small else (4, "iI")
        return _HEADER.pack(code, self.zero, len(pairs) // 2) + struct.pack("<" + item * (len(pairs) // 2), *pairs)

    @classmethod
    def decode(cls, data: bytes) -> Sketch:
        """The sketch :meth:`encode` wrote; its bins are read when first needed."""
        sketch = cls.__new__(cls)
        sketch._blob = data if type(data) is bytes else bytes(data)  # psycopg gives memoryview for bytea
        sketch._bins = None
        sketch.zero = _HEADER.unpack_from(sketch._blob)[1]
        return sketch

    def _decode_bins(self) -> dict[int, int]:
        data = self._blob or b""
        code, _, n = _HEADER.unpack_from(data)
        if not n:
            return {}
        values = struct.unpack_from("<" + ("hH" if code == 2 else "iI") * n, data, _HEADER.size)
        return dict(zip(values[::2], values[1::2], strict=True))

    @classmethod
    def from_counts(cls, first: int, counts: Sequence[float], zero: int = 0) -> Sketch:
        """The sketch whose bin ``first + i`` holds ``counts[i]``."""
        return cls({first + i: int(c) for i, c in enumerate(counts) if c}, zero)


MERGE_CHUNK = 8192  # sketches added per numpy pass: bounds the temporary arrays (a week is 100,000 rollups)


def merge_matrix(sketches: Sequence[Sketch], owners: Sequence[Sequence[int]], targets: int
                 ) -> tuple[int, Any, list[int]]:
    """Many sketches added into ``targets`` rows at once: sketch ``k`` goes to the target ``family[k]`` of every
    family in ``owners`` (so one sketch may count in several rows, e.g. its hour and its location).

    Returns ``(first, counts, zeros)``: ``counts[t, i]`` is target ``t``'s count of bin ``first + i`` (a numpy
    array, so callers add rows up further in numpy), ``zeros[t]`` its count of zeros. The report merges a week
    of sketches this way: their binary forms are joined and added with a ``bincount`` per family and chunk.
    """
    import numpy as np

    zeros = [0] * targets
    families = [np.asarray(family, dtype=np.int64) for family in owners]
    first, last = 0, -1
    blobs: list[bytes] = []
    for k, sketch in enumerate(sketches):
        if sketch.zero:
            for family in owners:
                zeros[family[k]] += sketch.zero
        blob = sketch.encode()
        blobs.append(blob)
        code, _, n = _HEADER.unpack_from(blob)
        if n:
            fmt = "<h" if code == 2 else "<i"
            low = struct.unpack_from(fmt, blob, _HEADER.size)[0]
            high = struct.unpack_from(fmt, blob, _HEADER.size + code * 2 * (n - 1))[0]
            first, last = (low, high) if last < first else (min(first, low), max(last, high))
    span = last - first + 1
    counts = np.zeros(targets * max(span, 0))
    for lo in range(0, len(blobs), MERGE_CHUNK):
        chunks: dict[int, list[bytes]] = {2: [], 4: []}
        which: dict[int, list[int]] = {2: [], 4: []}
        sizes: dict[int, list[int]] = {2: [], 4: []}
        for k in range(lo, min(lo + MERGE_CHUNK, len(blobs))):
            code, _, n = _HEADER.unpack_from(blobs[k])
            if n:
                chunks[code].append(blobs[k][_HEADER.size:])
                which[code].append(k)
                sizes[code].append(n)
        for code, payloads in chunks.items():
            if not payloads:
                continue
            pairs = np.frombuffer(b"".join(payloads), dtype=np.dtype(_PAIRS[code]))
            index = np.repeat(np.asarray(which[code], dtype=np.int64), np.asarray(sizes[code], dtype=np.int64))
            bins = pairs["f0"].astype(np.int64) - first
            weights = pairs["f1"].astype(np.float64)
            for owner in families:
                counts += np.bincount(owner[index] * span + bins, weights=weights, minlength=targets * span)
    return first, counts.reshape(targets, max(span, 0)), zeros


def merge_many(parts: Iterable[tuple[int, Sketch]], targets: int) -> list[Sketch]:
    """:func:`merge_matrix` as one sketch per target, from (target, sketch) pairs."""
    listed = list(parts)
    first, counts, zeros = merge_matrix([s for _, s in listed], [[t for t, _ in listed]], targets)
    return [Sketch.from_counts(first, counts[t], zeros[t]) for t in range(targets)]


@dataclass(slots=True)
class Rollup:
    """One stream's results in one 15-minute bucket (see the module docstring)."""

    platform: str
    check: str
    kind: str
    location: str
    bucket: int  # unix seconds, a multiple of BUCKET
    probes: int = 0  # reliable results
    successes: int = 0  # reliable successes
    reasons: dict[str, int] = field(default_factory=dict)  # reliable failures by reason
    unreliable: int = 0
    minutes: int = 0  # bit m: a reliable result started in minute m of the bucket
    first: float | None = None  # earliest start of a reliable result
    last: float | None = None  # latest start of a reliable result
    slowest: float | None = None  # slowest successful HTTP total, reliable or not
    cert_seen: float | None = None  # start of the latest result that saw a certificate, reliable or not
    cert_expiry: float | None = None  # that certificate's expiry
    sketch: Sketch = field(default_factory=Sketch)  # reliable successful HTTP totals

    @property
    def key(self) -> Key:
        return (self.platform, self.check, self.kind, self.location, self.bucket)

    @property
    def failures(self) -> int:
        return self.probes - self.successes

    def add(self, r: ProbeResult) -> None:
        """Fold one result of this stream and bucket in."""
        total = r.phases.get("total") if r.success and r.kind == "http" else None
        if total is not None and (self.slowest is None or total > self.slowest):
            self.slowest = total
        if r.cert_expiry is not None and (self.cert_seen is None or r.started_at > self.cert_seen):
            self.cert_seen, self.cert_expiry = r.started_at, r.cert_expiry
        if r.unreliable:
            self.unreliable += 1
            return
        t = r.started_at
        self.probes += 1
        self.minutes |= 1 << int((t - self.bucket) // 60)
        if self.first is None or t < self.first:
            self.first = t
        if self.last is None or t > self.last:
            self.last = t
        if r.success:
            self.successes += 1
            if total is not None:
                self.sketch.add(total)
        else:
            outcome = r.outcome
            self.reasons[outcome] = self.reasons.get(outcome, 0) + 1

    def update(self, other: Rollup) -> None:
        """Fold another rollup of the same key in (in place)."""
        self.probes += other.probes
        self.successes += other.successes
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count
        self.unreliable += other.unreliable
        self.minutes |= other.minutes
        self.first = _min(self.first, other.first)
        self.last = _max(self.last, other.last)
        self.slowest = _max(self.slowest, other.slowest)
        if other.cert_seen is not None and (self.cert_seen is None or other.cert_seen > self.cert_seen):
            self.cert_seen, self.cert_expiry = other.cert_seen, other.cert_expiry
        self.sketch.update(other.sketch)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def fold(results: Iterable[ProbeResult]) -> dict[Key, Rollup]:
    """The rollups of ``results`` (any order), by key."""
    out: dict[Key, Rollup] = {}
    for r in results:
        key = (r.platform, r.check, r.kind, r.location, int(r.started_at // BUCKET) * BUCKET)
        rollup = out.get(key)
        if rollup is None:
            rollup = out[key] = Rollup(*key)
        rollup.add(r)
    return out


def merge(a: Rollup, b: Rollup) -> Rollup:
    """Two rollups of the same key as one (neither is changed)."""
    if a.key != b.key:
        raise ValueError(f"cannot merge rollups of different keys: {a.key} and {b.key}")
    out = copy(a)
    out.update(b)
    return out


def copy(r: Rollup) -> Rollup:
    return Rollup(r.platform, r.check, r.kind, r.location, r.bucket, r.probes, r.successes, dict(r.reasons),
                  r.unreliable, r.minutes, r.first, r.last, r.slowest, r.cert_seen, r.cert_expiry,
                  Sketch(dict(r.sketch.bins), r.sketch.zero))



def encode_reasons(reasons: dict[str, int]) -> str:
    """``reason=count`` pairs joined by commas, sorted (reasons are a closed set of plain words)."""
    return ",".join(f"{reason}={count}" for reason, count in sorted(reasons.items()))


def decode_reasons(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if text:  # most buckets have no failure
        for pair in text.split(","):
            reason, _, count = pair.partition("=")
            out[reason] = int(count)
    return out

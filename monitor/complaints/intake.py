"""``monitor complaints import``: one PAKN export into the store, streamed, all or nothing.

Rows are read and scrubbed one at a time and staged in the store as they come
(``Store.import_complaints``); the rejects file is written alongside
to a temporary file. Classification, pure and the costliest step, runs in worker processes on
chunks of scrubbed complaints while this process goes on reading and storing; chunks come back in
file order, so the outcome is the same with any number of workers. Only when the whole file has
been read are the complaints copied in and the rejects file moved into place: a file that turns out
malformed or too big half-way (:class:`~monitor.complaints.limits.ExportError`) stores nothing and
leaves no rejects file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import multiprocessing
import os
import signal
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Protocol, TypedDict

from monitor.complaints.classify import classify
from monitor.complaints.importer import Export, RejectsFile, rejects_path
from monitor.complaints.limits import LIMITS, Limits
from monitor.complaints.scrub import scrub
from monitor.config import Platform
from monitor.domain import Classification, Complaint
from monitor.workcalendar import PeakHours

CHUNK = 500  # complaints per classification task: large enough that sending one costs little
PARALLEL_FROM = 1 << 20  # bytes: smaller exports are classified in this process (starting workers costs more)


# A Classification as a plain tuple, in its fields' order (what crosses to and from a worker process).
ClassificationFields = tuple[tuple[str, ...], tuple[str, ...], str, str | None, bool, float | None, float | None,
                             str | None]


class ImportProblem(TypedDict):
    """A row that did not import: its number, the reason code and the Vietnamese detail."""

    row: int
    reason: str
    detail: str


class ImportSummary(TypedDict):
    """What :func:`import_export` did (JSON-ready: ``monitor complaints import --json`` prints it)."""

    file: str
    rows: int  # data rows read
    accepted: int
    new: int  # accepted and not stored before
    already_stored: int
    rejected: int
    duplicates: int
    rejects_file: str | None
    problems: list[ImportProblem]  # by row
    symptoms: dict[str, int]  # symptom -> accepted complaints, most first
    platforms: dict[str, int]  # platform named -> accepted complaints, most first


def default_workers(path: Path) -> int:
    """Classification workers for ``path``: one per usable core for a large export, else none (0)."""
    try:
        large = path.stat().st_size >= PARALLEL_FROM
    except OSError:
        large = False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if large and cores > 1 else 0


class ComplaintSink(Protocol):
    """Where complaints go: the store (:class:`~monitor.store.interface.Store` is one), opened by the caller."""

    def import_complaints(self, complaints: Iterable[tuple[Complaint, Classification]], source: str,
                          now: float) -> int: ...

    def close(self) -> None: ...


def import_export(path: Path | str, open_sink: Callable[[], ComplaintSink], platforms: Sequence[Platform],
                  peak: PeakHours, now: float, columns: Mapping[str, Sequence[str]] | None = None,
                  limits: Limits = LIMITS, workers: int | None = None) -> ImportSummary:
    """Read, scrub, classify and store one export; write its rejects file. Returns the summary.

    ``open_sink`` opens the store; it is called once the export's header has been read, so a file
    that cannot be imported creates no store. ``workers``: classification processes (0: classify
    here; None: :func:`default_workers`).

    Raises ``ValueError`` (:class:`~monitor.complaints.limits.ExportError`) for a file that cannot be
    imported, and :class:`~monitor.errors.StoreError` for a store that cannot be written: either way
    nothing is stored.
    """
    path = Path(path)
    export = Export(path, columns, limits)
    rejects = RejectsFile(rejects_path(path), export.headers)
    counts: Counter[str] = Counter()
    problems: list[ImportProblem] = []
    symptoms: Counter[str] = Counter()
    named: Counter[str] = Counter()

    def accepted() -> Iterator[Complaint]:
        for item in export:
            if isinstance(item, Complaint):
                yield item
            else:
                counts["duplicates" if item.reason == "duplicate_id" else "rejected"] += 1
                problems.append({"row": item.row, "reason": item.reason, "detail": item.detail})
                rejects.write(item)

    def classified() -> Iterator[tuple[Complaint, Classification]]:
        count = default_workers(path) if workers is None else workers
        for complaint, kind in classify_all(accepted(), platforms, peak, count):
            counts["accepted"] += 1
            symptoms[kind.symptom] += 1
            named.update(kind.platforms)
            yield complaint, kind

    try:
        store = open_sink()
        try:
            with _fewer_collections():
                new = store.import_complaints(classified(), source=scrub(path.name), now=now)
        finally:
            store.close()
    except BaseException:
        rejects.discard()
        raise
    written = rejects.commit() if rejects.count else None
    if written is None:
        rejects.discard()
    return {"file": str(path), "rows": export.total_rows, "accepted": counts["accepted"], "new": new,
            "already_stored": counts["accepted"] - new, "rejected": counts["rejected"],
            "duplicates": counts["duplicates"], "rejects_file": str(written) if written else None,
            "problems": sorted(problems, key=lambda p: p["row"]),
            "symptoms": dict(symptoms.most_common()), "platforms": dict(named.most_common())}


# An import makes millions of short-lived objects, almost none in reference cycles; with the default
# threshold (700) the collector runs every few rows and rescans the long-lived heap. About 6 % of the
# import's CPU (bench/intake.py).
_IMPORT_GC_THRESHOLD = (50_000, 20, 100)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect garbage less often while importing, and never rescan what existed before; restored after."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_IMPORT_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def classify_all(complaints: Iterable[Complaint], platforms: Sequence[Platform], peak: PeakHours,
                 workers: int = 0) -> Iterator[tuple[Complaint, Classification]]:
    """Each complaint with its classification, in order; with ``workers`` > 0, classified in that many processes.

    At most two chunks per worker are in flight, so memory stays bounded whatever the export's size.
    A worker that fails raises here (``BrokenProcessPool`` or the worker's exception), which stores nothing.
    """
    if workers <= 0:
        for complaint in complaints:
            yield complaint, classify(complaint, platforms, peak)
        return
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup,
                             initargs=(tuple(platforms), peak)) as pool:
        pending: deque[tuple[list[Complaint], Future[list[ClassificationFields]]]] = deque()
        for chunk in _chunks(complaints, CHUNK):
            # plain tuples both ways: a frozen dataclass costs ~5 µs to unpickle, a tuple a tenth of that
            pending.append((chunk, pool.submit(_classify_chunk, [(c.text, c.received_at) for c in chunk])))
            while len(pending) > 2 * workers:
                yield from _paired(*pending.popleft())
        while pending:
            yield from _paired(*pending.popleft())


def _paired(chunk: list[Complaint], future: Future[list[ClassificationFields]],
            ) -> Iterator[tuple[Complaint, Classification]]:
    for complaint, fields in zip(chunk, future.result(), strict=True):
        yield complaint, Classification(*fields)


def _chunks(items: Iterable[Complaint], size: int) -> Iterator[list[Complaint]]:
    chunk: list[Complaint] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_WORKER: tuple[Sequence[Platform], PeakHours] | None = None  # set once in each worker process


def _worker_setup(platforms: Sequence[Platform], peak: PeakHours) -> None:
    global _WORKER
    _WORKER = (platforms, peak)
    gc.freeze()  # what the worker inherited (modules, compiled patterns) is never garbage: not scanned again
    gc.set_threshold(*_IMPORT_GC_THRESHOLD)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle: no worker traceback


def _classify_chunk(chunk: list[tuple[str, float]]) -> list[ClassificationFields]:
    """Classification fields, in :class:`Classification`'s order, of each (text, received_at)."""
    assert _WORKER is not None, "classification worker used without its setup"
    platforms, peak = _WORKER
    out: list[ClassificationFields] = []
    for text, received_at in chunk:
        k = classify(Complaint("", received_at, "", "", text), platforms, peak)
        out.append(tuple(getattr(k, name) for name in _FIELDS))
    return out


_FIELDS = tuple(f.name for f in dataclasses.fields(Classification))

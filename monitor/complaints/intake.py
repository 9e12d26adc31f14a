"""``monitor complaints import``: one PAKN export into the store, streamed, all or nothing.

Rows are read, scrubbed and classified one at a time and staged in the store as they come
(:meth:`~monitor.store.sqlite.SQLiteStore.import_complaints`); the rejects file is written alongside
to a temporary file. Only when the whole file has been read are the complaints copied in and the
rejects file moved into place: a file that turns out malformed or too big half-way
(:class:`~monitor.complaints.limits.ExportError`) stores nothing and leaves no rejects file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from monitor.complaints.classify import classify
from monitor.complaints.importer import Export, RejectsFile, rejects_path
from monitor.complaints.limits import LIMITS, Limits
from monitor.complaints.scrub import scrub
from monitor.config import Platform
from monitor.domain import Classification, Complaint
from monitor.workcalendar import PeakHours


def import_export(path: Path | str, store_path: Path, platforms: Sequence[Platform], peak: PeakHours, now: float,
                  columns: Mapping[str, Sequence[str]] | None = None, limits: Limits = LIMITS) -> dict:
    """Read, scrub, classify and store one export; write its rejects file. Returns the summary.

    Raises ``ValueError`` (:class:`~monitor.complaints.limits.ExportError`) for a file that cannot be
    imported, and :class:`~monitor.errors.StoreError` for a store that cannot be written: either way
    nothing is stored.
    """
    from monitor.store import open_store

    path = Path(path)
    export = Export(path, columns, limits)
    rejects = RejectsFile(rejects_path(path), export.headers)
    counts = Counter()
    problems: list[dict] = []
    symptoms: Counter[str] = Counter()
    named: Counter[str] = Counter()

    def classified() -> Iterator[tuple[Complaint, Classification]]:
        for item in export:
            if isinstance(item, Complaint):
                kind = classify(item, platforms, peak)
                counts["accepted"] += 1
                symptoms[kind.symptom] += 1
                named.update(kind.platforms)
                yield item, kind
            else:
                counts["duplicates" if item.reason == "duplicate_id" else "rejected"] += 1
                problems.append({"row": item.row, "reason": item.reason, "detail": item.detail})
                rejects.write(item)

    try:
        store_path.parent.mkdir(parents=True, exist_ok=True)
        store = open_store(store_path)
        try:
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

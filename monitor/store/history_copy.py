"""``monitor store copy FROM TO``: a whole history from one store into another (SQLite or PostgreSQL, either way).

Results are streamed oldest first in batches (memory stays at one batch, whatever the history's size), then the
evidence: incidents, complaints with their classifications, their verdicts, and the operators' notes on the
incidents. Copying again adds nothing: a result already in ``TO`` under its key is skipped, complaints are kept by
id, and incidents, verdicts and notes replace themselves by id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.store import location
from monitor.store.interface import Store

_ALL = (-1e300, 1e300)  # every stored time, as a half-open range


@dataclass(frozen=True)
class CopySummary:
    """What a copy read from ``FROM`` and how much of it was new in ``TO``."""

    results: int
    new_results: int
    incidents: int
    complaints: int
    new_complaints: int
    matches: int
    notes: int


Progress = Callable[[int, int], None]
"""``progress(results_copied, new_results)``, called after each batch."""


def copy_history(source: Store, target: Store, now: float, *, source_name: str, batch: int = 5_000,
                 progress: Progress | None = None) -> CopySummary:
    """Copy every result, incident, complaint, verdict and note of ``source`` into ``target``.

    ``source_name`` is recorded as the complaints' source (the export file each came from is not part of the
    protocol). Each result batch is one transaction in ``target``; the evidence follows the results, so an
    interrupted copy can simply be run again.
    """
    read = new = 0
    for page in source.iter_results(batch):
        read += len(page)
        new += len(target.add_results(page))
        if progress is not None:
            progress(read, new)
    incidents = source.incidents_between(*_ALL)
    target.save_incidents(incidents, now)
    complaints = source.complaints_between(*_ALL)
    new_complaints = target.import_complaints(iter(complaints), source_name, now)
    matches = source.matches_for([c.id for c, _ in complaints])
    target.save_matches(matches, now)
    notes = source.all_incident_notes()  # a note may be on an incident detected but not stored yet
    for incident_id, note in sorted(notes.items()):
        target.set_incident_note(incident_id, note, now)
    return CopySummary(read, new, len(incidents), len(complaints), new_complaints, len(matches), len(notes))


def same_store(first: Path | str, second: Path | str) -> bool:
    """Whether two locations name the same store: the same file (however written), or the same database on the
    same server (user and password aside)."""
    if location.is_url(first) != location.is_url(second):
        return False
    if location.is_url(first):
        return _database(str(first)) == _database(str(second))
    one, other = Path(first), Path(second)
    if one.exists() and other.exists():
        return one.samefile(other)
    return one.resolve() == other.resolve()


def _database(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return (parts.hostname or "localhost").lower(), port, unquote(parts.path.strip("/"))

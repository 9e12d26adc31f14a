"""An operator's note on an incident (``monitor incidents note ID "Đang khắc phục …"``): the only free text the
status page shows, so it is cleaned here and escaped by the renderers."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from monitor.domain import Incident
from monitor.statuspage.source import StatusSource
from monitor.store import Store


class NoteError(ValueError):
    """A note that cannot be stored, or an incident id that names no listed incident; the message says what to do."""


def clean_note(text: str, max_chars: int) -> str:
    """NFC, control characters out (a line break stays), surrounding space trimmed; at most ``max_chars``.

    An empty result means "remove the note".
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    kept = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    kept = "\n".join(line.rstrip() for line in kept.strip().split("\n"))
    if len(kept) > max_chars:
        raise NoteError(f"the note has {len(kept)} characters, at most {max_chars} are shown (status_page."
                        "note_max_chars); shorten it")
    return kept


def find_incident(incident_id: str, listed: Sequence[Incident], days: int) -> Incident:
    """The listed incident with this id, or :class:`NoteError` naming the recent ones."""
    for incident in listed:
        if incident.id == incident_id:
            return incident
    recent = ", ".join(i.id for i in listed[:5])
    hint = f"recent ones: {recent}" if recent else "there is none"
    raise NoteError(f"no incident {incident_id!r} in progress or in the last {days} days ({hint}); "
                    "the ids are in `monitor incidents` and /status/api/v1/summary")


def note_incident(store: Store, source: StatusSource, incident_id: str, text: str, now: float,
                  max_chars: int) -> tuple[Incident, str]:
    """Store (or, for an empty text, remove) the note of a listed incident; (the incident, the note as stored)."""
    note = clean_note(text, max_chars)
    incident = find_incident(incident_id, source.incidents(now), source.incident_days)
    store.set_incident_note(incident.id, note, now)
    return incident, note

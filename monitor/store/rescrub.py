"""Migration 003's Python step: scrub the complaints already stored with today's scrub (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from monitor.complaints.scrub import scrub

_CHUNK = 1_000


def rescrub_complaints(conn: Any, *, key: str = "rowid", placeholder: str = "?") -> int:
    """Scrub ``text``, ``unit``, ``province`` and ``source`` of every stored complaint; return rows changed.

    ``conn`` is any DB-API connection (``sqlite3``'s, psycopg's); ``key`` a unique column to page on (SQLite's
    ``rowid``, PostgreSQL's ``id``) and ``placeholder`` its driver's parameter mark. Runs inside the caller's
    transaction; reads in ``key`` order, a chunk at a time.
    """
    cursor = conn.cursor()
    columns = f"SELECT {key}, text, unit, province, source FROM complaints"
    update = (f"UPDATE complaints SET text = {placeholder}, unit = {placeholder}, province = {placeholder}, "
              f"source = {placeholder} WHERE {key} = {placeholder}")
    changed = 0
    last: object = None
    while True:
        if last is None:
            cursor.execute(f"{columns} ORDER BY {key} LIMIT {_CHUNK}")
        else:
            cursor.execute(f"{columns} WHERE {key} > {placeholder} ORDER BY {key} LIMIT {_CHUNK}", (last,))
        rows = cursor.fetchall()
        if not rows:
            return changed
        updates = rescrubbed(rows)
        if updates:
            cursor.executemany(update, updates)
        changed += len(updates)
        last = rows[-1][0]


def rescrubbed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """For rows ``(key, text, unit, province, source)``, the ``(text, unit, province, source, key)`` of those the
    scrub changes (pure)."""
    updates = []
    for key, *values in rows:
        scrubbed = [scrub(v).strip() if v else v for v in values]
        if scrubbed != values:
            updates.append((*scrubbed, key))
    return updates

"""Migration 003's Python step: scrub the complaints already stored with today's scrub."""

from __future__ import annotations

import sqlite3

from monitor.complaints.scrub import scrub

_CHUNK = 1_000


def rescrub_complaints(conn: sqlite3.Connection) -> int:
    """Scrub ``text``, ``unit``, ``province`` and ``source`` of every stored complaint; return rows changed.

    Runs inside the caller's transaction; reads in rowid order, a chunk at a time.
    """
    changed = 0
    last = -1
    while True:
        rows = conn.execute("SELECT rowid, text, unit, province, source FROM complaints WHERE rowid > ? "
                            "ORDER BY rowid LIMIT ?", (last, _CHUNK)).fetchall()
        if not rows:
            return changed
        updates = []
        for rowid, *values in rows:
            scrubbed = [scrub(v).strip() if v else v for v in values]
            if scrubbed != values:
                updates.append((*scrubbed, rowid))
        conn.executemany("UPDATE complaints SET text = ?, unit = ?, province = ?, source = ? WHERE rowid = ?",
                         updates)
        changed += len(updates)
        last = rows[-1][0]

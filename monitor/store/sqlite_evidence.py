"""The evidence tables of the SQLite store: incidents, complaints and their matches.

A mixin of :class:`~monitor.store.sqlite.SQLiteStore`, kept apart so each file has one job.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from monitor.domain import Classification, Complaint, Incident, Match, MatchStatus
from monitor.store.rows import COMPLAINT_COLUMNS as _COMPLAINT_COLUMNS
from monitor.store.rows import INCIDENT_COLUMNS as _INCIDENT_COLUMNS
from monitor.store.rows import complaint_row as _complaint_row


class EvidenceTables:
    """Incidents, complaints and matches; uses the store's connection and transaction helpers."""

    if TYPE_CHECKING:  # SQLiteStore's, which this class is a base of
        def _connection(self) -> sqlite3.Connection: ...
        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _errors(self, doing: str) -> AbstractContextManager[None]: ...

    def save_incidents(self, incidents: Sequence[Incident], now: float,
                       replacing: tuple[float, float] | None = None) -> None:
        """Insert or update ``incidents`` by id (a recomputed incident replaces its earlier row).

        ``replacing=(start, end)``: the incidents are a fresh computation of that period, so
        stored ones starting in it that the computation no longer finds are deleted.
        """
        rows = [(i.id, i.platform, i.kind, i.scope, i.start, i.end, json.dumps(list(i.locations)),
                 json.dumps(i.reasons), i.worst_latency, i.probes, i.failed, now) for i in incidents]
        columns = (*_INCIDENT_COLUMNS, "updated_at")
        sql = (f"INSERT OR REPLACE INTO incidents ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        with self._errors(f"write {len(rows)} incidents"), self._transaction() as tx:
            if replacing is not None:
                tx.execute("DELETE FROM incidents WHERE started_at >= ? AND started_at < ?", replacing)
            tx.executemany(sql, rows)

    def incidents_between(self, start: float, end: float) -> list[Incident]:
        """Stored incidents overlapping [start, end), by start."""
        sql = (f"SELECT {', '.join(_INCIDENT_COLUMNS)} FROM incidents WHERE started_at < ? "
               "AND (ended_at IS NULL OR ended_at > ?) ORDER BY started_at, id")
        with self._errors("read incidents"):
            rows = self._connection().execute(sql, (end, start)).fetchall()
        return [Incident(id=r[0], platform=r[1], kind=r[2], scope=r[3], start=r[4], end=r[5],
                         locations=tuple(json.loads(r[6])), reasons=json.loads(r[7]), worst_latency=r[8],
                         probes=r[9], failed=r[10]) for r in rows]

    def set_incident_note(self, incident_id: str, note: str, now: float) -> None:
        """Store the operator's note on an incident, replacing its earlier one; an empty ``note`` removes it."""
        with self._errors("write an incident note"), self._transaction() as tx:
            if note:
                tx.execute("INSERT OR REPLACE INTO incident_notes (incident_id, note, updated_at) VALUES (?, ?, ?)",
                           (incident_id, note, now))
            else:
                tx.execute("DELETE FROM incident_notes WHERE incident_id = ?", (incident_id,))

    def incident_notes(self, incident_ids: Sequence[str]) -> dict[str, str]:
        """The notes of those of these incidents that have one, by incident id."""
        ids = list(dict.fromkeys(incident_ids))
        notes: dict[str, str] = {}
        with self._errors("read incident notes"):
            conn = self._connection()
            for k in range(0, len(ids), 500):  # SQLite's limit on parameters is far above 500
                chunk = ids[k:k + 500]
                rows = conn.execute(f"SELECT incident_id, note FROM incident_notes WHERE incident_id IN "
                                    f"({', '.join('?' for _ in chunk)})", chunk).fetchall()
                notes.update((str(i), str(n)) for i, n in rows)
        return notes

    def all_incident_notes(self) -> dict[str, str]:
        """Every stored note, by incident id, whether that incident is stored or not."""
        with self._errors("read incident notes"):
            rows = self._connection().execute("SELECT incident_id, note FROM incident_notes ORDER BY incident_id")
            return {str(i): str(n) for i, n in rows}

    def add_complaints(self, complaints: Sequence[tuple[Complaint, Classification]], source: str,
                       now: float) -> int:
        """Store complaints not stored yet (by id); return how many were new."""
        rows = [_complaint_row(c, k) for c, k in complaints]
        columns = (*_COMPLAINT_COLUMNS, "source", "imported_at")
        sql = (f"INSERT OR IGNORE INTO complaints ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        with self._errors(f"write {len(rows)} complaints"), self._transaction() as tx:
            before = tx.total_changes
            tx.executemany(sql, [(*row, source, now) for row in rows])
            return tx.total_changes - before

    def import_complaints(self, complaints: Iterable[tuple[Complaint, Classification]], source: str, now: float,
                          batch: int = 2_000) -> int:
        """Store a stream of complaints all or nothing; return how many were new (by id).

        Rows are staged in a TEMP table as they come, in batches, which takes no lock on the store
        (the daemon's writer keeps writing); then one short transaction copies them in. If iterating
        ``complaints`` raises, the stage is dropped and nothing is stored.
        """
        columns = ", ".join((*_COMPLAINT_COLUMNS, "source", "imported_at"))
        insert = f"INSERT INTO temp.complaint_import ({columns}) VALUES ({', '.join('?' for _ in range(16))})"
        with self._errors("import complaints"):
            conn = self._connection()
            conn.execute("DROP TABLE IF EXISTS temp.complaint_import")
            conn.execute(f"CREATE TEMP TABLE complaint_import AS SELECT {columns} FROM complaints WHERE 0")
            try:
                rows: list[tuple[object, ...]] = []
                for complaint, classified in complaints:
                    rows.append((*_complaint_row(complaint, classified), source, now))
                    if len(rows) >= batch:
                        _stage(conn, insert, rows)
                        rows = []
                _stage(conn, insert, rows)
                with self._transaction() as tx:
                    before = tx.total_changes
                    tx.execute(f"INSERT OR IGNORE INTO complaints ({columns}) "
                               f"SELECT {columns} FROM temp.complaint_import ORDER BY rowid")
                    return tx.total_changes - before
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("DROP TABLE IF EXISTS temp.complaint_import")

    def complaints_between(self, start: float, end: float) -> list[tuple[Complaint, Classification]]:
        """Complaints received in [start, end), by time then id."""
        sql = (f"SELECT {', '.join(_COMPLAINT_COLUMNS)} FROM complaints WHERE received_at >= ? AND received_at < ? "
               "ORDER BY received_at, id")
        with self._errors("read complaints"):
            rows = self._connection().execute(sql, (start, end)).fetchall()
        return [(Complaint(id=r[0], received_at=r[1], unit=r[2], province=r[3], text=r[4], source_row=r[5]),
                 Classification(platforms=tuple(json.loads(r[6])), platform_phrases=tuple(json.loads(r[7])),
                                symptom=r[8], symptom_phrase=r[9], peak=bool(r[10]), pain_from=r[11],
                                pain_to=r[12], time_phrase=r[13])) for r in rows]

    def save_matches(self, matches: Sequence[Match], now: float) -> None:
        """Insert or replace the verdict of each (complaint, platform) pair."""
        rows = [(m.complaint_id, m.platform or "", m.status.value, m.incident_id, now) for m in matches]
        sql = ("INSERT OR REPLACE INTO complaint_matches (complaint_id, platform, status, incident_id, computed_at) "
               "VALUES (?, ?, ?, ?, ?)")
        with self._errors(f"write {len(rows)} matches"), self._transaction() as tx:
            tx.executemany(sql, rows)

    def matches_for(self, complaint_ids: Sequence[str]) -> list[Match]:
        """Stored verdicts of these complaints."""
        found: list[Match] = []
        with self._errors("read matches"):
            conn = self._connection()
            for i in range(0, len(complaint_ids), 500):
                chunk = complaint_ids[i:i + 500]
                sql = ("SELECT complaint_id, platform, status, incident_id FROM complaint_matches "
                       f"WHERE complaint_id IN ({', '.join('?' for _ in chunk)}) ORDER BY complaint_id, platform")
                found += [Match(r[0], r[1] or None, MatchStatus(r[2]), r[3]) for r in conn.execute(sql, chunk)]
        return found


def _stage(conn: sqlite3.Connection, insert: str, rows: list[tuple[object, ...]]) -> None:
    """One batch into the TEMP staging table, in its own transaction (on the temp database only)."""
    if rows:
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")

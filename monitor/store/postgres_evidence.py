"""The evidence tables of the PostgreSQL store: incidents, complaints and their matches, notes.

A mixin of :class:`~monitor.store.postgres.PostgresStore`, kept apart so each file has one job; the same semantics
as the SQLite store's (:mod:`monitor.store.sqlite_evidence`), with the same rows (:mod:`monitor.store.rows`). Text
is ordered with ``COLLATE "C"`` (by bytes), as SQLite orders it, whatever the database's collation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from monitor.domain import Classification, Complaint, Incident, Match, MatchStatus
from monitor.store.rows import (
    COMPLAINT_COLUMNS,
    INCIDENT_COLUMNS,
    complaint_from_row,
    complaint_row,
    incident_from_row,
    incident_row,
)

T = TypeVar("T")
_COMPLAINT_IN = (*COMPLAINT_COLUMNS, "source", "imported_at")
_CHUNK = 500


class PostgresEvidence:
    """Incidents, complaints, matches and notes; uses the store's ``_run`` (one transaction per call)."""

    if TYPE_CHECKING:  # PostgresStore's, which this class is a base of
        def _run(self, doing: str, work: Callable[[psycopg.Connection[Any]], T], *, retry: bool = True) -> T: ...

    def save_incidents(self, incidents: Sequence[Incident], now: float,
                       replacing: tuple[float, float] | None = None) -> None:
        """Insert or update ``incidents`` by id; with ``replacing=(start, end)``, stored ones starting in that
        period that ``incidents`` no longer holds are deleted."""
        rows = [incident_row(i, now) for i in incidents]
        columns = (*INCIDENT_COLUMNS, "updated_at")
        sql = (f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({', '.join('%s' for _ in columns)}) "
               f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in columns[1:])}")

        def write(conn: psycopg.Connection[Any]) -> None:
            if replacing is not None:
                conn.execute("DELETE FROM incidents WHERE started_at >= %s AND started_at < %s", replacing)
            with conn.cursor() as cursor:
                cursor.executemany(sql, rows)

        self._run(f"write {len(rows)} incidents", write)

    def incidents_between(self, start: float, end: float) -> list[Incident]:
        """Stored incidents overlapping [start, end), by start."""
        sql = (f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM incidents WHERE started_at < %s "
               'AND (ended_at IS NULL OR ended_at > %s) ORDER BY started_at, id COLLATE "C"')
        rows = self._run("read incidents", lambda conn: conn.execute(sql, (end, start)).fetchall())
        return [incident_from_row(r) for r in rows]

    def set_incident_note(self, incident_id: str, note: str, now: float) -> None:
        """Store the operator's note on an incident, replacing its earlier one; an empty ``note`` removes it."""
        def write(conn: psycopg.Connection[Any]) -> None:
            if note:
                conn.execute("INSERT INTO incident_notes (incident_id, note, updated_at) VALUES (%s, %s, %s) "
                             "ON CONFLICT (incident_id) DO UPDATE SET note = EXCLUDED.note, "
                             "updated_at = EXCLUDED.updated_at", (incident_id, note, now))
            else:
                conn.execute("DELETE FROM incident_notes WHERE incident_id = %s", (incident_id,))

        self._run("write an incident note", write)

    def incident_notes(self, incident_ids: Sequence[str]) -> dict[str, str]:
        """The notes of those of these incidents that have one, by incident id."""
        ids = list(dict.fromkeys(incident_ids))
        if not ids:
            return {}
        rows = self._run("read incident notes", lambda conn: conn.execute(
            "SELECT incident_id, note FROM incident_notes WHERE incident_id = ANY(%s)", (ids,)).fetchall())
        return {str(i): str(n) for i, n in rows}

    def all_incident_notes(self) -> dict[str, str]:
        """Every stored note, by incident id, whether that incident is stored or not."""
        rows = self._run("read incident notes", lambda conn: conn.execute(
            'SELECT incident_id, note FROM incident_notes ORDER BY incident_id COLLATE "C"').fetchall())
        return {str(i): str(n) for i, n in rows}

    def add_complaints(self, complaints: Sequence[tuple[Complaint, Classification]], source: str,
                       now: float) -> int:
        """Store complaints not stored yet (by id); return how many were new."""
        return self.import_complaints(list(complaints), source, now)

    def import_complaints(self, complaints: Iterable[tuple[Complaint, Classification]], source: str, now: float,
                          batch: int = 2_000) -> int:
        """Store a stream of complaints all or nothing; return how many were new (by id; the first of an id wins).

        One transaction: rows are copied into a temporary table as they come, in batches, then inserted in
        order; if iterating ``complaints`` raises, the transaction rolls back and nothing is stored. (Other
        writers are not held up: PostgreSQL locks rows, not the database.)
        """
        columns = ", ".join(_COMPLAINT_IN)

        def write(conn: psycopg.Connection[Any]) -> int:
            conn.execute(f"CREATE TEMP TABLE complaints_in ON COMMIT DROP AS SELECT 0 AS ord, {columns} "
                         "FROM complaints WITH NO DATA")
            number = 0
            with conn.cursor() as cursor:
                rows: list[tuple[object, ...]] = []
                for complaint, classified in complaints:
                    rows.append((number, *complaint_row(complaint, classified), source, now))
                    number += 1
                    if len(rows) >= batch:
                        _copy(cursor, columns, rows)
                        rows = []
                _copy(cursor, columns, rows)
                cursor.execute(f"INSERT INTO complaints ({columns}) SELECT {columns} FROM complaints_in "
                               "ORDER BY ord ON CONFLICT (id) DO NOTHING")
                return max(cursor.rowcount, 0)

        return self._run("import complaints", write, retry=False)  # the stream cannot be read twice

    def complaints_between(self, start: float, end: float) -> list[tuple[Complaint, Classification]]:
        """Complaints received in [start, end), by time then id."""
        sql = (f"SELECT {', '.join(COMPLAINT_COLUMNS)} FROM complaints WHERE received_at >= %s AND received_at < %s "
               'ORDER BY received_at, id COLLATE "C"')
        rows = self._run("read complaints", lambda conn: conn.execute(sql, (start, end)).fetchall())
        return [complaint_from_row(r) for r in rows]

    def save_matches(self, matches: Sequence[Match], now: float) -> None:
        """Insert or replace the verdict of each (complaint, platform) pair."""
        rows = [(m.complaint_id, m.platform or "", m.status.value, m.incident_id, now) for m in matches]
        sql = ("INSERT INTO complaint_matches (complaint_id, platform, status, incident_id, computed_at) "
               "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (complaint_id, platform) DO UPDATE SET "
               "status = EXCLUDED.status, incident_id = EXCLUDED.incident_id, computed_at = EXCLUDED.computed_at")

        def write(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cursor:
                cursor.executemany(sql, rows)

        self._run(f"write {len(rows)} matches", write)

    def matches_for(self, complaint_ids: Sequence[str]) -> list[Match]:
        """Stored verdicts of these complaints (by complaint id then platform, within each chunk of 500 ids)."""
        ids = list(complaint_ids)
        sql = ("SELECT complaint_id, platform, status, incident_id FROM complaint_matches "
               'WHERE complaint_id = ANY(%s) ORDER BY complaint_id COLLATE "C", platform COLLATE "C"')

        def read(conn: psycopg.Connection[Any]) -> list[Match]:
            found: list[Match] = []
            for i in range(0, len(ids), _CHUNK):  # chunked as SQLite's, so both return the same order
                found += [Match(r[0], r[1] or None, MatchStatus(r[2]), r[3])
                          for r in conn.execute(sql, (ids[i:i + _CHUNK],))]
            return found

        return self._run("read matches", read)


def _copy(cursor: psycopg.Cursor[Any], columns: str, rows: list[tuple[object, ...]]) -> None:
    """One batch into the temporary staging table."""
    if rows:
        with cursor.copy(f"COPY complaints_in (ord, {columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

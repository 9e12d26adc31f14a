-- Operators' notes on incidents (`monitor incidents note ID "…"`): the only free text the status page shows.
-- Keyed by the incident's id, not a foreign key: incidents are recomputed, so a note may be written for an incident
-- detected but not stored yet (the same meaning as the SQLite store's 004).
CREATE TABLE incident_notes (
    incident_id text PRIMARY KEY,
    note        text             NOT NULL,
    updated_at  double precision NOT NULL
);

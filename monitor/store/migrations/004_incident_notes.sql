-- Operators' notes on incidents (`monitor incidents note ID "…"`): the only free text the status page shows.
-- Keyed by the incident's id, not a foreign key: incidents are recomputed, and the daemon stores them hourly, so a
-- note may be written for an incident detected but not stored yet.
CREATE TABLE incident_notes (
    incident_id TEXT PRIMARY KEY,
    note        TEXT NOT NULL,
    updated_at  REAL NOT NULL
);

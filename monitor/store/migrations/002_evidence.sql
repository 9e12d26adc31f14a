-- Evidence for the bulletin: incidents derived from results, PAKN complaints as imported
-- (personal data already scrubbed) with their classification, and complaint-incident matches.

-- Incidents are recomputed from results; the id is stable, so a recomputation updates the row.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY,
    platform      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('down', 'degraded')),
    scope         TEXT NOT NULL CHECK (scope IN ('platform', 'location')),
    started_at    REAL NOT NULL,
    ended_at      REAL,                           -- NULL while open
    locations     TEXT NOT NULL,                  -- JSON list
    reasons       TEXT NOT NULL DEFAULT '{}',     -- JSON object: reason (or "slow") -> probes
    worst_latency REAL,
    probes        INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX incidents_started_at ON incidents (started_at);

-- One row per PAKN complaint, keyed by its id (Mã PAKN): importing a file twice adds nothing.
CREATE TABLE complaints (
    id               TEXT PRIMARY KEY,
    received_at      REAL NOT NULL,
    unit             TEXT NOT NULL,
    province         TEXT NOT NULL,
    text             TEXT NOT NULL,
    source           TEXT NOT NULL,               -- file it was imported from
    source_row       INTEGER,
    imported_at      REAL NOT NULL,
    platforms        TEXT NOT NULL,               -- JSON list of platform ids
    platform_phrases TEXT NOT NULL,               -- JSON list: the phrase that named each platform
    symptom          TEXT NOT NULL,
    symptom_phrase   TEXT,
    peak             INTEGER NOT NULL CHECK (peak IN (0, 1)),
    pain_from        REAL,
    pain_to          REAL,
    time_phrase      TEXT
);
CREATE INDEX complaints_received_at ON complaints (received_at);

-- The verdict for each (complaint, platform) pair; platform '' when the complaint names none.
CREATE TABLE complaint_matches (
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    platform     TEXT NOT NULL,
    status       TEXT NOT NULL,
    incident_id  TEXT,
    computed_at  REAL NOT NULL,
    PRIMARY KEY (complaint_id, platform)
);

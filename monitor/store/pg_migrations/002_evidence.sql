-- Evidence for the bulletin (the same meaning as the SQLite store's 002): incidents derived from results, PAKN
-- complaints as imported (personal data already scrubbed) with their classification, and complaint-incident matches.

-- Incidents are recomputed from results; the id is stable, so a recomputation updates the row.
CREATE TABLE incidents (
    id            text PRIMARY KEY,
    platform      text             NOT NULL,
    kind          text             NOT NULL CHECK (kind IN ('down', 'degraded')),
    scope         text             NOT NULL CHECK (scope IN ('platform', 'location')),
    started_at    double precision NOT NULL,
    ended_at      double precision,                 -- NULL while open
    locations     text             NOT NULL,        -- JSON list
    reasons       text             NOT NULL DEFAULT '{}',  -- JSON object: reason (or "slow") -> probes
    worst_latency double precision,
    probes        integer          NOT NULL,
    failed        integer          NOT NULL,
    updated_at    double precision NOT NULL
);
CREATE INDEX incidents_started_at ON incidents (started_at);

-- One row per PAKN complaint, keyed by its id (Mã PAKN): importing a file twice adds nothing.
CREATE TABLE complaints (
    id               text PRIMARY KEY,
    received_at      double precision NOT NULL,
    unit             text             NOT NULL,
    province         text             NOT NULL,
    text             text             NOT NULL,
    source           text             NOT NULL,  -- file it was imported from
    source_row       integer,
    imported_at      double precision NOT NULL,
    platforms        text             NOT NULL,  -- JSON list of platform ids
    platform_phrases text             NOT NULL,  -- JSON list: the phrase that named each platform
    symptom          text             NOT NULL,
    symptom_phrase   text,
    peak             integer          NOT NULL CHECK (peak IN (0, 1)),
    pain_from        double precision,
    pain_to          double precision,
    time_phrase      text
);
CREATE INDEX complaints_received_at ON complaints (received_at);

-- The verdict for each (complaint, platform) pair; platform '' when the complaint names none. complaint_id names a
-- complaint, but without a foreign key: SQLite does not enforce the one it declares, and both stores must accept the
-- same writes.
CREATE TABLE complaint_matches (
    complaint_id text             NOT NULL,
    platform     text             NOT NULL,
    status       text             NOT NULL,
    incident_id  text,
    computed_at  double precision NOT NULL,
    PRIMARY KEY (complaint_id, platform)
);

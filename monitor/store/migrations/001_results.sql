-- Raw probe results: one row per execution of one check at one location.
-- Times are unix seconds (UTC). A phase column is NULL when that phase did not
-- complete: a missing measurement is never stored as 0, or it would read as "fast".
CREATE TABLE results (
    id            INTEGER PRIMARY KEY,
    platform      TEXT    NOT NULL,
    check_id      TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    location      TEXT    NOT NULL,
    started_at    REAL    NOT NULL,
    success       INTEGER NOT NULL CHECK (success IN (0, 1)),
    reason        TEXT,
    error         TEXT,
    duration      REAL    NOT NULL,
    resolve_s     REAL,
    connect_s     REAL,
    tls_s         REAL,
    processing_s  REAL,
    transfer_s    REAL,
    total_s       REAL,
    status_code   INTEGER,
    cert_expiry   REAL,
    peer          TEXT,
    details       TEXT    NOT NULL DEFAULT '{}',  -- JSON object
    unreliable    INTEGER NOT NULL DEFAULT 0 CHECK (unreliable IN (0, 1))
);

-- Per-platform time ranges (reports, incident detection, recent results of one platform).
CREATE INDEX results_platform_started_at ON results (platform, started_at);
-- Whole-fleet time ranges and retention pruning.
CREATE INDEX results_started_at ON results (started_at);

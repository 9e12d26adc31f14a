-- Raw probe results (the same meaning as the SQLite store's 001): one row per execution of one check at one
-- location. Times are unix seconds (UTC) in double precision, so a result reads back exactly as written. A phase
-- column is NULL when that phase did not complete. Flags are 0/1 integers, as in SQLite, so rows read the same.
CREATE TABLE results (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform      text             NOT NULL,
    check_id      text             NOT NULL,
    kind          text             NOT NULL,
    location      text             NOT NULL,
    started_at    double precision NOT NULL,
    success       integer          NOT NULL CHECK (success IN (0, 1)),
    reason        text,
    error         text,
    duration      double precision NOT NULL,
    resolve_s     double precision,
    connect_s     double precision,
    tls_s         double precision,
    processing_s  double precision,
    transfer_s    double precision,
    total_s       double precision,
    status_code   integer,
    cert_expiry   double precision,
    peer          text,
    details       text             NOT NULL DEFAULT '{}',  -- JSON object, as written (keys sorted)
    unreliable    integer          NOT NULL DEFAULT 0 CHECK (unreliable IN (0, 1))
);

-- Per-platform time ranges (reports, incident detection, recent results of one platform).
CREATE INDEX results_platform_started_at ON results (platform, started_at);
-- Whole-fleet time ranges, retention pruning, and streaming a history in (started_at, id) pages.
CREATE INDEX results_started_at ON results (started_at, id);

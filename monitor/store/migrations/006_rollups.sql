-- 15-minute rollups of results per stream (platform, check, kind, location): what the weekly report's figures and
-- the choice of raw ranges for incident detection read (monitor/rollup.py). Written in the same transaction as the
-- results they sum (monitor/store/rollups.py), for the results actually inserted only. Kept longer than raw results
-- (rollup_retention_days). The rows of the results already stored are built by a Python step of this migration,
-- run in its transaction after this script (monitor/store/rollups.py: backfill).
CREATE TABLE rollups (
    platform    TEXT    NOT NULL,
    check_id    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,               -- unix seconds, a multiple of 900 (UTC, so local hours too)
    probes      INTEGER NOT NULL,               -- reliable results
    successes   INTEGER NOT NULL,               -- reliable successes
    reasons     TEXT    NOT NULL DEFAULT '',    -- reliable failures: "reason=count,..." sorted
    unreliable  INTEGER NOT NULL,
    minutes     INTEGER NOT NULL,               -- bit m: a reliable result started in minute m of the bucket
    first_at    REAL,                           -- earliest and latest start of a reliable result
    last_at     REAL,
    slowest     REAL,                           -- slowest successful HTTP total, reliable or not
    cert_seen   REAL,                           -- the latest result that saw a certificate, and its expiry
    cert_expiry REAL,
    sketch      BLOB    NOT NULL,               -- reliable successful HTTP totals, log bins at 1 % (monitor.rollup)
    PRIMARY KEY (platform, check_id, kind, location, bucket)
);
CREATE INDEX rollups_bucket ON rollups (bucket);

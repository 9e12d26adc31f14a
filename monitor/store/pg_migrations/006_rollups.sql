-- 15-minute rollups of results per stream (platform, check, kind, location), the same meaning as the SQLite store's
-- 006 (monitor/rollup.py, monitor/store/rollups.py): written in the same transaction as the results they sum, for the
-- results actually inserted only. The rows of the results already stored are built by a Python step of this
-- migration, run in its transaction after this script (monitor/store/postgres.py).
CREATE TABLE rollups (
    platform    text             NOT NULL,
    check_id    text             NOT NULL,
    kind        text             NOT NULL,
    location    text             NOT NULL,
    bucket      bigint           NOT NULL,            -- unix seconds, a multiple of 900 (UTC, so local hours too)
    probes      integer          NOT NULL,            -- reliable results
    successes   integer          NOT NULL,            -- reliable successes
    reasons     text             NOT NULL DEFAULT '', -- reliable failures: "reason=count,..." sorted
    unreliable  integer          NOT NULL,
    minutes     integer          NOT NULL,            -- bit m: a reliable result started in minute m of the bucket
    first_at    double precision,                     -- earliest and latest start of a reliable result
    last_at     double precision,
    slowest     double precision,                     -- slowest successful HTTP total, reliable or not
    cert_seen   double precision,                     -- the latest result that saw a certificate, and its expiry
    cert_expiry double precision,
    sketch      bytea            NOT NULL,            -- reliable successful HTTP totals, log bins at 1 % (monitor.rollup)
    PRIMARY KEY (platform, check_id, kind, location, bucket)
);
CREATE INDEX rollups_bucket ON rollups (bucket);

-- A result is identified by its key (platform, check_id, location, started_at), as in the SQLite store's 005: storing
-- a result already stored under its key does nothing. Exact-key duplicates stored before keep their first row.
DELETE FROM results WHERE id NOT IN (
    SELECT min(id) FROM results GROUP BY platform, check_id, location, started_at
);
CREATE UNIQUE INDEX results_key ON results (platform, check_id, location, started_at);

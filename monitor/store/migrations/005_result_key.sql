-- A result is identified by its key: (platform, check_id, location, started_at). A check id is unique within its
-- platform only, so the platform is part of the key. Storing a result already stored under its key does nothing:
-- a batch written twice (a retry after a commit whose answer was lost, a spool forwarded again, `monitor store
-- copy` run twice) is stored once. Exact-key duplicates stored before this migration keep their first row.
DELETE FROM results WHERE id NOT IN (
    SELECT min(id) FROM results GROUP BY platform, check_id, location, started_at
);
CREATE UNIQUE INDEX results_key ON results (platform, check_id, location, started_at);

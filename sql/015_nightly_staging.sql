-- The nightly on a Dask cluster (scoring/cluster.py): each shard's task scores its customers in its own worker
-- and commits its rows here, keyed by the run; the run's final transaction moves them into risk_scores at once,
-- so a reader never sees half a run and a failed run leaves the previous scores as they were. Unlogged: the rows
-- are a run's scratch, rebuilt by re-running it, never worth WAL. Columns follow risk_scores (a migration that
-- adds a column to risk_scores adds it here too).
CREATE UNLOGGED TABLE risk_scores_staging (LIKE risk_scores INCLUDING DEFAULTS);
CREATE INDEX risk_scores_staging_run_idx ON risk_scores_staging (batch_run_id, customer_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_jobs') THEN
        GRANT SELECT, INSERT, DELETE ON risk_scores_staging TO pde_jobs;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_app') THEN
        GRANT SELECT ON risk_scores_staging TO pde_app;
    END IF;
END $$;

-- The rollup's newest day, kept by the code that writes daily_balances (db/rollup.py, generation), so the nightly
-- need not find max(day) by reading every partition's key index (no index leads with day on native partitions).
-- No row: unknown, computed from the table once by the next reader and kept.
CREATE TABLE rollup_watermark (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_day  date NOT NULL
);

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON rollup_watermark TO %I', r);
        END IF;
    END LOOP;
END $$;

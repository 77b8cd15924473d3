-- Least privilege. The role that runs these migrations owns every table; the dashboard, the API and the
-- user, key and model commands connect as pde_app, the nightly, training and `pde ingest` as pde_jobs
-- (predelinquency.db.engine). Neither owns anything, so neither can ALTER, DROP or disable the triggers of a
-- table; neither may UPDATE, DELETE or TRUNCATE action_audit_log, only INSERT into it (whose trigger chains
-- the row and takes its time from the server's clock, sql/008); and only a superuser may set
-- session_replication_role, which would skip those triggers.
--
-- Roles belong to the whole server, not to this database: they are created when missing and when the
-- migrating role may create roles; otherwise an administrator creates them (README, Configuration) before
-- `pde db init`, and until they exist the grants below are skipped with a NOTICE.
DO $$
DECLARE
    r text;
    me pg_roles;
BEGIN
    SELECT * INTO me FROM pg_roles WHERE rolname = current_user;
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            IF me.rolsuper THEN  -- a role made by hand gets the same limits as one made here
                EXECUTE format('ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
            END IF;
        ELSIF me.rolsuper OR me.rolcreaterole THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                               r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database on this server created it meanwhile
            END;
        ELSE
            RAISE NOTICE 'role % is missing and % may not create roles: an administrator creates it', r, current_user;
        END IF;
    END LOOP;
END $$;

-- Partitions are created on demand by whoever loads a new month; as the owner's function, the application
-- roles need no CREATE, and only our three time tables can be extended this way.
CREATE OR REPLACE FUNCTION pde_ensure_partitions(tbl text, lo date, hi date)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    m date := date_trunc('month', lo)::date;
    part text;
BEGIN
    IF tbl NOT IN ('transactions', 'daily_balances', 'risk_scores') THEN
        RAISE EXCEPTION 'pde_ensure_partitions: % is not a time-series table', tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = tbl::regclass) THEN
        RETURN;
    END IF;
    WHILE m <= hi LOOP
        part := format('%s_%s', tbl, to_char(m, 'YYYYMM'));
        IF to_regclass(part) IS NULL THEN
            -- serialise concurrent shard writers creating the same partition
            PERFORM pg_advisory_xact_lock(hashtext(part));
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               part, tbl, m, (m + interval '1 month')::date);
            END IF;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;

-- The write counters (sql/003) are bumped by statement triggers of whoever writes the table; as the owner's
-- function the writers need no UPDATE on data_versions, so they cannot move or reset it.
ALTER FUNCTION pde_bump_data_version() SECURITY DEFINER;

-- A SECURITY DEFINER function must not resolve names through a schema its callers can write to.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION pde_ensure_partitions(text, date, date) SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION pde_bump_data_version() SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION pde_ensure_partitions(text, date, date) FROM PUBLIC;

-- Only the owner creates objects here (PostgreSQL 15 and later already default to that for `public`).
DO $$
BEGIN
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
END $$;

-- What both roles may do: connect, read every table, draw ids from the sequences, call our functions.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            RAISE NOTICE 'role % does not exist: no grants made to it', r;
            CONTINUE;
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), r);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', current_schema(), r);
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), r);
        -- tables a later migration (or a partition) adds are readable too; writes are granted by name
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO %I', current_schema(), r);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
                       current_schema(), r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION pde_ensure_partitions(text, date, date), pde_timescale_active(), '
                       'pde_audit_content(action_audit_log), pde_audit_genesis() TO %I', r);
        -- the audit trail: appended to, never changed
        EXECUTE format('GRANT INSERT ON action_audit_log TO %I', r);
        -- bank files (the Data Management upload as pde_app, `pde ingest` as pde_jobs, operations/uploads.py):
        -- COPY into the raw tables, and the daily rows their back-dated transactions change
        EXECUTE format('GRANT INSERT ON customers, accounts, transactions, payments TO %I', r);
        EXECUTE format('GRANT INSERT, UPDATE ON daily_balances TO %I', r);
    END LOOP;
END $$;

-- pde_app: the officers' and administrators' writes (predelinquency.operations) and model promotion.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_app') THEN
        RETURN;
    END IF;
    GRANT INSERT, UPDATE ON users, api_keys, interventions, customer_assignments TO pde_app;
    GRANT INSERT ON customer_snoozes, intervention_outcomes, model_promotions TO pde_app;
    GRANT UPDATE (status) ON model_versions TO pde_app;
    -- operations lock the customer's row (SELECT ... FOR UPDATE), which needs UPDATE on one of its columns
    GRANT UPDATE (is_active) ON customers TO pde_app;
END $$;

-- pde_jobs: the nightly (rollup, risk_scores replaced per as_of, run records) and training (a new version).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_jobs') THEN
        RETURN;
    END IF;
    GRANT INSERT, DELETE ON risk_scores TO pde_jobs;
    GRANT INSERT, UPDATE ON batch_runs TO pde_jobs;
    GRANT UPDATE ON data_versions TO pde_jobs;  -- a backfill marks later stored scores stale
    GRANT INSERT ON model_versions TO pde_jobs;
END $$;

-- Storage ages count from the bank's business date, not the server's clock. TimescaleDB's own policies (sql/014)
-- age chunks by now(): on a bank whose business date lags the clock (a replay of history, a feed days late, the
-- simulated demo) they compress the chunks its nightly still reads, and retention could drop them. One job does
-- both instead, once a day, with the ages in its config; pde_storage_policies (re)sets it from settings.storage.
-- Without TimescaleDB nothing changes (native partitions keep everything).

CREATE PROCEDURE pde_storage_job(job_id integer, config jsonb) LANGUAGE plpgsql AS $$
DECLARE
    today date := pde_business_date();
    tbl text;
    cutoff date;
    dropped date;
    chunk regclass;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['transactions', 'daily_balances', 'risk_scores'] LOOP
        cutoff := today - (config ->> CASE WHEN tbl = 'risk_scores' THEN 'scores_days' ELSE 'history_days' END)::integer;
        dropped := today - (config ->> 'retention_days')::integer;  -- NULL: keep everything
        FOR chunk IN SELECT c FROM show_chunks(tbl::regclass, older_than => cutoff) c LOOP
            PERFORM compress_chunk(chunk, if_not_compressed => true);
            COMMIT;  -- one chunk at a time, as TimescaleDB's own policy does: short locks, progress kept
        END LOOP;
        IF dropped IS NOT NULL THEN
            PERFORM drop_chunks(tbl::regclass, older_than => dropped);
            COMMIT;
        END IF;
    END LOOP;
END $$;

-- (Re)sets the storage job: chunks of transactions and daily_balances older than history_days before the business
-- date, of risk_scores older than scores_days, are compressed; with retention_days, chunks older than that are
-- dropped. Replaces sql/014's version, which set TimescaleDB's clock-aged policies (removed here).
CREATE OR REPLACE FUNCTION pde_storage_policies(history_days integer, scores_days integer, retention_days integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl text;
    cfg jsonb := jsonb_build_object('history_days', history_days, 'scores_days', scores_days,
                                    'retention_days', retention_days);
    job integer;
BEGIN
    IF NOT pde_timescale_active() THEN
        RETURN;
    END IF;
    FOREACH tbl IN ARRAY ARRAY['transactions', 'daily_balances', 'risk_scores'] LOOP
        PERFORM remove_compression_policy(tbl, if_exists => true);
        PERFORM remove_retention_policy(tbl, if_exists => true);
    END LOOP;
    SELECT j.job_id INTO job FROM timescaledb_information.jobs j WHERE j.proc_name = 'pde_storage_job';
    IF job IS NULL THEN
        PERFORM add_job('pde_storage_job', '1 day', config => cfg);
    ELSIF (SELECT j.config FROM timescaledb_information.jobs j WHERE j.job_id = job) IS DISTINCT FROM cfg THEN
        PERFORM alter_job(job, config => cfg);  -- every `pde db init` calls this: an unchanged job is left alone
    END IF;
END $$;

SELECT pde_storage_policies(120, 90, NULL);

-- Storage on TimescaleDB: compressed chunks for the old part of the time tables, optional retention, and no
-- duplicate time index. Without the extension (native partitions) this migration changes nothing.
-- The ages come from settings.storage: `pde db init` calls pde_storage_policies with them after migrating.

-- create_hypertable made a (time DESC) index on each table. risk_scores' primary key starts with as_of and
-- serves every read by day, so its copy only costs writes; transactions_ts_idx (the rollup's read of a range of
-- days) and daily_balances_day_idx (the latest rolled-up day) are used and stay (bench/bench_timescale.py).
DO $$
BEGIN
    IF pde_timescale_active() THEN
        DROP INDEX IF EXISTS risk_scores_as_of_idx;
        -- a customer's rows together, in time order: a compressed batch is one customer's stretch of history,
        -- which is how features, rollups and the Deep Dive read it
        ALTER TABLE transactions SET (timescaledb.compress, timescaledb.compress_segmentby = 'customer_id',
                                      timescaledb.compress_orderby = 'ts DESC, txn_id');
        -- a customer has at most a chunk's 30 days: batches of several customers in customer order compress far
        -- better than one customer each, and reads of a customer or a shard's id range skip the other batches
        ALTER TABLE daily_balances SET (timescaledb.compress, timescaledb.compress_segmentby = '',
                                        timescaledb.compress_orderby = 'customer_id, day DESC');
        -- a customer has only a score a night per model in a chunk: batches of one customer would be too short
        -- to compress, so a model's scores are batched in customer order (the Deep Dive's reads of one customer
        -- skip the other batches by their customer_id range)
        ALTER TABLE risk_scores SET (timescaledb.compress, timescaledb.compress_segmentby = 'model_version',
                                     timescaledb.compress_orderby = 'customer_id, as_of DESC');
    END IF;
END $$;

-- (Re)sets the compression and retention policies: chunks of transactions and daily_balances older than
-- history_days, of risk_scores older than scores_days, are compressed; with retention_days, chunks older than
-- that are dropped. No-op without TimescaleDB (native partitions keep everything).
CREATE FUNCTION pde_storage_policies(history_days integer, scores_days integer, retention_days integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl text;
    compress interval;
BEGIN
    IF NOT pde_timescale_active() THEN
        RETURN;
    END IF;
    FOREACH tbl IN ARRAY ARRAY['transactions', 'daily_balances', 'risk_scores'] LOOP
        compress := make_interval(days => CASE WHEN tbl = 'risk_scores' THEN scores_days ELSE history_days END);
        -- replaced only when it differs: every `pde db init` calls this
        IF NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'
                       AND hypertable_name = tbl AND config ->> 'compress_after' = compress::text) THEN
            PERFORM remove_compression_policy(tbl, if_exists => true);
            PERFORM add_compression_policy(tbl, compress_after => compress);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'
                       AND hypertable_name = tbl AND config ->> 'drop_after' = make_interval(days => retention_days)::text)
           OR retention_days IS NULL THEN
            PERFORM remove_retention_policy(tbl, if_exists => true);
            IF retention_days IS NOT NULL THEN
                PERFORM add_retention_policy(tbl, drop_after => make_interval(days => retention_days));
            END IF;
        END IF;
    END LOOP;
END $$;

SELECT pde_storage_policies(120, 90, NULL);

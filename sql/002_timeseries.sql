-- Time-series tables: TimescaleDB hypertables when the extension can be created, otherwise natively
-- range-partitioned tables (monthly partitions made on demand by pde_ensure_partitions). Code never
-- depends on which: it calls pde_ensure_partitions before loading a date range; with TimescaleDB that
-- is a no-op because hypertables make their own chunks.

-- Installed but not preloaded, CREATE EXTENSION ends the session (an EXCEPTION block cannot catch that), so
-- it is only tried when the server has the files and preloads the library; `pde db status` says why not.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND 'timescaledb' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
    THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'timescaledb not available (%); using native partitioning', SQLERRM;
        END;
    END IF;
END $$;

CREATE FUNCTION pde_timescale_active() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

-- Creates the table from its column list either as a hypertable or as a range-partitioned table.
CREATE FUNCTION pde_create_time_table(tbl text, columns text, time_col text, chunk interval)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF pde_timescale_active() THEN
        EXECUTE format('CREATE TABLE %I (%s)', tbl, columns);
        EXECUTE format('SELECT create_hypertable(%L, %L, chunk_time_interval => %L::interval)',
                       tbl, time_col, chunk);
    ELSE
        EXECUTE format('CREATE TABLE %I (%s) PARTITION BY RANGE (%I)', tbl, columns, time_col);
        -- catches rows outside the monthly partitions rather than failing a load
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
    END IF;
END $$;

-- Makes sure monthly partitions cover [lo, hi]. No-op for hypertables and non-partitioned tables.
CREATE FUNCTION pde_ensure_partitions(tbl text, lo date, hi date)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', lo)::date;
    part text;
BEGIN
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

-- Raw card, ATM, transfer and direct-debit transactions. amount > 0 is money in, < 0 money out.
-- No foreign key to customers: tens of millions of rows are bulk-loaded and validated at ingest.
SELECT pde_create_time_table('transactions', $cols$
    txn_id       bigint NOT NULL,
    customer_id  bigint NOT NULL,
    account_id   bigint NOT NULL,
    ts           timestamptz NOT NULL,
    amount       numeric(12, 2) NOT NULL,
    category     text NOT NULL CHECK (category IN (
                 'salary', 'transfer_in', 'lending_app_credit',
                 'groceries', 'utilities', 'rent', 'transport', 'health',
                 'dining', 'entertainment', 'shopping', 'travel', 'subscriptions',
                 'atm_withdrawal', 'gambling', 'lending_app_repayment',
                 'loan_instalment', 'card_repayment', 'savings_transfer', 'transfer_out')),
    channel      text NOT NULL CHECK (channel IN ('card', 'atm', 'online', 'transfer', 'direct_debit', 'branch')),
    status       text NOT NULL DEFAULT 'posted' CHECK (status IN ('posted', 'failed')),
    PRIMARY KEY (txn_id, ts)
$cols$, 'ts', '7 days');
CREATE INDEX transactions_customer_ts_idx ON transactions (customer_id, ts);

-- One row per customer per day: end-of-day balances and flows by category. Features read this,
-- not raw transactions. Money out is stored as a positive amount.
SELECT pde_create_time_table('daily_balances', $cols$
    customer_id        bigint NOT NULL,
    day                date NOT NULL,
    balance            double precision NOT NULL,   -- current account, end of day
    savings_balance    double precision NOT NULL,   -- savings account, end of day
    inflow             double precision NOT NULL,
    outflow            double precision NOT NULL,
    salary_in          double precision NOT NULL,
    transfer_in        double precision NOT NULL,
    lending_app_in     double precision NOT NULL,
    essential_out      double precision NOT NULL,   -- groceries, utilities, rent, transport, health
    discretionary_out  double precision NOT NULL,   -- dining, entertainment, shopping, travel, subscriptions
    utility_out        double precision NOT NULL,
    atm_out            double precision NOT NULL,
    gambling_out       double precision NOT NULL,
    lending_app_out    double precision NOT NULL,
    debt_service_out   double precision NOT NULL,   -- loan instalments and card repayments
    savings_out        double precision NOT NULL,   -- net transfer current -> savings (negative: drawdown)
    txn_count          smallint NOT NULL,
    card_count         smallint NOT NULL,
    online_count       smallint NOT NULL,
    atm_count          smallint NOT NULL,
    gambling_count     smallint NOT NULL,
    failed_debits      smallint NOT NULL,
    PRIMARY KEY (customer_id, day)
$cols$, 'day', '30 days');

-- One row per customer per nightly run: the scored, explained, prioritised worklist.
SELECT pde_create_time_table('risk_scores', $cols$
    as_of               date NOT NULL,
    customer_id         bigint NOT NULL,
    model_version       text NOT NULL,
    batch_run_id        bigint,
    pd                  double precision NOT NULL CHECK (pd BETWEEN 0 AND 1),
    score               smallint NOT NULL CHECK (score BETWEEN 300 AND 900),
    rating_band         text NOT NULL,
    tier                text NOT NULL CHECK (tier IN ('Low', 'Medium', 'High', 'Critical')),
    model_tier          text NOT NULL CHECK (model_tier IN ('Low', 'Medium', 'High', 'Critical')),
    prev_pd             double precision,
    prev_tier           text,
    score_change        smallint,
    reasons             jsonb NOT NULL,           -- [{code, feature, family, value, contribution, text}] top 3
    exposure            double precision NOT NULL CHECK (exposure >= 0),
    expected_loss       double precision NOT NULL CHECK (expected_loss >= 0),
    recommended_action  text NOT NULL CHECK (recommended_action IN
                        ('none', 'soft_reminder', 'agent_call', 'restructuring_offer')),
    expected_benefit    double precision NOT NULL,
    urgency             smallint NOT NULL CHECK (urgency BETWEEN 1 AND 4),  -- 1: act within days ... 4: none
    policy_rules        text[] NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (as_of, model_version, customer_id)
$cols$, 'as_of', '30 days');
CREATE INDEX risk_scores_customer_idx ON risk_scores (customer_id, as_of DESC);
CREATE INDEX risk_scores_queue_idx ON risk_scores (as_of, urgency, pd DESC);

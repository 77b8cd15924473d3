-- Close the loop, part 2: learned treatment effects (uplift models), next-best action within capacity, and
-- the policy backtest.

-- Uplift model versions: what each contact type is expected to prevent, per customer, learned from the
-- contacted and held-out arms of settled plans (model/uplift/). Registered and promoted like the PD model,
-- with their own champion: the nightly reads the PD champion and the uplift champion.
CREATE TABLE uplift_versions (
    version            text PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    status             text NOT NULL CHECK (status IN ('champion', 'challenger', 'retired')),
    artifact_path      text NOT NULL,
    trained_by         text NOT NULL,
    pd_model_version   text REFERENCES model_versions (version) ON DELETE SET NULL,  -- the PD its offsets came from
    trained_from       date,                -- first and last business date of the plan rows it learned from
    trained_until      date,
    outcomes           integer NOT NULL DEFAULT 0 CHECK (outcomes >= 0),  -- settled plan rows it learned from
    params             jsonb NOT NULL DEFAULT '{}',
    metrics            jsonb NOT NULL DEFAULT '{}'   -- held-out Qini, uplift at k, shrinkage weights, truth
);
CREATE UNIQUE INDEX uplift_versions_one_champion ON uplift_versions ((true)) WHERE status = 'champion';

CREATE TABLE uplift_promotions (
    promotion_id        bigserial PRIMARY KEY,
    version             text NOT NULL REFERENCES uplift_versions,
    previous_champion   text REFERENCES uplift_versions,
    promoted_by         text NOT NULL,
    promoted_at         timestamptz NOT NULL DEFAULT now()
);

-- the recommended action's expected fall in the customer's chance of missing (P(miss) - P(miss | contacted))
ALTER TABLE risk_scores ADD COLUMN IF NOT EXISTS uplift double precision;
-- every configured action's expected fall in P(miss), {action: uplift}, where some action is worth its cost (else
-- NULL): the plan takes the next-best action when the best one's channel is full, or explores another
ALTER TABLE risk_scores ADD COLUMN IF NOT EXISTS action_uplift jsonb;

-- each planned row: the expected fall in P(miss), the action's cost and channel, and how the action was chosen
-- (the policy's best, or a random one of the exploration share, so every action is learned across the book)
ALTER TABLE contact_plan ADD COLUMN uplift double precision;
ALTER TABLE contact_plan ADD COLUMN action_cost double precision;
ALTER TABLE contact_plan ADD COLUMN channel text;
ALTER TABLE contact_plan ADD COLUMN assignment text NOT NULL DEFAULT 'policy'
    CHECK (assignment IN ('policy', 'explore'));
ALTER TABLE contact_plan ADD COLUMN uplift_version text;

-- `pde backtest policy`: each run's figures per policy (loop/backtest.py); the last one is shown on the pages
CREATE TABLE policy_backtests (
    backtest_id      bigserial PRIMARY KEY,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    business_date    date NOT NULL,          -- the bank's business date the backtest started from
    days             integer NOT NULL CHECK (days >= 1),
    capacity         integer NOT NULL CHECK (capacity >= 1),
    model_version    text,
    uplift_version   text,
    result           jsonb NOT NULL
);

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT SELECT ON uplift_versions, uplift_promotions, policy_backtests TO %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_app') THEN
        GRANT UPDATE (status) ON uplift_versions TO pde_app;   -- a manager's promotion
        GRANT INSERT ON uplift_promotions TO pde_app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_jobs') THEN
        GRANT INSERT ON uplift_versions, policy_backtests TO pde_jobs;
        GRANT UPDATE (status) ON uplift_versions TO pde_jobs;  -- the first version becomes champion
        GRANT INSERT ON uplift_promotions TO pde_jobs;
    END IF;
END $$;

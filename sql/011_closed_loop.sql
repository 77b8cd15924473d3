-- Closing the loop: the business date, the nightly's contact plan with its randomised holdout, outcomes
-- settled from payments, officers' contact results, and (synthetic banks only) the generator's state and
-- the potential outcomes that are the ground truth of uplift.

-- The engine's "today": the day after the latest data day. Moved forward by whoever adds data days
-- (generation, `pde advance`, the nightly's rollup); on a live bank it is the calendar's today.
CREATE TABLE business_calendar (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    business_date  date NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO business_calendar (business_date)
SELECT max(day) + 1 FROM daily_balances HAVING max(day) IS NOT NULL;

CREATE FUNCTION pde_business_date() RETURNS date LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT business_date FROM business_calendar), current_date)
$$;
-- the business date at the wall clock's time of day (UTC): what SLAs and cool-downs age against
CREATE FUNCTION pde_business_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT (pde_business_date() + (now() AT TIME ZONE 'UTC')::time) AT TIME ZONE 'UTC'
$$;
-- only ever forward; a reset of the bank empties the table (simulate/load.py RESET_TABLES)
CREATE FUNCTION pde_move_business_date(d date) RETURNS date LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO business_calendar (business_date) VALUES (d)
    ON CONFLICT (only_row) DO UPDATE
        SET business_date = greatest(business_calendar.business_date, EXCLUDED.business_date), updated_at = now()
    RETURNING business_date
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION pde_move_business_date(date) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION pde_move_business_date(date) FROM PUBLIC;

-- Interventions carry the business date they were made on (created_at stays the wall clock, for audit),
-- and the outcome the nightly settles from the payments that follow.
ALTER TABLE interventions
    ADD COLUMN business_date     date,
    ADD COLUMN outcome_due_date  date,          -- the next instalment due in the outcome window
    ADD COLUMN payment_outcome   text CHECK (payment_outcome IN ('paid', 'late', 'missed', 'no_instalment')),
    ADD COLUMN settled_on        date;          -- the business date it was settled
UPDATE interventions SET business_date = coalesce(risk_as_of, created_at::date);
ALTER TABLE interventions ALTER COLUMN business_date SET NOT NULL,
                          ALTER COLUMN business_date SET DEFAULT pde_business_date();
CREATE INDEX interventions_business_date_idx ON interventions (business_date);
CREATE INDEX interventions_unsettled_idx ON interventions (business_date)
    WHERE settled_on IS NULL AND status <> 'cancelled';

-- What officers record is the contact's result; whether a miss was prevented is measured, never recorded.
ALTER TABLE intervention_outcomes DROP CONSTRAINT IF EXISTS intervention_outcomes_outcome_check;
UPDATE intervention_outcomes SET outcome = CASE outcome
    WHEN 'paid' THEN 'reached' WHEN 'restructured' THEN 'reached' WHEN 'defaulted' THEN 'reached'
    WHEN 'no_response' THEN 'no_answer' ELSE outcome END;
ALTER TABLE intervention_outcomes
    ADD CONSTRAINT intervention_outcomes_outcome_check
        CHECK (outcome IN ('reached', 'no_answer', 'promise_to_pay', 'refused')),
    DROP COLUMN prevented_default,
    DROP COLUMN amount_recovered;

-- The nightly's plan for a business date: the customers it would contact, each either contacted or held
-- out at random (stratified by recommended action and tier). A customer stays in the arm for the outcome
-- window. A manager may release a held-out customer for contact (then excluded from measurement).
CREATE TABLE contact_plan (
    business_date       date NOT NULL,
    customer_id         bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    arm                 text NOT NULL CHECK (arm IN ('contact', 'holdout')),
    rank                integer NOT NULL CHECK (rank >= 1),   -- position in the day's ranked population
    recommended_action  text NOT NULL,
    tier                text NOT NULL,
    pd                  double precision NOT NULL CHECK (pd BETWEEN 0 AND 1),
    exposure            double precision NOT NULL,
    expected_benefit    double precision NOT NULL,
    model_version       text NOT NULL,
    policy_version      text NOT NULL,
    run_id              bigint,
    released_at         timestamptz,
    released_by         text,
    release_reason      text CHECK (release_reason IS NULL OR length(trim(release_reason)) BETWEEN 1 AND 2000),
    outcome_due_date    date,
    payment_outcome     text CHECK (payment_outcome IN ('paid', 'late', 'missed', 'no_instalment')),
    settled_on          date,
    PRIMARY KEY (business_date, customer_id),
    CHECK ((released_at IS NULL) = (released_by IS NULL)),
    CHECK (released_at IS NULL OR arm = 'holdout')
);
CREATE INDEX contact_plan_customer_idx ON contact_plan (customer_id, business_date DESC);
CREATE INDEX contact_plan_unsettled_idx ON contact_plan (business_date) WHERE settled_on IS NULL;

-- Operational settings managers change at run time (audited); config/settings.yaml holds the defaults.
CREATE TABLE operations_overrides (
    key         text PRIMARY KEY CHECK (key IN ('holdout_share')),
    value       jsonb NOT NULL,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- Synthetic banks only. The generator's hidden state per chunk of customers (traits, latent stress,
-- balances, money movements already scheduled), so `pde advance` continues the same bank.
CREATE TABLE simulation_state (
    chunk           integer PRIMARY KEY CHECK (chunk >= 0),
    first_customer  bigint NOT NULL,
    customers       integer NOT NULL CHECK (customers > 0),
    last_day        date NOT NULL,
    state           bytea NOT NULL
);
CREATE TABLE simulation_bank (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seed        bigint NOT NULL,
    intercept   double precision NOT NULL,
    start_date  date NOT NULL,
    last_day    date NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}'
);
-- The ground truth of uplift, exactly as labels.true_pd is of risk: for a customer eligible for contact on
-- a business date, the next instalment due and whether it is missed with no contact and with each action
-- (probabilities and the realised draw, the same draw for all). Never a feature; evaluation only.
CREATE TABLE simulated_outcomes (
    customer_id    bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    eligible_on    date NOT NULL,
    due_date       date NOT NULL,
    p_none         double precision NOT NULL CHECK (p_none BETWEEN 0 AND 1),
    p_action       jsonb NOT NULL,       -- {action: P(miss) if contacted with it on eligible_on}
    missed_none    boolean NOT NULL,
    missed_action  jsonb NOT NULL,       -- {action: missed if contacted with it}
    PRIMARY KEY (customer_id, eligible_on)
);
CREATE INDEX simulated_outcomes_eligible_idx ON simulated_outcomes (eligible_on);

ALTER TABLE batch_runs DROP CONSTRAINT IF EXISTS batch_runs_kind_check;
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_kind_check
    CHECK (kind IN ('generate', 'train', 'nightly', 'ingest', 'rollup', 'advance'));

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION pde_move_business_date(date) TO %I', r);
            EXECUTE format('GRANT SELECT ON business_calendar, contact_plan, operations_overrides, simulation_state, '
                           'simulation_bank, simulated_outcomes TO %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_app') THEN
        -- a manager's release of a held-out customer, and the holdout share
        GRANT UPDATE (released_at, released_by, release_reason) ON contact_plan TO pde_app;
        GRANT INSERT, UPDATE ON operations_overrides TO pde_app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_jobs') THEN
        -- the nightly writes the day's plan (replaced when the day is re-run) and settles outcomes
        GRANT INSERT, DELETE ON contact_plan TO pde_jobs;
        GRANT UPDATE (outcome_due_date, payment_outcome, settled_on) ON contact_plan TO pde_jobs;
        GRANT UPDATE (outcome_due_date, payment_outcome, settled_on) ON interventions TO pde_jobs;
    END IF;
END $$;

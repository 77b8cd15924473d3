-- Core reference, operational and model tables. Time-series tables live in 002.

CREATE TABLE users (
    user_id        bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{2,64}$'),
    full_name      text,
    role           text NOT NULL CHECK (role IN ('officer', 'manager', 'admin')),
    password_hash  text NOT NULL,
    is_active      boolean NOT NULL DEFAULT true,
    failed_logins  integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id      bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    prefix      text NOT NULL UNIQUE,          -- first characters, shown in listings
    key_hash    text NOT NULL,                 -- sha256 of the whole key; the key itself is never stored
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE customers (
    customer_id      bigint PRIMARY KEY,
    full_name        text NOT NULL,
    age              smallint NOT NULL CHECK (age BETWEEN 18 AND 100),
    employment_type  text NOT NULL CHECK (employment_type IN
                     ('salaried', 'self_employed', 'contract', 'retired', 'unemployed')),
    segment          text NOT NULL CHECK (segment IN
                     ('mass', 'mass_affluent', 'affluent', 'young_professional', 'senior')),
    region           text NOT NULL,
    monthly_income   numeric(12, 2) NOT NULL CHECK (monthly_income >= 0),
    salary_day       smallint CHECK (salary_day BETWEEN 1 AND 28),
    tenure_months    integer NOT NULL CHECK (tenure_months >= 0),
    is_active        boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_segment_idx ON customers (segment);
CREATE INDEX customers_name_idx ON customers (lower(full_name) text_pattern_ops);

CREATE TABLE accounts (
    account_id          bigint PRIMARY KEY,
    customer_id         bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    product_type        text NOT NULL CHECK (product_type IN
                        ('current', 'savings', 'credit_card', 'personal_loan')),
    credit_limit        numeric(14, 2) CHECK (credit_limit >= 0),
    opening_balance     numeric(14, 2) NOT NULL DEFAULT 0,  -- balance on the first simulated/ingested day
    outstanding         numeric(14, 2) NOT NULL DEFAULT 0 CHECK (outstanding >= 0),  -- exposure for credit products
    due_day             smallint CHECK (due_day BETWEEN 1 AND 28),
    monthly_instalment  numeric(12, 2) CHECK (monthly_instalment >= 0),
    opened_on           date NOT NULL,
    -- credit products have a due day; deposit accounts do not
    CHECK ((product_type IN ('credit_card', 'personal_loan')) = (due_day IS NOT NULL))
);
CREATE INDEX accounts_customer_idx ON accounts (customer_id);

CREATE TABLE payments (
    payment_id   bigint PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    account_id   bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    due_date     date NOT NULL,
    amount_due   numeric(12, 2) NOT NULL CHECK (amount_due >= 0),
    paid_date    date,
    amount_paid  numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    days_late    integer CHECK (days_late >= 0),
    -- paid: on time; late: within the grace period; missed: not paid within grace; pending: not yet due
    status       text NOT NULL CHECK (status IN ('paid', 'late', 'missed', 'pending')),
    CHECK (status <> 'paid' OR paid_date <= due_date),
    CHECK (status NOT IN ('paid', 'late') OR paid_date IS NOT NULL)
);
CREATE INDEX payments_customer_due_idx ON payments (customer_id, due_date);
CREATE INDEX payments_due_idx ON payments (due_date);

-- The generator's own probability of a missed payment in the 30 days after as_of.
-- Synthetic data only; never a feature: it measures how close a model comes to the best possible.
CREATE TABLE labels (
    customer_id  bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    as_of        date NOT NULL,
    true_pd      double precision NOT NULL CHECK (true_pd BETWEEN 0 AND 1),
    PRIMARY KEY (customer_id, as_of)
);
CREATE INDEX labels_as_of_idx ON labels (as_of);

CREATE TABLE model_versions (
    version        text PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL CHECK (kind IN ('behavioural', 'tabular')),
    status         text NOT NULL CHECK (status IN ('champion', 'challenger', 'retired')),
    artifact_path  text NOT NULL,
    trained_by     text NOT NULL,
    params         jsonb NOT NULL DEFAULT '{}',
    metrics        jsonb NOT NULL DEFAULT '{}',
    feature_names  jsonb NOT NULL DEFAULT '[]',
    baseline       jsonb NOT NULL DEFAULT '{}'   -- score and feature distributions for PSI
);
-- at most one champion at a time
CREATE UNIQUE INDEX model_versions_one_champion ON model_versions ((true)) WHERE status = 'champion';

CREATE TABLE model_promotions (
    promotion_id        bigserial PRIMARY KEY,
    version             text NOT NULL REFERENCES model_versions,
    previous_champion   text REFERENCES model_versions,
    promoted_by         text NOT NULL,
    promoted_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE batch_runs (
    run_id        bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('generate', 'train', 'nightly', 'ingest', 'rollup')),
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    triggered_by  text NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}',
    progress      double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    message       text,
    stages        jsonb NOT NULL DEFAULT '[]',  -- [{name, seconds, rows}]
    metrics       jsonb NOT NULL DEFAULT '{}',  -- e.g. PSI of score and features
    log           text NOT NULL DEFAULT '',
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX batch_runs_kind_idx ON batch_runs (kind, created_at DESC);
-- one running job of each kind at a time
CREATE UNIQUE INDEX batch_runs_one_running ON batch_runs (kind) WHERE status IN ('queued', 'running');

CREATE TABLE interventions (
    intervention_id    bigserial PRIMARY KEY,
    customer_id        bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    intervention_type  text NOT NULL CHECK (intervention_type IN
                       ('soft_reminder', 'agent_call', 'restructuring_offer', 'payment_holiday',
                        'financial_counselling')),
    channel            text NOT NULL CHECK (channel IN ('sms', 'email', 'phone', 'branch', 'app')),
    status             text NOT NULL CHECK (status IN ('open', 'in_progress', 'completed', 'cancelled')),
    risk_as_of         date,              -- the score the officer acted on
    pd_at_action       double precision CHECK (pd_at_action BETWEEN 0 AND 1),
    expected_benefit   double precision,
    assigned_to        bigint REFERENCES users,
    created_by         bigint NOT NULL REFERENCES users,
    created_at         timestamptz NOT NULL DEFAULT now(),
    due_at             timestamptz NOT NULL,   -- SLA
    updated_at         timestamptz NOT NULL DEFAULT now(),
    notes              text,
    row_version        integer NOT NULL DEFAULT 1  -- optimistic concurrency
);
CREATE INDEX interventions_customer_idx ON interventions (customer_id, created_at DESC);
CREATE INDEX interventions_status_idx ON interventions (status, due_at);
CREATE INDEX interventions_assignee_idx ON interventions (assigned_to) WHERE status IN ('open', 'in_progress');

CREATE TABLE customer_assignments (
    assignment_id  bigserial PRIMARY KEY,
    customer_id    bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    officer_id     bigint NOT NULL REFERENCES users,
    assigned_by    bigint NOT NULL REFERENCES users,
    assigned_at    timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    reason         text
);
-- one current assignment per customer
CREATE UNIQUE INDEX customer_assignments_current ON customer_assignments (customer_id) WHERE ended_at IS NULL;
CREATE INDEX customer_assignments_officer_idx ON customer_assignments (officer_id) WHERE ended_at IS NULL;

CREATE TABLE customer_snoozes (
    snooze_id    bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    until        date NOT NULL,
    reason       text NOT NULL CHECK (length(trim(reason)) > 0),
    created_by   bigint NOT NULL REFERENCES users,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_snoozes_customer_idx ON customer_snoozes (customer_id, until DESC);

CREATE TABLE intervention_outcomes (
    outcome_id        bigserial PRIMARY KEY,
    intervention_id   bigint NOT NULL UNIQUE REFERENCES interventions ON DELETE CASCADE,
    outcome           text NOT NULL CHECK (outcome IN
                      ('paid', 'promise_to_pay', 'restructured', 'no_response', 'refused', 'defaulted')),
    responded_at      timestamptz NOT NULL,
    prevented_default boolean NOT NULL,
    amount_recovered  numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount_recovered >= 0),
    recorded_by       bigint NOT NULL REFERENCES users,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    notes             text
);

CREATE TABLE action_audit_log (
    audit_id    bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   text,
    before      jsonb,
    after       jsonb,
    details     jsonb
);
CREATE INDEX action_audit_log_at_idx ON action_audit_log (at DESC);
CREATE INDEX action_audit_log_entity_idx ON action_audit_log (entity, entity_id);

-- Append-only is enforced here, not trusted to application code.
CREATE FUNCTION pde_audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'action_audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER action_audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON action_audit_log
    FOR EACH ROW EXECUTE FUNCTION pde_audit_log_immutable();
CREATE TRIGGER action_audit_log_no_truncate
    BEFORE TRUNCATE ON action_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pde_audit_log_immutable();

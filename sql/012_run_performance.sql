-- Performance before the labels arrive: per nightly scoring (as_of, model_version) the AUC and default rate the
-- calibrated PDs expect (confidence-based performance estimation), the run's fairness figures and drift, and,
-- once the data reach as_of + outcome_days + grace_days, the realised figures from the labels (set once).
CREATE TABLE run_performance (
    as_of                  date NOT NULL,
    model_version          text NOT NULL REFERENCES model_versions (version) ON DELETE CASCADE,
    run_id                 bigint,                        -- the batch run (nightly, or the advance it ran in)
    rows                   integer NOT NULL CHECK (rows >= 0),      -- customers scored
    at_risk_rows           integer NOT NULL CHECK (at_risk_rows >= 0),  -- of them, an instalment scheduled in the window
    expected_auc           double precision CHECK (expected_auc BETWEEN 0 AND 1),
    expected_auc_se        double precision CHECK (expected_auc_se >= 0),
    expected_default_rate  double precision CHECK (expected_default_rate BETWEEN 0 AND 1),
    psi                    jsonb,                         -- {score, features: {name: psi}} of the run
    fairness               jsonb,                         -- model.fairness.fairness_figures, labels unknown
    recorded_at            timestamptz NOT NULL DEFAULT now(),
    realised_on            date,                          -- the business date the labels were read
    labelled_rows          integer CHECK (labelled_rows >= 0),
    realised_auc           double precision CHECK (realised_auc BETWEEN 0 AND 1),
    realised_default_rate  double precision CHECK (realised_default_rate BETWEEN 0 AND 1),
    realised_calibration   jsonb,                         -- [{decile, rows, mean_pd, observed_rate}]
    realised_fairness      jsonb,                         -- the fairness figures again, with the labels
    PRIMARY KEY (as_of, model_version),
    CHECK ((realised_on IS NULL) = (labelled_rows IS NULL))
);
CREATE INDEX run_performance_open_idx ON run_performance (as_of) WHERE realised_on IS NULL;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pde_app', 'pde_jobs'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('GRANT SELECT ON run_performance TO %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pde_jobs') THEN
        GRANT INSERT, UPDATE ON run_performance TO pde_jobs;
    END IF;
END $$;

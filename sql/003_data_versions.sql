-- A write counter per table that features read. The nightly stores the sum it scored against on each row; while
-- the sum is unchanged a stored score is exactly what a fresh computation would return, so the API can serve it
-- (scoring/stored.py). Statement triggers, not row triggers: a COPY of millions of rows bumps once.
-- The row lock the UPDATE takes serialises writers of the same table until they commit, which is what makes
-- the count safe to read: a writer still in flight bumps it again only once it is visible.
CREATE TABLE data_versions (
    table_name  text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0
);
-- 'risk_scores' has no trigger: the nightly bumps it when it writes an as_of earlier than the latest one,
-- because that changes the previous score (and so the change and urgency) of the later rows.
INSERT INTO data_versions (table_name)
VALUES ('customers'), ('accounts'), ('payments'), ('daily_balances'), ('risk_scores');

CREATE FUNCTION pde_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE table_name = TG_TABLE_NAME;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'accounts', 'payments', 'daily_balances'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION pde_bump_data_version()', t || '_data_version', t);
    END LOOP;
END $$;

-- data_version: the data_versions sum the score was computed at (NULL: scored before this migration, never reused).
-- last_data_day: the customer's latest day of daily data then; = as_of - 1 means the row is also the score a
-- request without an as_of would compute (the day after the customer's latest data) while nothing changed.
ALTER TABLE risk_scores ADD COLUMN data_version bigint, ADD COLUMN last_data_day date;

-- A hash of every input row a score was computed from (the customer's daily window, customer, account and
-- payment rows). After a write anywhere makes data_versions move on, a request can still reuse the stored row
-- of a customer whose own inputs hash the same (scoring/stored.py). NULL: scored before this migration.
ALTER TABLE risk_scores ADD COLUMN inputs_digest bigint;

-- Stored nightly rows are served only while nothing they were computed from has changed (sql/003); after a
-- write, customers are computed on demand. The per-customer hash of input rows (sql/004) is no longer read.
ALTER TABLE risk_scores DROP COLUMN inputs_digest;

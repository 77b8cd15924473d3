-- A tamper-evident audit trail: every action_audit_log row carries a SHA-256 hash chained to the row before it,
-- computed here in the database so no writer can choose it, and its time from the server's clock, not the
-- caller's. `pde audit verify` recomputes the chain and names the first row that does not match.
--
-- The chain's order is `seq`, given under a transaction-level advisory lock: writers append one at a time, in
-- the order they take the lock (audit_id, drawn before the lock, may interleave).
ALTER TABLE action_audit_log
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN row_hash bytea;

-- The canonical content a row's hash covers: a JSON array of its fields, time in UTC (stable whatever the
-- session's TimeZone), jsonb text (keys in jsonb's own order).
CREATE FUNCTION pde_audit_content(r action_audit_log) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(jsonb_build_array(r.seq, r.audit_id, (r.at AT TIME ZONE 'UTC')::text, r.actor, r.action,
                                        r.entity, r.entity_id, r.before, r.after, r.details)::text, 'UTF8')
$$;

CREATE FUNCTION pde_audit_genesis() RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to('pde action_audit_log', 'UTF8'))
$$;

-- Backfill the rows written before this migration, in the order they were written.
ALTER TABLE action_audit_log DISABLE TRIGGER action_audit_log_no_update_delete;
DO $$
DECLARE
    r action_audit_log;
    prev bytea := pde_audit_genesis();
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM action_audit_log ORDER BY at, audit_id LOOP
        n := n + 1;
        r.seq := n;
        r.prev_hash := prev;
        r.row_hash := sha256(prev || pde_audit_content(r));
        UPDATE action_audit_log SET seq = r.seq, prev_hash = r.prev_hash, row_hash = r.row_hash
            WHERE audit_id = r.audit_id;
        prev := r.row_hash;
    END LOOP;
END $$;
ALTER TABLE action_audit_log ENABLE TRIGGER action_audit_log_no_update_delete;

ALTER TABLE action_audit_log
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN row_hash SET NOT NULL;
CREATE UNIQUE INDEX action_audit_log_seq_idx ON action_audit_log (seq);

CREATE FUNCTION pde_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    -- one writer at a time appends to the chain; held until the writer's transaction ends
    PERFORM pg_advisory_xact_lock(hashtext('pde action_audit_log chain'));
    SELECT seq, row_hash INTO last_seq, last_hash FROM action_audit_log ORDER BY seq DESC LIMIT 1;
    NEW.at := clock_timestamp();
    NEW.seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, pde_audit_genesis());
    NEW.row_hash := sha256(NEW.prev_hash || pde_audit_content(NEW));
    RETURN NEW;
END $$;
CREATE TRIGGER action_audit_log_chain
    BEFORE INSERT ON action_audit_log
    FOR EACH ROW EXECUTE FUNCTION pde_audit_chain();

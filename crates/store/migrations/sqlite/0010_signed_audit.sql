-- Checkpoints and the chain head carry an Ed25519 signature by a key kept outside the
-- database (see crates/store/src/keys.rs), so rewriting the chain needs that key.
ALTER TABLE audit_head ADD COLUMN at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN signing_key TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_checkpoints ADD COLUMN signing_key TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_checkpoints ADD COLUMN signature TEXT NOT NULL DEFAULT '';

-- Entries are appended through this view: each row carries the entry and, where the writer
-- signed one, the signature of the checkpoint at that entry and of the head after it. The
-- trigger inserts the entry (whose own trigger still refuses one that does not follow the
-- head), moves the head with its signature, and records the signed checkpoint, so a batch
-- is still one statement that lands whole or not at all.
DROP TRIGGER audit_chain_moves_head;

CREATE VIEW audit_append AS
SELECT seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason,
       outcome, prev_hash, hash, 0 AS signed_at, '' AS signing_key, '' AS head_signature,
       '' AS checkpoint_signature
FROM audit_log WHERE 0;

CREATE TRIGGER audit_append_entry INSTEAD OF INSERT ON audit_append
BEGIN
    INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id,
                           client, reason, outcome, prev_hash, hash)
    VALUES (NEW.seq, NEW.at, NEW.actor_id, NEW.actor_agency, NEW.action, NEW.record_type,
            NEW.record_id, NEW.client, NEW.reason, NEW.outcome, NEW.prev_hash, NEW.hash);
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash, at = NEW.signed_at,
                          signing_key = NEW.signing_key, signature = NEW.head_signature
    WHERE id = 1;
    INSERT INTO audit_checkpoints (seq, hash, at, signing_key, signature)
    SELECT NEW.seq, NEW.hash, NEW.signed_at, NEW.signing_key, NEW.checkpoint_signature
    WHERE NEW.seq % 1000 = 0;
END;

-- The database itself keeps the audit chain's head: an entry is accepted only if it follows
-- the head (next sequence number, previous entry's hash), and each accepted entry moves the
-- head and, every 1000 entries, records a checkpoint. A writer that remembers the head can
-- then append a batch with one INSERT: if another connection moved the head meanwhile, the
-- statement fails as a whole and nothing is written.
CREATE TRIGGER audit_chain_follows_head BEFORE INSERT ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit chain: entry does not follow the head')
    WHERE NEW.seq <> (SELECT seq FROM audit_head WHERE id = 1) + 1
       OR NEW.prev_hash <> (SELECT hash FROM audit_head WHERE id = 1);
END;

CREATE TRIGGER audit_chain_moves_head AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    INSERT INTO audit_checkpoints (seq, hash, at)
    SELECT NEW.seq, NEW.hash, NEW.at WHERE NEW.seq % 1000 = 0;
END;

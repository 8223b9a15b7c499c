-- Checkpoints and the chain head carry an Ed25519 signature by a key kept outside the
-- database (see crates/store/src/keys.rs), so rewriting the chain needs that key.
ALTER TABLE audit_head
    ADD COLUMN at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN signing_key TEXT NOT NULL DEFAULT '',
    ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_checkpoints
    ADD COLUMN signing_key TEXT NOT NULL DEFAULT '',
    ADD COLUMN signature TEXT NOT NULL DEFAULT '';

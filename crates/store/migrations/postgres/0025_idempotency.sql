-- Idempotency keys of creating API calls: one row per caller and key, claimed before the
-- request runs (status NULL while it runs) and holding the answer once it has, so a retry
-- with the same key and body is answered with the original response. Kept 24 hours.
CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status BIGINT,
    content_type TEXT,
    body BYTEA,
    PRIMARY KEY (caller, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

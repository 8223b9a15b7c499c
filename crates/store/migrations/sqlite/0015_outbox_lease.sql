-- Outbox messages are claimed by one sender at a time: the claimant and the instant its
-- lease ends. A sender that dies leaves an expired lease, and another sender takes the
-- message over.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
CREATE INDEX outbox_pending ON outbox(next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

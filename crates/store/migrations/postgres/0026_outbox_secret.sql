-- A message that carries a live secret (a one-time sign-in link) keeps it apart from the
-- body: the body holds a placeholder and is what anyone reading the outbox sees; the secret
-- is put in only when the message is sent, and cleared once it is sent or given up.
ALTER TABLE outbox ADD COLUMN secret TEXT;

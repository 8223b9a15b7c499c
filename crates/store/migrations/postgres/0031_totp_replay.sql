-- An accepted TOTP code cannot be used again: the time step of the last code accepted for
-- each user is kept, and a code is accepted only for a later step.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

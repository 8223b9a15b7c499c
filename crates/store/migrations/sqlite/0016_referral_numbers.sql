-- Referral numbers on SQLite stay with the per-year counter row: SQLite admits one writer
-- at a time, so the row adds no waiting of its own. Nothing changes in this schema.
SELECT 1;

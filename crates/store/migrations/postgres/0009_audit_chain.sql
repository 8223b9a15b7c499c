-- On SQLite this step makes triggers keep the audit chain's head. PostgreSQL needs none:
-- its writer moves the head with a compare-and-set in the same statement as the insert
-- (see crates/store/src/audit.rs). The step is recorded so both schemas share one numbering.
SELECT 1;

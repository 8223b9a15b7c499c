-- Referral numbers come from a sequence: concurrent referrals no longer queue on one
-- counter row. Numbers continue from the highest one handed out by the counters.
CREATE SEQUENCE referral_numbers;
SELECT setval('referral_numbers', GREATEST(1, (SELECT COALESCE(MAX(last_number), 0) FROM referral_counters)),
              (SELECT COALESCE(MAX(last_number), 0) FROM referral_counters) > 0);

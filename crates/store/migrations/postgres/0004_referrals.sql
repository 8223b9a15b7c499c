-- Referrals from any agency: the person as referred, concerns, consent and safe contact, the
-- triage decision; reference counters per year; and the audited merge history of people.
CREATE TABLE referral_counters (
    year BIGINT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    referrer_actor TEXT NOT NULL,
    referrer_user_id TEXT REFERENCES users(id),
    referrer_agency_id TEXT NOT NULL REFERENCES agencies(id),
    referrer_name TEXT NOT NULL,
    referrer_role TEXT NOT NULL DEFAULT '',
    referrer_email TEXT NOT NULL,
    referrer_phone TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL,
    middle_names TEXT NOT NULL DEFAULT '',
    surname TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    dob TEXT,
    approx_birth_year BIGINT,
    gender TEXT NOT NULL DEFAULT '',
    address_line TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    school TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    concerns TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgency TEXT NOT NULL,
    consent TEXT NOT NULL,
    consent_reason TEXT NOT NULL DEFAULT '',
    safe_contact TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    person_id TEXT REFERENCES people(id),
    decision TEXT,
    decision_reason TEXT NOT NULL DEFAULT '',
    decision_detail TEXT NOT NULL DEFAULT '',
    decision_service_id TEXT NOT NULL DEFAULT '',
    decided_at BIGINT,
    decided_by TEXT
);
CREATE INDEX referrals_referrer ON referrals(referrer_actor, created_at);
CREATE INDEX referrals_queue ON referrals(status, urgency, created_at);
CREATE INDEX referrals_decision ON referrals(decision, person_id);
CREATE INDEX referrals_person ON referrals(person_id);

-- Lets a running person index catch up with people written elsewhere.
CREATE INDEX people_updated ON people(updated_at);

CREATE TABLE person_merges (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    merged_into TEXT NOT NULL REFERENCES people(id),
    reason TEXT NOT NULL,
    merged_at BIGINT NOT NULL,
    merged_by TEXT NOT NULL,
    unmerged_at BIGINT,
    unmerged_by TEXT,
    unmerge_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX person_merges_person ON person_merges(person_id, merged_at);

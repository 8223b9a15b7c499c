-- The person index shared by referrals, cases and panels: one row per real person, with
-- merge links, restriction (named access lists) and safe-contact rules.
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,
    middle_names TEXT NOT NULL DEFAULT '',
    surname TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    dob TEXT,
    approx_birth_year BIGINT,
    gender TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT '',
    address_line TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    school TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    merged_into TEXT REFERENCES people(id),
    restricted BIGINT NOT NULL DEFAULT 0,
    restriction_contact TEXT NOT NULL DEFAULT '',
    address_restricted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX people_surname ON people(surname);
CREATE INDEX people_dob ON people(dob);
CREATE INDEX people_merged ON people(merged_into);

-- Who may see a restricted person's details (restricted = 1), and who may see a
-- restricted address (address_restricted = 1).
CREATE TABLE person_access (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    scope TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (person_id, user_id, scope)
);

-- Safe contact: per channel, whether and when it is safe to contact the person.
CREATE TABLE safe_contact (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    safe BIGINT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (person_id, channel)
);

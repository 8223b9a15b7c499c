-- Cases: the case file (team, chronology, tasks, plan, reviews, documents, closure), risk
-- assessments with their instrument version, service referrals and consortium membership.
-- Lists read the denormalised columns on `cases` (current risk, next task, next review) so a
-- caseload page never scans child tables.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    person_id TEXT NOT NULL REFERENCES people(id),
    referral_id TEXT,
    referrer_id TEXT,
    lead_worker_id TEXT NOT NULL REFERENCES users(id),
    lead_agency_id TEXT NOT NULL REFERENCES agencies(id),
    status TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    closure_reason TEXT NOT NULL DEFAULT '',
    closure_outcomes TEXT NOT NULL DEFAULT '{}',
    restricted BIGINT NOT NULL DEFAULT 0,
    restriction_contact TEXT NOT NULL DEFAULT '',
    risk_level TEXT NOT NULL DEFAULT '',
    risk_instrument TEXT NOT NULL DEFAULT '',
    risk_score BIGINT,
    risk_at BIGINT,
    marac_eligible BIGINT NOT NULL DEFAULT 0,
    next_task_due_at BIGINT,
    next_review_at BIGINT
);
CREATE INDEX cases_agency ON cases(lead_agency_id, status, opened_at);
CREATE INDEX cases_lead ON cases(lead_worker_id, status);
CREATE INDEX cases_person ON cases(person_id);
CREATE INDEX cases_referral ON cases(referral_id);

-- The case team: named workers (member_kind 'user') and agencies (member_kind 'agency').
-- The lead worker is always a 'user' member, so one index answers "my cases".
CREATE TABLE case_team (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    member_kind TEXT NOT NULL,
    member_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (case_id, member_kind, member_id)
);
CREATE INDEX case_team_member ON case_team(member_kind, member_id, case_id);

-- The named access list of a restricted case.
CREATE TABLE case_access (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id),
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_access_user ON case_access(user_id, case_id);

-- Chronology: notes, contacts (street contacts carry a place), events. Append-only.
CREATE TABLE case_entries (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    author_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL DEFAULT '',
    contact_method TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_entries_case ON case_entries(case_id, occurred_at);

CREATE TABLE case_tasks (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    done_at BIGINT,
    done_by TEXT
);
CREATE INDEX case_tasks_case ON case_tasks(case_id, done_at, due_at);
CREATE INDEX case_tasks_owner ON case_tasks(owner_id, done_at, due_at);

CREATE TABLE case_goals (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    goal TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    target_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX case_goals_case ON case_goals(case_id);

CREATE TABLE case_reviews (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    due_at BIGINT NOT NULL,
    held_at BIGINT,
    notes TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL
);
CREATE INDEX case_reviews_case ON case_reviews(case_id, held_at, due_at);

-- Uploaded documents: checked by magic bytes and size, stored as bytes with a SHA-256.
CREATE TABLE case_documents (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL
);
CREATE INDEX case_documents_case ON case_documents(case_id);

-- Risk assessments: the instrument version is kept so an old assessment is read exactly as
-- it was scored.
CREATE TABLE risk_assessments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    instrument TEXT NOT NULL,
    version BIGINT NOT NULL,
    answers TEXT NOT NULL,
    score BIGINT NOT NULL,
    max_score BIGINT NOT NULL,
    computed_level TEXT NOT NULL,
    level TEXT NOT NULL,
    judgement_reason TEXT NOT NULL DEFAULT '',
    marac_eligible BIGINT NOT NULL DEFAULT 0,
    eligibility TEXT NOT NULL DEFAULT 'null',
    assessed_at BIGINT NOT NULL,
    assessed_by TEXT NOT NULL,
    seq BIGINT NOT NULL
);
CREATE INDEX risk_assessments_case ON risk_assessments(case_id, assessed_at);

-- Members of a consortium: a hub agency allocates referrals to its member agencies.
CREATE TABLE consortium_members (
    hub_agency_id TEXT NOT NULL REFERENCES agencies(id),
    member_agency_id TEXT NOT NULL REFERENCES agencies(id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (hub_agency_id, member_agency_id)
);

-- Referrals from a case to a service, received by an agency (or a consortium hub that
-- allocates to a member).
CREATE TABLE service_referrals (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    category TEXT NOT NULL,
    to_agency_id TEXT NOT NULL REFERENCES agencies(id),
    allocated_agency_id TEXT REFERENCES agencies(id),
    allocated_at BIGINT,
    consent TEXT NOT NULL,
    lawful_basis TEXT NOT NULL DEFAULT '',
    share_reason TEXT NOT NULL DEFAULT '',
    sharing_agreement TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    sent_at BIGINT NOT NULL,
    sent_by TEXT NOT NULL,
    responded_at BIGINT,
    started_at BIGINT,
    ended_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX service_referrals_case ON service_referrals(case_id);
CREATE INDEX service_referrals_to ON service_referrals(to_agency_id, status);
CREATE INDEX service_referrals_allocated ON service_referrals(allocated_agency_id, status);

CREATE TABLE service_referral_events (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES service_referrals(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    seq BIGINT NOT NULL
);
CREATE INDEX service_referral_events_ref ON service_referral_events(referral_id, at);

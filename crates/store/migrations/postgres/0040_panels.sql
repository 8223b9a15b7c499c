-- Panels: MARAC, MACE and other multi-agency panels. A panel has member agencies (each with
-- a named point of contact), a chair, a coordinator and a schedule; meetings are scheduled,
-- ad hoc or emergency. Referrals to a panel become panel cases when accepted; each meeting
-- lists agenda items (a person's case, a place or a peer group), member agencies record
-- their research per item, the meeting records attendance, what each agency shared, the
-- risks, minutes and actions, and actions run to completion.
CREATE TABLE panels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    chair_id TEXT NOT NULL REFERENCES users(id),
    coordinator_id TEXT NOT NULL REFERENCES users(id),
    every_weeks BIGINT NOT NULL DEFAULT 2,
    weekday BIGINT NOT NULL DEFAULT 2,
    meeting_time TEXT NOT NULL DEFAULT '10:00',
    anchor_date TEXT NOT NULL,
    minutes_per_case BIGINT NOT NULL DEFAULT 15,
    window_after_secs BIGINT NOT NULL DEFAULT 172800,
    suppress_below BIGINT NOT NULL DEFAULT 5,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE panel_members (
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    contact_id TEXT NOT NULL REFERENCES users(id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (panel_id, agency_id)
);
CREATE INDEX panel_members_agency ON panel_members(agency_id, panel_id);

CREATE TABLE panel_meetings (
    id TEXT PRIMARY KEY,
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    held_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'planned',
    published_at BIGINT,
    window_closes_at BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX panel_meetings_panel ON panel_meetings(panel_id, held_at);

-- A referral to a panel. `person_id` is the person as referred (merges are followed when
-- repeats are looked for); places and peer groups carry a label instead.
CREATE TABLE panel_referrals (
    id TEXT PRIMARY KEY,
    panel_id TEXT NOT NULL REFERENCES panels(id) ON DELETE CASCADE,
    subject_kind TEXT NOT NULL DEFAULT 'person',
    subject_label TEXT NOT NULL DEFAULT '',
    person_id TEXT REFERENCES people(id),
    case_id TEXT REFERENCES cases(id),
    referral_id TEXT REFERENCES referrals(id),
    source TEXT NOT NULL,
    other_area TEXT NOT NULL DEFAULT '',
    referring_agency_id TEXT NOT NULL REFERENCES agencies(id),
    referred_by TEXT NOT NULL,
    referred_at BIGINT NOT NULL,
    risk_level TEXT NOT NULL DEFAULT '',
    eligibility TEXT NOT NULL DEFAULT '{}',
    reason TEXT NOT NULL DEFAULT '',
    children BIGINT NOT NULL DEFAULT 0,
    perpetrator TEXT NOT NULL DEFAULT '',
    is_repeat BIGINT NOT NULL DEFAULT 0,
    previous_referral_id TEXT,
    previous_meeting_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_at BIGINT,
    decision_reason TEXT NOT NULL DEFAULT '',
    closed_at BIGINT,
    closure_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX panel_referrals_panel ON panel_referrals(panel_id, status, referred_at);
CREATE INDEX panel_referrals_person ON panel_referrals(person_id, referred_at);
CREATE INDEX panel_referrals_case ON panel_referrals(case_id);
CREATE UNIQUE INDEX panel_referrals_triage ON panel_referrals(panel_id, referral_id);

CREATE TABLE panel_items (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES panel_meetings(id) ON DELETE CASCADE,
    referral_id TEXT NOT NULL REFERENCES panel_referrals(id),
    position BIGINT NOT NULL,
    minutes_allowed BIGINT NOT NULL,
    is_returning BIGINT NOT NULL DEFAULT 0,
    discussed BIGINT NOT NULL DEFAULT 0,
    risks TEXT NOT NULL DEFAULT '',
    minutes TEXT NOT NULL DEFAULT '',
    no_actions_reason TEXT NOT NULL DEFAULT '',
    UNIQUE (meeting_id, referral_id)
);
CREATE INDEX panel_items_referral ON panel_items(referral_id, meeting_id);

-- What a member agency holds (or "nothing held") about the victim, the alleged perpetrator
-- and the children, per agenda item; `shared` is what the agency said at the meeting.
CREATE TABLE panel_research (
    item_id TEXT NOT NULL REFERENCES panel_items(id) ON DELETE CASCADE,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    subject TEXT NOT NULL,
    holds BIGINT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (item_id, agency_id, subject)
);

CREATE TABLE panel_shared (
    item_id TEXT NOT NULL REFERENCES panel_items(id) ON DELETE CASCADE,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    detail TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (item_id, agency_id)
);

CREATE TABLE panel_attendance (
    meeting_id TEXT NOT NULL REFERENCES panel_meetings(id) ON DELETE CASCADE,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    attendee TEXT NOT NULL DEFAULT '',
    present BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, agency_id)
);

CREATE TABLE panel_actions (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES panel_items(id) ON DELETE CASCADE,
    referral_id TEXT NOT NULL REFERENCES panel_referrals(id),
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    status_reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    changed_at BIGINT,
    changed_by TEXT,
    flagged_at BIGINT
);
CREATE INDEX panel_actions_owner ON panel_actions(owner_id, status, due_at);
CREATE INDEX panel_actions_referral ON panel_actions(referral_id, status);
CREATE INDEX panel_actions_due ON panel_actions(status, due_at);

-- Self-described characteristics of a person, for the panels' quarterly data return: each
-- 'yes', 'no', 'not_known' or 'prefer_not_to_say' ("not known" is not "no").
CREATE TABLE person_characteristics (
    person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    ethnicity TEXT NOT NULL DEFAULT '',
    bme TEXT NOT NULL DEFAULT 'not_known',
    lgbt TEXT NOT NULL DEFAULT 'not_known',
    disabled TEXT NOT NULL DEFAULT 'not_known',
    male TEXT NOT NULL DEFAULT 'not_known',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

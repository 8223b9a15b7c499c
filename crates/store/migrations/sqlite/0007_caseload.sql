-- Caseload lists and their tab counts read every candidate case of a user or a team. Each
-- team row carries a copy of the case's list columns, kept by triggers, so one range of the
-- `case_team_list` index answers a caseload without reading a case row per candidate; the
-- partial index lists the few restricted people, so visibility needs no join to people.
ALTER TABLE case_team ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE case_team ADD COLUMN restricted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_team ADD COLUMN person_id TEXT NOT NULL DEFAULT '';
ALTER TABLE case_team ADD COLUMN risk_level TEXT NOT NULL DEFAULT '';
ALTER TABLE case_team ADD COLUMN risk_at BIGINT;
ALTER TABLE case_team ADD COLUMN opened_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_team ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_team ADD COLUMN next_task_due_at BIGINT;
ALTER TABLE case_team ADD COLUMN next_review_at BIGINT;

UPDATE case_team SET (status, restricted, person_id, risk_level, risk_at, opened_at, updated_at,
    next_task_due_at, next_review_at) = (
    SELECT c.status, c.restricted, c.person_id, c.risk_level, c.risk_at, c.opened_at,
        c.updated_at, c.next_task_due_at, c.next_review_at
    FROM cases c WHERE c.id = case_team.case_id);

DROP INDEX case_team_member;
CREATE INDEX case_team_list ON case_team (
    member_kind, member_id, status, case_id, restricted, person_id, risk_level, risk_at,
    opened_at, updated_at, next_task_due_at, next_review_at
);
CREATE INDEX people_restricted ON people (id) WHERE restricted = 1;

CREATE TRIGGER case_team_copy AFTER INSERT ON case_team
BEGIN
    UPDATE case_team SET (status, restricted, person_id, risk_level, risk_at, opened_at,
        updated_at, next_task_due_at, next_review_at) = (
        SELECT c.status, c.restricted, c.person_id, c.risk_level, c.risk_at, c.opened_at,
            c.updated_at, c.next_task_due_at, c.next_review_at
        FROM cases c WHERE c.id = NEW.case_id)
    WHERE case_id = NEW.case_id AND member_kind = NEW.member_kind AND member_id = NEW.member_id;
END;

CREATE TRIGGER cases_to_team AFTER UPDATE ON cases
BEGIN
    UPDATE case_team SET (status, restricted, person_id, risk_level, risk_at, opened_at,
        updated_at, next_task_due_at, next_review_at) = (
        NEW.status, NEW.restricted, NEW.person_id, NEW.risk_level, NEW.risk_at, NEW.opened_at,
        NEW.updated_at, NEW.next_task_due_at, NEW.next_review_at)
    WHERE case_id = NEW.id;
END;

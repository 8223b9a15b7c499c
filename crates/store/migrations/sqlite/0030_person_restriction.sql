-- A restriction belongs to the person a record is about. Restricting a case restricts its
-- person, so the person page, triage candidates, referrals and every case about them are
-- restricted alike, with one named access list; people merged into one another share it.
-- Case-level restrictions move to their people, `cases.restricted` becomes a copy of the
-- person's flag kept by triggers (the caseload index still answers visibility from it), and
-- the per-case access list is dropped.

-- Each person's merge cluster: every record with the root it was (transitively) merged into.
CREATE TEMPORARY TABLE person_cluster AS
WITH RECURSIVE chain(id, root) AS (
    SELECT id, id FROM people WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, chain.root FROM people p JOIN chain ON p.merged_into = chain.id
)
SELECT id, root FROM chain;

UPDATE people SET restricted = 1,
    restriction_contact = COALESCE(NULLIF(restriction_contact, ''),
        (SELECT c.restriction_contact FROM cases c
         WHERE c.person_id = people.id AND c.restricted = 1 AND c.restriction_contact <> ''
         ORDER BY c.opened_at LIMIT 1), '')
WHERE id IN (SELECT person_id FROM cases WHERE restricted = 1);

INSERT INTO person_access (person_id, user_id, scope, added_at, added_by)
SELECT c.person_id, a.user_id, 'restricted', MIN(a.added_at), MIN(a.added_by)
FROM case_access a JOIN cases c ON c.id = a.case_id
GROUP BY c.person_id, a.user_id
ON CONFLICT (person_id, user_id, scope) DO NOTHING;

-- Spread each restriction over its merge cluster.
UPDATE people SET restricted = 1,
    restriction_contact = COALESCE(NULLIF(restriction_contact, ''),
        (SELECT o.restriction_contact FROM person_cluster me
         JOIN person_cluster other ON other.root = me.root
         JOIN people o ON o.id = other.id
         WHERE me.id = people.id AND o.restricted = 1 AND o.restriction_contact <> ''
         ORDER BY o.id LIMIT 1), '')
WHERE restricted = 0 AND id IN (
    SELECT me.id FROM person_cluster me JOIN person_cluster other ON other.root = me.root
    JOIN people o ON o.id = other.id WHERE o.restricted = 1);
UPDATE people SET address_restricted = 1
WHERE address_restricted = 0 AND id IN (
    SELECT me.id FROM person_cluster me JOIN person_cluster other ON other.root = me.root
    JOIN people o ON o.id = other.id WHERE o.address_restricted = 1);
INSERT INTO person_access (person_id, user_id, scope, added_at, added_by)
SELECT me.id, pa.user_id, pa.scope, MIN(pa.added_at), MIN(pa.added_by)
FROM person_cluster me JOIN person_cluster other ON other.root = me.root
JOIN person_access pa ON pa.person_id = other.id
GROUP BY me.id, pa.user_id, pa.scope
ON CONFLICT (person_id, user_id, scope) DO NOTHING;

DROP TABLE person_cluster;

UPDATE cases SET restriction_contact = '',
    restricted = (SELECT p.restricted FROM people p WHERE p.id = cases.person_id);
DROP TABLE case_access;

CREATE TRIGGER cases_restriction_from_person AFTER INSERT ON cases
BEGIN
    UPDATE cases SET restricted = (SELECT p.restricted FROM people p WHERE p.id = NEW.person_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER cases_restriction_follows_person AFTER UPDATE OF person_id ON cases
BEGIN
    UPDATE cases SET restricted = (SELECT p.restricted FROM people p WHERE p.id = NEW.person_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER people_restriction_to_cases AFTER UPDATE OF restricted ON people
BEGIN
    UPDATE cases SET restricted = NEW.restricted WHERE person_id = NEW.id;
END;

use proptest::prelude::*;

use super::*;
use crate::roles::Role;

fn actor(id: &str, agency: &str, roles: &[Role]) -> Actor {
    Actor {
        user_id: id.into(),
        agency_id: agency.into(),
        roles: RoleSet::new(roles.to_vec()),
        scopes: None,
    }
}

fn case_for(team: &[&str]) -> RecordFacts {
    RecordFacts {
        team_users: team.iter().map(|s| s.to_string()).collect(),
        team_agencies: vec!["outreach".into()],
        referrers: vec!["school-user".into()],
        ..RecordFacts::default()
    }
}

const NOW: i64 = 1_800_000_000;

#[test]
fn case_team_reads_and_edits() {
    let worker = actor("w1", "other", &[Role::Practitioner]);
    let case = case_for(&["w1"]);
    assert_eq!(
        decide(&worker, Action::ViewRecord, &case, NOW),
        Decision::Allow(Grant::CaseTeam)
    );
    assert_eq!(
        decide(&worker, Action::Edit, &case, NOW),
        Decision::Allow(Grant::CaseTeam)
    );
    let colleague = actor("w2", "outreach", &[Role::Practitioner]);
    assert!(decide(&colleague, Action::ViewRecord, &case, NOW).allowed());
}

#[test]
fn stranger_learns_nothing() {
    let stranger = actor("x", "elsewhere", &[Role::Practitioner]);
    let case = case_for(&["w1"]);
    for action in [
        Action::KnowExists,
        Action::ViewStatus,
        Action::ViewRecord,
        Action::Edit,
    ] {
        assert_eq!(
            decide(&stranger, action, &case, NOW),
            Decision::Deny(Denial::NoRelationship),
            "{action:?}"
        );
    }
}

#[test]
fn referrer_sees_status_not_the_file() {
    let referrer = actor("school-user", "school", &[Role::PartnerReferrer]);
    let case = case_for(&["w1"]);
    assert_eq!(
        decide(&referrer, Action::ViewStatus, &case, NOW),
        Decision::Allow(Grant::Referrer)
    );
    assert_eq!(
        decide(&referrer, Action::ViewRecord, &case, NOW),
        Decision::Deny(Denial::StatusOnly)
    );
    assert_eq!(
        decide(&referrer, Action::Edit, &case, NOW),
        Decision::Deny(Denial::StatusOnly)
    );
}

#[test]
fn referrer_in_a_team_agency_without_case_rights_still_sees_status_only() {
    let referrer = actor("school-user", "outreach", &[Role::PartnerReferrer]);
    let case = case_for(&["w1"]);
    assert_eq!(
        decide(&referrer, Action::ViewRecord, &case, NOW),
        Decision::Deny(Denial::StatusOnly)
    );
}

#[test]
fn panel_access_is_read_only_and_time_boxed() {
    let chair = actor("chair", "council", &[Role::PanelCoordinator]);
    let mut case = case_for(&["w1"]);
    case.panels.push(PanelWindow {
        members: vec!["chair".into()],
        agencies: Vec::new(),
        opens_at: NOW - 10,
        closes_at: NOW + 10,
    });
    assert_eq!(
        decide(&chair, Action::ViewRecord, &case, NOW),
        Decision::Allow(Grant::Panel)
    );
    assert_eq!(
        decide(&chair, Action::Edit, &case, NOW),
        Decision::Deny(Denial::ReadOnly)
    );
    assert_eq!(
        decide(&chair, Action::ViewRecord, &case, NOW + 11),
        Decision::Deny(Denial::NoRelationship)
    );
}

#[test]
fn restricted_record_shows_only_the_contact_to_involved_users() {
    let manager = actor("m", "council", &[Role::Manager]);
    let stranger = actor("x", "elsewhere", &[Role::Practitioner]);
    let listed = actor("l", "elsewhere", &[Role::Practitioner]);
    let mut case = case_for(&["w1", "l"]);
    case.restriction = Some(Restriction {
        access_list: vec!["l".into()],
        contact: "Duty manager, Early Help".into(),
    });
    let restricted = Decision::Deny(Denial::Restricted {
        contact: "Duty manager, Early Help".into(),
    });
    assert_eq!(decide(&manager, Action::ViewRecord, &case, NOW), restricted);
    assert!(decide(&manager, Action::KnowExists, &case, NOW).allowed());
    assert_eq!(
        decide(&stranger, Action::KnowExists, &case, NOW),
        Decision::Deny(Denial::NoRelationship)
    );
    assert_eq!(
        decide(&listed, Action::ViewRecord, &case, NOW),
        Decision::Allow(Grant::AccessList)
    );
    assert_eq!(
        decide(&listed, Action::Edit, &case, NOW),
        Decision::Allow(Grant::AccessList)
    );
    // A team member who is not on the list is refused too.
    let w1 = actor("w1", "other", &[Role::Practitioner]);
    assert_eq!(decide(&w1, Action::ViewRecord, &case, NOW), restricted);
}

#[test]
fn break_glass_reads_until_it_lapses_and_never_edits() {
    let manager = actor("m", "council", &[Role::Manager]);
    let mut case = case_for(&["w1"]);
    case.restriction = Some(Restriction {
        access_list: vec![],
        contact: "Named officer".into(),
    });
    assert!(may_break_glass(&manager, &case, NOW));
    case.break_glass.push(BreakGlassGrant {
        user_id: "m".into(),
        expires_at: NOW + 3600,
    });
    assert_eq!(
        decide(&manager, Action::ViewRecord, &case, NOW),
        Decision::Allow(Grant::BreakGlass)
    );
    assert_eq!(
        decide(&manager, Action::Edit, &case, NOW),
        Decision::Deny(Denial::ReadOnly)
    );
    assert!(!decide(&manager, Action::ViewRecord, &case, NOW + 3600).allowed());
    let practitioner = actor("p", "council", &[Role::Practitioner]);
    assert!(!may_break_glass(&practitioner, &case, NOW));
}

#[test]
fn restricted_address_is_hidden_even_from_the_team() {
    let w1 = actor("w1", "other", &[Role::Practitioner]);
    let idva = actor("idva", "vawg", &[Role::Practitioner]);
    let mut case = case_for(&["w1", "idva"]);
    case.address_access_list = Some(vec!["idva".into()]);
    assert!(decide(&w1, Action::ViewRecord, &case, NOW).allowed());
    assert_eq!(
        decide(&w1, Action::ViewAddress, &case, NOW),
        Decision::Deny(Denial::AddressRestricted)
    );
    assert!(decide(&idva, Action::ViewAddress, &case, NOW).allowed());
}

#[test]
fn access_logs_need_the_permission() {
    let manager = actor("m", "council", &[Role::Manager]);
    let worker = actor("w1", "other", &[Role::Practitioner]);
    let case = case_for(&["w1"]);
    assert!(decide(&manager, Action::ViewAccessLog, &case, NOW).allowed());
    assert!(!decide(&worker, Action::ViewAccessLog, &case, NOW).allowed());
}

#[test]
fn only_the_list_and_lead_agency_managers_change_an_access_list() {
    let mut case = case_for(&["w1", "w2"]);
    case.lead_agencies = vec!["outreach".into()];
    let w1 = actor("w1", "outreach", &[Role::Practitioner]);
    let w2 = actor("w2", "outreach", &[Role::Practitioner]);
    // Before any list exists, whoever may edit the record may create one.
    for a in [Action::ChangeAccessList, Action::ChangeAddressList] {
        assert_eq!(decide(&w2, a, &case, NOW), Decision::Allow(Grant::CaseTeam));
    }
    case.address_access_list = Some(vec!["w1".into()]);
    case.restriction = Some(Restriction {
        access_list: vec!["w1".into()],
        contact: "Duty manager".into(),
    });
    for a in [Action::ChangeAccessList, Action::ChangeAddressList] {
        assert_eq!(
            decide(&w1, a, &case, NOW),
            Decision::Allow(Grant::AccessList)
        );
        // A team member off the list cannot add themselves or lift the restriction.
        assert_eq!(
            decide(&w2, a, &case, NOW),
            Decision::Deny(Denial::NotOnAccessList)
        );
    }
    let lead_manager = actor("m1", "outreach", &[Role::Manager]);
    let other_manager = actor("m2", "council", &[Role::Manager]);
    assert_eq!(
        decide(&lead_manager, Action::ChangeAccessList, &case, NOW),
        Decision::Allow(Grant::LeadAgencyManager)
    );
    assert_eq!(
        decide(&other_manager, Action::ChangeAccessList, &case, NOW),
        Decision::Deny(Denial::NotOnAccessList)
    );
    // Break-glass reads; it never changes who is on the list.
    case.break_glass.push(BreakGlassGrant {
        user_id: "m2".into(),
        expires_at: NOW + 60,
    });
    assert!(decide(&other_manager, Action::ViewRecord, &case, NOW).allowed());
    assert!(!decide(&other_manager, Action::ChangeAddressList, &case, NOW).allowed());
    let stranger = actor("x", "elsewhere", &[Role::Practitioner]);
    assert_eq!(
        decide(&stranger, Action::ChangeAccessList, &case, NOW),
        Decision::Deny(Denial::NoRelationship)
    );
}

fn arb_actor() -> impl Strategy<Value = Actor> {
    (
        0..6usize,
        0..3usize,
        proptest::collection::vec(0..7usize, 0..3),
    )
        .prop_map(|(u, a, roles)| Actor {
            user_id: format!("u{u}"),
            agency_id: format!("a{a}"),
            roles: RoleSet::new(roles.into_iter().map(|i| Role::ALL[i]).collect()),
            scopes: None,
        })
}

fn ids(max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec((0..max).prop_map(|i| format!("u{i}")), 0..3)
}

fn arb_record() -> impl Strategy<Value = RecordFacts> {
    (
        ids(6),
        proptest::collection::vec((0..3usize).prop_map(|i| format!("a{i}")), 0..2),
        ids(6),
        proptest::option::of(ids(6)),
        proptest::option::of(ids(6)),
        proptest::collection::vec((0..6usize, -100i64..100), 0..2),
        proptest::collection::vec((ids(6), -100i64..0, 0i64..100), 0..2),
        proptest::collection::vec((0..3usize).prop_map(|i| format!("a{i}")), 0..2),
    )
        .prop_map(
            |(team, agencies, referrers, restricted, address, glass, panels, lead)| RecordFacts {
                team_users: team,
                team_agencies: agencies,
                referrers,
                panels: panels
                    .into_iter()
                    .map(|(members, o, c)| PanelWindow {
                        members,
                        agencies: Vec::new(),
                        opens_at: NOW + o,
                        closes_at: NOW + c,
                    })
                    .collect(),
                restriction: restricted.map(|access_list| Restriction {
                    access_list,
                    contact: "officer".into(),
                }),
                address_access_list: address,
                break_glass: glass
                    .into_iter()
                    .map(|(u, e)| BreakGlassGrant {
                        user_id: format!("u{u}"),
                        expires_at: NOW + e,
                    })
                    .collect(),
                lead_agencies: lead,
            },
        )
}

proptest! {
    #[test]
    fn stronger_actions_imply_reading(actor in arb_actor(), record in arb_record()) {
        let view = decide(&actor, Action::ViewRecord, &record, NOW).allowed();
        if decide(&actor, Action::ViewAddress, &record, NOW).allowed() { prop_assert!(view); }
        if decide(&actor, Action::Edit, &record, NOW).allowed() { prop_assert!(view); }
        if decide(&actor, Action::Export, &record, NOW).allowed() { prop_assert!(view); }
        if view { prop_assert!(decide(&actor, Action::KnowExists, &record, NOW).allowed()); }
    }

    #[test]
    fn restriction_admits_only_the_list_and_live_break_glass(actor in arb_actor(), record in arb_record()) {
        if let Some(r) = &record.restriction
            && decide(&actor, Action::ViewRecord, &record, NOW).allowed()
        {
            let live_glass = actor.roles.has(Permission::BreakGlass) && record.break_glass.iter()
                .any(|g| g.user_id == actor.user_id && NOW < g.expires_at);
            prop_assert!(r.access_list.contains(&actor.user_id) || live_glass);
        }
    }

    #[test]
    fn restricting_never_grants_more(actor in arb_actor(), mut record in arb_record()) {
        record.restriction = None;
        let open: Vec<bool> = Action::ALL.iter().map(|a| decide(&actor, *a, &record, NOW).allowed()).collect();
        record.restriction = Some(Restriction { access_list: vec![], contact: "c".into() });
        record.break_glass.clear();
        for (i, a) in Action::ALL.iter().enumerate() {
            if matches!(a, Action::ViewAccessLog | Action::ViewStatus | Action::KnowExists
                | Action::ChangeAccessList | Action::ChangeAddressList) { continue; }
            prop_assert!(open[i] || !decide(&actor, *a, &record, NOW).allowed(), "{:?}", a);
        }
    }

    #[test]
    fn address_list_is_always_respected(actor in arb_actor(), record in arb_record()) {
        if let Some(list) = &record.address_access_list
            && decide(&actor, Action::ViewAddress, &record, NOW).allowed()
        {
            prop_assert!(list.contains(&actor.user_id));
        }
    }

    #[test]
    fn strangers_without_borough_rights_get_nothing(actor in arb_actor(), record in arb_record()) {
        let involved = record.team_users.contains(&actor.user_id)
            || record.team_agencies.contains(&actor.agency_id)
            || record.referrers.contains(&actor.user_id)
            || record.panels.iter().any(|p| p.members.contains(&actor.user_id))
            || record.restriction.as_ref().is_some_and(|r| r.access_list.contains(&actor.user_id))
            || record.break_glass.iter().any(|g| g.user_id == actor.user_id)
            || actor.roles.has(Permission::ReadBoroughWide);
        if !involved {
            for a in [Action::KnowExists, Action::ViewStatus, Action::ViewRecord, Action::Edit, Action::Export] {
                prop_assert!(!decide(&actor, a, &record, NOW).allowed());
            }
        }
    }

    #[test]
    fn a_list_changes_only_by_its_members_or_lead_agency_managers(actor in arb_actor(), record in arb_record()) {
        for (action, list) in [
            (Action::ChangeAccessList, record.restriction.as_ref().map(|r| r.access_list.clone())),
            (Action::ChangeAddressList, record.address_access_list.clone()),
        ] {
            let allowed = decide(&actor, action, &record, NOW).allowed();
            let lead_manager = actor.roles.has(Permission::ManageRestrictions)
                && record.lead_agencies.contains(&actor.agency_id);
            match list {
                Some(list) => prop_assert_eq!(allowed, list.contains(&actor.user_id) || lead_manager),
                None => prop_assert_eq!(
                    allowed,
                    lead_manager || decide(&actor, Action::Edit, &record, NOW).allowed()
                ),
            }
        }
    }

    #[test]
    fn break_glass_never_changes_a_list(actor in arb_actor(), mut record in arb_record()) {
        let before: Vec<bool> = [Action::ChangeAccessList, Action::ChangeAddressList]
            .iter().map(|a| decide(&actor, *a, &record, NOW).allowed()).collect();
        record.break_glass.push(BreakGlassGrant { user_id: actor.user_id.clone(), expires_at: NOW + 100 });
        let after: Vec<bool> = [Action::ChangeAccessList, Action::ChangeAddressList]
            .iter().map(|a| decide(&actor, *a, &record, NOW).allowed()).collect();
        prop_assert_eq!(before, after);
    }
}

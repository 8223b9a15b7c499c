//! Who may do what with a panel and its meetings. Coordinators and the chair manage the
//! panel and read its agendas and minutes at any time; staff of member agencies who work
//! cases read a meeting's agenda and minutes, and record their research, only while the
//! meeting's *panel window* is open: from the agenda's publication until the set time after
//! the meeting, both instants included. Everyone else learns nothing.
//!
//! What a window shows about each person on the agenda is decided by the record policy,
//! [`decide`](super::decide), with the window added to the case's facts as a
//! [`PanelWindow`](super::PanelWindow), so restricted people are honoured exactly as
//! elsewhere.

use serde::Serialize;

use super::{Actor, Decision, Denial, Grant, PanelWindow};
use crate::roles::Permission;

/// What the actor wants to do with a panel or one of its meetings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelAction {
    /// Change the panel: members, meetings, referrals, agendas, actions, the meeting record,
    /// the data return.
    Manage,
    /// Read a meeting's agenda.
    ReadAgenda,
    /// Record what the actor's agency holds about a case on the agenda.
    Research,
    /// Read a meeting's minutes.
    ReadMinutes,
    /// Mark an action done or close it with a reason (its owner, or the coordinator).
    ChangeAction,
}

/// Everything the policy needs to know about one panel (and, for a meeting, its window).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PanelFacts {
    /// The coordinator and the chair.
    pub coordinators: Vec<String>,
    /// Member agencies.
    pub member_agencies: Vec<String>,
    /// The meeting's window `(opens_at, closes_at)`, once its agenda is published.
    pub window: Option<(i64, i64)>,
    /// For a decision about one action: its named owner.
    pub action_owner: Option<String>,
}

impl PanelFacts {
    /// True while the meeting's window is open at `now`.
    pub fn window_open(&self, now: i64) -> bool {
        self.window
            .is_some_and(|(opens, closes)| opens <= now && now <= closes)
    }

    /// The windows to add to a case's facts when deciding what an agenda shows about it:
    /// coordinators always, member agencies while the meeting's window is open.
    pub fn record_windows(&self) -> Vec<PanelWindow> {
        let mut out = vec![PanelWindow {
            members: self.coordinators.clone(),
            agencies: Vec::new(),
            opens_at: i64::MIN,
            closes_at: i64::MAX,
        }];
        if let Some((opens_at, closes_at)) = self.window {
            out.push(PanelWindow {
                members: Vec::new(),
                agencies: self.member_agencies.clone(),
                opens_at,
                closes_at,
            });
        }
        out
    }
}

/// The instants a meeting's window covers: from `published_at` until `after_secs` after the
/// meeting starts.
pub fn window(published_at: i64, meeting_at: i64, after_secs: i64) -> (i64, i64) {
    (published_at, meeting_at.saturating_add(after_secs.max(0)))
}

/// Decides whether `actor` may do `action` with the panel described by `facts` at `now`.
pub fn decide_panel(actor: &Actor, action: PanelAction, facts: &PanelFacts, now: i64) -> Decision {
    let coordinator = facts.coordinators.contains(&actor.user_id)
        && (actor.holds(Permission::CoordinatePanels) || actor.holds(Permission::WorkCases));
    let member = facts.member_agencies.contains(&actor.agency_id)
        && actor.holds(Permission::WorkCases)
        && facts.window_open(now);
    match action {
        PanelAction::Manage if coordinator => Decision::Allow(Grant::Panel),
        PanelAction::Manage if member => Decision::Deny(Denial::ReadOnly),
        PanelAction::Manage if !actor.holds(Permission::CoordinatePanels) => {
            Decision::Deny(Denial::MissingPermission(Permission::CoordinatePanels))
        }
        _ if !actor.holds(Permission::WorkCases) && !actor.holds(Permission::CoordinatePanels) => {
            Decision::Deny(Denial::MissingPermission(Permission::WorkCases))
        }
        PanelAction::ReadAgenda | PanelAction::ReadMinutes if coordinator || member => {
            Decision::Allow(Grant::Panel)
        }
        PanelAction::Research if member => Decision::Allow(Grant::Panel),
        PanelAction::Research if coordinator => Decision::Deny(Denial::ReadOnly),
        PanelAction::ChangeAction
            if coordinator || facts.action_owner.as_deref() == Some(actor.user_id.as_str()) =>
        {
            Decision::Allow(Grant::Panel)
        }
        _ => Decision::Deny(Denial::NoRelationship),
    }
}

/// Proof that the panel policy allowed `action` on one panel or meeting, made only by
/// [`authorize_panel`]; panel writes take one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelAuthorized<Id> {
    id: Id,
    action: PanelAction,
}

impl<Id> PanelAuthorized<Id> {
    /// The panel or meeting.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// What was allowed.
    pub fn action(&self) -> PanelAction {
        self.action
    }
}

/// Asks the panel policy about `action`, returning the proof or the reason for refusing.
pub fn authorize_panel<Id>(
    actor: &Actor,
    action: PanelAction,
    facts: &PanelFacts,
    now: i64,
    id: Id,
) -> Result<PanelAuthorized<Id>, Denial> {
    match decide_panel(actor, action, facts, now) {
        Decision::Allow(_) => Ok(PanelAuthorized { id, action }),
        Decision::Deny(d) => Err(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Action, RecordFacts, Restriction, decide};
    use crate::roles::{Role, RoleSet};

    fn actor(id: &str, agency: &str, roles: &[Role]) -> Actor {
        Actor {
            user_id: id.into(),
            agency_id: agency.into(),
            roles: RoleSet::new(roles.to_vec()),
            scopes: None,
        }
    }

    const PUBLISHED: i64 = 1_800_000_000;
    const MEETING: i64 = PUBLISHED + 7 * 86_400;

    fn facts() -> PanelFacts {
        PanelFacts {
            coordinators: vec!["grace".into(), "chair".into()],
            member_agencies: vec!["police".into(), "health".into()],
            window: Some(window(PUBLISHED, MEETING, 48 * 3600)),
            action_owner: Some("owner".into()),
        }
    }

    #[test]
    fn member_agencies_read_only_inside_the_window_boundaries_included() {
        let f = facts();
        let (opens, closes) = f.window.expect("window");
        let nurse = actor("n", "health", &[Role::Practitioner]);
        for action in [
            PanelAction::ReadAgenda,
            PanelAction::Research,
            PanelAction::ReadMinutes,
        ] {
            assert!(!decide_panel(&nurse, action, &f, opens - 1).allowed());
            assert!(decide_panel(&nurse, action, &f, opens).allowed());
            assert!(decide_panel(&nurse, action, &f, closes).allowed());
            assert_eq!(
                decide_panel(&nurse, action, &f, closes + 1),
                Decision::Deny(Denial::NoRelationship),
                "{action:?} one second after the window closed"
            );
        }
        // Sitting on the panel does not let a member agency run it.
        assert_eq!(
            decide_panel(&nurse, PanelAction::Manage, &f, opens + 1),
            Decision::Deny(Denial::ReadOnly)
        );
        assert_eq!(
            decide_panel(&nurse, PanelAction::Manage, &f, closes + 1),
            Decision::Deny(Denial::MissingPermission(Permission::CoordinatePanels))
        );
    }

    #[test]
    fn an_unpublished_agenda_is_the_coordinators_alone() {
        let mut f = facts();
        f.window = None;
        let nurse = actor("n", "health", &[Role::Practitioner]);
        assert!(!decide_panel(&nurse, PanelAction::ReadAgenda, &f, PUBLISHED).allowed());
        let grace = actor("grace", "council", &[Role::PanelCoordinator]);
        for action in [
            PanelAction::Manage,
            PanelAction::ReadAgenda,
            PanelAction::ReadMinutes,
        ] {
            assert!(decide_panel(&grace, action, &f, 0).allowed());
            assert!(decide_panel(&grace, action, &f, i64::MAX).allowed());
        }
        // The coordinator's agency is no member: it records no research.
        assert_eq!(
            decide_panel(&grace, PanelAction::Research, &f, PUBLISHED),
            Decision::Deny(Denial::ReadOnly)
        );
    }

    #[test]
    fn an_action_is_changed_by_its_owner_or_the_coordinator_at_any_time() {
        let f = facts();
        let owner = actor("owner", "housing", &[Role::Practitioner]);
        let colleague = actor("other", "housing", &[Role::Practitioner]);
        let grace = actor("grace", "council", &[Role::PanelCoordinator]);
        let later = i64::MAX - 1;
        assert!(decide_panel(&owner, PanelAction::ChangeAction, &f, later).allowed());
        assert!(decide_panel(&grace, PanelAction::ChangeAction, &f, later).allowed());
        assert_eq!(
            decide_panel(&colleague, PanelAction::ChangeAction, &f, MEETING),
            Decision::Deny(Denial::NoRelationship)
        );
    }

    #[test]
    fn strangers_and_other_coordinators_learn_nothing() {
        let f = facts();
        let stranger = actor("s", "elsewhere", &[Role::Practitioner, Role::Manager]);
        let other = actor("o", "council", &[Role::PanelCoordinator]);
        for who in [&stranger, &other] {
            for action in [
                PanelAction::ReadAgenda,
                PanelAction::Research,
                PanelAction::ReadMinutes,
            ] {
                assert_eq!(
                    decide_panel(who, action, &f, MEETING),
                    Decision::Deny(Denial::NoRelationship)
                );
            }
        }
        assert_eq!(
            decide_panel(&other, PanelAction::Manage, &f, MEETING),
            Decision::Deny(Denial::NoRelationship)
        );
        // A member agency's referrer who does not work cases reads nothing.
        let referrer = actor("r", "police", &[Role::PartnerReferrer]);
        assert!(!decide_panel(&referrer, PanelAction::ReadAgenda, &f, MEETING).allowed());
    }

    #[test]
    fn the_window_honours_restricted_people_through_the_record_policy() {
        let f = facts();
        let officer = actor("pc", "police", &[Role::Practitioner]);
        let mut case = RecordFacts {
            team_agencies: vec!["idva".into()],
            panels: f.record_windows(),
            ..RecordFacts::default()
        };
        let (_, closes) = f.window.expect("window");
        assert_eq!(
            decide(&officer, Action::ViewRecord, &case, MEETING),
            Decision::Allow(Grant::Panel)
        );
        assert!(!decide(&officer, Action::ViewRecord, &case, closes + 1).allowed());
        assert!(!decide(&officer, Action::Edit, &case, MEETING).allowed());
        case.restriction = Some(Restriction {
            access_list: vec!["idva-worker".into()],
            contact: "the IDVA manager".into(),
        });
        assert_eq!(
            decide(&officer, Action::ViewRecord, &case, MEETING),
            Decision::Deny(Denial::Restricted {
                contact: "the IDVA manager".into()
            })
        );
        let grace = actor("grace", "council", &[Role::PanelCoordinator]);
        assert!(!decide(&grace, Action::ViewRecord, &case, MEETING).allowed());
        assert!(decide(&grace, Action::KnowExists, &case, MEETING).allowed());
    }
}

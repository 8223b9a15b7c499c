//! The need-to-know access policy: one pure function decides whether a user may do an
//! action on a person or case record. Every page, list, search, count, export and API path
//! asks it, so a record a user may not see cannot influence what they see.

use serde::Serialize;

use crate::roles::{Permission, RoleSet};

/// The user asking, as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: String,
    /// The one agency the user belongs to.
    pub agency_id: String,
    /// The user's roles.
    pub roles: RoleSet,
    /// For an API token, the permissions it was issued with (`None` for a person, whose
    /// roles say what they may do). Record access is decided on roles only, so a token
    /// reads no person or case record.
    pub scopes: Option<Vec<Permission>>,
}

impl Actor {
    /// True when the actor holds `p`: through their roles, or for a token its scopes.
    pub fn holds(&self, p: Permission) -> bool {
        match &self.scopes {
            Some(scopes) => scopes.contains(&p),
            None => self.roles.has(p),
        }
    }
}

/// What the user wants to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Learn that the record exists (for a restricted record: "contact the named officer").
    KnowExists,
    /// See the status and outcome of a referral (what referrers are entitled to).
    ViewStatus,
    /// Read the record's details: the case file, the person's details except a restricted
    /// address.
    ViewRecord,
    /// Read the current address when the address is restricted.
    ViewAddress,
    /// Change the record.
    Edit,
    /// Export the record (subject access, reports).
    Export,
    /// See who accessed the record and when.
    ViewAccessLog,
    /// Restrict the record, change who is on its access list, or lift the restriction.
    ChangeAccessList,
    /// Restrict the current address, change who is on its list, or lift the restriction.
    ChangeAddressList,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::KnowExists,
        Action::ViewStatus,
        Action::ViewRecord,
        Action::ViewAddress,
        Action::Edit,
        Action::Export,
        Action::ViewAccessLog,
        Action::ChangeAccessList,
        Action::ChangeAddressList,
    ];
}

/// A panel meeting that has the record on its agenda: its members may read the record
/// while the meeting's window is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelWindow {
    /// Coordinator and attendees.
    pub members: Vec<String>,
    /// Member agencies: all their staff read while the window is open.
    pub agencies: Vec<String>,
    /// Start of read access, seconds since the epoch.
    pub opens_at: i64,
    /// End of read access, seconds since the epoch.
    pub closes_at: i64,
}

impl PanelWindow {
    /// True when `actor` sits on the panel, by name or through a member agency.
    fn admits(&self, actor: &Actor) -> bool {
        self.members.contains(&actor.user_id) || self.agencies.contains(&actor.agency_id)
    }
}

/// A restriction: only the named access list sees details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// Users who may see the record's details.
    pub access_list: Vec<String>,
    /// Who others should contact (shown only to those who may know the record exists).
    pub contact: String,
}

/// An emergency opening of a restricted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassGrant {
    /// The user who broke the glass.
    pub user_id: String,
    /// When the grant lapses, seconds since the epoch.
    pub expires_at: i64,
}

/// Everything the policy needs to know about one person or case record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFacts {
    /// Named workers on the case team (the lead worker included).
    pub team_users: Vec<String>,
    /// Agencies on the case team.
    pub team_agencies: Vec<String>,
    /// Users who referred this person or case.
    pub referrers: Vec<String>,
    /// Panel meetings with this record on the agenda.
    pub panels: Vec<PanelWindow>,
    /// Set when the record is restricted.
    pub restriction: Option<Restriction>,
    /// Set when the current address is restricted: the users who may see it.
    pub address_access_list: Option<Vec<String>>,
    /// Break-glass openings of this record.
    pub break_glass: Vec<BreakGlassGrant>,
    /// Agencies that lead the work with this record (the lead workers' agencies): their
    /// managers may change its access lists.
    pub lead_agencies: Vec<String>,
}

/// Why access was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// The user, or their agency, is on the case team.
    CaseTeam,
    /// The user made the referral (status and outcome only).
    Referrer,
    /// A panel the user sits on has the record on its agenda.
    Panel,
    /// The user's role reads borough-wide.
    BoroughWide,
    /// The user is on the restricted record's access list.
    AccessList,
    /// The user broke the glass and the grant has not lapsed.
    BreakGlass,
    /// The user's role may see access logs.
    AccessLogRole,
    /// The user manages restrictions for the agency that leads the work with the record.
    LeadAgencyManager,
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// The user has no part in this record.
    NoRelationship,
    /// The record is restricted; the user may know it exists and whom to contact.
    Restricted {
        /// The named officer to contact.
        contact: String,
    },
    /// The address is restricted to a named list the user is not on.
    AddressRestricted,
    /// Referrers see the status and outcome of their referral, not the file.
    StatusOnly,
    /// Panel and borough-wide access is read only.
    ReadOnly,
    /// The user's roles lack a permission the action needs.
    MissingPermission(Permission),
    /// Only the people on an access list, and managers of the lead agency, may change it.
    NotOnAccessList,
}

/// The policy's answer, with its reason either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Allowed, and why.
    Allow(Grant),
    /// Refused, and why.
    Deny(Denial),
}

impl Decision {
    /// True when allowed.
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// The relationships between one actor and one record, worked out once.
struct Relations {
    team: bool,
    referrer: bool,
    panel: bool,
    borough: bool,
    access_list: bool,
    break_glass: bool,
}

fn relations(actor: &Actor, record: &RecordFacts, now: i64) -> Relations {
    let me = &actor.user_id;
    let works_cases = actor.roles.has(Permission::WorkCases);
    Relations {
        team: works_cases
            && (record.team_users.contains(me) || record.team_agencies.contains(&actor.agency_id)),
        referrer: record.referrers.contains(me),
        panel: record
            .panels
            .iter()
            .any(|p| p.admits(actor) && p.opens_at <= now && now <= p.closes_at),
        borough: actor.roles.has(Permission::ReadBoroughWide),
        access_list: record
            .restriction
            .as_ref()
            .is_some_and(|r| r.access_list.contains(me)),
        break_glass: actor.roles.has(Permission::BreakGlass)
            && record
                .break_glass
                .iter()
                .any(|g| &g.user_id == me && now < g.expires_at),
    }
}

/// Decides whether `actor` may do `action` on `record` at time `now` (seconds since the
/// epoch). The single source of truth for record access.
pub fn decide(actor: &Actor, action: Action, record: &RecordFacts, now: i64) -> Decision {
    let r = relations(actor, record, now);
    if action == Action::ViewAccessLog {
        return if actor.roles.has(Permission::ViewAccessLog) {
            Decision::Allow(Grant::AccessLogRole)
        } else {
            Decision::Deny(Denial::MissingPermission(Permission::ViewAccessLog))
        };
    }
    if matches!(action, Action::ChangeAccessList | Action::ChangeAddressList) {
        return decide_list_change(actor, action, record, now);
    }
    let involved = r.team || r.referrer || r.panel || r.borough;
    if let Some(restriction) = &record.restriction {
        return decide_restricted(action, record, actor, &r, involved, restriction);
    }
    let read_grant = if r.team {
        Some(Grant::CaseTeam)
    } else if r.panel {
        Some(Grant::Panel)
    } else if r.borough {
        Some(Grant::BoroughWide)
    } else {
        None
    };
    match action {
        Action::KnowExists | Action::ViewStatus => match (read_grant, r.referrer) {
            (Some(g), _) => Decision::Allow(g),
            (None, true) => Decision::Allow(Grant::Referrer),
            (None, false) => Decision::Deny(Denial::NoRelationship),
        },
        Action::ViewRecord | Action::Export => match (read_grant, r.referrer) {
            (Some(g), _) => Decision::Allow(g),
            (None, true) => Decision::Deny(Denial::StatusOnly),
            (None, false) => Decision::Deny(Denial::NoRelationship),
        },
        Action::ViewAddress => match read_grant {
            None if r.referrer => Decision::Deny(Denial::StatusOnly),
            None => Decision::Deny(Denial::NoRelationship),
            Some(g) => address_decision(actor, record, g),
        },
        Action::Edit => edit_decision(&r),
        Action::ViewAccessLog | Action::ChangeAccessList | Action::ChangeAddressList => {
            unreachable_answered_first(action)
        }
    }
}

/// Who may change an access list: the people already on it, and managers of the lead
/// agency who hold [`Permission::ManageRestrictions`]. A list that does not exist yet is
/// created by whoever may edit the record (restricting only ever narrows access) or by
/// such a manager. Break-glass never changes a list.
fn decide_list_change(actor: &Actor, action: Action, record: &RecordFacts, now: i64) -> Decision {
    let list = match action {
        Action::ChangeAccessList => record.restriction.as_ref().map(|r| &r.access_list),
        _ => record.address_access_list.as_ref(),
    };
    let lead_manager = actor.roles.has(Permission::ManageRestrictions)
        && record.lead_agencies.contains(&actor.agency_id);
    match list {
        Some(list) if list.contains(&actor.user_id) => Decision::Allow(Grant::AccessList),
        _ if lead_manager => Decision::Allow(Grant::LeadAgencyManager),
        Some(_) => match decide(actor, Action::KnowExists, record, now) {
            Decision::Allow(_) => Decision::Deny(Denial::NotOnAccessList),
            refused => refused,
        },
        None => decide(actor, Action::Edit, record, now),
    }
}

fn decide_restricted(
    action: Action,
    record: &RecordFacts,
    actor: &Actor,
    r: &Relations,
    involved: bool,
    restriction: &Restriction,
) -> Decision {
    let detail_grant = if r.access_list {
        Some(Grant::AccessList)
    } else if r.break_glass {
        Some(Grant::BreakGlass)
    } else {
        None
    };
    let refused = || {
        if involved || r.access_list {
            Decision::Deny(Denial::Restricted {
                contact: restriction.contact.clone(),
            })
        } else {
            Decision::Deny(Denial::NoRelationship)
        }
    };
    match (action, detail_grant) {
        (Action::KnowExists, Some(g)) => Decision::Allow(g),
        (Action::KnowExists, None) if involved => Decision::Allow(Grant::Referrer),
        (Action::ViewStatus, Some(g)) => Decision::Allow(g),
        (Action::ViewStatus, None) if r.referrer => Decision::Allow(Grant::Referrer),
        (Action::ViewRecord | Action::Export, Some(g)) => Decision::Allow(g),
        (Action::ViewAddress, Some(g)) => address_decision(actor, record, g),
        // Editing a restricted record needs both a place on the team and on the list;
        // break-glass is for reading in an emergency, never for changing the record.
        (Action::Edit, Some(Grant::AccessList)) if r.team => Decision::Allow(Grant::AccessList),
        (Action::Edit, Some(_)) => Decision::Deny(Denial::ReadOnly),
        _ => refused(),
    }
}

fn address_decision(actor: &Actor, record: &RecordFacts, grant: Grant) -> Decision {
    match &record.address_access_list {
        Some(list) if !list.contains(&actor.user_id) => Decision::Deny(Denial::AddressRestricted),
        _ => Decision::Allow(grant),
    }
}

fn edit_decision(r: &Relations) -> Decision {
    if r.team {
        Decision::Allow(Grant::CaseTeam)
    } else if r.panel || r.borough {
        Decision::Deny(Denial::ReadOnly)
    } else if r.referrer {
        Decision::Deny(Denial::StatusOnly)
    } else {
        Decision::Deny(Denial::NoRelationship)
    }
}

fn unreachable_answered_first(action: Action) -> Decision {
    // Access-log and list-change requests are answered before any other rule is applied.
    match action {
        Action::ViewAccessLog => {
            Decision::Deny(Denial::MissingPermission(Permission::ViewAccessLog))
        }
        _ => Decision::Deny(Denial::NotOnAccessList),
    }
}

/// Proof that the access policy allowed `action` on one record, made only by [`authorize`].
/// Store writes take one instead of a bare id, so no change reaches a record the policy was
/// not asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized<Id> {
    id: Id,
    action: Action,
    grant: Grant,
}

impl<Id> Authorized<Id> {
    /// The record.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// What was allowed.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Why it was allowed.
    pub fn grant(&self) -> Grant {
        self.grant
    }
}

/// Asks the policy about `action` on the record `id` described by `record`, and returns the
/// proof of the answer or the reason for refusing.
pub fn authorize<Id>(
    actor: &Actor,
    action: Action,
    record: &RecordFacts,
    now: i64,
    id: Id,
) -> Result<Authorized<Id>, Denial> {
    match decide(actor, action, record, now) {
        Decision::Allow(grant) => Ok(Authorized { id, action, grant }),
        Decision::Deny(d) => Err(d),
    }
}

/// Proof that an actor holds a permission, for changes that are not about one person or
/// case (agencies, users, the directory, instrument versions); made only by [`permit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permitted {
    permission: Permission,
}

impl Permitted {
    /// The permission held.
    pub fn permission(&self) -> Permission {
        self.permission
    }
}

/// Checks that `actor` holds `permission`.
pub fn permit(actor: &Actor, permission: Permission) -> Result<Permitted, Denial> {
    if actor.holds(permission) {
        Ok(Permitted { permission })
    } else {
        Err(Denial::MissingPermission(permission))
    }
}

/// True when `actor` may break the glass on this record now: it is restricted, they lack
/// access, and their role allows emergency access.
pub fn may_break_glass(actor: &Actor, record: &RecordFacts, now: i64) -> bool {
    record.restriction.is_some()
        && actor.roles.has(Permission::BreakGlass)
        && !decide(actor, Action::ViewRecord, record, now).allowed()
}

pub mod panel;

#[cfg(test)]
mod tests;

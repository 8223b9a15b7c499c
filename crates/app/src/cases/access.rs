//! Who may see a case's person: the restricted-record and restricted-address lists, changed
//! only by the people on them and managers of the lead agency, and break-glass, the audited
//! emergency opening of a restricted record.

use pathways_domain::access::{Action, Denial, authorize, decide, may_break_glass, permit};
use pathways_domain::ids::{CaseId, PersonId};
use pathways_domain::{AuditAction, Permission, RecordFacts};
use pathways_store::now_unix;
use pathways_store::restriction::{AccessListChange, AccessListKind};

use crate::{App, Caller, Error, Fields, RecordKind, Result, commit};

/// One of the person's access lists as the case page shows it.
#[derive(Debug, Clone)]
pub struct AccessListView {
    /// Which list.
    pub kind: AccessListKind,
    /// True when the list exists (the record or address is restricted).
    pub restricted: bool,
    /// True when the caller may change it.
    pub can_change: bool,
    /// Who is on it (named only to those who may change it).
    pub members: Vec<(String, String)>,
    /// Workers who may be added.
    pub workers: Vec<(String, String)>,
}

fn list_of(facts: &RecordFacts, kind: AccessListKind) -> Option<&Vec<String>> {
    match kind {
        AccessListKind::Record => facts.restriction.as_ref().map(|r| &r.access_list),
        AccessListKind::Address => facts.address_access_list.as_ref(),
    }
}

fn action_of(kind: AccessListKind) -> Action {
    match kind {
        AccessListKind::Record => Action::ChangeAccessList,
        AccessListKind::Address => Action::ChangeAddressList,
    }
}

/// The view of one access list for `caller`.
pub(crate) async fn list_view(
    app: &App,
    caller: &Caller,
    _case: &CaseId,
    facts: &RecordFacts,
    kind: AccessListKind,
) -> Result<AccessListView> {
    let list = list_of(facts, kind);
    let can_change = decide(&caller.actor, action_of(kind), facts, now_unix()).allowed();
    let users = if can_change {
        app.store().list_users(None).await?
    } else {
        Vec::new()
    };
    let members = list
        .map(|l| {
            l.iter()
                .filter_map(|id| users.iter().find(|u| &u.id == id))
                .map(|u| (u.id.clone(), u.display_name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let workers = users
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::WorkCases))
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(AccessListView {
        kind,
        restricted: list.is_some(),
        can_change,
        members,
        workers,
    })
}

/// What a change to a list does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    /// Create the list (restrict): the lead worker, the caller and an optional named worker.
    Restrict,
    /// Add a named worker.
    Add,
    /// Remove a named worker.
    Remove,
    /// Lift the restriction.
    Lift,
}

impl ListChange {
    /// Reads the form's `change` value.
    pub fn parse(key: &str) -> Option<ListChange> {
        match key.trim() {
            "restrict" => Some(ListChange::Restrict),
            "add" => Some(ListChange::Add),
            "remove" => Some(ListChange::Remove),
            "lift" => Some(ListChange::Lift),
            _ => None,
        }
    }
}

/// A change to one of the case person's access lists, as asked for.
#[derive(Debug, Clone)]
pub struct AccessListChangeRequest {
    /// Which list.
    pub kind: AccessListKind,
    /// What to do (`None` when the form sent something unknown).
    pub change: Option<ListChange>,
    /// The worker to add or remove (or also to give access when restricting).
    pub user_id: String,
    /// Whom others should contact (when restricting the record).
    pub restriction_contact: String,
    /// Why the list is changing.
    pub reason: String,
}

/// Changes one of the case person's access lists. The access policy decides who may: the
/// people on the list, and managers of the lead agency. The change, its audit entry (with the
/// reason) and the notices to everyone on the list before or after commit together; a
/// refusal is audited too.
pub async fn change_access_list(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    request: &AccessListChangeRequest,
) -> Result<()> {
    caller.permit(Permission::WorkCases)?;
    let store = app.store();
    let case = store.case(case_id.as_str()).await?;
    let facts = store.case_facts(case_id.as_str()).await?;
    let kind = request.kind;
    let audit_action = match kind {
        AccessListKind::Record => AuditAction::AccessList,
        AccessListKind::Address => AuditAction::AddressAccessList,
    };
    let person = PersonId::new(case.person_id.clone());
    let cap = match authorize(&caller.actor, action_of(kind), &facts, now_unix(), person) {
        Ok(cap) => cap,
        Err(denial) => {
            app.audit(caller.refused(audit_action, RecordKind::Person, &case.person_id))
                .await?;
            return Err(match denial {
                Denial::NoRelationship => Error::NotFound,
                other => Error::Forbidden(format!("{other:?}")),
            });
        }
    };
    let current = list_of(&facts, kind).cloned();
    let mut f = Fields::new();
    let reason = f.required(&request.reason, "reason", "Enter why the list is changing");
    let user = request.user_id.trim();
    let contact_now = facts
        .restriction
        .as_ref()
        .map(|r| r.contact.clone())
        .unwrap_or_default();
    let (list, contact, verb) = match (request.change, current) {
        (Some(ListChange::Restrict), None) => {
            let contact = request.restriction_contact.trim();
            f.check(
                kind == AccessListKind::Record && contact.is_empty(),
                "restriction_contact",
                "Enter whom others should contact about this restricted record",
            );
            let mut list = vec![case.lead_worker_id.clone(), caller.user_id().to_string()];
            if !user.is_empty() {
                list.push(user.to_string());
            }
            list.dedup();
            (Some(list), contact.to_string(), "restricted")
        }
        (Some(ListChange::Add), Some(mut list)) => {
            f.check(user.is_empty(), "user_id", "Choose a worker from the list");
            f.check(
                list.iter().any(|u| u == user),
                "user_id",
                "That worker is already on the list",
            );
            list.push(user.to_string());
            (Some(list), contact_now, "added to")
        }
        (Some(ListChange::Remove), Some(mut list)) => {
            f.check(user.is_empty(), "user_id", "Choose a worker from the list");
            let before = list.len();
            list.retain(|u| u != user);
            if list.len() == before {
                f.add("user_id", "That worker is not on the list");
            } else if list.is_empty() {
                f.add(
                    "user_id",
                    "A restricted list must keep at least one person: lift the restriction instead",
                );
            }
            (Some(list), contact_now, "removed from")
        }
        (Some(ListChange::Lift), Some(_)) => (None, String::new(), "lifted"),
        _ => {
            return Err(Error::invalid(
                "change",
                "The restriction has changed since the page was loaded: reload it and try again",
            ));
        }
    };
    if !user.is_empty() {
        match store.user(user).await {
            Ok(u) if !u.disabled => {}
            Ok(_) | Err(pathways_store::StoreError::NotFound { .. }) => {
                f.add("user_id", "Choose a worker from the list");
            }
            Err(e) => return Err(e.into()),
        }
    }
    f.finish()?;
    let mut event = caller.event(audit_action, RecordKind::Person, &case.person_id);
    event.reason = match request.change {
        Some(ListChange::Add | ListChange::Remove) => {
            format!(
                "{user} {verb} the list from case {}: {reason}",
                case.reference
            )
        }
        _ => format!("{verb} from case {}: {reason}", case.reference),
    };
    let list_name = match kind {
        AccessListKind::Record => "restricted record",
        AccessListKind::Address => "restricted address",
    };
    let notice = match request.change {
        Some(ListChange::Restrict) => format!(
            "{} restricted the records of case {}; you are on the {list_name} list.",
            caller.name, case.reference
        ),
        Some(ListChange::Lift) => format!(
            "{} lifted the {list_name} restriction on case {}.",
            caller.name, case.reference
        ),
        _ => format!(
            "{} changed the {list_name} list of case {}.",
            caller.name, case.reference
        ),
    };
    let mut tx = app.write().await?;
    tx.change_access_list(
        &cap,
        &AccessListChange {
            kind,
            list,
            contact,
            by: caller.user_id().to_string(),
            notice,
            link: format!("/cases/{}", case.id),
        },
    )
    .await?;
    commit(tx, &event).await
}

/// Shortest accepted break-glass reason.
pub const MIN_BREAK_GLASS_REASON: usize = 15;

/// Opens a restricted case in an emergency: allowed to holders of the break-glass
/// permission who cannot otherwise read it, with a reason; the grant lapses after the
/// configured time, and the lead worker and the lead agency's managers are alerted in the
/// same transaction as the grant and its audit entry.
pub async fn break_glass(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    reason: &str,
) -> Result<i64> {
    let emergency = permit(&caller.actor, Permission::BreakGlass)
        .map_err(|d| Error::Forbidden(format!("{d:?}")))?;
    let facts = app.store().case_facts(case_id.as_str()).await?;
    if !may_break_glass(&caller.actor, &facts, now_unix()) {
        app.audit(caller.refused(AuditAction::BreakGlass, RecordKind::Case, case_id.as_str()))
            .await?;
        return Err(Error::Forbidden(
            "break-glass is only for restricted records the user cannot read".into(),
        ));
    }
    let reason = reason.trim();
    if reason.chars().count() < MIN_BREAK_GLASS_REASON {
        return Err(Error::invalid(
            "reason",
            format!(
                "Enter why you need emergency access, in at least {MIN_BREAK_GLASS_REASON} characters"
            ),
        ));
    }
    let mut event = caller.event(AuditAction::BreakGlass, RecordKind::Case, case_id.as_str());
    event.reason = reason.to_string();
    let mut tx = app.write().await?;
    let expires = tx
        .break_glass_case(
            &emergency,
            case_id.as_str(),
            caller.user_id(),
            reason,
            app.settings().break_glass_secs,
        )
        .await?;
    commit(tx, &event).await?;
    Ok(expires)
}

//! Cases: caseload lists, the case file and its forms, access lists and break-glass,
//! documents, risk assessments and service referrals.
//!
//! Every use case that touches a case first asks the access policy through [`lookup`] or
//! [`for_edit`]; writes then take the policy's proof ([`Authorized`]) to the store.

mod access;
mod assessments;
mod caseload;
mod documents;
mod file;
mod service_referrals;

pub use access::{
    AccessListChangeRequest, AccessListView, ListChange, MIN_BREAK_GLASS_REASON, break_glass,
    change_access_list,
};
pub use assessments::{
    AssessmentForm, AssessmentOutcome, assessment_form, builtin_registry, record_assessment,
    registry, score_api,
};
pub use caseload::{
    ApiCase, Caseload, CaseloadRequest, PER_PAGE, api_case, api_caseload, caseload, export_csv,
    spreadsheet_safe,
};
pub use documents::{Download, download, upload};
pub use file::{
    CaseFile, CaseView, Criterion, EntryInput, GoalInput, OUTCOMES, OpenCaseForm, OpenCaseInput,
    OpenedCase, RestrictedNotice, TaskInput, TeamChange, Waiting, add_entry, add_goal, add_task,
    case_file, close_case, complete_task, hold_review, open_case, open_case_form, schedule_review,
    set_goal_status, set_status, team_change,
};
pub use service_referrals::{
    CATEGORIES, IncomingReferral, LAWFUL_BASES, ReferralForm, Rights, ServiceReferralInput,
    ServiceReferralView, allocate, category_label, incoming, move_referral, refer_form,
    send_referral, service_referral,
};

use pathways_domain::access::{Action, Authorized, Denial, authorize, may_break_glass};
use pathways_domain::ids::CaseId;
use pathways_domain::{AuditAction, Permission, RecordFacts};
use pathways_store::cases::CaseRow;
use pathways_store::now_unix;

use crate::{App, Caller, Error, RecordKind, Result};

/// A case the caller may act on, with the facts and the proof of the decision.
#[derive(Debug, Clone)]
pub(crate) struct Opened {
    /// The case.
    pub case: CaseRow,
    /// Its access facts (for later decisions such as the address).
    pub facts: RecordFacts,
    /// The policy's proof for the action asked about.
    pub cap: Authorized<CaseId>,
}

/// What the policy said about a case the caller asked for.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Allowed.
    Open(Box<Opened>),
    /// Restricted: the caller may know it exists and whom to contact.
    Restricted(RestrictedNotice),
}

fn audit_action(action: Action) -> AuditAction {
    match action {
        Action::Edit => AuditAction::CaseEdit,
        Action::Export => AuditAction::CaseExport,
        _ => AuditAction::CaseRead,
    }
}

/// Loads a case and asks the policy about `action`. A case the caller may not even know of
/// is "not found"; refusals are audited, and so are reads that are allowed (writes are
/// audited by the change they make).
pub(crate) async fn lookup(
    app: &App,
    caller: &Caller,
    id: &CaseId,
    action: Action,
) -> Result<Lookup> {
    let case = app.store().case(id.as_str()).await?;
    let facts = app.store().case_facts(id.as_str()).await?;
    let now = now_unix();
    match authorize(&caller.actor, action, &facts, now, id.clone()) {
        Ok(cap) => {
            if action != Action::Edit {
                app.audit(caller.event(audit_action(action), RecordKind::Case, id.as_str()))
                    .await?;
            }
            Ok(Lookup::Open(Box::new(Opened { case, facts, cap })))
        }
        Err(denial) => {
            app.audit(caller.refused(audit_action(action), RecordKind::Case, id.as_str()))
                .await?;
            match denial {
                Denial::Restricted { contact } => {
                    let record_list = access::list_view(
                        app,
                        caller,
                        id,
                        &facts,
                        pathways_store::restriction::AccessListKind::Record,
                    )
                    .await?;
                    Ok(Lookup::Restricted(RestrictedNotice {
                        case_id: case.id.clone(),
                        reference: case.reference.clone(),
                        contact,
                        can_break_glass: may_break_glass(&caller.actor, &facts, now),
                        record_list: record_list.can_change.then_some(record_list),
                    }))
                }
                other => Err(Error::denied(other)),
            }
        }
    }
}

/// A case the caller may change: they work cases and the policy allows editing it.
pub(crate) async fn for_edit(app: &App, caller: &Caller, id: &CaseId) -> Result<Opened> {
    caller.permit(Permission::WorkCases)?;
    match lookup(app, caller, id, Action::Edit).await? {
        Lookup::Open(o) => Ok(*o),
        Lookup::Restricted(_) => Err(Error::Forbidden("restricted case".into())),
    }
}

/// Workers who may be named on a case (team members, owners, access lists).
pub async fn workers(app: &App) -> Result<Vec<(String, String)>> {
    Ok(app
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::WorkCases))
        .map(|u| (u.id, u.display_name))
        .collect())
}

//! The case file: opening a case from a triaged referral, reading the whole file, and the
//! small changes made on it (chronology, tasks, plan, reviews, team, status, closure).

use pathways_domain::access::{Action, decide, permit};
use pathways_domain::cases::{CaseStatus, EntryKind, GoalStatus};
use pathways_domain::ids::CaseId;
use pathways_domain::time::{london_midnight, parse_date, parse_london};
use pathways_domain::{AuditAction, Permission};
use pathways_store::cases::{
    Assessment, CaseRow, DocumentMeta, Entry, Goal, NewCase, NewEntry, Review, ServiceReferral,
    Task, TeamMember,
};
use pathways_store::now_unix;
use pathways_store::people::SafeContact;
use pathways_store::restriction::AccessListKind;

use super::access::{AccessListView, list_view};
use super::{Lookup, for_edit, lookup};
use crate::{App, Caller, Error, Fields, RecordKind, Result, commit};

/// A restricted case the caller may know of but not read.
#[derive(Debug, Clone)]
pub struct RestrictedNotice {
    /// Case id.
    pub case_id: String,
    /// Case reference.
    pub reference: String,
    /// Whom to contact.
    pub contact: String,
    /// True when the caller may open it in an emergency.
    pub can_break_glass: bool,
    /// The access list, for managers of the lead agency who may change it without being on
    /// it.
    pub record_list: Option<AccessListView>,
}

/// One MARAC criterion as the case page explains it.
#[derive(Debug, Clone)]
pub struct Criterion {
    /// Plain name.
    pub label: String,
    /// Met or not.
    pub met: bool,
    /// Why, with numbers and dates.
    pub explanation: String,
}

/// Everything the case page shows, for a caller allowed to read it.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// The case.
    pub case: CaseRow,
    /// Date of birth as recorded.
    pub dob: String,
    /// The current address, when the caller may see it and one is known.
    pub address: Option<String>,
    /// True when the address is restricted to a list the caller is not on.
    pub address_hidden: bool,
    /// Safe-contact rules.
    pub safe_contact: Vec<SafeContact>,
    /// The team.
    pub team: Vec<TeamMember>,
    /// Chronology, newest first.
    pub entries: Vec<Entry>,
    /// Tasks.
    pub tasks: Vec<Task>,
    /// Plan goals.
    pub goals: Vec<Goal>,
    /// Reviews.
    pub reviews: Vec<Review>,
    /// Documents.
    pub documents: Vec<DocumentMeta>,
    /// Referrals to services.
    pub referrals: Vec<ServiceReferral>,
    /// Risk assessments, newest first, each with its instrument's title.
    pub assessments: Vec<(Assessment, String)>,
    /// The latest MARAC eligibility summary and its criteria.
    pub marac: Option<(String, Vec<Criterion>)>,
    /// True when the caller may change the case.
    pub can_edit: bool,
    /// The restricted-record list as the caller may see it.
    pub record_list: AccessListView,
    /// The restricted-address list as the caller may see it.
    pub address_list: AccessListView,
    /// Workers who may be named on the case.
    pub workers: Vec<(String, String)>,
    /// Agencies that may join the team.
    pub agencies: Vec<(String, String)>,
}

/// What a caller asking for a case may see.
#[derive(Debug, Clone)]
pub enum CaseView {
    /// The whole file.
    File(Box<CaseFile>),
    /// Only that it exists and whom to contact.
    Restricted(RestrictedNotice),
}

/// Reads a case for the case page. The read is audited; a case the caller may not know of
/// is "not found".
pub async fn case_file(app: &App, caller: &Caller, id: &CaseId) -> Result<CaseView> {
    let opened = match lookup(app, caller, id, Action::ViewRecord).await? {
        Lookup::Open(o) => *o,
        Lookup::Restricted(notice) => return Ok(CaseView::Restricted(notice)),
    };
    let store = app.store();
    let now = now_unix();
    let case = opened.case;
    let person = store.person(&case.person_id).await?;
    let address_ok = decide(&caller.actor, Action::ViewAddress, &opened.facts, now).allowed();
    let can_edit = decide(&caller.actor, Action::Edit, &opened.facts, now).allowed();
    let assessments = store.assessments(&case.id).await?;
    let registry = super::assessments::registry_for(app, &assessments).await?;
    let marac = assessments
        .iter()
        .find(|a| a.eligibility != "null")
        .map(|a| criteria(&a.eligibility));
    let address = format!(
        "{} {}",
        person.details.address_line, person.details.postcode
    )
    .trim()
    .to_string();
    Ok(CaseView::File(Box::new(CaseFile {
        dob: person.details.dob.clone().unwrap_or_default(),
        address: (address_ok && !address.is_empty()).then_some(address),
        address_hidden: !address_ok,
        safe_contact: store.safe_contacts(&case.person_id).await?,
        team: store.case_team(&case.id).await?,
        entries: store.entries(&case.id).await?,
        tasks: store.tasks(&case.id).await?,
        goals: store.goals(&case.id).await?,
        reviews: store.reviews(&case.id).await?,
        documents: store.documents(&case.id).await?,
        referrals: store.case_service_referrals(&case.id).await?,
        assessments: assessments
            .into_iter()
            .map(|a| {
                let title = registry
                    .get(&a.instrument, u32::try_from(a.version).unwrap_or(0))
                    .map(|d| d.title.clone())
                    .unwrap_or_else(|| a.instrument.clone());
                (a, title)
            })
            .collect(),
        marac,
        can_edit,
        record_list: list_view(app, caller, id, &opened.facts, AccessListKind::Record).await?,
        address_list: list_view(app, caller, id, &opened.facts, AccessListKind::Address).await?,
        workers: super::workers(app).await?,
        agencies: store
            .list_agencies()
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect(),
        case,
    })))
}

fn criteria(eligibility: &str) -> (String, Vec<Criterion>) {
    let v: serde_json::Value = serde_json::from_str(eligibility).unwrap_or(serde_json::Value::Null);
    let text =
        |v: Option<&serde_json::Value>| v.and_then(|s| s.as_str()).unwrap_or_default().to_string();
    let list = v
        .get("criteria")
        .and_then(|c| c.as_array())
        .map(|items| {
            items
                .iter()
                .map(|c| Criterion {
                    label: match c
                        .get("criterion")
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                    {
                        "visible_high_risk" => "Visible high risk".into(),
                        "professional_judgement" => "Professional judgement".into(),
                        "potential_escalation" => "Potential escalation".into(),
                        "repeat" => "Repeat referral".into(),
                        other => other.to_string(),
                    },
                    met: c.get("met").and_then(|m| m.as_bool()).unwrap_or(false),
                    explanation: text(c.get("explanation")),
                })
                .collect()
        })
        .unwrap_or_default();
    (text(v.get("summary")), list)
}

/// A date typed as `YYYY-MM-DD`, read as the start of that London day.
fn form_day(raw: &str) -> Option<i64> {
    parse_date(raw).map(london_midnight)
}

/// A triaged referral waiting for a case.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// Referral id.
    pub id: String,
    /// Referral reference.
    pub reference: String,
    /// When received.
    pub received_at: i64,
    /// The person's name, or whom to contact for a restricted person.
    pub name: String,
}

/// What the "open a case" page offers: referrals triaged to open a case with none yet, and
/// the workers of the caller's agency who may lead one.
#[derive(Debug, Clone)]
pub struct OpenCaseForm {
    /// Referrals waiting.
    pub waiting: Vec<Waiting>,
    /// Possible lead workers.
    pub workers: Vec<(String, String)>,
}

/// The data of the "open a case" page.
pub async fn open_case_form(app: &App, caller: &Caller) -> Result<OpenCaseForm> {
    caller.permit(Permission::WorkCases)?;
    let store = app.store();
    let mut waiting = Vec::new();
    for r in store.referrals_to_open_as_cases().await? {
        if store.case_for_referral(&r.id).await?.is_some() {
            continue;
        }
        let Some(person_id) = r.person_id.as_deref() else {
            continue;
        };
        let person = store.person(person_id).await?;
        // A restricted person's name is not shown to everyone who may open cases.
        let name = if person.restricted {
            format!("Restricted person: contact {}", person.restriction_contact)
        } else {
            format!("{} {}", person.details.first_name, person.details.surname)
        };
        waiting.push(Waiting {
            id: r.id.clone(),
            reference: r.reference.clone(),
            received_at: r.created_at,
            name,
        });
    }
    let workers = store
        .list_users(Some(&caller.actor.agency_id))
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::WorkCases))
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(OpenCaseForm { waiting, workers })
}

/// The "open a case" form.
#[derive(Debug, Clone, Default)]
pub struct OpenCaseInput {
    /// The triaged referral.
    pub referral_id: String,
    /// The lead worker (the caller when empty).
    pub lead_worker_id: String,
    /// Restrict the person's records from the start.
    pub restricted: bool,
    /// Whom others should contact when restricted.
    pub restriction_contact: String,
}

/// A case opened, or the one the referral already had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCase {
    /// The case.
    pub id: CaseId,
    /// True when the referral already had a case and nothing was opened.
    pub existing: bool,
}

/// Opens a case from a referral triage decided `open_case`, with the lead worker and their
/// agency on the team.
pub async fn open_case(app: &App, caller: &Caller, input: &OpenCaseInput) -> Result<OpenedCase> {
    let works = permit(&caller.actor, Permission::WorkCases)
        .map_err(|d| Error::Forbidden(format!("{d:?}")))?;
    let store = app.store();
    let referral = match store.referral(input.referral_id.trim()).await {
        Ok(r) => r,
        Err(pathways_store::StoreError::NotFound { .. }) => {
            return Err(Error::invalid(
                "referral_id",
                "Choose a triaged referral to open a case from",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if referral.decision.as_deref() != Some("open_case") {
        return Err(Error::invalid(
            "referral_id",
            "This referral was not triaged to open a case",
        ));
    }
    let Some(person_id) = referral.person_id.clone() else {
        return Err(Error::invalid(
            "referral_id",
            "Triage has not linked this referral to a person yet",
        ));
    };
    if let Some(existing) = store.case_for_referral(&referral.id).await? {
        return Ok(OpenedCase {
            id: CaseId::new(existing),
            existing: true,
        });
    }
    let lead = match input.lead_worker_id.trim() {
        "" => caller.user_id().to_string(),
        id => id.to_string(),
    };
    let lead_user = store
        .user(&lead)
        .await
        .map_err(|_| Error::invalid("lead_worker_id", "Choose a lead worker"))?;
    if lead_user.agency_id != caller.actor.agency_id || !lead_user.roles.has(Permission::WorkCases)
    {
        return Err(Error::invalid(
            "lead_worker_id",
            "The lead worker must be a practitioner in your agency",
        ));
    }
    if input.restricted && input.restriction_contact.trim().is_empty() {
        return Err(Error::invalid(
            "restriction_contact",
            "Enter whom others should contact about this restricted case",
        ));
    }
    let mut tx = app.write().await?;
    let id = tx
        .open_case(
            &works,
            &NewCase {
                person_id,
                referral_id: Some(referral.id.clone()),
                referrer_id: Some(referral.submitted.referrer_actor.clone()),
                lead_worker_id: lead,
                opened_by: caller.user_id().to_string(),
                restricted: input.restricted,
                restriction_contact: input.restriction_contact.trim().to_string(),
                access_list: vec![caller.user_id().to_string()],
            },
        )
        .await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseOpen, RecordKind::Case, &id),
    )
    .await?;
    Ok(OpenedCase {
        id: CaseId::new(id),
        existing: false,
    })
}

/// A chronology entry as typed.
#[derive(Debug, Clone, Default)]
pub struct EntryInput {
    /// Entry kind key.
    pub kind: String,
    /// One-line summary.
    pub summary: String,
    /// Detail.
    pub body: String,
    /// When it happened, London time (`YYYY-MM-DDTHH:MM`); empty means now.
    pub occurred_at: String,
    /// Where (street contacts).
    pub place: String,
    /// How.
    pub contact_method: String,
}

/// Adds a note, contact, street contact (with its place) or event to the chronology.
pub async fn add_entry(app: &App, caller: &Caller, id: &CaseId, input: &EntryInput) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut f = Fields::new();
    let kind = EntryKind::parse(input.kind.trim()).ok();
    f.check(kind.is_none(), "kind", "Choose what kind of entry this is");
    let summary = f.required(&input.summary, "summary", "Enter a summary of the entry");
    let now = now_unix();
    let occurred = match input.occurred_at.trim() {
        "" => Some(now),
        raw => parse_london(raw),
    };
    f.check(
        occurred.is_none(),
        "occurred_at",
        "Enter when it happened as a date and time",
    );
    f.check(
        occurred.is_some_and(|t| t > now + 300),
        "occurred_at",
        "When it happened cannot be in the future",
    );
    let place = input.place.trim();
    f.check(
        kind == Some(EntryKind::StreetContact) && place.is_empty(),
        "place",
        "Enter where the street contact took place",
    );
    f.finish()?;
    let mut tx = app.write().await?;
    tx.add_entry(
        &opened.cap,
        caller.user_id(),
        &NewEntry {
            kind: kind.unwrap_or_default(),
            occurred_at: occurred.unwrap_or(now),
            summary: summary.into(),
            body: input.body.trim().into(),
            place: place.into(),
            contact_method: input.contact_method.trim().into(),
        },
    )
    .await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseEntryAdd, RecordKind::Case, id.as_str()),
    )
    .await
}

/// A task as typed.
#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    /// What needs doing.
    pub title: String,
    /// Who owns it.
    pub owner_id: String,
    /// Due date, `YYYY-MM-DD`.
    pub due_at: String,
}

/// Adds a task with an owner and a due date.
pub async fn add_task(app: &App, caller: &Caller, id: &CaseId, input: &TaskInput) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut f = Fields::new();
    let title = f.required(&input.title, "title", "Enter what needs doing");
    let owner = f.required(&input.owner_id, "owner_id", "Choose who owns the task");
    let due = form_day(&input.due_at);
    f.check(
        due.is_none(),
        "due_at",
        "Enter a due date, for example 2026-12-01",
    );
    if !owner.is_empty() && app.store().user(owner).await.is_err() {
        f.add("owner_id", "Choose an owner from the list");
    }
    f.finish()?;
    let mut tx = app.write().await?;
    tx.add_task(
        &opened.cap,
        title,
        owner,
        due.unwrap_or_default(),
        caller.user_id(),
    )
    .await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseTaskAdd, RecordKind::Case, id.as_str()),
    )
    .await
}

/// Marks a task done.
pub async fn complete_task(app: &App, caller: &Caller, id: &CaseId, task_id: &str) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut tx = app.write().await?;
    tx.complete_task(&opened.cap, task_id, caller.user_id())
        .await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseTaskDone, RecordKind::Case, id.as_str()),
    )
    .await
}

/// A plan goal as typed.
#[derive(Debug, Clone, Default)]
pub struct GoalInput {
    /// The goal.
    pub goal: String,
    /// What will be done towards it.
    pub actions: String,
    /// Target date, `YYYY-MM-DD`, optional.
    pub target_at: String,
}

/// Adds a goal to the case plan.
pub async fn add_goal(app: &App, caller: &Caller, id: &CaseId, input: &GoalInput) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut f = Fields::new();
    let goal = f.required(&input.goal, "goal", "Enter the goal");
    let target = match input.target_at.trim() {
        "" => None,
        raw => {
            let t = form_day(raw);
            f.check(
                t.is_none(),
                "target_at",
                "Enter the target date as YYYY-MM-DD",
            );
            t
        }
    };
    f.finish()?;
    let mut tx = app.write().await?;
    tx.add_goal(&opened.cap, goal, input.actions.trim(), target)
        .await?;
    commit(
        tx,
        &caller.event(AuditAction::CasePlanEdit, RecordKind::Case, id.as_str()),
    )
    .await
}

/// Marks a goal open, achieved or dropped.
pub async fn set_goal_status(
    app: &App,
    caller: &Caller,
    id: &CaseId,
    goal_id: &str,
    status: &str,
) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let status = GoalStatus::parse(status.trim())
        .map_err(|_| Error::invalid("status", "Choose open, achieved or dropped"))?;
    let mut tx = app.write().await?;
    tx.set_goal_status(&opened.cap, goal_id, status).await?;
    commit(
        tx,
        &caller.event(AuditAction::CasePlanEdit, RecordKind::Case, id.as_str()),
    )
    .await
}

/// Schedules a review on a date (`YYYY-MM-DD`).
pub async fn schedule_review(app: &App, caller: &Caller, id: &CaseId, due: &str) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let due = form_day(due)
        .ok_or_else(|| Error::invalid("review_due_at", "Enter the review date as YYYY-MM-DD"))?;
    let mut tx = app.write().await?;
    tx.schedule_review(&opened.cap, due, caller.user_id())
        .await?;
    commit(
        tx,
        &caller.event(
            AuditAction::CaseReviewSchedule,
            RecordKind::Case,
            id.as_str(),
        ),
    )
    .await
}

/// Records a review as held, with what it found.
pub async fn hold_review(
    app: &App,
    caller: &Caller,
    id: &CaseId,
    review_id: &str,
    notes: &str,
) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut f = Fields::new();
    let notes = f.required(notes, "notes", "Enter what the review found");
    f.finish()?;
    let mut tx = app.write().await?;
    tx.hold_review(&opened.cap, review_id, notes).await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseReviewHeld, RecordKind::Case, id.as_str()),
    )
    .await
}

/// A change to the case team.
#[derive(Debug, Clone, Default)]
pub struct TeamChange {
    /// A named worker to add (or make lead).
    pub user_id: String,
    /// An agency to add.
    pub agency_id: String,
    /// Make the named worker the lead worker.
    pub lead: bool,
}

/// Adds a named worker or an agency to the team, or hands over the lead.
pub async fn team_change(
    app: &App,
    caller: &Caller,
    id: &CaseId,
    change: &TeamChange,
) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let (user, agency) = (change.user_id.trim(), change.agency_id.trim());
    let mut tx = app.write().await?;
    match (user.is_empty(), agency.is_empty()) {
        (false, _) if change.lead => {
            tx.set_lead_worker(&opened.cap, user, caller.user_id())
                .await?
        }
        (false, _) => {
            tx.add_team_member(&opened.cap, "user", user, caller.user_id())
                .await?
        }
        (true, false) => {
            tx.add_team_member(&opened.cap, "agency", agency, caller.user_id())
                .await?
        }
        (true, true) => {
            return Err(Error::invalid(
                "user_id",
                "Choose a worker or an agency to add to the team",
            ));
        }
    }
    commit(
        tx,
        &caller.event(AuditAction::CaseTeamChange, RecordKind::Case, id.as_str()),
    )
    .await
}

/// Puts a case on hold or reopens it.
pub async fn set_status(app: &App, caller: &Caller, id: &CaseId, status: &str) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let status = match CaseStatus::parse(status.trim()) {
        Ok(CaseStatus::Closed) | Err(_) => {
            return Err(Error::invalid(
                "status",
                "Choose open or on hold; close a case with the closure form",
            ));
        }
        Ok(chosen) => chosen,
    };
    let mut tx = app.write().await?;
    tx.set_case_status(&opened.cap, status).await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseStatus, RecordKind::Case, id.as_str()),
    )
    .await
}

/// Outcome measures recorded at closure: each answered yes, no or not known.
pub const OUTCOMES: &[(&str, &str)] = &[
    ("safer", "The person reports feeling safer"),
    ("reduced_risk", "Risk reduced since the case opened"),
    (
        "education_employment",
        "In education, training or employment",
    ),
    (
        "no_new_offences",
        "No new offences or incidents during the case",
    ),
    ("engaged_services", "Engaged with at least one service"),
];

/// Closes a case with a reason and every outcome measure answered (`outcomes` holds the
/// answer for each key of [`OUTCOMES`]).
pub async fn close_case(
    app: &App,
    caller: &Caller,
    id: &CaseId,
    reason: &str,
    outcomes: &std::collections::HashMap<String, String>,
) -> Result<()> {
    let opened = for_edit(app, caller, id).await?;
    let mut f = Fields::new();
    f.check(
        opened.case.status == CaseStatus::Closed,
        "closure_reason",
        "This case is already closed",
    );
    let reason = f.required(reason, "closure_reason", "Enter why the case is closing");
    let mut answers = serde_json::Map::new();
    for (key, label) in OUTCOMES {
        match outcomes.get(*key).map(|s| s.trim()) {
            Some(v @ ("yes" | "no" | "not_known")) => {
                answers.insert((*key).into(), serde_json::Value::String(v.into()));
            }
            _ => f.add(
                &format!("outcome_{key}"),
                format!("Answer \"{label}\" with yes, no or not known"),
            ),
        }
    }
    f.finish()?;
    let mut tx = app.write().await?;
    tx.close_case(
        &opened.cap,
        reason,
        &serde_json::Value::Object(answers).to_string(),
    )
    .await?;
    commit(
        tx,
        &caller.event(AuditAction::CaseClose, RecordKind::Case, id.as_str()),
    )
    .await
}

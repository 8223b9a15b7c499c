//! Caseload lists, opening a case from a triaged referral, the case page, and the small
//! forms on it (chronology, tasks, plan, reviews, team, status, closure, restriction,
//! break-glass). Bad input re-renders the case page with a GOV.UK error summary.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use pathways_domain::{Action, Permission, decide};
use pathways_risk::InstrumentRegistry;
use pathways_store::cases::{
    Assessment, CaseRow, CaseSort, CaseStatus, CaseloadCounts, CaseloadQuery, CaseloadView,
    DocumentMeta, Entry, Goal, NewCase, NewEntry, Review, ServiceReferral, Task, TeamMember,
};
use pathways_store::now_unix;
use pathways_store::restriction::{AccessListChange, AccessListKind};
use serde::Deserialize;

use super::format::{category_label, day, risk_class, risk_label, when};
use super::{Lookup, for_edit, lookup, render};
use crate::auth::Staff;
use crate::error::{AppError, FieldError, PageError};
use crate::{AppState, Chrome};

/// Rows per caseload page.
pub(crate) const PER_PAGE: i64 = 25;
/// How far ahead "reviews due" looks.
pub(crate) const REVIEW_HORIZON: i64 = 14 * 86_400;

/// Caseload query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub risk: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: Option<i64>,
}

impl ListParams {
    /// The store query these parameters ask for, for this user.
    pub(crate) fn query(&self, actor: &pathways_domain::Actor) -> CaseloadQuery {
        let view = if !self.q.trim().is_empty() {
            CaseloadView::Search
        } else {
            match self.view.as_str() {
                "team" => CaseloadView::Team,
                "overdue" => CaseloadView::OverdueTasks,
                "reviews" => CaseloadView::ReviewsDue,
                "high" => CaseloadView::HighRisk,
                _ => CaseloadView::Mine,
            }
        };
        let sort = match self.sort.as_str() {
            "updated" => CaseSort::Updated,
            "risk" => CaseSort::Risk,
            "review" => CaseSort::Review,
            "task" => CaseSort::TaskDue,
            "name" => CaseSort::Name,
            _ => CaseSort::Opened,
        };
        CaseloadQuery {
            view,
            user_id: actor.user_id.clone(),
            agency_id: actor.agency_id.clone(),
            borough_wide: actor.roles.has(Permission::ReadBoroughWide),
            break_glass: actor.roles.has(Permission::BreakGlass),
            status: CaseStatus::parse(&self.status),
            risk: Some(self.risk.clone())
                .filter(|r| ["high", "medium", "standard", "low"].contains(&r.as_str())),
            text: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            sort,
            page: self.page.unwrap_or(1).max(1),
            per_page: PER_PAGE,
            now: now_unix(),
            review_horizon: REVIEW_HORIZON,
        }
    }
}

/// One row of a caseload as shown.
pub(crate) struct ListRow {
    pub id: String,
    pub reference: String,
    pub name: String,
    pub status: &'static str,
    pub risk_label: &'static str,
    pub risk_class: &'static str,
    pub marac: bool,
    pub lead: String,
    pub task_due: String,
    pub task_overdue: bool,
    pub review: String,
    pub opened: String,
}

/// Applies the access policy to every row of a page for `action`, keeping the rows it
/// allows. The caseload SQL already leaves out what the user may not read (restricted
/// records included); this is the policy's own check on what reaches the page.
pub(crate) async fn allowed_rows(
    state: &AppState,
    actor: &pathways_domain::Actor,
    action: Action,
    rows: Vec<CaseRow>,
) -> Result<Vec<CaseRow>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let facts = state.store().case_facts_many(&ids).await?;
    let now = now_unix();
    Ok(rows
        .into_iter()
        .filter(|row| {
            facts
                .get(&row.id)
                .is_some_and(|f| decide(actor, action, f, now).allowed())
        })
        .collect())
}

fn list_row(row: CaseRow, now: i64) -> ListRow {
    ListRow {
        name: row.person_name,
        status: row.status.label(),
        risk_label: risk_label(&row.risk_level),
        risk_class: risk_class(&row.risk_level),
        marac: row.marac_eligible,
        lead: row.lead_worker_name,
        task_due: row.next_task_due_at.map(day).unwrap_or_default(),
        task_overdue: row.next_task_due_at.is_some_and(|d| d < now),
        review: row.next_review_at.map(day).unwrap_or_default(),
        opened: day(row.opened_at),
        id: row.id,
        reference: row.reference,
    }
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    chrome: Chrome,
    tabs: Vec<(&'static str, &'static str, i64, bool)>,
    rows: Vec<ListRow>,
    total: i64,
    params: ListParams,
    view: &'static str,
    searching: bool,
    prev: Option<String>,
    next: Option<String>,
    export: String,
    can_open: bool,
}

fn view_key(v: CaseloadView) -> &'static str {
    match v {
        CaseloadView::Mine => "mine",
        CaseloadView::Team => "team",
        CaseloadView::OverdueTasks => "overdue",
        CaseloadView::ReviewsDue => "reviews",
        CaseloadView::HighRisk => "high",
        CaseloadView::Search => "search",
    }
}

fn tabs(counts: CaseloadCounts, current: &str) -> Vec<(&'static str, &'static str, i64, bool)> {
    [
        ("mine", "My cases", counts.mine),
        ("team", "Team cases", counts.team),
        ("overdue", "Overdue tasks", counts.overdue_tasks),
        ("reviews", "Reviews due", counts.reviews_due),
        ("high", "High risk", counts.high_risk),
    ]
    .into_iter()
    .map(|(k, l, n)| (k, l, n, k == current))
    .collect()
}

fn page_link(p: &ListParams, view: &str, page: i64) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "?view={view}&status={}&risk={}&q={}&sort={}&page={page}",
        enc(&p.status),
        enc(&p.risk),
        enc(&p.q),
        enc(&p.sort)
    )
}

/// `GET /cases`: the caseload with tabs, filters, sorting and search.
pub(crate) async fn caseload(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<ListParams>,
) -> Response {
    match caseload_inner(&state, &staff, params).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn caseload_inner(
    state: &AppState,
    staff: &Staff,
    params: ListParams,
) -> Result<Response, AppError> {
    staff.require(Permission::WorkCases)?;
    let q = params.query(&staff.actor());
    // The list and the tab counts are independent reads: run them side by side on two
    // connections.
    let (page, counts) = tokio::try_join!(
        state.store().caseload(&q),
        state.store().caseload_counts(&q)
    )?;
    let now = q.now;
    let rows: Vec<ListRow> = allowed_rows(state, &staff.actor(), Action::ViewRecord, page.rows)
        .await?
        .into_iter()
        .map(|r| list_row(r, now))
        .collect();
    let view = view_key(q.view);
    state
        .store()
        .audit(staff.event("caseload_view", "caseload", view, "allowed"))
        .await?;
    let prev = (q.page > 1).then(|| page_link(&params, view, q.page - 1));
    let next = (q.page * PER_PAGE < page.total).then(|| page_link(&params, view, q.page + 1));
    let export = format!("/cases/export.csv{}", page_link(&params, view, 1));
    Ok(render(
        state,
        ListPage {
            chrome: staff.chrome(state, "Cases"),
            tabs: tabs(counts, view),
            rows,
            total: page.total,
            searching: q.view == CaseloadView::Search,
            params,
            view,
            prev,
            next,
            export,
            can_open: staff.can(Permission::WorkCases),
        },
    ))
}

/// A triaged referral waiting for a case, as the opening form shows it.
pub(crate) struct Waiting {
    pub id: String,
    pub reference: String,
    pub received: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct NewPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    waiting: Vec<Waiting>,
    workers: Vec<(String, String)>,
    me: String,
}

async fn waiting_referrals(state: &AppState) -> Result<Vec<Waiting>, AppError> {
    let mut out = Vec::new();
    for r in state.store().referrals_to_open_as_cases().await? {
        if state.store().case_for_referral(&r.id).await?.is_some() {
            continue;
        }
        let Some(person_id) = r.person_id.as_deref() else {
            continue;
        };
        let person = state.store().person(person_id).await?;
        // A restricted person's name is not shown to everyone who may open cases.
        let name = if person.restricted {
            format!("Restricted person: contact {}", person.restriction_contact)
        } else {
            format!("{} {}", person.details.first_name, person.details.surname)
        };
        out.push(Waiting {
            id: r.id.clone(),
            reference: r.reference.clone(),
            received: day(r.created_at),
            name,
        });
    }
    Ok(out)
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    staff.require(Permission::WorkCases)?;
    let workers = state
        .store()
        .list_users(Some(&staff.user.agency_id))
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::WorkCases))
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(render(
        state,
        NewPage {
            chrome: staff.chrome(state, "Open a case"),
            errors,
            waiting: waiting_referrals(state).await?,
            workers,
            me: staff.user.id.clone(),
        },
    ))
}

/// `GET /cases/new`: triaged referrals waiting for a case, and the opening form.
pub(crate) async fn new_case_form(State(state): State<AppState>, staff: Staff) -> Response {
    match new_page(&state, &staff, Vec::new()).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

/// The opening form.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    referral_id: String,
    #[serde(default)]
    lead_worker_id: String,
    #[serde(default)]
    restricted: Option<String>,
    #[serde(default)]
    restriction_contact: String,
}

/// `POST /cases/new`: opens a case from a referral triage decided `open_case`.
pub(crate) async fn open_case(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<OpenForm>,
) -> Response {
    match open_inner(&state, &staff, form).await {
        Ok(r) => r,
        Err(AppError::Invalid(errors)) => match new_page(&state, &staff, errors).await {
            Ok(r) => r,
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

async fn open_inner(state: &AppState, staff: &Staff, form: OpenForm) -> Result<Response, AppError> {
    staff.require(Permission::WorkCases)?;
    let referral = match state.store().referral(form.referral_id.trim()).await {
        Ok(r) => r,
        Err(pathways_store::StoreError::NotFound { .. }) => {
            return Err(invalid(
                "referral_id",
                "Choose a triaged referral to open a case from",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if referral.decision.as_deref() != Some("open_case") {
        return Err(invalid(
            "referral_id",
            "This referral was not triaged to open a case",
        ));
    }
    let Some(person_id) = referral.person_id.clone() else {
        return Err(invalid(
            "referral_id",
            "Triage has not linked this referral to a person yet",
        ));
    };
    if let Some(existing) = state.store().case_for_referral(&referral.id).await? {
        return Ok(Redirect::to(&format!("/cases/{existing}")).into_response());
    }
    let lead = if form.lead_worker_id.is_empty() {
        staff.user.id.clone()
    } else {
        form.lead_worker_id.clone()
    };
    let lead_user = state
        .store()
        .user(&lead)
        .await
        .map_err(|_| invalid("lead_worker_id", "Choose a lead worker"))?;
    if lead_user.agency_id != staff.user.agency_id || !lead_user.roles.has(Permission::WorkCases) {
        return Err(invalid(
            "lead_worker_id",
            "The lead worker must be a practitioner in your agency",
        ));
    }
    let restricted = form.restricted.is_some();
    if restricted && form.restriction_contact.trim().is_empty() {
        return Err(invalid(
            "restriction_contact",
            "Enter whom others should contact about this restricted case",
        ));
    }
    let case = state
        .store()
        .open_case(&NewCase {
            person_id,
            referral_id: Some(referral.id.clone()),
            referrer_id: Some(referral.submitted.referrer_actor.clone()),
            lead_worker_id: lead,
            opened_by: staff.user.id.clone(),
            restricted,
            restriction_contact: form.restriction_contact.trim().to_string(),
            access_list: vec![staff.user.id.clone()],
        })
        .await?;
    state
        .store()
        .audit(staff.event("case_open", "case", &case.id, "allowed"))
        .await?;
    Ok(Redirect::to(&format!("/cases/{}", case.id)).into_response())
}

/// One MARAC criterion as the case page explains it.
pub(crate) struct CriterionView {
    pub label: String,
    pub met: bool,
    pub explanation: String,
}

/// An assessment on the risk timeline.
pub(crate) struct AssessmentView {
    pub title: String,
    pub version: i64,
    pub when: String,
    pub by: String,
    pub score: i64,
    pub max_score: i64,
    pub level_label: &'static str,
    pub level_class: &'static str,
    pub computed_label: &'static str,
    pub judgement: String,
    pub marac: Option<bool>,
}

fn assessment_view(registry: &InstrumentRegistry, a: &Assessment) -> AssessmentView {
    let title = registry
        .get(&a.instrument, u32::try_from(a.version).unwrap_or(0))
        .map(|d| d.title.clone())
        .unwrap_or_else(|| a.instrument.clone());
    AssessmentView {
        title,
        version: a.version,
        when: when(a.assessed_at),
        by: a.assessed_by_name.clone(),
        score: a.score,
        max_score: a.max_score,
        level_label: risk_label(&a.level),
        level_class: risk_class(&a.level),
        computed_label: risk_label(&a.computed_level),
        judgement: a.judgement_reason.clone(),
        marac: (a.eligibility != "null").then_some(a.marac_eligible),
    }
}

fn criteria(eligibility: &str) -> (String, Vec<CriterionView>) {
    let v: serde_json::Value = serde_json::from_str(eligibility).unwrap_or(serde_json::Value::Null);
    let summary = v
        .get("summary")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_string();
    let list = v
        .get("criteria")
        .and_then(|c| c.as_array())
        .map(|items| {
            items
                .iter()
                .map(|c| CriterionView {
                    label: c
                        .get("criterion")
                        .and_then(|s| s.as_str())
                        .map(|k| match k {
                            "visible_high_risk" => "Visible high risk",
                            "professional_judgement" => "Professional judgement",
                            "potential_escalation" => "Potential escalation",
                            "repeat" => "Repeat referral",
                            other => other,
                        })
                        .unwrap_or_default()
                        .to_string(),
                    met: c.get("met").and_then(|m| m.as_bool()).unwrap_or(false),
                    explanation: c
                        .get("explanation")
                        .and_then(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    (summary, list)
}

/// A service referral row on the case page.
pub(crate) struct ReferralRow {
    pub id: String,
    pub service: String,
    pub category: &'static str,
    pub agency: String,
    pub status: &'static str,
    pub sent: String,
    pub reason: String,
}

fn referral_row(r: &ServiceReferral) -> ReferralRow {
    ReferralRow {
        id: r.id.clone(),
        service: r.service_name.clone(),
        category: category_label(&r.category),
        agency: match &r.allocated_agency_name {
            Some(m) => format!("{} (allocated to {m})", r.to_agency_name),
            None => r.to_agency_name.clone(),
        },
        status: r.status.label(),
        sent: day(r.sent_at),
        reason: r.status_reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "cases/case.html")]
struct CasePage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    case: CaseRow,
    status_label: &'static str,
    closed: bool,
    risk_label: &'static str,
    risk_class: &'static str,
    risk_when: String,
    marac_summary: String,
    marac_criteria: Vec<CriterionView>,
    history: Vec<AssessmentView>,
    dob: String,
    address: Option<String>,
    address_hidden: bool,
    safe_contact: Vec<(String, bool, String)>,
    team: Vec<TeamMember>,
    entries: Vec<(Entry, String)>,
    tasks: Vec<(Task, String, bool)>,
    goals: Vec<(Goal, String)>,
    reviews: Vec<(Review, String, String)>,
    documents: Vec<(DocumentMeta, String)>,
    referrals: Vec<ReferralRow>,
    workers: Vec<(String, String)>,
    agencies: Vec<(String, String)>,
    can_edit: bool,
    record_list: ListView,
    address_list: ListView,
    today: String,
    outcomes: &'static [(&'static str, &'static str)],
}

/// `GET /cases/{id}`: the case page (or the restricted notice with break-glass).
pub(crate) async fn case_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    match show(&state, &staff, &id, Vec::new()).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "cases/restricted.html")]
struct RestrictedPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    id: String,
    reference: String,
    contact: String,
    can_break_glass: bool,
    record_list: Option<ListView>,
}

/// One of the person's access lists as the case page shows it.
pub(crate) struct ListView {
    action: String,
    key: &'static str,
    title: &'static str,
    hint: &'static str,
    covers: &'static str,
    restrict_label: &'static str,
    asks_contact: bool,
    restricted: bool,
    can_change: bool,
    members: Vec<(String, String)>,
    workers: Vec<(String, String)>,
}

/// Builds the view of one access list for `actor`: members are named only to those who
/// may change the list.
async fn list_view(
    state: &AppState,
    actor: &pathways_domain::Actor,
    case_id: &str,
    facts: &pathways_domain::RecordFacts,
    kind: AccessListKind,
) -> Result<ListView, AppError> {
    let (action, list) = match kind {
        AccessListKind::Record => (
            Action::ChangeAccessList,
            facts.restriction.as_ref().map(|r| &r.access_list),
        ),
        AccessListKind::Address => (
            Action::ChangeAddressList,
            facts.address_access_list.as_ref(),
        ),
    };
    let can_change = decide(actor, action, facts, now_unix()).allowed();
    let users = if can_change {
        state.store().list_users(None).await?
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
    Ok(match kind {
        AccessListKind::Record => ListView {
            action: format!("/cases/{case_id}/restriction"),
            key: "record",
            title: "Restriction",
            hint: "Restrict this person's records (this case, their other cases, their referrals and their person record) to a named list.",
            covers: "this person's records",
            restrict_label: "Restrict this person's records",
            asks_contact: true,
            restricted: list.is_some(),
            can_change,
            members,
            workers,
        },
        AccessListKind::Address => ListView {
            action: format!("/cases/{case_id}/address-restriction"),
            key: "address",
            title: "Address restriction",
            hint: "Hide the person's current address from everyone except a named list, even from colleagues who can see the rest of this case. A restricted address never appears in lists, searches or exports.",
            covers: "the current address",
            restrict_label: "Restrict the address",
            asks_contact: false,
            restricted: list.is_some(),
            can_change,
            members,
            workers,
        },
    })
}

/// Renders the case page, with `errors` from a refused form.
pub(crate) async fn show(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let allowed = match lookup(state, staff, id, Action::ViewRecord).await? {
        Lookup::Allowed(a) => *a,
        Lookup::Restricted {
            id,
            reference,
            contact,
            can_break_glass,
        } => {
            // Managers of the lead agency may change the list without being on it.
            let facts = store_facts(state, &id).await?;
            let view =
                list_view(state, &staff.actor(), &id, &facts, AccessListKind::Record).await?;
            return Ok(render(
                state,
                RestrictedPage {
                    chrome: staff.chrome(state, "Restricted record"),
                    errors,
                    id,
                    reference,
                    contact,
                    can_break_glass,
                    record_list: view.can_change.then_some(view),
                },
            ));
        }
    };
    let store = state.store();
    let now = now_unix();
    let case = allowed.case;
    let person = store.person(&case.person_id).await?;
    let address_ok = decide(&staff.actor(), Action::ViewAddress, &allowed.facts, now).allowed();
    let can_edit = decide(&staff.actor(), Action::Edit, &allowed.facts, now).allowed();
    let history_rows = store.assessments(&case.id).await?;
    // Each assessment is shown with the version it was made with; published versions are
    // read only when the history holds one.
    let shipped = super::builtin_registry();
    let published;
    let registry = if history_rows
        .iter()
        .all(|a| u32::try_from(a.version).is_ok_and(|v| shipped.get(&a.instrument, v).is_some()))
    {
        shipped
    } else {
        published = super::registry(state).await?;
        &published
    };
    let latest_dash = history_rows.iter().find(|a| a.eligibility != "null");
    let (marac_summary, marac_criteria) = latest_dash
        .map(|a| criteria(&a.eligibility))
        .unwrap_or_default();
    let address = format!(
        "{} {}",
        person.details.address_line, person.details.postcode
    )
    .trim()
    .to_string();
    let actor = staff.actor();
    let record_list = list_view(
        state,
        &actor,
        &case.id,
        &allowed.facts,
        AccessListKind::Record,
    )
    .await?;
    let workers = record_list_workers(state).await?;
    let address_list = list_view(
        state,
        &actor,
        &case.id,
        &allowed.facts,
        AccessListKind::Address,
    )
    .await?;
    let agencies = store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let page = CasePage {
        chrome: staff.chrome(state, &format!("Case {}", case.reference)),
        errors,
        status_label: case.status.label(),
        closed: case.status == CaseStatus::Closed,
        risk_label: risk_label(&case.risk_level),
        risk_class: risk_class(&case.risk_level),
        risk_when: case.risk_at.map(when).unwrap_or_default(),
        marac_summary,
        marac_criteria,
        history: history_rows
            .iter()
            .map(|a| assessment_view(registry, a))
            .collect(),
        dob: person.details.dob.clone().unwrap_or_default(),
        address: (address_ok && !address.is_empty()).then_some(address),
        address_hidden: !address_ok,
        safe_contact: store
            .safe_contacts(&case.person_id)
            .await?
            .into_iter()
            .map(|s| (s.channel, s.safe, s.when))
            .collect(),
        team: store.case_team(&case.id).await?,
        entries: store
            .entries(&case.id)
            .await?
            .into_iter()
            .map(|e| {
                let w = when(e.occurred_at);
                (e, w)
            })
            .collect(),
        tasks: store
            .tasks(&case.id)
            .await?
            .into_iter()
            .map(|t| {
                let d = day(t.due_at);
                let overdue = t.done_at.is_none() && t.due_at < now;
                (t, d, overdue)
            })
            .collect(),
        goals: store
            .goals(&case.id)
            .await?
            .into_iter()
            .map(|g| {
                let d = g.target_at.map(day).unwrap_or_default();
                (g, d)
            })
            .collect(),
        reviews: store
            .reviews(&case.id)
            .await?
            .into_iter()
            .map(|r| {
                let d = day(r.due_at);
                let h = r.held_at.map(day).unwrap_or_default();
                (r, d, h)
            })
            .collect(),
        documents: store
            .documents(&case.id)
            .await?
            .into_iter()
            .map(|d| {
                let w = when(d.uploaded_at);
                (d, w)
            })
            .collect(),
        referrals: store
            .case_service_referrals(&case.id)
            .await?
            .iter()
            .map(referral_row)
            .collect(),
        workers,
        agencies,
        can_edit,
        record_list,
        address_list,
        today: super::format::iso_day(now),
        outcomes: OUTCOMES,
        case,
    };
    Ok(render(state, page))
}

/// Runs a case-page form: on invalid input the page is shown again with the errors.
async fn run_form<F>(state: AppState, staff: Staff, id: String, work: F) -> Response
where
    F: std::future::Future<Output = Result<(), AppError>>,
{
    match work.await {
        Ok(()) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => match show(&state, &staff, &id, errors).await {
            Ok(mut r) => {
                *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
}

type FormMap = HashMap<String, String>;

fn field<'a>(f: &'a FormMap, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn required<'a>(
    f: &'a FormMap,
    name: &str,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> &'a str {
    let v = field(f, name);
    if v.is_empty() {
        errors.push(FieldError {
            field: name.into(),
            message: message.into(),
        });
    }
    v
}

fn check(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Entry kinds a chronology accepts.
const ENTRY_KINDS: [&str; 4] = ["note", "contact", "street_contact", "event"];

/// `POST /cases/{id}/entries`: a note, contact, street contact (place and time) or event.
pub(crate) async fn add_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        let allowed = for_edit(&s, &st, &case_id).await?;
        let mut errors = Vec::new();
        let kind = field(&f, "kind");
        if !ENTRY_KINDS.contains(&kind) {
            errors.push(FieldError {
                field: "kind".into(),
                message: "Choose what kind of entry this is".into(),
            });
        }
        let summary = required(&f, "summary", "Enter a summary of the entry", &mut errors);
        let occurred = match field(&f, "occurred_at") {
            "" => Some(now_unix()),
            raw => super::format::parse_when(raw),
        };
        if occurred.is_none() {
            errors.push(FieldError {
                field: "occurred_at".into(),
                message: "Enter when it happened as a date and time".into(),
            });
        }
        if occurred.is_some_and(|t| t > now_unix() + 300) {
            errors.push(FieldError {
                field: "occurred_at".into(),
                message: "When it happened cannot be in the future".into(),
            });
        }
        let place = field(&f, "place");
        if kind == "street_contact" && place.is_empty() {
            errors.push(FieldError {
                field: "place".into(),
                message: "Enter where the street contact took place".into(),
            });
        }
        check(errors)?;
        s.store()
            .add_entry(
                &allowed.case.id,
                &st.user.id,
                &NewEntry {
                    kind: kind.into(),
                    occurred_at: occurred.unwrap_or_default(),
                    summary: summary.into(),
                    body: field(&f, "body").into(),
                    place: place.into(),
                    contact_method: field(&f, "contact_method").into(),
                },
            )
            .await?;
        s.store()
            .audit(st.event("case_entry_add", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/tasks`: a task with an owner and a due date.
pub(crate) async fn add_task(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let mut errors = Vec::new();
        let title = required(&f, "title", "Enter what needs doing", &mut errors);
        let owner = required(&f, "owner_id", "Choose who owns the task", &mut errors);
        let due = super::format::parse_day(field(&f, "due_at"));
        if due.is_none() {
            errors.push(FieldError {
                field: "due_at".into(),
                message: "Enter a due date, for example 2026-12-01".into(),
            });
        }
        if !owner.is_empty() && s.store().user(owner).await.is_err() {
            errors.push(FieldError {
                field: "owner_id".into(),
                message: "Choose an owner from the list".into(),
            });
        }
        check(errors)?;
        s.store()
            .add_task(&case_id, title, owner, due.unwrap_or_default(), &st.user.id)
            .await?;
        s.store()
            .audit(st.event("case_task_add", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/tasks/{task}/done`.
pub(crate) async fn complete_task(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, task)): Path<(String, String)>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        s.store()
            .complete_task(&case_id, &task, &st.user.id)
            .await?;
        s.store()
            .audit(st.event("case_task_done", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/goals`: a goal of the case plan.
pub(crate) async fn add_goal(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let mut errors = Vec::new();
        let goal = required(&f, "goal", "Enter the goal", &mut errors);
        let target = match field(&f, "target_at") {
            "" => None,
            raw => {
                let t = super::format::parse_day(raw);
                if t.is_none() {
                    errors.push(FieldError {
                        field: "target_at".into(),
                        message: "Enter the target date as YYYY-MM-DD".into(),
                    });
                }
                t
            }
        };
        check(errors)?;
        s.store()
            .add_goal(&case_id, goal, field(&f, "actions"), target)
            .await?;
        s.store()
            .audit(st.event("case_plan_edit", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/goals/{goal}`: marks a goal achieved, dropped or open.
pub(crate) async fn goal_status(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, goal)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let status = field(&f, "status");
        if !["open", "achieved", "dropped"].contains(&status) {
            return Err(invalid("status", "Choose open, achieved or dropped"));
        }
        s.store().set_goal_status(&case_id, &goal, status).await?;
        s.store()
            .audit(st.event("case_plan_edit", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/reviews`: schedules a review.
pub(crate) async fn schedule_review(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let Some(due) = super::format::parse_day(field(&f, "due_at")) else {
            return Err(invalid(
                "review_due_at",
                "Enter the review date as YYYY-MM-DD",
            ));
        };
        s.store()
            .schedule_review(&case_id, due, &st.user.id)
            .await?;
        s.store()
            .audit(st.event("case_review_schedule", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/reviews/{review}`: records a review as held.
pub(crate) async fn hold_review(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, review)): Path<(String, String)>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let mut errors = Vec::new();
        let notes = required(&f, "notes", "Enter what the review found", &mut errors);
        check(errors)?;
        s.store().hold_review(&case_id, &review, notes).await?;
        s.store()
            .audit(st.event("case_review_held", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/team`: adds a named worker or an agency, or hands over the lead.
pub(crate) async fn add_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let user = field(&f, "user_id");
        let agency = field(&f, "agency_id");
        match (user.is_empty(), agency.is_empty()) {
            (false, _) if field(&f, "lead") == "yes" => {
                s.store()
                    .set_lead_worker(&case_id, user, &st.user.id)
                    .await?
            }
            (false, _) => {
                s.store()
                    .add_team_member(&case_id, "user", user, &st.user.id)
                    .await?
            }
            (true, false) => {
                s.store()
                    .add_team_member(&case_id, "agency", agency, &st.user.id)
                    .await?
            }
            (true, true) => {
                return Err(invalid(
                    "user_id",
                    "Choose a worker or an agency to add to the team",
                ));
            }
        }
        s.store()
            .audit(st.event("case_team_change", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/status`: puts on hold or reopens.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        for_edit(&s, &st, &case_id).await?;
        let status = match CaseStatus::parse(field(&f, "status")) {
            Some(CaseStatus::Closed) | None => {
                return Err(invalid(
                    "status",
                    "Choose open or on hold; close a case with the closure form",
                ));
            }
            Some(chosen) => chosen,
        };
        s.store().set_case_status(&case_id, status).await?;
        s.store()
            .audit(st.event("case_status", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// Outcome measures recorded at closure: each answered yes, no or not known.
pub(crate) const OUTCOMES: &[(&str, &str)] = &[
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

/// `POST /cases/{id}/close`: closure with a reason and outcome measures.
pub(crate) async fn close_case(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        let allowed = for_edit(&s, &st, &case_id).await?;
        let mut errors = Vec::new();
        if allowed.case.status == CaseStatus::Closed {
            errors.push(FieldError {
                field: "closure_reason".into(),
                message: "This case is already closed".into(),
            });
        }
        let reason = required(
            &f,
            "closure_reason",
            "Enter why the case is closing",
            &mut errors,
        );
        let mut outcomes = serde_json::Map::new();
        for (key, label) in OUTCOMES {
            match field(&f, &format!("outcome_{key}")) {
                v @ ("yes" | "no" | "not_known") => {
                    outcomes.insert((*key).into(), serde_json::Value::String(v.into()));
                }
                _ => errors.push(FieldError {
                    field: format!("outcome_{key}"),
                    message: format!("Answer \"{label}\" with yes, no or not known"),
                }),
            }
        }
        check(errors)?;
        s.store()
            .close_case(
                &case_id,
                reason,
                &serde_json::Value::Object(outcomes).to_string(),
            )
            .await?;
        s.store()
            .audit(st.event("case_close", "case", &case_id, "allowed"))
            .await?;
        Ok(())
    })
    .await
}

/// `POST /cases/{id}/restriction`: restrict the person's records to a named list, add or
/// remove someone on the list, or lift the restriction.
pub(crate) async fn restriction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        change_access_list(&s, &st, &case_id, AccessListKind::Record, &f).await
    })
    .await
}

/// `POST /cases/{id}/address-restriction`: the same for the list that may see the person's
/// current address.
pub(crate) async fn address_restriction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let (s, st, case_id) = (state.clone(), staff.clone(), id.clone());
    run_form(state, staff, id, async move {
        change_access_list(&s, &st, &case_id, AccessListKind::Address, &f).await
    })
    .await
}

/// One change to one of the case person's access lists. The access policy decides who may
/// make it (the people on the list, and managers of the lead agency); the change, its audit
/// entry and the notices to everyone on the list commit together.
async fn change_access_list(
    state: &AppState,
    staff: &Staff,
    case_id: &str,
    kind: AccessListKind,
    f: &FormMap,
) -> Result<(), AppError> {
    staff.require(Permission::WorkCases)?;
    let case = match state.store().case(case_id).await {
        Ok(c) => c,
        Err(pathways_store::StoreError::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let facts = state.store().case_facts(case_id).await?;
    let actor = staff.actor();
    let action = match kind {
        AccessListKind::Record => Action::ChangeAccessList,
        AccessListKind::Address => Action::ChangeAddressList,
    };
    let what = match kind {
        AccessListKind::Record => "access_list",
        AccessListKind::Address => "address_access_list",
    };
    match decide(&actor, action, &facts, now_unix()) {
        pathways_domain::Decision::Allow(_) => {}
        pathways_domain::Decision::Deny(d) => {
            state
                .store()
                .audit(staff.event(what, "person", &case.person_id, "denied"))
                .await?;
            return Err(match d {
                pathways_domain::access::Denial::NoRelationship => AppError::NotFound,
                other => AppError::Forbidden(format!("{other:?}")),
            });
        }
    }
    let current = match kind {
        AccessListKind::Record => facts.restriction.as_ref().map(|r| r.access_list.clone()),
        AccessListKind::Address => facts.address_access_list.clone(),
    };
    let reason = field(f, "reason");
    let user = field(f, "user_id");
    let mut errors = Vec::new();
    if reason.is_empty() {
        errors.push(FieldError {
            field: "reason".into(),
            message: "Enter why the list is changing".into(),
        });
    }
    let known_user = |errors: &mut Vec<FieldError>, id: &str| {
        if id.is_empty() {
            errors.push(FieldError {
                field: "user_id".into(),
                message: "Choose a worker from the list".into(),
            });
        }
    };
    let change = field(f, "change");
    let (list, contact, verb) = match (change, current) {
        ("restrict", None) => {
            let contact = field(f, "restriction_contact");
            if kind == AccessListKind::Record && contact.is_empty() {
                errors.push(FieldError {
                    field: "restriction_contact".into(),
                    message: "Enter whom others should contact about this restricted record".into(),
                });
            }
            let mut list = vec![case.lead_worker_id.clone(), staff.user.id.clone()];
            if !user.is_empty() {
                list.push(user.to_string());
            }
            list.dedup();
            (Some(list), contact.to_string(), "restricted")
        }
        ("add", Some(mut list)) => {
            known_user(&mut errors, user);
            if list.iter().any(|u| u == user) {
                errors.push(FieldError {
                    field: "user_id".into(),
                    message: "That worker is already on the list".into(),
                });
            }
            list.push(user.to_string());
            (Some(list), current_contact(&facts), "added to")
        }
        ("remove", Some(mut list)) => {
            known_user(&mut errors, user);
            let before = list.len();
            list.retain(|u| u != user);
            if list.len() == before {
                errors.push(FieldError {
                    field: "user_id".into(),
                    message: "That worker is not on the list".into(),
                });
            } else if list.is_empty() {
                errors.push(FieldError {
                    field: "user_id".into(),
                    message: "A restricted list must keep at least one person: lift the restriction instead".into(),
                });
            }
            (Some(list), current_contact(&facts), "removed from")
        }
        ("lift", Some(_)) => (None, String::new(), "lifted"),
        _ => {
            return Err(invalid(
                "change",
                "The restriction has changed since the page was loaded: reload it and try again",
            ));
        }
    };
    if !user.is_empty() {
        match state.store().user(user).await {
            Ok(u) if !u.disabled => {}
            Ok(_) | Err(pathways_store::StoreError::NotFound { .. }) => {
                errors.push(FieldError {
                    field: "user_id".into(),
                    message: "Choose a worker from the list".into(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    check(errors)?;
    let mut event = staff.event(what, "person", &case.person_id, "allowed");
    event.reason = match change {
        "add" | "remove" => format!(
            "{user} {verb} the list from case {}: {reason}",
            case.reference
        ),
        _ => format!("{verb} from case {}: {reason}", case.reference),
    };
    let list_name = match kind {
        AccessListKind::Record => "restricted record",
        AccessListKind::Address => "restricted address",
    };
    let notice = match change {
        "restrict" => format!(
            "{} restricted the records of case {}; you are on the {list_name} list.",
            staff.user.display_name, case.reference
        ),
        "lift" => format!(
            "{} lifted the {list_name} restriction on case {}.",
            staff.user.display_name, case.reference
        ),
        _ => format!(
            "{} changed the {list_name} list of case {}.",
            staff.user.display_name, case.reference
        ),
    };
    state
        .store()
        .change_access_list(&AccessListChange {
            person_id: case.person_id.clone(),
            kind,
            list,
            contact,
            by: staff.user.id.clone(),
            audit: event,
            notice,
            link: format!("/cases/{}", case.id),
        })
        .await?;
    Ok(())
}

/// Workers who may be named on a case (team members, lists).
async fn record_list_workers(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(state
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::WorkCases))
        .map(|u| (u.id, u.display_name))
        .collect())
}

async fn store_facts(
    state: &AppState,
    case_id: &str,
) -> Result<pathways_domain::RecordFacts, AppError> {
    Ok(state.store().case_facts(case_id).await?)
}

fn current_contact(facts: &pathways_domain::RecordFacts) -> String {
    facts
        .restriction
        .as_ref()
        .map(|r| r.contact.clone())
        .unwrap_or_default()
}

/// Shortest accepted break-glass reason.
pub(crate) const MIN_BREAK_GLASS_REASON: usize = 15;

/// `POST /cases/{id}/break-glass`: opens a restricted case in an emergency with a reason.
pub(crate) async fn break_glass(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    match break_glass_inner(&state, &staff, &id, &f).await {
        Ok(r) => r,
        Err(AppError::Invalid(errors)) => match show(&state, &staff, &id, errors).await {
            Ok(mut r) => {
                *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn break_glass_inner(
    state: &AppState,
    staff: &Staff,
    id: &str,
    f: &FormMap,
) -> Result<Response, AppError> {
    staff.require(Permission::BreakGlass)?;
    let facts = match state.store().case_facts(id).await {
        Ok(f) => f,
        Err(pathways_store::StoreError::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let now = now_unix();
    if !pathways_domain::access::may_break_glass(&staff.actor(), &facts, now) {
        let mut e = staff.event("break_glass", "case", id, "denied");
        e.reason = "not eligible".into();
        state.store().audit(e).await?;
        return Err(AppError::Forbidden("break-glass not available".into()));
    }
    let reason = field(f, "reason");
    if reason.chars().count() < MIN_BREAK_GLASS_REASON {
        return Err(invalid(
            "reason",
            &format!(
                "Enter why you need emergency access, in at least {MIN_BREAK_GLASS_REASON} characters"
            ),
        ));
    }
    state
        .store()
        .break_glass_case(id, &staff.user.id, reason, super::BREAK_GLASS_SECS)
        .await?;
    let mut e = staff.event("break_glass", "case", id, "allowed");
    e.reason = reason.to_string();
    state.store().audit(e).await?;
    Ok(Redirect::to(&format!("/cases/{id}")).into_response())
}

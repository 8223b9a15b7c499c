//! Caseload lists, opening a case from a triaged referral, the case page, and the small
//! forms on it (chronology, tasks, plan, reviews, team, status, closure, access lists,
//! break-glass). Bad input shows the case page again with a GOV.UK error summary.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use pathways_app::cases::{
    self as uc, AccessListChangeRequest, AccessListView, CaseView, CaseloadRequest, ListChange,
    RestrictedNotice,
};
use pathways_domain::ids::CaseId;
use pathways_domain::{Permission, risk::RiskLevel};
use pathways_store::cases::{
    CaseRow, CaseloadCounts, DocumentMeta, Entry, Goal, Review, ServiceReferral, Task, TeamMember,
};
use pathways_store::now_unix;
use pathways_store::restriction::AccessListKind;
use serde::Deserialize;

use crate::auth::Staff;
use crate::error::{AppError, FieldError, html};
use crate::format::{day, iso_day, risk_class, risk_label, when};
use crate::forms::respond;
use crate::{AppState, Chrome};

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
    /// The use case's request.
    pub(crate) fn request(&self) -> CaseloadRequest {
        CaseloadRequest {
            view: self.view.clone(),
            status: self.status.clone(),
            risk: self.risk.clone(),
            q: self.q.clone(),
            sort: self.sort.clone(),
            page: self.page,
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
) -> Result<Response, AppError> {
    let request = params.request();
    let list = uc::caseload(state.app(), &staff.caller(), &request).await?;
    let view = request.view_key();
    let now = now_unix();
    let prev = (list.page > 1).then(|| page_link(&params, view, list.page - 1));
    let next =
        (list.page * list.per_page < list.total).then(|| page_link(&params, view, list.page + 1));
    let export = format!("/cases/export.csv{}", page_link(&params, view, 1));
    html(ListPage {
        chrome: staff.chrome(&state, "Cases"),
        tabs: tabs(list.counts, view),
        rows: list.rows.into_iter().map(|r| list_row(r, now)).collect(),
        total: list.total,
        searching: list.searching,
        params,
        view,
        prev,
        next,
        export,
        can_open: staff.can(Permission::WorkCases),
    })
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

async fn new_page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let form = uc::open_case_form(state.app(), &staff.caller()).await?;
    html(NewPage {
        chrome: staff.chrome(state, "Open a case"),
        errors,
        waiting: form
            .waiting
            .into_iter()
            .map(|w| Waiting {
                received: day(w.received_at),
                id: w.id,
                reference: w.reference,
                name: w.name,
            })
            .collect(),
        workers: form.workers,
        me: staff.user.id.clone(),
    })
}

/// `GET /cases/new`: triaged referrals waiting for a case, and the opening form.
pub(crate) async fn new_case_form(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    new_page(&state, &staff, Vec::new()).await
}

/// The opening form.
#[derive(Debug, Default, Deserialize)]
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
) -> Result<Response, AppError> {
    let result = uc::open_case(
        state.app(),
        &staff.caller(),
        &uc::OpenCaseInput {
            referral_id: form.referral_id,
            lead_worker_id: form.lead_worker_id,
            restricted: form.restricted.is_some(),
            restriction_contact: form.restriction_contact,
        },
    )
    .await;
    respond(
        result,
        |c| format!("/cases/{}", c.id),
        |e| new_page(&state, &staff, e),
    )
    .await
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
        category: uc::category_label(&r.category),
        agency: match &r.allocated_agency_name {
            Some(m) => format!("{} (allocated to {m})", r.to_agency_name),
            None => r.to_agency_name.clone(),
        },
        status: r.status.label(),
        sent: day(r.sent_at),
        reason: r.status_reason.clone(),
    }
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

fn list_view(case_id: &str, v: AccessListView) -> ListView {
    match v.kind {
        AccessListKind::Record => ListView {
            action: format!("/cases/{case_id}/restriction"),
            key: "record",
            title: "Restriction",
            hint: "Restrict this person's records (this case, their other cases, their referrals and their person record) to a named list.",
            covers: "this person's records",
            restrict_label: "Restrict this person's records",
            asks_contact: true,
            restricted: v.restricted,
            can_change: v.can_change,
            members: v.members,
            workers: v.workers,
        },
        AccessListKind::Address => ListView {
            action: format!("/cases/{case_id}/address-restriction"),
            key: "address",
            title: "Address restriction",
            hint: "Hide the person's current address from everyone except a named list, even from colleagues who can see the rest of this case. A restricted address never appears in lists, searches or exports.",
            covers: "the current address",
            restrict_label: "Restrict the address",
            asks_contact: false,
            restricted: v.restricted,
            can_change: v.can_change,
            members: v.members,
            workers: v.workers,
        },
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

fn restricted_page(
    state: &AppState,
    staff: &Staff,
    n: RestrictedNotice,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    html(RestrictedPage {
        chrome: staff.chrome(state, "Restricted record"),
        errors,
        record_list: n.record_list.map(|l| list_view(&n.case_id, l)),
        id: n.case_id,
        reference: n.reference,
        contact: n.contact,
        can_break_glass: n.can_break_glass,
    })
}

/// Renders the case page (or the restricted notice), with `errors` from a refused form.
pub(crate) async fn show(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let file = match uc::case_file(state.app(), &staff.caller(), &CaseId::new(id)).await? {
        CaseView::File(f) => *f,
        CaseView::Restricted(n) => return restricted_page(state, staff, n, errors),
    };
    let now = now_unix();
    let (marac_summary, marac_criteria) = file
        .marac
        .map(|(summary, list)| {
            (
                summary,
                list.into_iter()
                    .map(|c| CriterionView {
                        label: c.label,
                        met: c.met,
                        explanation: c.explanation,
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    let case = file.case;
    html(CasePage {
        chrome: staff.chrome(state, &format!("Case {}", case.reference)),
        errors,
        status_label: case.status.label(),
        closed: case.status == pathways_domain::cases::CaseStatus::Closed,
        risk_label: risk_label(&case.risk_level),
        risk_class: risk_class(&case.risk_level),
        risk_when: case.risk_at.map(when).unwrap_or_default(),
        marac_summary,
        marac_criteria,
        history: file
            .assessments
            .into_iter()
            .map(|(a, title)| AssessmentView {
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
            })
            .collect(),
        dob: file.dob,
        address: file.address,
        address_hidden: file.address_hidden,
        safe_contact: file
            .safe_contact
            .into_iter()
            .map(|s| (s.channel, s.safe, s.when))
            .collect(),
        team: file.team,
        entries: file
            .entries
            .into_iter()
            .map(|e| {
                let w = when(e.occurred_at);
                (e, w)
            })
            .collect(),
        tasks: file
            .tasks
            .into_iter()
            .map(|t| {
                let d = day(t.due_at);
                let overdue = t.done_at.is_none() && t.due_at < now;
                (t, d, overdue)
            })
            .collect(),
        goals: file
            .goals
            .into_iter()
            .map(|g| {
                let d = g.target_at.map(day).unwrap_or_default();
                (g, d)
            })
            .collect(),
        reviews: file
            .reviews
            .into_iter()
            .map(|r| {
                let d = day(r.due_at);
                let h = r.held_at.map(day).unwrap_or_default();
                (r, d, h)
            })
            .collect(),
        documents: file
            .documents
            .into_iter()
            .map(|d| {
                let w = when(d.uploaded_at);
                (d, w)
            })
            .collect(),
        referrals: file.referrals.iter().map(referral_row).collect(),
        workers: file.workers,
        agencies: file.agencies,
        can_edit: file.can_edit,
        record_list: list_view(&case.id, file.record_list),
        address_list: list_view(&case.id, file.address_list),
        today: iso_day(now),
        outcomes: uc::OUTCOMES,
        case,
    })
}

/// `GET /cases/{id}`: the case page (or the restricted notice with break-glass).
pub(crate) async fn case_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    show(&state, &staff, &id, Vec::new()).await
}

/// After a form on the case page: back to the page (at `anchor`), or the page again with
/// the errors.
async fn done(
    state: &AppState,
    staff: &Staff,
    id: &str,
    anchor: &str,
    result: pathways_app::Result<()>,
) -> Result<Response, AppError> {
    respond(
        result,
        |()| format!("/cases/{id}{anchor}"),
        |e| show(state, staff, id, e),
    )
    .await
}

/// The chronology form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EntryForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    contact_method: String,
}

/// `POST /cases/{id}/entries`: a note, contact, street contact (place and time) or event.
pub(crate) async fn add_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    let input = uc::EntryInput {
        kind: f.kind,
        summary: f.summary,
        body: f.body,
        occurred_at: f.occurred_at,
        place: f.place,
        contact_method: f.contact_method,
    };
    let r = uc::add_entry(state.app(), &staff.caller(), &CaseId::new(&id), &input).await;
    done(&state, &staff, &id, "", r).await
}

/// The task form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    due_at: String,
}

/// `POST /cases/{id}/tasks`.
pub(crate) async fn add_task(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TaskForm>,
) -> Result<Response, AppError> {
    let input = uc::TaskInput {
        title: f.title,
        owner_id: f.owner_id,
        due_at: f.due_at,
    };
    let r = uc::add_task(state.app(), &staff.caller(), &CaseId::new(&id), &input).await;
    done(&state, &staff, &id, "", r).await
}

/// `POST /cases/{id}/tasks/{task}/done`.
pub(crate) async fn complete_task(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, task)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let r = uc::complete_task(state.app(), &staff.caller(), &CaseId::new(&id), &task).await;
    done(&state, &staff, &id, "", r).await
}

/// The plan goal form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GoalForm {
    #[serde(default)]
    goal: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    target_at: String,
}

/// `POST /cases/{id}/goals`: a goal of the case plan.
pub(crate) async fn add_goal(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<GoalForm>,
) -> Result<Response, AppError> {
    let input = uc::GoalInput {
        goal: f.goal,
        actions: f.actions,
        target_at: f.target_at,
    };
    let r = uc::add_goal(state.app(), &staff.caller(), &CaseId::new(&id), &input).await;
    done(&state, &staff, &id, "", r).await
}

/// A form with one `status` field.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusForm {
    #[serde(default)]
    status: String,
}

/// `POST /cases/{id}/goals/{goal}`: marks a goal achieved, dropped or open.
pub(crate) async fn goal_status(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, goal)): Path<(String, String)>,
    Form(f): Form<StatusForm>,
) -> Result<Response, AppError> {
    let r = uc::set_goal_status(
        state.app(),
        &staff.caller(),
        &CaseId::new(&id),
        &goal,
        &f.status,
    )
    .await;
    done(&state, &staff, &id, "", r).await
}

/// The review form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReviewForm {
    #[serde(default)]
    due_at: String,
    #[serde(default)]
    notes: String,
}

/// `POST /cases/{id}/reviews`: schedules a review.
pub(crate) async fn schedule_review(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, AppError> {
    let r = uc::schedule_review(state.app(), &staff.caller(), &CaseId::new(&id), &f.due_at).await;
    done(&state, &staff, &id, "", r).await
}

/// `POST /cases/{id}/reviews/{review}`: records a review as held.
pub(crate) async fn hold_review(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, review)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, AppError> {
    let r = uc::hold_review(
        state.app(),
        &staff.caller(),
        &CaseId::new(&id),
        &review,
        &f.notes,
    )
    .await;
    done(&state, &staff, &id, "", r).await
}

/// The team form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TeamForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    lead: String,
}

/// `POST /cases/{id}/team`: adds a named worker or an agency, or hands over the lead.
pub(crate) async fn add_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TeamForm>,
) -> Result<Response, AppError> {
    let change = uc::TeamChange {
        user_id: f.user_id,
        agency_id: f.agency_id,
        lead: f.lead == "yes",
    };
    let r = uc::team_change(state.app(), &staff.caller(), &CaseId::new(&id), &change).await;
    done(&state, &staff, &id, "", r).await
}

/// `POST /cases/{id}/status`: puts on hold or reopens.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Result<Response, AppError> {
    let r = uc::set_status(state.app(), &staff.caller(), &CaseId::new(&id), &f.status).await;
    done(&state, &staff, &id, "", r).await
}

/// `POST /cases/{id}/close`: closure with a reason and outcome measures
/// (`outcome_<key>` fields).
pub(crate) async fn close_case(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let outcomes: HashMap<String, String> = f
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("outcome_")
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    let reason = f.get("closure_reason").cloned().unwrap_or_default();
    let r = uc::close_case(
        state.app(),
        &staff.caller(),
        &CaseId::new(&id),
        &reason,
        &outcomes,
    )
    .await;
    done(&state, &staff, &id, "", r).await
}

/// The access-list form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListForm {
    #[serde(default)]
    change: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    restriction_contact: String,
    #[serde(default)]
    reason: String,
}

async fn change_list(
    state: AppState,
    staff: Staff,
    id: String,
    kind: AccessListKind,
    f: ListForm,
) -> Result<Response, AppError> {
    let request = AccessListChangeRequest {
        kind,
        change: ListChange::parse(&f.change),
        user_id: f.user_id,
        restriction_contact: f.restriction_contact,
        reason: f.reason,
    };
    let r = uc::change_access_list(state.app(), &staff.caller(), &CaseId::new(&id), &request).await;
    done(&state, &staff, &id, "", r).await
}

/// `POST /cases/{id}/restriction`: restrict the person's records to a named list, add or
/// remove someone on the list, or lift the restriction.
pub(crate) async fn restriction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ListForm>,
) -> Result<Response, AppError> {
    change_list(state, staff, id, AccessListKind::Record, f).await
}

/// `POST /cases/{id}/address-restriction`: the same for the list that may see the person's
/// current address.
pub(crate) async fn address_restriction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ListForm>,
) -> Result<Response, AppError> {
    change_list(state, staff, id, AccessListKind::Address, f).await
}

/// The break-glass form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GlassForm {
    #[serde(default)]
    reason: String,
}

/// `POST /cases/{id}/break-glass`: opens a restricted case in an emergency with a reason.
pub(crate) async fn break_glass(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<GlassForm>,
) -> Result<Response, AppError> {
    let r = uc::break_glass(state.app(), &staff.caller(), &CaseId::new(&id), &f.reason)
        .await
        .map(|_| ());
    done(&state, &staff, &id, "", r).await
}

/// The risk levels a form offers, with labels.
pub(crate) fn level_options(levels: &[RiskLevel]) -> Vec<(&'static str, &'static str)> {
    levels.iter().map(|l| (l.key(), l.label())).collect()
}

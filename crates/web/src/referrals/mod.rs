//! Referrals: the referral form and JSON API, the referrer's status pages, the triage queue
//! with service-level clocks and candidate person matches, decisions, merges and unmerges.
//!
//! Every read goes through the access policy and is audited; lists show only what the
//! policy allows, so hidden records never influence what is seen or counted.

pub(crate) mod index;
mod input;
mod sla;
mod taxonomy;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pathways_domain::access::{Action, Decision, RecordFacts, decide};
use pathways_domain::{Actor, Permission};
use pathways_store::people::{ContactOutcome, Person};
use pathways_store::referrals::{DecisionInput, QueuedMessage, Referral, STATUS_DECIDED};
use pathways_store::{StoreError, now_unix};
use serde::Serialize;

use crate::AppState;
use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, PageError};
use crate::layout::Chrome;
use input::ReferralInput;
use sla::SlaConfig;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/referrals", get(mine))
        .route("/referrals/mine", get(mine))
        .route("/referrals/new", get(new_form).post(submit_form))
        .route("/referrals/triage", get(triage_queue))
        .route("/referrals/people/{id}", get(person_page))
        .route("/referrals/people/{id}/merge", post(merge))
        .route("/referrals/people/{id}/unmerge", post(unmerge))
        .route("/referrals/people/{id}/message", post(message_person))
        .route("/referrals/{reference}", get(show))
        .route("/referrals/{reference}/submitted", get(submitted))
        .route("/referrals/{reference}/link", post(link_person))
        .route("/referrals/{reference}/new-person", post(new_person))
        .route("/referrals/{reference}/decision", post(decide_referral))
        .route("/api/v1/referrals", post(api_create))
        .route("/api/v1/referrals/{reference}", get(api_status))
}

// ------------------------------------------------------------------ helpers

fn render(state: &AppState, t: impl Template) -> Result<Response, PageError> {
    match t.render() {
        Ok(h) => Ok(([(header::CACHE_CONTROL, "no-store")], Html(h)).into_response()),
        Err(e) => Err(PageError(state.clone(), e.into())),
    }
}

fn page_err(state: &AppState) -> impl Fn(AppError) -> PageError + '_ {
    move |e| PageError(state.clone(), e)
}

/// API paths (`person.first_name`) become form ids (`person-first_name`).
fn for_page(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError {
            field: e.field.replace('.', "-"),
            message: e.message,
        })
        .collect()
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        AppError::BadRequest("The form could not be read. Go back and try again.".into())
    })
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// "12 Apr 2026 14:05" in London time.
fn when(unix: i64) -> String {
    let off = sla::london_offset(unix);
    let fmt = time::macros::format_description!("[day] [month repr:short] [year] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(unix + off)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

fn age_of(dob: Option<&str>, approx_year: Option<i64>) -> String {
    let today = today();
    if let Some(d) = dob {
        let parts: Vec<i64> = d.split('-').filter_map(|p| p.parse().ok()).collect();
        if let [y, m, day] = parts[..] {
            let mut age = i64::from(today.year()) - y;
            if (i64::from(u8::from(today.month())), i64::from(today.day())) < (m, day) {
                age -= 1;
            }
            return format!("{age}");
        }
    }
    approx_year
        .map(|y| format!("about {}", i64::from(today.year()) - y))
        .unwrap_or_default()
}

/// Consent as staff read it.
fn consent_label(c: &str) -> &'static str {
    match c {
        "given" => "Consent given",
        "refused" => "Consent refused",
        "not_sought" => "Consent not sought",
        _ => "Not recorded",
    }
}

fn decision_label(d: &str) -> &'static str {
    match d {
        "open_case" => "Case opened",
        "signpost" => "Signposted to a service",
        "panel" => "Referred to a panel",
        "no_further_action" => "No further action",
        _ => "Decided",
    }
}

fn status_label(r: &Referral) -> String {
    match &r.decision {
        Some(d) => decision_label(d).to_string(),
        None => "Received: waiting for triage".to_string(),
    }
}

/// What a referrer is told about the outcome (never the case file).
fn outcome_text(r: &Referral) -> String {
    match r.decision.as_deref() {
        None => String::new(),
        Some("signpost") if !r.decision_detail.is_empty() => {
            format!("Signposted to {}.", r.decision_detail)
        }
        Some("panel") if !r.decision_detail.is_empty() => {
            format!("Referred to {}.", r.decision_detail)
        }
        Some("open_case") => "A case has been opened and a worker will be in touch.".into(),
        Some("no_further_action") => "No further action will be taken.".into(),
        Some(d) => format!("{}.", decision_label(d)),
    }
}

async fn facts_and_decision(
    state: &AppState,
    actor: &Actor,
    r: &Referral,
    action: Action,
) -> Result<(RecordFacts, Decision), AppError> {
    let facts = state.store().referral_facts(r).await?;
    let d = decide(actor, action, &facts, now_unix());
    Ok((facts, d))
}

async fn load_referral(state: &AppState, reference: &str) -> Result<Referral, AppError> {
    match state.store().referral_by_reference(reference).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) => Err(AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Loads a referral the staff member may act on as triage; anything else is "not found".
async fn triage_referral(
    state: &AppState,
    staff: &Staff,
    reference: &str,
) -> Result<Referral, AppError> {
    staff.require(Permission::TriageReferrals)?;
    let r = load_referral(state, reference).await?;
    let (_, d) = facts_and_decision(state, &staff.actor(), &r, Action::ViewRecord).await?;
    if !d.allowed() {
        state
            .store()
            .audit(staff.event("triage", "referral", &r.id, "denied"))
            .await?;
        return Err(AppError::NotFound);
    }
    Ok(r)
}

// ------------------------------------------------------------------ the form

#[derive(Template)]
#[template(path = "referrals/new.html")]
struct NewPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    names: Vec<TextField>,
    contact: Vec<TextField>,
    referrer: Vec<TextField>,
    form: ReferralInput,
    concerns: &'static [taxonomy::Concern],
    channels: [(&'static str, &'static str); 4],
}

/// One text input of the form, with its current value.
struct TextField {
    id: &'static str,
    label: &'static str,
    value: String,
    width: &'static str,
}

fn text_field(
    id: &'static str,
    label: &'static str,
    value: &str,
    width: &'static str,
) -> TextField {
    TextField {
        id,
        label,
        value: value.to_string(),
        width,
    }
}

const CHANNELS: [(&str, &str); 4] = [
    ("phone", "Phone call"),
    ("text", "Text message"),
    ("email", "E-mail"),
    ("post", "Letter"),
];

impl NewPage {
    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
            .unwrap_or_default()
    }

    fn channel_error(&self, channel: &str) -> bool {
        self.has_error(&format!("safe_contact-{channel}"))
    }
}

fn new_page(
    state: &AppState,
    staff: &Staff,
    form: ReferralInput,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let title = if errors.is_empty() {
        "Make a referral"
    } else {
        "Error: Make a referral"
    };
    let (p, r) = (&form.person, &form.referrer);
    let wide = "govuk-!-width-two-thirds";
    let names = vec![
        text_field("person-first_name", "First name", &p.first_name, wide),
        text_field(
            "person-middle_names",
            "Middle names (optional)",
            &p.middle_names,
            wide,
        ),
        text_field("person-surname", "Last name", &p.surname, wide),
    ];
    let contact = vec![
        text_field(
            "person-address_line",
            "Address, first line (optional)",
            &p.address_line,
            wide,
        ),
        text_field(
            "person-postcode",
            "Postcode (optional)",
            &p.postcode,
            "govuk-input--width-10",
        ),
        text_field(
            "person-school",
            "School or college (optional)",
            &p.school,
            wide,
        ),
        text_field(
            "person-phone",
            "Their phone number (optional)",
            &p.phone,
            "govuk-input--width-20",
        ),
        text_field(
            "person-email",
            "Their e-mail address (optional)",
            &p.email,
            wide,
        ),
    ];
    let referrer = vec![
        text_field("referrer-name", "Your name", &r.name, wide),
        text_field("referrer-role", "Your job title (optional)", &r.role, wide),
        text_field(
            "referrer-email",
            "Your e-mail address (we send the outcome here)",
            &r.email,
            wide,
        ),
        text_field(
            "referrer-phone",
            "Your phone number (optional)",
            &r.phone,
            "govuk-input--width-20",
        ),
    ];
    let page = NewPage {
        chrome: staff.chrome(state, title),
        errors,
        names,
        contact,
        referrer,
        form,
        concerns: taxonomy::concerns(),
        channels: CHANNELS,
    };
    render(state, page)
}

async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff
        .require(Permission::MakeReferral)
        .map_err(page_err(&state))?;
    let mut form = ReferralInput::default();
    form.referrer.name = staff.user.display_name.clone();
    form.referrer.email = staff.user.email.clone();
    form.urgency = "standard".into();
    new_page(&state, &staff, form, Vec::new())
}

async fn submit_form(
    State(state): State<AppState>,
    staff: Staff,
    body: Bytes,
) -> Result<Response, PageError> {
    staff
        .require(Permission::MakeReferral)
        .map_err(page_err(&state))?;
    let pairs = form_pairs(&body).map_err(page_err(&state))?;
    let form = ReferralInput::from_form(&pairs);
    let mut new = match input::validate(&form, today()) {
        Ok(n) => n,
        Err(errors) => {
            let mut res = new_page(&state, &staff, form, for_page(errors))?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    };
    new.referrer_actor = staff.user.id.clone();
    new.referrer_user_id = Some(staff.user.id.clone());
    new.referrer_agency_id = staff.user.agency_id.clone();
    let r = state
        .store()
        .create_referral(&new)
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    state
        .store()
        .audit(staff.event("create", "referral", &r.id, "allowed"))
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    Ok(Redirect::to(&format!("/referrals/{}/submitted", r.reference)).into_response())
}

#[derive(Template)]
#[template(path = "referrals/submitted.html")]
struct SubmittedPage {
    chrome: Chrome,
    reference: String,
    due: String,
}

async fn submitted(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let r = load_referral(&state, &reference)
        .await
        .map_err(page_err(&state))?;
    let (_, d) = facts_and_decision(&state, &staff.actor(), &r, Action::ViewStatus)
        .await
        .map_err(page_err(&state))?;
    if !d.allowed() {
        return Err(PageError(state, AppError::NotFound));
    }
    state
        .store()
        .audit(staff.event("read", "referral", &r.id, "allowed"))
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    let cfg = SlaConfig::from_env();
    let due = when(sla::add_working(
        &cfg,
        r.created_at,
        cfg.allowance(&r.submitted.urgency),
    ));
    render(
        &state,
        SubmittedPage {
            chrome: staff.chrome(&state, "Referral sent"),
            reference: r.reference,
            due,
        },
    )
}

// ------------------------------------------------------------------ the referrer's view

/// A referral as its referrer sees it: status and outcome only.
#[derive(Debug, Clone, Serialize)]
struct StatusView {
    reference: String,
    received: String,
    about: String,
    status: String,
    outcome: String,
    decided: Option<String>,
}

fn status_view(r: &Referral) -> StatusView {
    let initial = |s: &str| {
        s.chars()
            .next()
            .map(|c| format!("{}.", c.to_uppercase()))
            .unwrap_or_default()
    };
    StatusView {
        reference: r.reference.clone(),
        received: when(r.created_at),
        about: format!(
            "{} {}",
            initial(&r.submitted.person.first_name),
            initial(&r.submitted.person.surname)
        ),
        status: status_label(r),
        outcome: outcome_text(r),
        decided: r.decided_at.map(when),
    }
}

#[derive(Template)]
#[template(path = "referrals/mine.html")]
struct MinePage {
    chrome: Chrome,
    referrals: Vec<StatusView>,
    can_triage: bool,
}

async fn mine(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff
        .require(Permission::MakeReferral)
        .map_err(page_err(&state))?;
    let actor = staff.actor();
    let rows = state
        .store()
        .referrals_by_referrer(&actor.user_id, 500)
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    let mut referrals = Vec::new();
    for r in &rows {
        let (_, d) = facts_and_decision(&state, &actor, r, Action::ViewStatus)
            .await
            .map_err(page_err(&state))?;
        if d.allowed() {
            referrals.push(status_view(r));
        }
    }
    state
        .store()
        .audit(staff.event("list", "referral", "mine", "allowed"))
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    render(
        &state,
        MinePage {
            chrome: staff.chrome(&state, "Your referrals"),
            referrals,
            can_triage: staff.can(Permission::TriageReferrals),
        },
    )
}

#[derive(Template)]
#[template(path = "referrals/status.html")]
struct StatusPage {
    chrome: Chrome,
    r: StatusView,
    reason: String,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let r = load_referral(&state, &reference)
        .await
        .map_err(page_err(&state))?;
    let actor = staff.actor();
    let (_, full) = facts_and_decision(&state, &actor, &r, Action::ViewRecord)
        .await
        .map_err(page_err(&state))?;
    if full.allowed() && staff.can(Permission::TriageReferrals) {
        state
            .store()
            .audit(staff.event("read", "referral", &r.id, "allowed"))
            .await
            .map_err(|e| PageError(state.clone(), e.into()))?;
        return triage_page(&state, &staff, r, Vec::new(), None).await;
    }
    let (_, status) = facts_and_decision(&state, &actor, &r, Action::ViewStatus)
        .await
        .map_err(page_err(&state))?;
    if !status.allowed() {
        state
            .store()
            .audit(staff.event("read", "referral", &r.id, "denied"))
            .await
            .map_err(|e| PageError(state.clone(), e.into()))?;
        return Err(PageError(state, AppError::NotFound));
    }
    state
        .store()
        .audit(staff.event("read_status", "referral", &r.id, "allowed"))
        .await
        .map_err(|e| PageError(state.clone(), e.into()))?;
    let reason = if r.status == STATUS_DECIDED {
        r.decision_reason.clone()
    } else {
        String::new()
    };
    render(
        &state,
        StatusPage {
            chrome: staff.chrome(&state, &format!("Referral {}", r.reference)),
            r: status_view(&r),
            reason,
        },
    )
}

// ------------------------------------------------------------------ triage

struct QueueRow {
    reference: String,
    received: String,
    urgent: bool,
    name: String,
    age: String,
    concerns: String,
    agency: String,
    due: String,
    clock: String,
    breached: bool,
    linked: bool,
    sort: (bool, bool, i64),
}

#[derive(Template)]
#[template(path = "referrals/triage.html")]
struct TriageQueuePage {
    chrome: Chrome,
    waiting: Vec<QueueRow>,
    breached: usize,
    decided: Vec<StatusView>,
    urgent_hours: String,
    standard_hours: String,
}

async fn triage_queue(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff
        .require(Permission::TriageReferrals)
        .map_err(page_err(&state))?;
    let store = state.store();
    let se = |e: StoreError| PageError(state.clone(), e.into());
    let actor = staff.actor();
    let agencies: HashMap<String, String> = store
        .list_agencies()
        .await
        .map_err(se)?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let cfg = SlaConfig::from_env();
    let now = now_unix();
    let mut waiting = Vec::new();
    for r in store.triage_queue().await.map_err(se)? {
        let (_, d) = facts_and_decision(&state, &actor, &r, Action::ViewRecord)
            .await
            .map_err(page_err(&state))?;
        if !d.allowed() {
            continue;
        }
        let c = sla::clock(&cfg, r.created_at, &r.submitted.urgency, now);
        let p = &r.submitted.person;
        waiting.push(QueueRow {
            reference: r.reference.clone(),
            received: when(r.created_at),
            urgent: r.submitted.urgency == "urgent",
            name: format!("{} {}", p.first_name, p.surname),
            age: age_of(p.dob.as_deref(), p.approx_birth_year),
            concerns: r
                .submitted
                .concerns
                .iter()
                .map(|k| taxonomy::label(k))
                .collect::<Vec<_>>()
                .join(", "),
            agency: agencies
                .get(&r.submitted.referrer_agency_id)
                .cloned()
                .unwrap_or_default(),
            due: when(c.due_at),
            clock: if c.breached {
                format!("Overdue by {}", sla::describe(c.remaining))
            } else {
                format!("{} left", sla::describe(c.remaining))
            },
            breached: c.breached,
            linked: r.person_id.is_some(),
            sort: (!c.breached, r.submitted.urgency != "urgent", c.due_at),
        });
    }
    waiting.sort_by_key(|q| q.sort);
    let breached = waiting.iter().filter(|q| q.breached).count();
    let mut decided = Vec::new();
    for r in store.recently_decided(20).await.map_err(se)? {
        let (_, d) = facts_and_decision(&state, &actor, &r, Action::ViewRecord)
            .await
            .map_err(page_err(&state))?;
        if d.allowed() {
            decided.push(status_view(&r));
        }
    }
    store
        .audit(staff.event("list", "referral", "triage", "allowed"))
        .await
        .map_err(se)?;
    render(
        &state,
        TriageQueuePage {
            chrome: staff.chrome(&state, "Triage"),
            waiting,
            breached,
            decided,
            urgent_hours: sla::describe(cfg.urgent_secs),
            standard_hours: sla::describe(cfg.standard_secs),
        },
    )
}

struct EvidenceRow {
    field: &'static str,
    level: String,
    weight: String,
    supports: bool,
}

struct CandidateView {
    person_id: String,
    name: String,
    born: String,
    school: String,
    address: String,
    probability: String,
    evidence: Vec<EvidenceRow>,
}

/// Candidate matches for a record, as this staff member may see them. A restricted person
/// the user may not read is left out as if they were not in the index at all: not shown
/// masked, and not taking one of the places on the list, so nothing the user sees depends on
/// whether a restricted person's details match.
async fn candidate_views(
    state: &AppState,
    staff: &Staff,
    record: &pathways_matching::PersonRecord,
) -> Result<Vec<CandidateView>, AppError> {
    let store = state.store();
    let candidates = state.people_index().candidates(store, record).await?;
    let actor = staff.actor();
    let now = now_unix();
    let mut out = Vec::new();
    let mut places = index::CANDIDATE_LIMIT;
    for c in candidates {
        if places == 0 {
            break;
        }
        let person = match store.person(&c.id).await {
            Ok(p) => p,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let facts = store.person_facts(&person).await?;
        let allowed = decide(&actor, Action::ViewRecord, &facts, now).allowed();
        if person.restricted && !allowed {
            continue;
        }
        places -= 1;
        if !allowed {
            continue;
        }
        // Showing a candidate's details is a read of that person.
        store
            .audit(staff.event("read_candidate", "person", &person.id, "allowed"))
            .await?;
        let address_ok = decide(&actor, Action::ViewAddress, &facts, now).allowed();
        let d = &person.details;
        out.push(CandidateView {
            person_id: person.id.clone(),
            name: format!("{} {}", d.first_name, d.surname),
            born: d
                .dob
                .clone()
                .unwrap_or_else(|| age_of(None, d.approx_birth_year)),
            school: d.school.clone(),
            address: if address_ok {
                format!("{} {}", d.address_line, d.postcode)
                    .trim()
                    .to_string()
            } else {
                "Restricted".into()
            },
            probability: format!("{:.0}%", c.probability * 100.0),
            evidence: c
                .evidence
                .iter()
                .filter(|e| e.level != "missing")
                .map(|e| EvidenceRow {
                    field: e.field.name(),
                    level: e.level.clone(),
                    weight: format!("{:+.1}", e.match_weight),
                    supports: e.match_weight > 0.0,
                })
                .collect(),
        });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "referrals/detail.html")]
struct DetailPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    r: Referral,
    received: String,
    agency: String,
    age: String,
    concerns: Vec<String>,
    clock: String,
    breached: bool,
    candidates: Vec<CandidateView>,
    linked: Option<Person>,
    /// The address as submitted is hidden: the person it was linked to has a restricted
    /// address this user is not on the list for.
    address_hidden: bool,
    decided: bool,
    outcome: String,
    decision_form: HashMap<String, String>,
}

impl DetailPage {
    fn field(&self, k: &str) -> String {
        self.decision_form.get(k).cloned().unwrap_or_default()
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    fn consent(&self) -> &'static str {
        consent_label(&self.r.submitted.consent)
    }
}

async fn triage_page(
    state: &AppState,
    staff: &Staff,
    r: Referral,
    errors: Vec<FieldError>,
    form: Option<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let pe = page_err(state);
    let store = state.store();
    let agency = store
        .agency(&r.submitted.referrer_agency_id)
        .await
        .map(|a| a.name)
        .unwrap_or_default();
    let cfg = SlaConfig::from_env();
    let c = sla::clock(&cfg, r.created_at, &r.submitted.urgency, now_unix());
    let record = index::record_of(&format!("referral:{}", r.id), &r.submitted.person, false);
    let mut candidates = candidate_views(state, staff, &record).await.map_err(&pe)?;
    let linked = match &r.person_id {
        Some(id) => Some(store.person(id).await.map_err(|e| pe(e.into()))?),
        None => None,
    };
    if let Some(l) = &linked {
        candidates.retain(|c| c.person_id != l.id);
    }
    let (_, address) = facts_and_decision(state, &staff.actor(), &r, Action::ViewAddress)
        .await
        .map_err(&pe)?;
    let decided = r.status == STATUS_DECIDED;
    let title = if errors.is_empty() {
        format!("Referral {}", r.reference)
    } else {
        format!("Error: Referral {}", r.reference)
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = DetailPage {
        chrome: staff.chrome(state, &title),
        errors,
        received: when(r.created_at),
        agency,
        age: age_of(
            r.submitted.person.dob.as_deref(),
            r.submitted.person.approx_birth_year,
        ),
        concerns: r
            .submitted
            .concerns
            .iter()
            .map(|k| taxonomy::label(k))
            .collect(),
        clock: if decided {
            String::new()
        } else if c.breached {
            format!(
                "Overdue by {} (due {})",
                sla::describe(c.remaining),
                when(c.due_at)
            )
        } else {
            format!(
                "{} of working time left (due {})",
                sla::describe(c.remaining),
                when(c.due_at)
            )
        },
        breached: c.breached && !decided,
        candidates,
        linked,
        address_hidden: !address.allowed(),
        decided,
        outcome: outcome_text(&r),
        decision_form: form.unwrap_or_default(),
        r,
    };
    let mut res = render(state, page)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn link_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    let r = triage_referral(&state, &staff, &reference)
        .await
        .map_err(&pe)?;
    let pairs = form_pairs(&body).map_err(&pe)?;
    let person_id = pairs
        .iter()
        .find(|(k, _)| k == "person_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let store = state.store();
    let person = match store.person(&person_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound { .. }) => {
            return Err(pe(AppError::BadRequest(
                "That person is not in the index. Go back and choose again.".into(),
            )));
        }
        Err(e) => return Err(pe(e.into())),
    };
    let facts = store
        .person_facts(&person)
        .await
        .map_err(|e| pe(e.into()))?;
    if !decide(&staff.actor(), Action::ViewRecord, &facts, now_unix()).allowed() {
        store
            .audit(staff.event("link_person", "referral", &r.id, "denied"))
            .await
            .map_err(|e| pe(e.into()))?;
        return Err(pe(AppError::NotFound));
    }
    let linked = store
        .link_referral_person(&r.id, &person.id, &staff.user.id)
        .await
        .map_err(|e| pe(e.into()))?;
    let mut ev = staff.event("link_person", "referral", &r.id, "allowed");
    ev.reason = format!("person {linked}");
    store.audit(ev).await.map_err(|e| pe(e.into()))?;
    Ok(Redirect::to(&format!("/referrals/{}", r.reference)).into_response())
}

async fn new_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    let r = triage_referral(&state, &staff, &reference)
        .await
        .map_err(&pe)?;
    let store = state.store();
    let id = match store
        .create_person_for_referral(&r.id, &staff.user.id)
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict(m)) => return Err(pe(AppError::BadRequest(m))),
        Err(e) => return Err(pe(e.into())),
    };
    let person = store.person(&id).await.map_err(|e| pe(e.into()))?;
    state.people_index().upsert(&person).await;
    store
        .audit(staff.event("create", "person", &id, "allowed"))
        .await
        .map_err(|e| pe(e.into()))?;
    Ok(Redirect::to(&format!("/referrals/{}", r.reference)).into_response())
}

/// Checks a decision form; returns the decision to store.
fn validate_decision(
    form: &HashMap<String, String>,
    linked: bool,
) -> Result<DecisionInput, Vec<FieldError>> {
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut fail = |f: &str, m: &str| {
        errors.push(FieldError {
            field: f.into(),
            message: m.into(),
        })
    };
    let decision = get("decision");
    let reason = get("reason");
    let mut detail = String::new();
    let mut service_id = String::new();
    match decision.as_str() {
        "open_case" if !linked => fail(
            "decision",
            "Link this referral to a person, or create a new person, before opening a case",
        ),
        "open_case" | "no_further_action" => {}
        "signpost" => {
            detail = get("service");
            service_id = get("service_id");
            if detail.is_empty() {
                fail("service", "Enter the service you are signposting to");
            } else if detail.chars().count() > input::MAX_MEDIUM {
                fail("service", "Service must be 200 characters or fewer");
            }
            if service_id.len() > 100
                || !service_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                fail(
                    "service_id",
                    "Directory service id must be letters, numbers and hyphens, 100 at most",
                );
            }
        }
        "panel" => {
            detail = get("panel");
            if !["MARAC", "MACE"].contains(&detail.as_str()) {
                fail("panel", "Select the panel: MARAC or MACE");
            }
        }
        _ => fail("decision", "Select a decision"),
    }
    if reason.is_empty() {
        fail("reason", "Enter the reason for the decision");
    } else if reason.chars().count() > input::MAX_NOTE {
        fail("reason", "Reason must be 2000 characters or fewer");
    }
    if errors.is_empty() {
        Ok(DecisionInput {
            decision,
            reason,
            detail,
            service_id,
        })
    } else {
        Err(errors)
    }
}

/// The referrer's notifications about a decision: in-app with the outcome, and an e-mail
/// carrying only the reference and the decision (no personal details travel by e-mail).
fn decision_messages(state: &AppState, r: &Referral, d: &DecisionInput) -> Vec<QueuedMessage> {
    let label = decision_label(&d.decision);
    let link = format!("/referrals/{}", r.reference);
    let mut out = Vec::new();
    if let Some(user) = &r.submitted.referrer_user_id {
        out.push(QueuedMessage {
            channel: "in_app".into(),
            recipient: user.clone(),
            subject: format!("Referral {}: {}", r.reference, label.to_lowercase()),
            body: link.clone(),
            idempotency_key: format!("referral:{}:decision:in_app", r.id),
        });
    }
    if !r.submitted.referrer_email.is_empty() {
        let base = state.settings().public_url.trim_end_matches('/');
        out.push(QueuedMessage {
            channel: "email".into(),
            recipient: r.submitted.referrer_email.clone(),
            subject: format!("Referral {}: decision made", r.reference),
            body: format!(
                "Your referral {reference} has been triaged.\n\nDecision: {label}\n\n\
                 Sign in to see the outcome and the reason:\n{base}{link}\n\n\
                 This message contains no personal details. Do not reply to it.\n",
                reference = r.reference
            ),
            idempotency_key: format!("referral:{}:decision:email", r.id),
        });
    }
    out
}

async fn decide_referral(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    let r = triage_referral(&state, &staff, &reference)
        .await
        .map_err(&pe)?;
    let form: HashMap<String, String> = form_pairs(&body).map_err(&pe)?.into_iter().collect();
    if r.status == STATUS_DECIDED {
        let errors = vec![FieldError {
            field: "decision".into(),
            message: "This referral has already been decided".into(),
        }];
        return triage_page(&state, &staff, r, errors, Some(form)).await;
    }
    let d = match validate_decision(&form, r.person_id.is_some()) {
        Ok(d) => d,
        Err(errors) => return triage_page(&state, &staff, r, errors, Some(form)).await,
    };
    let messages = decision_messages(&state, &r, &d);
    let store = state.store();
    match store
        .decide_referral(&r.id, &d, &staff.user.id, &messages)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => {
            let errors = vec![FieldError {
                field: "decision".into(),
                message: m,
            }];
            return triage_page(&state, &staff, r, errors, Some(form)).await;
        }
        Err(e) => return Err(pe(e.into())),
    }
    let mut ev = staff.event("decide", "referral", &r.id, "allowed");
    ev.reason = d.decision.clone();
    store.audit(ev).await.map_err(|e| pe(e.into()))?;
    Ok(Redirect::to(&format!("/referrals/{}", r.reference)).into_response())
}

// ------------------------------------------------------------------ people

struct MergedView {
    id: String,
    name: String,
}

struct HistoryView {
    text: String,
}

#[derive(Template)]
#[template(path = "referrals/person.html")]
struct PersonPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    notice: Option<String>,
    p: Person,
    merged_into_name: String,
    address: String,
    safe: Vec<pathways_store::people::SafeContact>,
    referrals: Vec<(String, String, String)>,
    merged: Vec<MergedView>,
    history: Vec<HistoryView>,
    candidates: Vec<CandidateView>,
    can_manage: bool,
}

async fn person_view(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let pe = page_err(state);
    let store = state.store();
    let p = match store.person(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound { .. }) => return Err(pe(AppError::NotFound)),
        Err(e) => return Err(pe(e.into())),
    };
    let facts = store.person_facts(&p).await.map_err(|e| pe(e.into()))?;
    let actor = staff.actor();
    let now = now_unix();
    if !decide(&actor, Action::ViewRecord, &facts, now).allowed() {
        store
            .audit(staff.event("read", "person", &p.id, "denied"))
            .await
            .map_err(|e| pe(e.into()))?;
        return Err(pe(AppError::NotFound));
    }
    store
        .audit(staff.event("read", "person", &p.id, "allowed"))
        .await
        .map_err(|e| pe(e.into()))?;
    let address = if decide(&actor, Action::ViewAddress, &facts, now).allowed() {
        format!("{} {}", p.details.address_line, p.details.postcode)
            .trim()
            .to_string()
    } else {
        "Restricted: visible only to the named list".into()
    };
    let merged_into_name = match &p.merged_into {
        Some(m) => store
            .person(m)
            .await
            .map(|q| format!("{} {}", q.details.first_name, q.details.surname))
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut referrals = Vec::new();
    for r in store
        .referrals_for_person(&p.id)
        .await
        .map_err(|e| pe(e.into()))?
    {
        referrals.push((r.reference.clone(), when(r.created_at), status_label(&r)));
    }
    let merged = store
        .merged_into(&p.id)
        .await
        .map_err(|e| pe(e.into()))?
        .into_iter()
        .map(|m| MergedView {
            name: format!("{} {}", m.details.first_name, m.details.surname),
            id: m.id,
        })
        .collect();
    let history = store
        .merge_history(&p.id)
        .await
        .map_err(|e| pe(e.into()))?
        .into_iter()
        .map(|h| HistoryView {
            text: format!(
                "{} merged into {} on {}: {}{}",
                h.person_id,
                h.merged_into,
                when(h.merged_at),
                h.reason,
                h.unmerged_at
                    .map(|u| format!(" (undone {})", when(u)))
                    .unwrap_or_default()
            ),
        })
        .collect();
    let candidates = if p.merged_into.is_none() {
        candidate_views(state, staff, &index::person_record(&p))
            .await
            .map_err(&pe)?
    } else {
        Vec::new()
    };
    let safe = store.safe_contacts(&p.id).await.map_err(|e| pe(e.into()))?;
    let title = format!("{} {}", p.details.first_name, p.details.surname);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PersonPage {
        chrome: staff.chrome(state, &title),
        errors,
        notice,
        merged_into_name,
        address,
        safe,
        referrals,
        merged,
        history,
        candidates,
        can_manage: staff.can(Permission::TriageReferrals),
        p,
    };
    let mut res = render(state, page)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn person_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    person_view(&state, &staff, &id, Vec::new(), None).await
}

fn form_map(state: &AppState, body: &[u8]) -> Result<HashMap<String, String>, PageError> {
    Ok(form_pairs(body)
        .map_err(page_err(state))?
        .into_iter()
        .collect())
}

async fn merge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    staff.require(Permission::TriageReferrals).map_err(&pe)?;
    let form = form_map(&state, &body)?;
    let into = form.get("into").cloned().unwrap_or_default();
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let back = if into.is_empty() {
        id.clone()
    } else {
        into.clone()
    };
    if reason.is_empty() || reason.chars().count() > input::MAX_NOTE {
        let e = vec![FieldError {
            field: "reason".into(),
            message: "Enter why these are the same person (2000 characters at most)".into(),
        }];
        return person_view(&state, &staff, &back, e, None).await;
    }
    let store = state.store();
    for pid in [&id, &into] {
        let p = store.person(pid).await.map_err(|e| pe(e.into()))?;
        let facts = store.person_facts(&p).await.map_err(|e| pe(e.into()))?;
        if !decide(&staff.actor(), Action::ViewRecord, &facts, now_unix()).allowed() {
            return Err(pe(AppError::NotFound));
        }
    }
    match store
        .merge_people(&id, &into, &reason, &staff.user.id)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => {
            return person_view(
                &state,
                &staff,
                &back,
                vec![FieldError {
                    field: "reason".into(),
                    message: m,
                }],
                None,
            )
            .await;
        }
        Err(e) => return Err(pe(e.into())),
    }
    state.people_index().remove(&id).await;
    let mut ev = staff.event("merge", "person", &id, "allowed");
    ev.reason = format!("into {into}: {reason}");
    store.audit(ev).await.map_err(|e| pe(e.into()))?;
    person_view(
        &state,
        &staff,
        &into,
        Vec::new(),
        Some("The records were merged.".into()),
    )
    .await
}

async fn unmerge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    staff.require(Permission::TriageReferrals).map_err(&pe)?;
    let form = form_map(&state, &body)?;
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let store = state.store();
    let p = store.person(&id).await.map_err(|e| pe(e.into()))?;
    let facts = store.person_facts(&p).await.map_err(|e| pe(e.into()))?;
    if !decide(&staff.actor(), Action::ViewRecord, &facts, now_unix()).allowed() {
        return Err(pe(AppError::NotFound));
    }
    if reason.is_empty() || reason.chars().count() > input::MAX_NOTE {
        let back = p.merged_into.clone().unwrap_or(id.clone());
        let e = vec![FieldError {
            field: "reason".into(),
            message: "Enter why these are different people (2000 characters at most)".into(),
        }];
        return person_view(&state, &staff, &back, e, None).await;
    }
    match store.unmerge_person(&id, &reason, &staff.user.id).await {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => {
            return person_view(
                &state,
                &staff,
                &id,
                vec![FieldError {
                    field: "reason".into(),
                    message: m,
                }],
                None,
            )
            .await;
        }
        Err(e) => return Err(pe(e.into())),
    }
    let p = store.person(&id).await.map_err(|e| pe(e.into()))?;
    state.people_index().upsert(&p).await;
    let mut ev = staff.event("unmerge", "person", &id, "allowed");
    ev.reason = reason;
    store.audit(ev).await.map_err(|e| pe(e.into()))?;
    person_view(
        &state,
        &staff,
        &id,
        Vec::new(),
        Some("The records were separated.".into()),
    )
    .await
}

async fn message_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let pe = page_err(&state);
    staff.require(Permission::TriageReferrals).map_err(&pe)?;
    let form = form_map(&state, &body)?;
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (to, subject, text) = (get("to"), get("subject"), get("body"));
    let mut errors = Vec::new();
    if !to.contains('@') || to.len() > 254 || to.contains(char::is_whitespace) {
        errors.push(FieldError {
            field: "to".into(),
            message: "Enter an e-mail address, like name@example.com".into(),
        });
    }
    if subject.is_empty() || subject.chars().count() > input::MAX_MEDIUM {
        errors.push(FieldError {
            field: "subject".into(),
            message: "Enter a subject of 200 characters or fewer".into(),
        });
    }
    if text.is_empty() || text.chars().count() > input::MAX_REASON {
        errors.push(FieldError {
            field: "body".into(),
            message: "Enter a message of 5000 characters or fewer".into(),
        });
    }
    if !errors.is_empty() {
        return person_view(&state, &staff, &id, errors, None).await;
    }
    let store = state.store();
    let p = store.person(&id).await.map_err(|e| pe(e.into()))?;
    let facts = store.person_facts(&p).await.map_err(|e| pe(e.into()))?;
    if !decide(&staff.actor(), Action::ViewRecord, &facts, now_unix()).allowed() {
        return Err(pe(AppError::NotFound));
    }
    let key = format!("person:{id}:message:{}", pathways_store::new_id());
    let outcome = store
        .message_person(&id, "email", &to, &subject, &text, &key)
        .await
        .map_err(|e| pe(e.into()))?;
    let (outcome_word, errors, notice) = match outcome {
        ContactOutcome::Queued => (
            "allowed",
            Vec::new(),
            Some("The e-mail was queued for sending.".to_string()),
        ),
        ContactOutcome::Refused { reason } => (
            "refused",
            vec![FieldError {
                field: "to".into(),
                message: reason,
            }],
            None,
        ),
    };
    store
        .audit(staff.event("message", "person", &id, outcome_word))
        .await
        .map_err(|e| pe(e.into()))?;
    person_view(&state, &staff, &id, errors, notice).await
}

// ------------------------------------------------------------------ JSON API

#[derive(Serialize)]
struct Created {
    id: String,
    reference: String,
    status: String,
    status_url: String,
}

async fn api_create(State(state): State<AppState>, caller: ApiCaller, body: Bytes) -> Response {
    match api_create_inner(&state, &caller, &body).await {
        Ok(r) => r,
        Err(e) => e.into_json(),
    }
}

async fn api_create_inner(
    state: &AppState,
    caller: &ApiCaller,
    body: &[u8],
) -> Result<Response, AppError> {
    caller.require(Permission::MakeReferral)?;
    let mut input: ReferralInput = serde_json::from_slice(body).map_err(|e| {
        AppError::Invalid(vec![FieldError {
            field: "body".into(),
            message: format!(
                "The body is not a referral in JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        }])
    })?;
    let is_user = !caller.audit_id.starts_with("token:");
    if is_user && (input.referrer.name.trim().is_empty() || input.referrer.email.trim().is_empty())
    {
        let user = state.store().user(&caller.actor.user_id).await?;
        if input.referrer.name.trim().is_empty() {
            input.referrer.name = user.display_name;
        }
        if input.referrer.email.trim().is_empty() {
            input.referrer.email = user.email;
        }
    }
    let mut new = input::validate(&input, today()).map_err(AppError::Invalid)?;
    new.referrer_actor = caller.actor.user_id.clone();
    new.referrer_user_id = is_user.then(|| caller.actor.user_id.clone());
    new.referrer_agency_id = caller.actor.agency_id.clone();
    let r = state.store().create_referral(&new).await?;
    let ev = pathways_domain::audit::AuditEvent {
        at: now_unix(),
        actor_id: caller.audit_id.clone(),
        actor_agency: caller.actor.agency_id.clone(),
        action: "create".into(),
        record_type: "referral".into(),
        record_id: r.id.clone(),
        client: caller.client.clone(),
        reason: "api".into(),
        outcome: "allowed".into(),
    };
    state.store().audit(ev).await?;
    let body = Created {
        status_url: format!("/api/v1/referrals/{}", r.reference),
        id: r.id,
        reference: r.reference,
        status: r.status,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn api_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(reference): Path<String>,
) -> Response {
    let run = async {
        let r = load_referral(&state, &reference).await?;
        let (_, d) = facts_and_decision(&state, &caller.actor, &r, Action::ViewStatus).await?;
        let event = |outcome: &str| pathways_domain::audit::AuditEvent {
            at: now_unix(),
            actor_id: caller.audit_id.clone(),
            actor_agency: caller.actor.agency_id.clone(),
            action: "read_status".into(),
            record_type: "referral".into(),
            record_id: r.id.clone(),
            client: caller.client.clone(),
            reason: "api".into(),
            outcome: outcome.into(),
        };
        if !d.allowed() {
            state.store().audit(event("denied")).await?;
            return Err(AppError::NotFound);
        }
        state.store().audit(event("allowed")).await?;
        let mut v =
            serde_json::to_value(status_view(&r)).map_err(|e| AppError::internal(e.to_string()))?;
        v["decision"] = serde_json::json!(r.decision);
        v["reason"] = serde_json::json!(if r.status == STATUS_DECIDED {
            r.decision_reason.clone()
        } else {
            String::new()
        });
        Ok::<_, AppError>(axum::Json(v).into_response())
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn decisions_are_validated() {
        let e = validate_decision(&form(&[("decision", "open_case"), ("reason", "r")]), false)
            .expect_err("unlinked");
        assert!(e[0].message.contains("Link this referral"));
        let ok = validate_decision(&form(&[("decision", "open_case"), ("reason", "r")]), true)
            .expect("ok");
        assert_eq!(ok.decision, "open_case");
        let e = validate_decision(&form(&[("decision", "signpost"), ("reason", "")]), true)
            .expect_err("no service");
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["service", "reason"]);
        let ok = validate_decision(
            &form(&[
                ("decision", "panel"),
                ("panel", "MARAC"),
                ("reason", "high risk"),
            ]),
            false,
        )
        .expect("panel");
        assert_eq!(ok.detail, "MARAC");
        assert!(
            validate_decision(
                &form(&[("decision", "panel"), ("panel", "X"), ("reason", "r")]),
                false
            )
            .is_err()
        );
        assert!(
            validate_decision(&form(&[("decision", "maybe"), ("reason", "r")]), false).is_err()
        );
    }

    #[test]
    fn referrers_are_told_the_outcome_not_the_file() {
        let mut r = Referral {
            id: "1".into(),
            reference: "R-2026-000001".into(),
            created_at: 0,
            submitted: Default::default(),
            status: STATUS_DECIDED.into(),
            person_id: None,
            decision: Some("signpost".into()),
            decision_reason: "r".into(),
            decision_detail: "Westway Youth Club".into(),
            decision_service_id: String::new(),
            decided_at: Some(0),
            decided_by: None,
        };
        r.submitted.person.first_name = "tayo".into();
        r.submitted.person.surname = "Okoro".into();
        assert_eq!(outcome_text(&r), "Signposted to Westway Youth Club.");
        let v = status_view(&r);
        assert_eq!(v.about, "T. O.");
        assert_eq!(v.status, "Signposted to a service");
    }
}

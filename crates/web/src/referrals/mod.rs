//! Referrals: the referral form and JSON API, the referrer's status pages, the triage queue
//! with service-level clocks and candidate person matches, decisions, merges and unmerges.
//! Each handler reads its input, calls one use case of `pathways_app::referrals`, and
//! renders the answer.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pathways_app::referrals::{
    self as uc, Candidate, DecisionForm, ReferralInput, Shown, TriageView, taxonomy,
};
use pathways_domain::AuditAction as A;
use pathways_domain::Permission::{self, MakeReferral, TriageReferrals};
use pathways_domain::referrals::Urgency;
use pathways_domain::working_time::describe;
use pathways_store::people::Person;
use pathways_store::referrals::Referral;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, html};
use crate::format::when;
use crate::forms::respond;
use crate::layout::Chrome;
use crate::routes::{Guard, Route, Verb};

const REFERS: Guard = Guard::Permission(MakeReferral);
const TRIAGES: Guard = Guard::Permission(TriageReferrals);

/// Every route of the referrals module.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/referrals",
        guard: REFERS,
        audit: &[A::List],
        summary: "the referrals you made",
        handler: || get(mine),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/mine",
        guard: REFERS,
        audit: &[A::List],
        summary: "the referrals you made",
        handler: || get(mine),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/new",
        guard: REFERS,
        audit: &[],
        summary: "the referral form",
        handler: || get(new_form),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/new",
        guard: REFERS,
        audit: &[A::Create],
        summary: "make a referral",
        handler: || post(submit_form),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/triage",
        guard: TRIAGES,
        audit: &[A::List],
        summary: "the triage queue with service-level clocks",
        handler: || get(triage_queue),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/people/{id}",
        guard: Guard::Staff,
        audit: &[A::Read, A::ReadCandidate],
        summary: "a person in the index, with possible duplicates",
        handler: || get(person_page),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/people/{id}/merge",
        guard: TRIAGES,
        audit: &[A::Merge],
        summary: "merge two records of one person",
        handler: || post(merge),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/people/{id}/unmerge",
        guard: TRIAGES,
        audit: &[A::Unmerge],
        summary: "undo a merge",
        handler: || post(unmerge),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/people/{id}/message",
        guard: TRIAGES,
        audit: &[A::Message],
        summary: "e-mail about a person, within their safe-contact rules",
        handler: || post(message_person),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/{reference}",
        guard: Guard::Staff,
        audit: &[A::Read, A::ReadStatus, A::ReadCandidate],
        summary: "a referral: triage view or its status",
        handler: || get(show),
    },
    Route {
        verb: Verb::Get,
        path: "/referrals/{reference}/submitted",
        guard: Guard::Staff,
        audit: &[A::Read],
        summary: "confirmation after sending, with the triage due time",
        handler: || get(submitted),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/{reference}/link",
        guard: TRIAGES,
        audit: &[A::LinkPerson],
        summary: "link a referral to a person in the index",
        handler: || post(link_person),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/{reference}/new-person",
        guard: TRIAGES,
        audit: &[A::Create],
        summary: "add the referred person to the index",
        handler: || post(new_person),
    },
    Route {
        verb: Verb::Post,
        path: "/referrals/{reference}/decision",
        guard: TRIAGES,
        audit: &[A::Decide],
        summary: "record the triage decision",
        handler: || post(decide_referral),
    },
    Route {
        verb: Verb::Post,
        path: "/api/v1/referrals",
        guard: Guard::ApiScope(MakeReferral),
        audit: &[A::Create],
        summary: "make a referral (JSON)",
        handler: || post(api_create),
    },
    Route {
        verb: Verb::Get,
        path: "/api/v1/referrals/{reference}",
        guard: Guard::ApiScope(MakeReferral),
        audit: &[A::ReadStatus],
        summary: "a referral's status and outcome (JSON)",
        handler: || get(api_status),
    },
];

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

/// Consent as staff read it.
fn consent_label(c: &str) -> &'static str {
    match c {
        "given" => "Consent given",
        "refused" => "Consent refused",
        "not_sought" => "Consent not sought",
        _ => "Not recorded",
    }
}

fn status_page(mut res: Response, errors: &[FieldError]) -> Response {
    if !errors.is_empty() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
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
) -> Result<Response, AppError> {
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
    html(page)
}

async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    staff.require(MakeReferral)?;
    let mut form = ReferralInput::default();
    form.referrer.name = staff.user.display_name.clone();
    form.referrer.email = staff.user.email.clone();
    form.urgency = Urgency::Standard.key().into();
    new_page(&state, &staff, form, Vec::new())
}

async fn submit_form(
    State(state): State<AppState>,
    staff: Staff,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = ReferralInput::from_form(&form_pairs(&body)?);
    let result = uc::submit(state.app(), &staff.caller(), form.clone(), false).await;
    respond(
        result,
        |r| format!("/referrals/{}/submitted", r.reference),
        async |errors| new_page(&state, &staff, form, for_page(errors)),
    )
    .await
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
) -> Result<Response, AppError> {
    let (r, due) = uc::submitted(state.app(), &staff.caller(), &reference).await?;
    html(SubmittedPage {
        chrome: staff.chrome(&state, "Referral sent"),
        reference: r.reference,
        due: when(due),
    })
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
    StatusView {
        reference: r.reference.clone(),
        received: when(r.created_at),
        about: uc::initials(r),
        status: uc::status_label(r),
        outcome: uc::outcome_text(r),
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

async fn mine(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let rows = uc::mine(state.app(), &staff.caller()).await?;
    html(MinePage {
        chrome: staff.chrome(&state, "Your referrals"),
        referrals: rows.iter().map(status_view).collect(),
        can_triage: staff.can(TriageReferrals),
    })
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
) -> Result<Response, AppError> {
    match uc::show(state.app(), &staff.caller(), &reference).await? {
        Shown::Triage(view) => triage_page(&state, &staff, *view, Vec::new(), None),
        Shown::Status(r) => html(StatusPage {
            chrome: staff.chrome(&state, &format!("Referral {}", r.reference)),
            r: status_view(&r),
            reason: uc::decision_reason(&r),
        }),
    }
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

fn concern_labels(r: &Referral) -> Vec<String> {
    r.submitted
        .concerns
        .iter()
        .map(|k| taxonomy::label(k))
        .collect()
}

async fn triage_queue(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let q = uc::queue(state.app(), &staff.caller()).await?;
    let waiting: Vec<QueueRow> = q
        .waiting
        .iter()
        .map(|item| {
            let (r, c) = (&item.referral, &item.clock);
            let p = &r.submitted.person;
            QueueRow {
                reference: r.reference.clone(),
                received: when(r.created_at),
                urgent: uc::urgency(r) == Urgency::Urgent,
                name: format!("{} {}", p.first_name, p.surname),
                age: uc::age_of(p.dob.as_deref(), p.approx_birth_year),
                concerns: concern_labels(r).join(", "),
                agency: item.agency.clone(),
                due: when(c.due_at),
                clock: if c.breached {
                    format!("Overdue by {}", describe(c.remaining))
                } else {
                    format!("{} left", describe(c.remaining))
                },
                breached: c.breached,
                linked: r.person_id.is_some(),
            }
        })
        .collect();
    html(TriageQueuePage {
        chrome: staff.chrome(&state, "Triage"),
        breached: waiting.iter().filter(|q| q.breached).count(),
        waiting,
        decided: q.decided.iter().map(status_view).collect(),
        urgent_hours: describe(q.urgent_secs),
        standard_hours: describe(q.standard_secs),
    })
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

fn candidate_view(c: &Candidate) -> CandidateView {
    let d = &c.person.details;
    CandidateView {
        person_id: c.person.id.clone(),
        name: format!("{} {}", d.first_name, d.surname),
        born: d
            .dob
            .clone()
            .unwrap_or_else(|| uc::age_of(None, d.approx_birth_year)),
        school: d.school.clone(),
        address: c.address.clone().unwrap_or_else(|| "Restricted".into()),
        probability: format!("{:.0}%", c.probability * 100.0),
        evidence: c
            .evidence
            .iter()
            .map(|e| EvidenceRow {
                field: e.field,
                level: e.level.clone(),
                weight: format!("{:+.1}", e.weight),
                supports: e.weight > 0.0,
            })
            .collect(),
    }
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
    decision_form: DecisionForm,
}

impl DetailPage {
    fn field(&self, k: &str) -> String {
        let f = &self.decision_form;
        match k {
            "decision" => f.decision.clone(),
            "reason" => f.reason.clone(),
            "service" => f.service.clone(),
            "service_id" => f.service_id.clone(),
            "panel" => f.panel.clone(),
            _ => String::new(),
        }
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    fn consent(&self) -> &'static str {
        consent_label(&self.r.submitted.consent)
    }
}

fn triage_page(
    state: &AppState,
    staff: &Staff,
    v: TriageView,
    errors: Vec<FieldError>,
    form: Option<DecisionForm>,
) -> Result<Response, AppError> {
    let r = v.referral;
    let c = v.clock;
    let title = if errors.is_empty() {
        format!("Referral {}", r.reference)
    } else {
        format!("Error: Referral {}", r.reference)
    };
    let page = DetailPage {
        chrome: staff.chrome(state, &title),
        received: when(r.created_at),
        agency: v.agency,
        age: uc::age_of(
            r.submitted.person.dob.as_deref(),
            r.submitted.person.approx_birth_year,
        ),
        concerns: concern_labels(&r),
        clock: if v.decided {
            String::new()
        } else if c.breached {
            format!(
                "Overdue by {} (due {})",
                describe(c.remaining),
                when(c.due_at)
            )
        } else {
            format!(
                "{} of working time left (due {})",
                describe(c.remaining),
                when(c.due_at)
            )
        },
        breached: c.breached && !v.decided,
        candidates: v.candidates.iter().map(candidate_view).collect(),
        linked: v.linked,
        address_hidden: v.address_hidden,
        decided: v.decided,
        outcome: uc::outcome_text(&r),
        decision_form: form.unwrap_or_default(),
        r,
        errors: errors.clone(),
    };
    Ok(status_page(html(page)?, &errors))
}

/// The person chosen on the triage page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinkForm {
    person_id: String,
}

async fn link_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, AppError> {
    let caller = staff.caller();
    match uc::link_person(state.app(), &caller, &reference, &form.person_id).await {
        Ok(r) => Ok(Redirect::to(&format!("/referrals/{}", r.reference)).into_response()),
        Err(pathways_app::Error::Invalid(e)) => Err(AppError::BadRequest(
            e.first().map(|e| e.message.clone()).unwrap_or_default(),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn new_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    let r = uc::new_person(state.app(), &staff.caller(), &reference).await?;
    Ok(Redirect::to(&format!("/referrals/{}", r.reference)).into_response())
}

async fn decide_referral(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let caller = staff.caller();
    let result = uc::decide(state.app(), &caller, &reference, &form).await;
    respond(
        result,
        |r| format!("/referrals/{}", r.reference),
        async |errors| {
            let view = uc::reopen(state.app(), &caller, &reference).await?;
            triage_page(&state, &staff, view, errors, Some(form))
        },
    )
    .await
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
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let f = uc::person_file(state.app(), &staff.caller(), id).await?;
    let p = f.person;
    let page = PersonPage {
        chrome: staff.chrome(
            state,
            &format!("{} {}", p.details.first_name, p.details.surname),
        ),
        errors: errors.clone(),
        notice: notice.map(str::to_string),
        merged_into_name: f.merged_into_name,
        address: f
            .address
            .unwrap_or_else(|| "Restricted: visible only to the named list".into()),
        safe: f.safe,
        referrals: f
            .referrals
            .iter()
            .map(|r| (r.reference.clone(), when(r.created_at), uc::status_label(r)))
            .collect(),
        merged: f
            .merged
            .into_iter()
            .map(|m| MergedView {
                name: format!("{} {}", m.details.first_name, m.details.surname),
                id: m.id,
            })
            .collect(),
        history: f
            .history
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
            .collect(),
        candidates: f.candidates.iter().map(candidate_view).collect(),
        can_manage: f.can_manage,
        p,
    };
    Ok(status_page(html(page)?, &errors))
}

async fn person_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    person_view(&state, &staff, &id, Vec::new(), None).await
}

/// A merge, unmerge or message form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PersonForm {
    into: String,
    reason: String,
    to: String,
    subject: String,
    body: String,
}

/// After a change on the person page: the page again with a notice, or with the problems.
async fn person_outcome(
    state: &AppState,
    staff: &Staff,
    result: pathways_app::Result<()>,
    ok_page: &str,
    error_page: &str,
    notice: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => person_view(state, staff, ok_page, Vec::new(), Some(notice)).await,
        Err(pathways_app::Error::Invalid(errors)) => {
            person_view(state, staff, error_page, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn merge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Result<Response, AppError> {
    let result = uc::merge(state.app(), &staff.caller(), &id, &form.into, &form.reason)
        .await
        .map(|_| ());
    let back = if form.into.is_empty() {
        &id
    } else {
        &form.into
    };
    person_outcome(
        &state,
        &staff,
        result,
        back,
        back,
        "The records were merged.",
    )
    .await
}

async fn unmerge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Result<Response, AppError> {
    let result = uc::unmerge(state.app(), &staff.caller(), &id, &form.reason).await;
    person_outcome(
        &state,
        &staff,
        result,
        &id,
        &id,
        "The records were separated.",
    )
    .await
}

async fn message_person(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Result<Response, AppError> {
    let result = uc::message(
        state.app(),
        &staff.caller(),
        &id,
        &form.to,
        &form.subject,
        &form.body,
    )
    .await;
    person_outcome(
        &state,
        &staff,
        result,
        &id,
        &id,
        "The e-mail was queued for sending.",
    )
    .await
}

// ------------------------------------------------------------------ JSON API

#[derive(Serialize)]
struct Created {
    id: String,
    reference: String,
    status: String,
    status_url: String,
}

async fn api_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Bytes,
) -> Result<Response, AppError> {
    caller.require(Permission::MakeReferral)?;
    let input: ReferralInput = serde_json::from_slice(&body).map_err(|e| {
        AppError::Invalid(vec![FieldError {
            field: "body".into(),
            message: format!(
                "The body is not a referral in JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        }])
    })?;
    let r = uc::submit(state.app(), &caller.caller(), input, true).await?;
    let body = Created {
        status_url: format!("/api/v1/referrals/{}", r.reference),
        id: r.id,
        reference: r.reference,
        status: r.status,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn api_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    let r = uc::api_status(state.app(), &caller.caller(), &reference).await?;
    let mut v = serde_json::to_value(status_view(&r)).map_err(AppError::internal)?;
    v["decision"] = serde_json::json!(r.decision);
    v["reason"] = serde_json::json!(uc::decision_reason(&r));
    Ok(Json(v).into_response())
}

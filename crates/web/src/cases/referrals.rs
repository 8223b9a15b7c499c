//! Service referrals from a case: the referral form with consent or a lawful reason, the
//! receiving agency's incoming list and status updates through the workflow, and a
//! consortium hub's allocation to a member.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use pathways_app::cases::{self as uc, Rights};
use pathways_domain::ids::{CaseId, ServiceReferralId};
use pathways_store::cases::{ReferralEvent, ServiceReferral};

use crate::auth::Staff;
use crate::error::{AppError, FieldError, html};
use crate::format::{day, when};
use crate::forms::respond;
use crate::{AppState, Chrome};

type FormMap = HashMap<String, String>;

#[derive(Template)]
#[template(path = "cases/refer.html")]
struct ReferPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    case_id: String,
    reference: String,
    categories: &'static [(&'static str, &'static str)],
    bases: &'static [(&'static str, &'static str)],
    agencies: Vec<(String, String)>,
    form: FormMap,
}

impl ReferPage {
    fn value(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or("")
    }
}

async fn refer_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    form: FormMap,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let f = uc::refer_form(state.app(), &staff.caller(), &CaseId::new(id)).await?;
    html(ReferPage {
        chrome: staff.chrome(state, "Refer to a service"),
        errors,
        case_id: f.case_id,
        reference: f.reference,
        categories: uc::CATEGORIES,
        bases: uc::LAWFUL_BASES,
        agencies: f.agencies,
        form,
    })
}

/// `GET /cases/{id}/refer`.
pub(crate) async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    refer_page(&state, &staff, &id, FormMap::new(), Vec::new()).await
}

/// `POST /cases/{id}/refer`: sends the referral; sharing without consent is audited with
/// its basis and reason.
pub(crate) async fn send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, AppError> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = uc::ServiceReferralInput {
        category: get("category"),
        service_name: get("service_name"),
        service_id: get("service_id"),
        to_agency_id: get("to_agency_id"),
        reason: get("reason"),
        consent: get("consent"),
        lawful_basis: get("lawful_basis"),
        share_reason: get("share_reason"),
        sharing_agreement: get("sharing_agreement"),
    };
    let r = uc::send_referral(state.app(), &staff.caller(), &CaseId::new(&id), &input).await;
    respond(
        r,
        |_| format!("/cases/{id}#referrals"),
        |errors| refer_page(&state, &staff, &id, f.clone(), errors),
    )
    .await
}

/// A row of the incoming list.
pub(crate) struct IncomingRow {
    pub id: String,
    pub service: String,
    pub category: &'static str,
    pub status: &'static str,
    pub sent: String,
    pub allocated_to: String,
}

#[derive(Template)]
#[template(path = "cases/incoming.html")]
struct IncomingPage {
    chrome: Chrome,
    rows: Vec<IncomingRow>,
}

/// `GET /service-referrals`: referrals the user's agency receives, for its case workers.
pub(crate) async fn incoming(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    let list = uc::incoming(state.app(), &staff.caller()).await?;
    html(IncomingPage {
        chrome: staff.chrome(&state, "Incoming referrals"),
        rows: list
            .iter()
            .map(|r| IncomingRow {
                id: r.id.clone(),
                service: r.service_name.clone(),
                category: uc::category_label(&r.category),
                status: r.status.label(),
                sent: day(r.sent_at),
                allocated_to: r.allocated_agency_name.clone().unwrap_or_default(),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "cases/service_referral.html")]
struct ShowPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    r: ServiceReferral,
    category: &'static str,
    consent: &'static str,
    person: String,
    sent: String,
    events: Vec<(ReferralEvent, String)>,
    rights: Rights,
    next: Vec<(&'static str, &'static str)>,
    members: Vec<(String, String)>,
    time_to_allocation: String,
}

async fn show_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let v = uc::service_referral(state.app(), &staff.caller(), &ServiceReferralId::new(id)).await?;
    let r = v.referral;
    let time_to_allocation = r
        .allocated_at
        .map(|a| {
            let mins = (a - r.sent_at).max(0) / 60;
            format!("{} h {} min", mins / 60, mins % 60)
        })
        .unwrap_or_default();
    html(ShowPage {
        chrome: staff.chrome(state, "Service referral"),
        errors,
        category: uc::category_label(&r.category),
        consent: r.consent.label(),
        sent: when(r.sent_at),
        person: v.person,
        events: v
            .events
            .into_iter()
            .map(|e| {
                let w = when(e.at);
                (e, w)
            })
            .collect(),
        rights: v.rights,
        next: v.next.iter().map(|s| (s.key(), s.label())).collect(),
        members: v.members,
        time_to_allocation,
        r,
    })
}

/// `GET /service-referrals/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    show_page(&state, &staff, &id, Vec::new()).await
}

/// `POST /service-referrals/{id}/status`: the receiving agency moves the referral along the
/// workflow; a jump that skips a step is refused with what is allowed.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, AppError> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let r = uc::move_referral(
        state.app(),
        &staff.caller(),
        &ServiceReferralId::new(&id),
        &get("status"),
        &get("from"),
        &get("reason"),
    )
    .await;
    respond(
        r,
        |()| format!("/service-referrals/{id}"),
        |e| show_page(&state, &staff, &id, e),
    )
    .await
}

/// `POST /service-referrals/{id}/allocate`: a consortium hub allocates to a member.
pub(crate) async fn allocate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, AppError> {
    let member = f.get("member_agency_id").cloned().unwrap_or_default();
    let r = uc::allocate(
        state.app(),
        &staff.caller(),
        &ServiceReferralId::new(&id),
        &member,
    )
    .await;
    respond(
        r,
        |()| format!("/service-referrals/{id}"),
        |e| show_page(&state, &staff, &id, e),
    )
    .await
}

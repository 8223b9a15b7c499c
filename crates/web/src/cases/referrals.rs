//! Service referrals from a case: the referral form with consent or a lawful reason, the
//! receiving agency's incoming list and status updates through the workflow, and a
//! consortium hub's allocation to a member.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use pathways_domain::{Action, AgencyKind, Permission, decide};
use pathways_store::cases::{
    Consent, NewServiceReferral, ReferralEvent, ReferralStatus, ServiceReferral,
};
use pathways_store::now_unix;

use super::format::{CATEGORIES, category_label, day, when};
use super::{for_edit, render};
use crate::auth::Staff;
use crate::error::{AppError, FieldError, PageError};
use crate::{AppState, Chrome};

/// Lawful bases for sharing without consent.
pub(crate) const LAWFUL_BASES: &[(&str, &str)] = &[
    ("safeguarding", "Safeguarding a child or adult at risk"),
    ("prevention_of_crime", "Prevention or detection of crime"),
    ("vital_interests", "Vital interests (risk to life)"),
    ("public_task", "Public task under a statutory duty"),
];

type FormMap = HashMap<String, String>;

fn field<'a>(f: &'a FormMap, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn err(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

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
    let allowed = for_edit(state, staff, id).await?;
    let agencies = state
        .store()
        .list_agencies()
        .await?
        .into_iter()
        .filter(|a| a.archived_at.is_none())
        .map(|a| {
            let label = if a.kind == AgencyKind::ConsortiumHub {
                format!("{} (consortium)", a.name)
            } else {
                a.name
            };
            (a.id, label)
        })
        .collect();
    Ok(render(
        state,
        ReferPage {
            chrome: staff.chrome(state, "Refer to a service"),
            errors,
            case_id: allowed.case.id,
            reference: allowed.case.reference,
            categories: CATEGORIES,
            bases: LAWFUL_BASES,
            agencies,
            form,
        },
    ))
}

/// `GET /cases/{id}/refer`.
pub(crate) async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    match refer_page(&state, &staff, &id, FormMap::new(), Vec::new()).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

/// The checked referral form.
#[derive(Debug)]
struct Checked {
    new: NewServiceReferral,
}

/// Checks the referral form: a service, a receiving agency, a reason, and consent or a
/// lawful basis with a reason (and the information-sharing agreement relied on).
fn check_form(
    f: &FormMap,
    case_id: &str,
    sender: &str,
    agencies: &[(String, String)],
) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let category = field(f, "category");
    if !CATEGORIES.iter().any(|(k, _)| *k == category) {
        errors.push(err("category", "Choose the kind of service"));
    }
    let service_name = field(f, "service_name");
    if service_name.is_empty() {
        errors.push(err("service_name", "Enter the name of the service"));
    }
    let to = field(f, "to_agency_id");
    if !agencies.iter().any(|(id, _)| id == to) {
        errors.push(err(
            "to_agency_id",
            "Choose the organisation that runs the service",
        ));
    }
    let reason = field(f, "reason");
    if reason.is_empty() {
        errors.push(err("reason", "Enter why you are referring the person"));
    }
    let consent = Consent::parse(field(f, "consent"));
    let (basis, share_reason) = (field(f, "lawful_basis"), field(f, "share_reason"));
    match consent {
        None => errors.push(err(
            "consent",
            "Say whether the person consented to the referral",
        )),
        Some(Consent::Given) => {}
        Some(_) => {
            if !LAWFUL_BASES.iter().any(|(k, _)| *k == basis) {
                errors.push(err(
                    "lawful_basis",
                    "Without consent, choose the lawful basis for sharing (safeguarding, prevention of crime ...)",
                ));
            }
            if share_reason.chars().count() < 15 {
                errors.push(err(
                    "share_reason",
                    "Without consent, explain in at least 15 characters why sharing is necessary and lawful",
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let service_id = match field(f, "service_id") {
        "" => format!(
            "unlisted:{}",
            service_name
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("-")
        ),
        id => id.to_string(),
    };
    let consent = consent.unwrap_or(Consent::Given);
    let given = consent == Consent::Given;
    Ok(Checked {
        new: NewServiceReferral {
            case_id: case_id.into(),
            service_id,
            service_name: service_name.into(),
            category: category.into(),
            to_agency_id: to.into(),
            consent,
            lawful_basis: if given { String::new() } else { basis.into() },
            share_reason: if given {
                String::new()
            } else {
                share_reason.into()
            },
            sharing_agreement: field(f, "sharing_agreement").into(),
            reason: reason.into(),
            sent_by: sender.into(),
        },
    })
}

/// `POST /cases/{id}/refer`: sends the referral; sharing without consent is audited with
/// its basis and reason.
pub(crate) async fn send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let result = async {
        let allowed = for_edit(&state, &staff, &id).await?;
        let agencies: Vec<(String, String)> = state
            .store()
            .list_agencies()
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let checked = check_form(&f, &allowed.case.id, &staff.user.id, &agencies)
            .map_err(AppError::Invalid)?;
        let referral = state.store().create_service_referral(&checked.new).await?;
        let mut event = staff.event(
            "service_referral_send",
            "service_referral",
            &referral.id,
            "allowed",
        );
        if checked.new.consent != Consent::Given {
            event.action = "share_without_consent".into();
            event.reason = format!("{}: {}", checked.new.lawful_basis, checked.new.share_reason);
        }
        state.store().audit(event).await?;
        Ok::<_, AppError>(Redirect::to(&format!("/cases/{id}#referrals")).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(AppError::Invalid(errors)) => match refer_page(&state, &staff, &id, f, errors).await {
            Ok(mut r) => {
                *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
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
pub(crate) async fn incoming(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        staff.require(Permission::WorkCases)?;
        let list = state
            .store()
            .incoming_service_referrals(&staff.user.agency_id)
            .await?;
        state
            .store()
            .audit(staff.event(
                "service_referrals_view",
                "agency",
                &staff.user.agency_id,
                "allowed",
            ))
            .await?;
        let rows = list
            .iter()
            .map(|r| IncomingRow {
                id: r.id.clone(),
                service: r.service_name.clone(),
                category: category_label(&r.category),
                status: r.status.label(),
                sent: day(r.sent_at),
                allocated_to: r.allocated_agency_name.clone().unwrap_or_default(),
            })
            .collect();
        Ok::<_, AppError>(render(
            &state,
            IncomingPage {
                chrome: staff.chrome(&state, "Incoming referrals"),
                rows,
            },
        ))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

/// What the user may do with a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rights {
    /// May see it.
    pub view: bool,
    /// May move its status.
    pub update: bool,
    /// May allocate it to a consortium member.
    pub allocate: bool,
    /// Sits on the referring case's team (sees the case link).
    pub case_team: bool,
}

/// Who may do what: the case workers of the receiving agency (or, for a consortium, of the
/// hub until it allocates and of the allocated member after), and the referring case's team
/// (view only). Other roles in the receiving agency have no part in the referral.
pub(crate) async fn rights(
    state: &AppState,
    staff: &Staff,
    r: &ServiceReferral,
) -> Result<Rights, AppError> {
    let mine = &staff.user.agency_id;
    let works = staff.can(Permission::WorkCases);
    let to_kind = state.store().agency(&r.to_agency_id).await?.kind;
    let hub = to_kind == AgencyKind::ConsortiumHub;
    let receiving = works
        && match &r.allocated_agency_id {
            Some(member) => member == mine,
            None => !hub && &r.to_agency_id == mine,
        };
    let allocate = works && hub && &r.to_agency_id == mine && r.allocated_agency_id.is_none();
    let facts = state.store().case_facts(&r.case_id).await?;
    let case_team = decide(&staff.actor(), Action::ViewRecord, &facts, now_unix()).allowed();
    let hub_sees = works && hub && &r.to_agency_id == mine;
    Ok(Rights {
        view: receiving || hub_sees || case_team,
        update: receiving,
        allocate,
        case_team,
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
    let r = state.store().service_referral(id).await?;
    let rights = rights(state, staff, &r).await?;
    if !rights.view {
        state
            .store()
            .audit(staff.event("service_referral_read", "service_referral", id, "denied"))
            .await?;
        return Err(AppError::NotFound);
    }
    state
        .store()
        .audit(staff.event("service_referral_read", "service_referral", id, "allowed"))
        .await?;
    let case = state.store().case(&r.case_id).await?;
    let person = state.store().person(&case.person_id).await?;
    // The service learns who is referred; a restricted record shows only whom to contact.
    let facts = state.store().case_facts(&r.case_id).await?;
    let person = match &facts.restriction {
        Some(res) if !res.access_list.contains(&staff.user.id) => {
            format!("Restricted record: contact {} for details", res.contact)
        }
        _ => format!(
            "{} {}{}",
            person.details.first_name,
            person.details.surname,
            person
                .details
                .dob
                .as_deref()
                .map(|d| format!(", born {d}"))
                .unwrap_or_default()
        ),
    };
    let members = if rights.allocate {
        state.store().consortium_members(&r.to_agency_id).await?
    } else {
        Vec::new()
    };
    let time_to_allocation = r
        .allocated_at
        .map(|a| {
            let mins = (a - r.sent_at).max(0) / 60;
            format!("{} h {} min", mins / 60, mins % 60)
        })
        .unwrap_or_default();
    let next = if rights.update {
        r.status
            .next()
            .iter()
            .map(|s| (s.key(), s.label()))
            .collect()
    } else {
        Vec::new()
    };
    let events = state
        .store()
        .service_referral_events(id)
        .await?
        .into_iter()
        .map(|e| {
            let w = when(e.at);
            (e, w)
        })
        .collect();
    Ok(render(
        state,
        ShowPage {
            chrome: staff.chrome(state, "Service referral"),
            errors,
            category: category_label(&r.category),
            consent: r.consent.label(),
            sent: when(r.sent_at),
            person,
            events,
            rights,
            next,
            members,
            time_to_allocation,
            r,
        },
    ))
}

/// `GET /service-referrals/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    match show_page(&state, &staff, &id, Vec::new()).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn rerender(
    state: AppState,
    staff: Staff,
    id: String,
    result: Result<(), AppError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/service-referrals/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => match show_page(&state, &staff, &id, errors).await {
            Ok(mut r) => {
                *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
}

/// `POST /service-referrals/{id}/status`: the receiving agency moves the referral along the
/// workflow; a jump that skips a step is refused with what is allowed.
pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let result = async {
        let r = state.store().service_referral(&id).await?;
        if !rights(&state, &staff, &r).await?.update {
            return Err(AppError::Forbidden(
                "only the receiving service updates a referral".into(),
            ));
        }
        let Some(to) = ReferralStatus::parse(field(&f, "status")) else {
            return Err(AppError::Invalid(vec![err(
                "status",
                "Choose the referral's new status",
            )]));
        };
        let from = ReferralStatus::parse(field(&f, "from")).unwrap_or(r.status);
        let reason = field(&f, "reason");
        if let Err(e) = pathways_store::cases::transition(from, to, reason) {
            let target = if matches!(e, pathways_store::cases::TransitionError::ReasonRequired(_)) {
                "reason"
            } else {
                "status"
            };
            let mut msg = e.to_string();
            if let Some(first) = msg.get(0..1) {
                msg = first.to_uppercase() + &msg[1..];
            }
            return Err(AppError::Invalid(vec![err(target, &msg)]));
        }
        state
            .store()
            .set_service_referral_status(&id, from, to, reason, &staff.user.id)
            .await
            .map_err(|e| match e {
                pathways_store::StoreError::Conflict(m) => {
                    AppError::Invalid(vec![err("status", &m)])
                }
                other => other.into(),
            })?;
        let mut event = staff.event(
            "service_referral_status",
            "service_referral",
            &id,
            "allowed",
        );
        event.reason = format!("{} -> {}", from.key(), to.key());
        state.store().audit(event).await?;
        Ok(())
    }
    .await;
    rerender(state, staff, id, result).await
}

/// `POST /service-referrals/{id}/allocate`: a consortium hub allocates to a member.
pub(crate) async fn allocate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Response {
    let result = async {
        staff.require(Permission::WorkCases)?;
        let r = state.store().service_referral(&id).await?;
        if !rights(&state, &staff, &r).await?.allocate {
            return Err(AppError::Forbidden(
                "only the consortium hub allocates".into(),
            ));
        }
        let member = field(&f, "member_agency_id");
        state
            .store()
            .allocate_service_referral(&id, member, &staff.user.id)
            .await
            .map_err(|e| match e {
                pathways_store::StoreError::Conflict(m) => {
                    AppError::Invalid(vec![err("member_agency_id", &m)])
                }
                other => other.into(),
            })?;
        state
            .store()
            .audit(staff.event(
                "service_referral_allocate",
                "service_referral",
                &id,
                "allowed",
            ))
            .await?;
        Ok(())
    }
    .await;
    rerender(state, staff, id, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sharing_without_consent_needs_a_basis_and_a_reason() {
        let agencies = vec![("a1".to_string(), "Turning Point".to_string())];
        let base = [
            ("category", "substance_misuse"),
            ("service_name", "Drug and alcohol service"),
            ("to_agency_id", "a1"),
            ("reason", "Daily cannabis use"),
        ];
        let mut f = form(&base);
        f.insert("consent".into(), "refused".into());
        let errors = check_form(&f, "c", "u", &agencies).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lawful_basis", "share_reason"]);
        f.insert("lawful_basis".into(), "safeguarding".into());
        f.insert(
            "share_reason".into(),
            "Child at risk of exploitation by a county line".into(),
        );
        let ok = check_form(&f, "c", "u", &agencies).expect("lawful");
        assert_eq!(ok.new.consent, Consent::Refused);
        assert_eq!(ok.new.service_id, "unlisted:drug-and-alcohol-service");
        let mut given = form(&base);
        given.insert("consent".into(), "given".into());
        given.insert("lawful_basis".into(), "safeguarding".into());
        let ok = check_form(&given, "c", "u", &agencies).expect("consent");
        assert_eq!(
            ok.new.lawful_basis, "",
            "no basis is recorded when consent was given"
        );
    }

    #[test]
    fn every_missing_field_is_reported() {
        let errors = check_form(&FormMap::new(), "c", "u", &[]).expect_err("empty");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "category",
                "service_name",
                "to_agency_id",
                "reason",
                "consent"
            ]
        );
    }
}

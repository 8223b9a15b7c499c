//! Risk assessment forms rendered from the versioned instrument definitions, their
//! submission (scored by `pathways_risk`, stored with instrument, version and answers), and
//! `POST /api/v1/instruments/{instrument}/score`.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pathways_domain::Permission;
use pathways_risk::{InstrumentDefinition, JudgementRequest, ScoreRequest, score_request};
use pathways_store::cases::NewAssessment;
use pathways_store::now_unix;

use super::{for_edit, registry, render};
use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, PageError};
use crate::{AppState, Chrome};

/// One question as the form shows it.
pub(crate) struct QuestionView {
    pub id: String,
    pub text: String,
    pub help: String,
    pub options: Vec<(&'static str, &'static str)>,
    pub answer: String,
    pub error: String,
}

/// A titled group of questions.
pub(crate) struct SectionView {
    pub title: String,
    pub add_on: bool,
    pub questions: Vec<QuestionView>,
}

#[derive(Template)]
#[template(path = "cases/assess.html")]
struct AssessPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    case_id: String,
    reference: String,
    instrument: String,
    title: String,
    description: String,
    version: u32,
    sections: Vec<SectionView>,
    levels: Vec<(&'static str, &'static str)>,
    marac: bool,
    form: BTreeMap<String, String>,
}

impl AssessPage {
    /// A submitted value, to show the form again as it was sent.
    fn val(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or("")
    }
}

fn sections(
    def: &InstrumentDefinition,
    form: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Vec<SectionView> {
    let mut out: Vec<SectionView> = def
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title.clone(),
            add_on: false,
            questions: Vec::new(),
        })
        .collect();
    let mut add_ons: BTreeMap<String, SectionView> = BTreeMap::new();
    for q in &def.questions {
        let options = match q.answer_kind {
            pathways_risk::AnswerKind::YesNoNotKnown => {
                vec![("yes", "Yes"), ("no", "No"), ("not_known", "Not known")]
            }
            pathways_risk::AnswerKind::YesNo => vec![("yes", "Yes"), ("no", "No")],
        };
        let view = QuestionView {
            id: q.id.clone(),
            text: q.text.clone(),
            help: q.help.clone(),
            options,
            answer: form.get(&q.id).cloned().unwrap_or_default(),
            error: errors
                .iter()
                .find(|e| e.field == q.id)
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        };
        if let Some(key) = &q.add_on {
            let title = def
                .add_ons
                .iter()
                .find(|a| &a.key == key)
                .map(|a| a.title.clone())
                .unwrap_or_else(|| key.clone());
            add_ons
                .entry(key.clone())
                .or_insert_with(|| SectionView {
                    title,
                    add_on: true,
                    questions: Vec::new(),
                })
                .questions
                .push(view);
        } else if let Some(i) = def.sections.iter().position(|s| s.id == q.section) {
            out[i].questions.push(view);
        }
    }
    out.retain(|s| !s.questions.is_empty());
    out.extend(add_ons.into_values());
    out
}

async fn page(
    state: &AppState,
    staff: &Staff,
    case_id: &str,
    key: &str,
    form: BTreeMap<String, String>,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let allowed = for_edit(state, staff, case_id).await?;
    let registry = registry(state).await?;
    let def = registry.latest(key).ok_or(AppError::NotFound)?;
    let levels = def
        .levels()
        .into_iter()
        .map(|l| (l.as_str(), l.label()))
        .collect();
    Ok(render(
        state,
        AssessPage {
            chrome: staff.chrome(state, &def.title),
            sections: sections(def, &form, &errors),
            errors,
            case_id: allowed.case.id.clone(),
            reference: allowed.case.reference.clone(),
            instrument: def.key.clone(),
            title: def.title.clone(),
            description: def.description.clone(),
            version: def.version,
            levels,
            marac: def.marac.is_some(),
            form,
        },
    ))
}

/// `GET /cases/{id}/assess/{instrument}`: the latest version's form.
pub(crate) async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(String, String)>,
) -> Response {
    match page(&state, &staff, &id, &key, BTreeMap::new(), Vec::new()).await {
        Ok(r) => r,
        Err(e) => PageError(state, e).into_response(),
    }
}

/// Turns the form into a score request: answers by question id, the judgement when a level
/// is chosen, incident dates one per line, today as the assessment date.
fn request_from(def: &InstrumentDefinition, form: &BTreeMap<String, String>) -> ScoreRequest {
    let answers = def
        .answer_fields(form)
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    ScoreRequest {
        version: Some(def.version),
        answers,
        professional_judgement: get("judgement_level").map(|level| JudgementRequest {
            level,
            reason: get("judgement_reason").unwrap_or_default(),
        }),
        incidents: form
            .get("incidents")
            .map(|s| {
                s.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        assessment_date: Some(super::format::iso_day(now_unix())),
        last_marac_referral: get("last_marac_referral"),
        new_incident: get("new_incident"),
    }
}

/// Maps an API field path to the form field that shows it.
fn form_field(path: &str) -> String {
    if let Some(q) = path.strip_prefix("answers.") {
        return q.to_string();
    }
    if path.starts_with("incidents") {
        return "incidents".into();
    }
    match path {
        "professional_judgement.level" | "professional_judgement" => "judgement_level".into(),
        "professional_judgement.reason" => "judgement_reason".into(),
        other => other.to_string(),
    }
}

/// `POST /cases/{id}/assess/{instrument}`: scores and stores, or shows every problem.
pub(crate) async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(String, String)>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    match submit_inner(&state, &staff, &id, &key, &form).await {
        Ok(r) => r,
        Err(AppError::Invalid(errors)) => match page(&state, &staff, &id, &key, form, errors).await
        {
            Ok(mut r) => {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => PageError(state, e).into_response(),
        },
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn submit_inner(
    state: &AppState,
    staff: &Staff,
    id: &str,
    key: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, AppError> {
    let allowed = for_edit(state, staff, id).await?;
    let registry = registry(state).await?;
    let def = registry.latest(key).ok_or(AppError::NotFound)?;
    // The form names the version it showed. If a newer one was published meanwhile, the
    // answers were given to other questions: show the new version's form with the answers
    // kept, rather than scoring them against questions the practitioner did not see.
    let shown = form
        .get("version")
        .and_then(|v| v.trim().parse::<u32>().ok());
    if shown.is_some_and(|v| v != def.version) {
        return Err(AppError::Invalid(vec![FieldError {
            field: "assessment-version".into(),
            message: format!(
                "This tool was updated to version {} while you were filling it in. Check your answers against the questions below and save again",
                def.version
            ),
        }]));
    }
    let scored = score_request(&registry, key, request_from(def, form)).map_err(|e| {
        AppError::Invalid(
            e.body()
                .errors
                .into_iter()
                .map(|f| FieldError {
                    field: form_field(&f.field),
                    message: f.message,
                })
                .collect(),
        )
    })?;
    let eligibility = match &scored.eligibility {
        Some(e) => serde_json::to_string(e).map_err(|e| AppError::Internal(e.to_string()))?,
        None => "null".into(),
    };
    let answers =
        serde_json::to_string(&scored.answers).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store()
        .record_assessment(
            &allowed.case.id,
            &staff.user.id,
            &NewAssessment {
                instrument: scored.instrument.clone(),
                version: i64::from(scored.version),
                answers,
                score: i64::from(scored.score),
                max_score: i64::from(scored.max_score),
                computed_level: scored.computed_level.as_str().into(),
                level: scored.level.as_str().into(),
                judgement_reason: scored.professional_judgement.clone().unwrap_or_default(),
                marac_eligible: scored.eligibility.as_ref().is_some_and(|e| e.eligible),
                eligibility,
            },
        )
        .await?;
    state
        .store()
        .audit(staff.event("risk_assessment", "case", id, "allowed"))
        .await?;
    Ok(Redirect::to(&format!("/cases/{id}#risk")).into_response())
}

/// `POST /api/v1/instruments/{instrument}/score`: scores without storing (token or session).
pub(crate) async fn api_score(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = caller
        .require(Permission::WorkCases)
        .or_else(|_| caller.require(Permission::TriageReferrals))
    {
        return e.into_json();
    }
    let mut event = pathways_domain::audit::AuditEvent {
        at: now_unix(),
        actor_id: caller.audit_id.clone(),
        actor_agency: caller.actor.agency_id.clone(),
        action: "risk_score_api".into(),
        record_type: "instrument".into(),
        record_id: key.clone(),
        client: caller.client.clone(),
        reason: String::new(),
        outcome: "allowed".into(),
    };
    // The latest version, shipped or published, unless the request names another.
    let registry = match registry(&state).await {
        Ok(r) => r,
        Err(e) => return e.into_json(),
    };
    let result = pathways_risk::ScoreRequest::from_json(&body)
        .and_then(|req| score_request(&registry, &key, req));
    let response = match result {
        Ok(scored) => (StatusCode::OK, Json(scored)).into_response(),
        Err(e) => {
            event.outcome = "invalid".into();
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            (status, Json(e.body())).into_response()
        }
    };
    if let Err(e) = state.store().audit(event).await {
        return AppError::from(e).into_json();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::builtin_registry;

    #[test]
    fn api_field_paths_map_to_form_fields() {
        assert_eq!(form_field("answers.q7"), "q7");
        assert_eq!(form_field("incidents[2]"), "incidents");
        assert_eq!(
            form_field("professional_judgement.reason"),
            "judgement_reason"
        );
        assert_eq!(form_field("assessment_date"), "assessment_date");
    }

    #[test]
    fn the_dash_form_has_every_question_once() {
        let def = builtin_registry().latest("dash").expect("dash");
        let views = sections(def, &BTreeMap::new(), &[]);
        let n: usize = views.iter().map(|s| s.questions.len()).sum();
        assert_eq!(n, def.questions.len());
        assert!(views.iter().any(|s| s.add_on));
    }

    #[test]
    fn form_answers_become_a_request() {
        let def = builtin_registry().latest("dash").expect("dash");
        let mut form = BTreeMap::new();
        form.insert("csrf".to_string(), "x".to_string());
        form.insert("q1".to_string(), "yes".to_string());
        form.insert("q2".to_string(), "".to_string());
        form.insert(
            "incidents".to_string(),
            "2026-01-01\n\n2026-02-01\n".to_string(),
        );
        let req = request_from(def, &form);
        assert_eq!(req.answers.len(), 1);
        assert_eq!(req.incidents, vec!["2026-01-01", "2026-02-01"]);
        assert!(req.professional_judgement.is_none());
    }
}

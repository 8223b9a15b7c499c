//! Risk assessment forms rendered from the versioned instrument definitions, their
//! submission, and `POST /api/v1/instruments/{instrument}/score`.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pathways_app::cases::{self as uc, AssessmentOutcome};
use pathways_domain::ids::CaseId;
use pathways_risk::InstrumentDefinition;

use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, html};
use crate::forms::{message_for, respond};
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
            error: message_for(errors, &q.id).unwrap_or_default().to_string(),
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
    let f = uc::assessment_form(state.app(), &staff.caller(), &CaseId::new(case_id), key).await?;
    let def = &f.definition;
    html(AssessPage {
        chrome: staff.chrome(state, &def.title),
        sections: sections(def, &form, &errors),
        errors,
        case_id: f.case_id.clone(),
        reference: f.reference.clone(),
        instrument: def.key.clone(),
        title: def.title.clone(),
        description: def.description.clone(),
        version: def.version,
        levels: super::pages::level_options(&def.levels()),
        marac: def.marac.is_some(),
        form,
    })
}

/// `GET /cases/{id}/assess/{instrument}`: the latest version's form.
pub(crate) async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, AppError> {
    page(&state, &staff, &id, &key, BTreeMap::new(), Vec::new()).await
}

/// `POST /cases/{id}/assess/{instrument}`: scores and stores, or shows every problem.
pub(crate) async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(String, String)>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let r =
        uc::record_assessment(state.app(), &staff.caller(), &CaseId::new(&id), &key, &form).await;
    respond(
        r,
        |()| format!("/cases/{id}#risk"),
        |errors| page(&state, &staff, &id, &key, form.clone(), errors),
    )
    .await
}

/// `POST /api/v1/instruments/{instrument}/score`: scores without storing (token or session).
pub(crate) async fn api_score(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    Ok(
        match uc::score_api(state.app(), &caller.caller(), &key, &body).await? {
            AssessmentOutcome::Scored(scored) => (StatusCode::OK, Json(scored)).into_response(),
            AssessmentOutcome::Refused { status, body } => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                Json(body),
            )
                .into_response(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dash_form_has_every_question_once() {
        let def = uc::builtin_registry().latest("dash").expect("dash");
        let views = sections(def, &BTreeMap::new(), &[]);
        let n: usize = views.iter().map(|s| s.questions.len()).sum();
        assert_eq!(n, def.questions.len());
        assert!(views.iter().any(|s| s.add_on));
    }
}

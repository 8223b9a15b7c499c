//! Risk assessments: the instrument versions in use (shipped plus published by the council),
//! scoring a submitted form and storing it with its version and answers, and the score API.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use pathways_domain::ids::CaseId;
use pathways_domain::time::format_iso_day;
use pathways_domain::{AuditAction, Permission};
use pathways_risk::{
    InstrumentDefinition, InstrumentRegistry, JudgementRequest, ScoreRequest, ScoreResponse,
    score_request,
};
use pathways_store::cases::{Assessment, NewAssessment};
use pathways_store::now_unix;

use super::for_edit;
use crate::{App, Caller, Error, FieldError, RecordKind, Result, commit};

/// The risk instruments shipped in the binary, loaded once.
pub fn builtin_registry() -> &'static InstrumentRegistry {
    static REGISTRY: OnceLock<InstrumentRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The definitions are compiled into the binary and validated by the risk crate's
        // tests, so failing here means a broken build, not bad input.
        InstrumentRegistry::builtin().expect("the built-in risk instruments are valid")
    })
}

/// Every version of every risk instrument: the shipped definitions plus the versions the
/// council has published. New assessments use `latest`; a stored assessment is shown and
/// rescored with `get(instrument, version)`.
///
/// Read from the store on each use rather than cached: assessments are rare beside other
/// requests, the table holds a few small rows, and reading it each time means a version
/// published through one instance is used at once by every other instance.
pub async fn registry(app: &App) -> Result<InstrumentRegistry> {
    let mut registry = builtin_registry().clone();
    for stored in app.store().all_instrument_versions().await? {
        let name = format!(
            "published {} version {}",
            stored.instrument_key, stored.version
        );
        // Every stored version was validated when it was published; one that no longer
        // loads is damage to report, not input to skip (skipping would silently score new
        // assessments with an older version).
        let def = InstrumentDefinition::from_json(&name, &stored.definition)
            .map_err(|e| Error::internal(e.to_string()))?;
        registry
            .insert(def)
            .map_err(|e| Error::internal(format!("{name}: {e}")))?;
    }
    Ok(registry)
}

/// The registry needed to show `assessments`: the shipped one when every assessment was
/// made with a shipped version, so the common case reads nothing more.
pub(crate) async fn registry_for(
    app: &App,
    assessments: &[Assessment],
) -> Result<InstrumentRegistry> {
    let shipped = builtin_registry();
    if assessments
        .iter()
        .all(|a| u32::try_from(a.version).is_ok_and(|v| shipped.get(&a.instrument, v).is_some()))
    {
        Ok(shipped.clone())
    } else {
        registry(app).await
    }
}

/// What the assessment page needs: the case and the latest version of the instrument.
#[derive(Debug, Clone)]
pub struct AssessmentForm {
    /// Case id.
    pub case_id: String,
    /// Case reference.
    pub reference: String,
    /// The version to answer.
    pub definition: InstrumentDefinition,
}

/// The form for a new assessment of a case the caller may change.
pub async fn assessment_form(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    key: &str,
) -> Result<AssessmentForm> {
    let opened = for_edit(app, caller, case_id).await?;
    let registry = registry(app).await?;
    let definition = registry.latest(key).ok_or(Error::NotFound)?.clone();
    Ok(AssessmentForm {
        case_id: opened.case.id,
        reference: opened.case.reference,
        definition,
    })
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
        assessment_date: Some(format_iso_day(now_unix())),
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

/// Scores a submitted assessment form with the instrument's latest version and stores it
/// with its version, answers, score, level and MARAC eligibility. A form shown before a
/// newer version was published is refused so it can be shown again at the new version.
pub async fn record_assessment(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    key: &str,
    form: &BTreeMap<String, String>,
) -> Result<()> {
    let opened = for_edit(app, caller, case_id).await?;
    let registry = registry(app).await?;
    let def = registry.latest(key).ok_or(Error::NotFound)?;
    // The form names the version it showed. If a newer one was published meanwhile, the
    // answers were given to other questions.
    let shown = form
        .get("version")
        .and_then(|v| v.trim().parse::<u32>().ok());
    if shown.is_some_and(|v| v != def.version) {
        return Err(Error::invalid(
            "assessment-version",
            format!(
                "This tool was updated to version {} while you were filling it in. Check your answers against the questions below and save again",
                def.version
            ),
        ));
    }
    let scored = score_request(&registry, key, request_from(def, form)).map_err(|e| {
        Error::Invalid(
            e.body()
                .errors
                .into_iter()
                .map(|f| FieldError::new(form_field(&f.field), f.message))
                .collect(),
        )
    })?;
    let eligibility = match &scored.eligibility {
        Some(e) => serde_json::to_string(e).map_err(|e| Error::internal(e.to_string()))?,
        None => "null".into(),
    };
    let answers =
        serde_json::to_string(&scored.answers).map_err(|e| Error::internal(e.to_string()))?;
    let mut tx = app.write().await?;
    tx.record_assessment(
        &opened.cap,
        caller.user_id(),
        &NewAssessment {
            instrument: scored.instrument.clone(),
            version: i64::from(scored.version),
            answers,
            score: i64::from(scored.score),
            max_score: i64::from(scored.max_score),
            computed_level: scored.computed_level.key().into(),
            level: scored.level.key().into(),
            judgement_reason: scored.professional_judgement.clone().unwrap_or_default(),
            marac_eligible: scored.eligibility.as_ref().is_some_and(|e| e.eligible),
            eligibility,
        },
    )
    .await?;
    commit(
        tx,
        &caller.event(
            AuditAction::RiskAssessment,
            RecordKind::Case,
            case_id.as_str(),
        ),
    )
    .await
}

/// The answer of the score API: a scored response, or the instrument's own error with its
/// status code and body.
pub enum AssessmentOutcome {
    /// Scored.
    Scored(Box<ScoreResponse>),
    /// Refused, with the status and the error body to send.
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: pathways_risk::ErrorBody,
    },
}

/// Scores answers without storing them, for partner systems and forms (audited, the
/// outcome recorded).
pub async fn score_api(
    app: &App,
    caller: &Caller,
    key: &str,
    body: &[u8],
) -> Result<AssessmentOutcome> {
    if !caller.may(Permission::WorkCases) && !caller.may(Permission::TriageReferrals) {
        return Err(Error::Forbidden(
            "needs work_cases or triage_referrals".into(),
        ));
    }
    // The latest version, shipped or published, unless the request names another.
    let registry = registry(app).await?;
    let result = ScoreRequest::from_json(body).and_then(|req| score_request(&registry, key, req));
    let mut event = caller.event(
        AuditAction::RiskScoreApi,
        RecordKind::Other("instrument"),
        key,
    );
    let outcome = match result {
        Ok(scored) => AssessmentOutcome::Scored(Box::new(scored)),
        Err(e) => {
            event.outcome = "invalid".into();
            AssessmentOutcome::Refused {
                status: e.status(),
                body: e.body(),
            }
        }
    };
    app.audit(event).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

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

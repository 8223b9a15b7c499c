//! Cases: caseload lists, the case page and its forms, risk assessments, documents, service
//! referrals, break-glass, CSV export and the JSON API.
//!
//! Every path that shows a case builds the case's `RecordFacts` and asks the one access
//! policy (`pathways_domain::decide`); lists are narrowed in SQL and then checked row by row.

mod api;
mod documents;
mod format;
mod pages;
mod referrals;
mod risk;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pathways_domain::access::Denial;
use pathways_domain::{Action, Decision, RecordFacts, decide};
use pathways_risk::{InstrumentDefinition, InstrumentRegistry};
use pathways_store::cases::CaseRow;
use pathways_store::now_unix;

use crate::AppState;
use crate::auth::Staff;
use crate::error::AppError;

/// How long a break-glass grant lasts.
pub const BREAK_GLASS_SECS: i64 = 4 * 60 * 60;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(pages::caseload))
        .route("/cases/export.csv", get(api::export_csv))
        .route(
            "/cases/new",
            get(pages::new_case_form).post(pages::open_case),
        )
        .route("/cases/{id}", get(pages::case_page))
        .route("/cases/{id}/entries", post(pages::add_entry))
        .route("/cases/{id}/tasks", post(pages::add_task))
        .route("/cases/{id}/tasks/{task}/done", post(pages::complete_task))
        .route("/cases/{id}/goals", post(pages::add_goal))
        .route("/cases/{id}/goals/{goal}", post(pages::goal_status))
        .route("/cases/{id}/reviews", post(pages::schedule_review))
        .route("/cases/{id}/reviews/{review}", post(pages::hold_review))
        .route("/cases/{id}/team", post(pages::add_member))
        .route("/cases/{id}/status", post(pages::set_status))
        .route("/cases/{id}/close", post(pages::close_case))
        .route("/cases/{id}/restriction", post(pages::restriction))
        .route(
            "/cases/{id}/address-restriction",
            post(pages::address_restriction),
        )
        .route("/cases/{id}/break-glass", post(pages::break_glass))
        .route(
            "/cases/{id}/documents",
            post(documents::upload).layer(DefaultBodyLimit::max(documents::MAX_BYTES + 64 * 1024)),
        )
        .route("/cases/{id}/documents/{doc}", get(documents::download))
        .route(
            "/cases/{id}/assess/{instrument}",
            get(risk::form).post(risk::submit),
        )
        .route(
            "/cases/{id}/refer",
            get(referrals::form).post(referrals::send),
        )
        .route("/service-referrals", get(referrals::incoming))
        .route("/service-referrals/{id}", get(referrals::show))
        .route(
            "/service-referrals/{id}/status",
            post(referrals::set_status),
        )
        .route(
            "/service-referrals/{id}/allocate",
            post(referrals::allocate),
        )
        .route(
            "/api/v1/instruments/{instrument}/score",
            post(risk::api_score),
        )
        .route("/api/v1/cases", get(api::list))
        .route("/api/v1/cases/{id}", get(api::show))
}

/// The risk instruments shipped in the binary, loaded once.
pub(crate) fn builtin_registry() -> &'static InstrumentRegistry {
    static REGISTRY: OnceLock<InstrumentRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The definitions are compiled into the binary and validated by the risk crate's
        // tests, so failing here means a broken build, not bad input.
        InstrumentRegistry::builtin().expect("the built-in risk instruments are valid")
    })
}

/// Every version of every risk instrument: the shipped definitions plus the versions the
/// council has published (`risk_instrument_versions`). New assessments use `latest`; a
/// stored assessment is shown and rescored with `get(instrument, version)`.
///
/// Read from the store on each use rather than cached in the application state: assessments
/// and the instrument pages are rare beside other requests, the table holds a few small
/// rows, and reading it each time means a version published through one instance is used
/// at once by every other instance, with no cache to invalidate. The case page skips the
/// query when every assessment on it was made with a shipped version.
pub(crate) async fn registry(state: &AppState) -> Result<InstrumentRegistry, AppError> {
    let mut registry = builtin_registry().clone();
    for stored in state.store().all_instrument_versions().await? {
        let name = format!(
            "published {} version {}",
            stored.instrument_key, stored.version
        );
        // Every stored version was validated when it was published; one that no longer
        // loads is damage to report, not input to skip (skipping would silently score new
        // assessments with an older version).
        let def = InstrumentDefinition::from_json(&name, &stored.definition)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        registry
            .insert(def)
            .map_err(|e| AppError::Internal(format!("{name}: {e}")))?;
    }
    Ok(registry)
}

pub(crate) use crate::error::render_page as render;

/// A case the user may act on, with the facts the decision was made on.
pub(crate) struct Allowed {
    /// The case.
    pub case: CaseRow,
    /// Its access facts (for later decisions such as the address).
    pub facts: RecordFacts,
}

/// What the policy said about a case the user asked for.
pub(crate) enum Lookup {
    /// Allowed.
    Allowed(Box<Allowed>),
    /// Restricted: the user may know it exists and whom to contact, and perhaps break the glass.
    Restricted {
        /// Case id.
        id: String,
        /// Case reference.
        reference: String,
        /// Named officer.
        contact: String,
        /// True when the user may break the glass.
        can_break_glass: bool,
    },
}

/// Loads a case and asks the policy about `action`, auditing the outcome. A case the user
/// may not even know of is reported as not found.
pub(crate) async fn lookup(
    state: &AppState,
    staff: &Staff,
    id: &str,
    action: Action,
) -> Result<Lookup, AppError> {
    let case = match state.store().case(id).await {
        Ok(c) => c,
        Err(pathways_store::StoreError::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let facts = state.store().case_facts(id).await?;
    let now = now_unix();
    let decision = decide(&staff.actor(), action, &facts, now);
    let verb = match action {
        Action::Edit => "case_edit",
        Action::Export => "case_export",
        _ => "case_read",
    };
    let outcome = if decision.allowed() {
        "allowed"
    } else {
        "denied"
    };
    state
        .store()
        .audit(staff.event(verb, "case", id, outcome))
        .await?;
    match decision {
        Decision::Allow(_) => Ok(Lookup::Allowed(Box::new(Allowed { case, facts }))),
        Decision::Deny(Denial::Restricted { contact }) => Ok(Lookup::Restricted {
            id: case.id.clone(),
            reference: case.reference.clone(),
            contact,
            can_break_glass: pathways_domain::access::may_break_glass(&staff.actor(), &facts, now),
        }),
        Decision::Deny(Denial::NoRelationship) => Err(AppError::NotFound),
        Decision::Deny(d) => Err(AppError::Forbidden(format!("{d:?}"))),
    }
}

/// Like [`lookup`] but for changes: anything short of permission is refused.
pub(crate) async fn for_edit(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<Allowed, AppError> {
    staff.require(pathways_domain::Permission::WorkCases)?;
    match lookup(state, staff, id, Action::Edit).await? {
        Lookup::Allowed(a) => Ok(*a),
        Lookup::Restricted { .. } => Err(AppError::Forbidden("restricted case".into())),
    }
}

//! Agencies: the list, creating one with its kind, archiving and restoring, and the JSON
//! list for partner systems.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use pathways_app::agencies as uc;
use pathways_domain::AgencyKind;
use pathways_store::Agency;
use serde::{Deserialize, Serialize};

use super::{done, field_errors, invalid, notice, when_opt};
use crate::auth::{ApiCaller, Staff};
use crate::error::html;
use crate::error::{AppError, FieldError};
use crate::{AppState, Chrome};

/// One agency as the list shows it.
struct Row {
    id: String,
    name: String,
    kind: &'static str,
    archived: String,
    is_archived: bool,
}

#[derive(Template)]
#[template(path = "admin/agencies.html")]
struct AgenciesPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
    agencies: Vec<Row>,
    kinds: Vec<(&'static str, &'static str, bool)>,
    name: String,
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
    name: String,
    kind: String,
    done: Option<&str>,
) -> Result<AgenciesPage, AppError> {
    let agencies = uc::list(state.app(), &staff.caller())
        .await?
        .into_iter()
        .map(|a| Row {
            is_archived: a.archived_at.is_some(),
            archived: when_opt(a.archived_at, ""),
            kind: a.kind.label(),
            id: a.id,
            name: a.name,
        })
        .collect();
    Ok(AgenciesPage {
        chrome: staff.chrome(state, "Agencies"),
        errors,
        notice: notice(done),
        agencies,
        kinds: AgencyKind::ALL
            .iter()
            .map(|k| (k.key(), k.label(), k.key() == kind))
            .collect(),
        name,
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    html(
        page(
            &state,
            &staff,
            vec![],
            String::new(),
            String::new(),
            q.done.as_deref(),
        )
        .await?,
    )
}

/// The agency form.
#[derive(Deserialize)]
pub(super) struct AgencyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AgencyForm>,
) -> Result<Response, AppError> {
    match uc::create(state.app(), &staff.caller(), &form.name, &form.kind).await {
        Ok(_) => done("/admin/agencies?done=agency-created"),
        Err(e) => {
            let errors = field_errors(e)?;
            let name = form.name.trim().to_string();
            invalid(page(&state, &staff, errors, name, form.kind, None).await?)
        }
    }
}

async fn set_archived(
    state: AppState,
    staff: Staff,
    id: String,
    archived: bool,
) -> Result<Response, AppError> {
    uc::set_archived(state.app(), &staff.caller(), &id, archived).await?;
    done(if archived {
        "/admin/agencies?done=agency-archived"
    } else {
        "/admin/agencies?done=agency-restored"
    })
}

pub(super) async fn archive(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_archived(state, staff, id, true).await
}

pub(super) async fn restore(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_archived(state, staff, id, false).await
}

#[derive(Serialize)]
struct ApiAgency {
    id: String,
    name: String,
    kind: &'static str,
    archived: bool,
}

/// `GET /api/v1/agencies`: every agency, for partner systems that map their users.
pub(super) async fn api_list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, AppError> {
    let agencies: Vec<ApiAgency> = uc::list(state.app(), &caller.caller())
        .await?
        .into_iter()
        .map(|a: Agency| ApiAgency {
            archived: a.archived_at.is_some(),
            kind: a.kind.key(),
            id: a.id,
            name: a.name,
        })
        .collect();
    Ok(Json(serde_json::json!({ "agencies": agencies })).into_response())
}

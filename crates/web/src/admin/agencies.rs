//! Agencies: the list, creating one with its kind, archiving and restoring, and the JSON
//! list for partner systems.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use pathways_domain::{AgencyKind, Permission};
use pathways_store::{Agency, StoreError};
use serde::{Deserialize, Serialize};

use super::{done, field, notice, render, render_invalid, respond, when_opt};
use crate::auth::{ApiCaller, Staff, form_field};
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
    let agencies = state
        .store()
        .list_agencies()
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
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        render(
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
    .await;
    respond(&state, result)
}

pub(super) async fn create(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let name = form_field(&body, "name")
            .unwrap_or_default()
            .trim()
            .to_string();
        let kind_key = form_field(&body, "kind").unwrap_or_default();
        let mut errors = Vec::new();
        if name.is_empty() || name.chars().count() > 120 {
            errors.push(field(
                "name",
                "Enter the agency's name (up to 120 characters)",
            ));
        }
        let kind = AgencyKind::parse(&kind_key);
        if kind.is_none() {
            errors.push(field(
                "kind",
                "Choose what kind of organisation the agency is",
            ));
        }
        if let (true, Some(kind)) = (errors.is_empty(), kind) {
            match state.store().create_agency(&name, kind).await {
                Ok(agency) => {
                    state
                        .store()
                        .audit(staff.event("agency_created", "agency", &agency.id, kind.key()))
                        .await?;
                    return done("/admin/agencies?done=agency-created");
                }
                Err(StoreError::Conflict(m)) => {
                    errors.push(field("name", format!("{m}: choose another name")))
                }
                Err(e) => return Err(e.into()),
            }
        }
        render_invalid(page(&state, &staff, errors, name, kind_key, None).await?)
    }
    .await;
    respond(&state, result)
}

async fn set_archived(state: AppState, staff: Staff, id: String, archived: bool) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let action = if archived {
            "agency_archived"
        } else {
            "agency_restored"
        };
        state
            .store()
            .set_agency_archived(
                &id,
                archived,
                &staff.event(action, "agency", &id, "allowed"),
            )
            .await?;
        done(if archived {
            "/admin/agencies?done=agency-archived"
        } else {
            "/admin/agencies?done=agency-restored"
        })
    }
    .await;
    respond(&state, result)
}

pub(super) async fn archive(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    set_archived(state, staff, id, true).await
}

pub(super) async fn restore(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
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
pub(super) async fn api_list(State(state): State<AppState>, caller: ApiCaller) -> Response {
    let result = async {
        caller.require(Permission::Administer)?;
        let agencies: Vec<ApiAgency> = state
            .store()
            .list_agencies()
            .await?
            .into_iter()
            .map(|a: Agency| ApiAgency {
                archived: a.archived_at.is_some(),
                kind: a.kind.key(),
                id: a.id,
                name: a.name,
            })
            .collect();
        Ok::<_, AppError>(Json(serde_json::json!({ "agencies": agencies })).into_response())
    }
    .await;
    result.unwrap_or_else(AppError::into_json)
}

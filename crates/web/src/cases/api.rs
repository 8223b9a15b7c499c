//! The cases JSON API and the CSV export of a caseload. Both come from the same use cases as
//! the pages; neither ever includes an address.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pathways_app::cases::{self as uc, ApiCase};
use pathways_domain::ids::CaseId;
use pathways_store::cases::CaseRow;
use serde::Serialize;

use super::pages::ListParams;
use crate::AppState;
use crate::auth::{ApiCaller, Staff};
use crate::error::AppError;
use crate::format::iso_day;

/// A case in API answers. `restricted` says whether the case is restricted, whoever asks;
/// `masked` says the caller may only know it exists, so it carries no details, just the
/// contact.
#[derive(Debug, Serialize)]
pub(crate) struct CaseJson {
    id: String,
    reference: String,
    restricted: bool,
    masked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marac_eligible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opened: Option<String>,
}

fn full(row: &CaseRow) -> CaseJson {
    CaseJson {
        id: row.id.clone(),
        reference: row.reference.clone(),
        restricted: row.restricted,
        masked: false,
        contact: None,
        person_name: Some(row.person_name.clone()),
        status: Some(row.status.key()),
        risk_level: Some(row.risk_level.clone()),
        marac_eligible: Some(row.marac_eligible),
        lead_worker: Some(row.lead_worker_name.clone()),
        opened: Some(iso_day(row.opened_at)),
    }
}

#[derive(Debug, Serialize)]
struct ListJson {
    total: i64,
    page: i64,
    cases: Vec<CaseJson>,
}

/// `GET /api/v1/cases?view=&status=&risk=&q=&sort=&page=`: the caller's caseload.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let list = uc::api_caseload(state.app(), &caller.caller(), &params.request()).await?;
    Ok(Json(ListJson {
        total: list.total,
        page: list.page,
        cases: list.rows.iter().map(full).collect(),
    })
    .into_response())
}

/// `GET /api/v1/cases/{id}`: one case for a caller the policy allows (404 otherwise, and a
/// restricted record shows only the contact).
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let json = match uc::api_case(state.app(), &caller.caller(), &CaseId::new(id)).await? {
        ApiCase::Full(row) => full(&row),
        ApiCase::Withheld {
            id,
            reference,
            contact,
        } => CaseJson {
            id,
            reference,
            restricted: true,
            masked: true,
            contact: Some(contact),
            person_name: None,
            status: None,
            risk_level: None,
            marac_eligible: None,
            lead_worker: None,
            opened: None,
        },
    };
    Ok(Json(json).into_response())
}

/// `GET /cases/export.csv?...`: the caseload view as CSV, every page of it.
pub(crate) async fn export_csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let csv = uc::export_csv(state.app(), &staff.caller(), &params.request()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"caseload.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

//! The cases JSON API and the CSV export of a caseload. Both apply the same access policy
//! as the pages, row by row; neither ever includes an address.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pathways_domain::{Action, Permission, decide};
use pathways_store::cases::CaseRow;
use pathways_store::now_unix;
use serde::Serialize;

use super::format::iso_day;
use super::pages::ListParams;
use crate::AppState;
use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, PageError};

/// A case in API answers: a restricted record the caller may only know of carries no
/// details, just the contact.
#[derive(Debug, Serialize)]
pub(crate) struct CaseJson {
    id: String,
    reference: String,
    restricted: bool,
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

fn case_json(row: &CaseRow, masked: Option<String>) -> CaseJson {
    let full = masked.is_none();
    CaseJson {
        id: row.id.clone(),
        reference: row.reference.clone(),
        restricted: !full,
        contact: masked,
        person_name: full.then(|| row.person_name.clone()),
        status: full.then(|| row.status.key()),
        risk_level: full.then(|| row.risk_level.clone()),
        marac_eligible: full.then_some(row.marac_eligible),
        lead_worker: full.then(|| row.lead_worker_name.clone()),
        opened: full.then(|| iso_day(row.opened_at)),
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
) -> Response {
    let result = async {
        caller.require(Permission::WorkCases)?;
        let q = params.query(&caller.actor);
        let page = state.store().caseload(&q).await?;
        let cases =
            super::pages::allowed_rows(&state, &caller.actor, Action::ViewRecord, page.rows)
                .await?
                .iter()
                .map(|row| case_json(row, None))
                .collect();
        audit(&state, &caller, "case_list_api", "caseload", "allowed").await?;
        Ok::<_, AppError>(
            Json(ListJson {
                total: page.total,
                page: q.page,
                cases,
            })
            .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(AppError::into_json)
}

async fn audit(
    state: &AppState,
    caller: &ApiCaller,
    action: &str,
    id: &str,
    outcome: &str,
) -> Result<(), AppError> {
    state
        .store()
        .audit(pathways_domain::audit::AuditEvent {
            at: now_unix(),
            actor_id: caller.audit_id.clone(),
            actor_agency: caller.actor.agency_id.clone(),
            action: action.into(),
            record_type: "case".into(),
            record_id: id.into(),
            client: caller.client.clone(),
            reason: String::new(),
            outcome: outcome.into(),
        })
        .await?;
    Ok(())
}

/// `GET /api/v1/cases/{id}`: one case for a caller the policy allows (404 otherwise, and a
/// restricted record shows only the contact).
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        caller.require(Permission::WorkCases)?;
        let row = state.store().case(&id).await?;
        let facts = state.store().case_facts(&id).await?;
        match decide(&caller.actor, Action::ViewRecord, &facts, now_unix()) {
            pathways_domain::Decision::Allow(_) => {
                audit(&state, &caller, "case_read_api", &id, "allowed").await?;
                Ok(Json(case_json(&row, None)).into_response())
            }
            pathways_domain::Decision::Deny(pathways_domain::access::Denial::Restricted {
                contact,
            }) => {
                audit(&state, &caller, "case_read_api", &id, "denied").await?;
                Ok(Json(case_json(&row, Some(contact))).into_response())
            }
            _ => {
                audit(&state, &caller, "case_read_api", &id, "denied").await?;
                Err(AppError::NotFound)
            }
        }
    }
    .await;
    result.unwrap_or_else(AppError::into_json)
}

fn csv_cell(s: &str) -> String {
    // Cells that a spreadsheet would run as a formula are prefixed with a quote.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /cases/export.csv?...`: the caseload view as CSV, every page of it, each row
/// checked for `Export` by the policy; restricted rows the user may not read are left out.
pub(crate) async fn export_csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<ListParams>,
) -> Response {
    let result = async {
        staff.require(Permission::WorkCases)?;
        let mut q = params.query(&staff.actor());
        q.per_page = 200;
        let now = now_unix();
        let mut out = String::from("reference,person,status,risk_level,marac_eligible,lead_worker,opened,next_task_due,next_review\n");
        let mut exported = 0usize;
        for page in 1.. {
            q.page = page;
            let rows = state.store().caseload(&q).await?.rows;
            if rows.is_empty() {
                break;
            }
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let facts = state.store().case_facts_many(&ids).await?;
            for r in &rows {
                let Some(f) = facts.get(&r.id) else { continue };
                if !decide(&staff.actor(), Action::Export, f, now).allowed() {
                    continue;
                }
                exported += 1;
                let cells = [
                    r.reference.clone(),
                    r.person_name.clone(),
                    r.status.key().to_string(),
                    r.risk_level.clone(),
                    r.marac_eligible.to_string(),
                    r.lead_worker_name.clone(),
                    iso_day(r.opened_at),
                    r.next_task_due_at.map(iso_day).unwrap_or_default(),
                    r.next_review_at.map(iso_day).unwrap_or_default(),
                ];
                out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            if page * q.per_page >= 10_000 || rows.len() < q.per_page as usize {
                break;
            }
        }
        let mut event = staff.event("case_export", "caseload", "csv", "allowed");
        event.reason = format!("{exported} rows");
        state.store().audit(event).await?;
        Ok::<_, AppError>(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"caseload.csv\""),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                out,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|e| PageError(state, e).into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}

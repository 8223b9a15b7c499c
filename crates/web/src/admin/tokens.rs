//! API tokens for partner systems: created with a name, an agency and permission scopes
//! (the secret is shown once), listed with their last use, and revoked.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_app::tokens::{self as uc, TokenInput};
use pathways_domain::Permission;
use serde::Deserialize;

use super::{done, field_errors, invalid, notice, when, when_opt};
use crate::auth::{Staff, form_field, form_pairs};
use crate::error::{AppError, FieldError, html};
use crate::{AppState, Chrome};

struct Row {
    id: String,
    name: String,
    agency: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: String,
    live: bool,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
    tokens: Vec<Row>,
    agencies: Vec<(String, String)>,
    scopes: Vec<(&'static str, bool)>,
    name: String,
    agency: String,
    secret: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
    chosen: &[String],
    name: String,
    agency: String,
) -> Result<TokensPage, AppError> {
    let caller = staff.caller();
    let all = pathways_app::agencies::list(state.app(), &caller).await?;
    let names: HashMap<String, String> =
        all.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let tokens = uc::list(state.app(), &caller)
        .await?
        .into_iter()
        .map(|t| Row {
            agency: names.get(&t.agency_id).cloned().unwrap_or_default(),
            scopes: t.scopes.join(", "),
            created: when(t.created_at),
            last_used: when_opt(t.last_used_at, "Never"),
            revoked: when_opt(t.revoked_at, ""),
            live: t.revoked_at.is_none(),
            id: t.id,
            name: t.name,
        })
        .collect();
    Ok(TokensPage {
        chrome: staff.chrome(state, "API tokens"),
        errors,
        notice: None,
        tokens,
        agencies: all
            .into_iter()
            .filter(|a| a.archived_at.is_none())
            .map(|a| (a.id, a.name))
            .collect(),
        scopes: Permission::ALL
            .iter()
            .map(|p| (p.key(), chosen.iter().any(|c| c == p.key())))
            .collect(),
        name,
        agency,
        secret: None,
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let mut p = page(&state, &staff, vec![], &[], String::new(), String::new()).await?;
    p.notice = notice(q.done.as_deref());
    html(p)
}

pub(super) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    body: Bytes,
) -> Result<Response, AppError> {
    let input = TokenInput {
        name: form_field(&body, "name").unwrap_or_default(),
        agency_id: form_field(&body, "agency").unwrap_or_default(),
        scopes: form_pairs(&body)
            .into_iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v)
            .collect(),
    };
    match uc::issue(state.app(), &staff.caller(), &input, &staff.user.id).await {
        Ok((_, secret)) => {
            let mut p = page(&state, &staff, vec![], &[], String::new(), String::new()).await?;
            p.secret = Some(secret);
            html(p)
        }
        Err(e) => {
            let errors = field_errors(e)?;
            invalid(
                page(
                    &state,
                    &staff,
                    errors,
                    &input.scopes,
                    input.name,
                    input.agency_id,
                )
                .await?,
            )
        }
    }
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    uc::revoke(state.app(), &staff.caller(), &id).await?;
    done("/admin/tokens?done=token-revoked")
}

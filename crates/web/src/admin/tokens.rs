//! API tokens for partner systems: created with a name, an agency and permission scopes
//! (the secret is shown once), listed with their last use, and revoked.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_domain::Permission;
use serde::Deserialize;

use super::{done, field, notice, render, render_invalid, respond, when, when_opt};
use crate::accounts::{self, AccountError};
use crate::auth::{Staff, form_field, form_pairs};
use crate::error::{AppError, FieldError};
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
    chosen: &[Permission],
    name: String,
    agency: String,
) -> Result<TokensPage, AppError> {
    let all = state.store().list_agencies().await?;
    let names: HashMap<String, String> =
        all.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let tokens = state
        .store()
        .list_api_tokens()
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
            .map(|p| (p.key(), chosen.contains(p)))
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
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let mut p = page(&state, &staff, vec![], &[], String::new(), String::new()).await?;
        p.notice = notice(q.done.as_deref());
        render(p)
    }
    .await;
    respond(&state, result)
}

pub(super) async fn create(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let name = form_field(&body, "name").unwrap_or_default();
        let agency = form_field(&body, "agency").unwrap_or_default();
        let mut errors = Vec::new();
        let mut scopes = Vec::new();
        for (k, v) in form_pairs(&body) {
            if k == "scope" {
                match Permission::parse(&v) {
                    Some(p) => scopes.push(p),
                    None => errors.push(field("scope", "Choose permissions from the list")),
                }
            }
        }
        match state.store().agency(&agency).await {
            Ok(a) if a.archived_at.is_none() => {}
            _ => errors.push(field(
                "agency",
                "Choose the agency whose system will use the token",
            )),
        }
        if errors.is_empty() {
            let by = staff.event("token_created", "api_token", "", "allowed");
            match accounts::create_token(state.store(), &name, &agency, &scopes, by).await {
                Ok((_, secret)) => {
                    let mut p =
                        page(&state, &staff, vec![], &[], String::new(), String::new()).await?;
                    p.secret = Some(secret);
                    return render(p);
                }
                Err(AccountError::Invalid { field: f, message }) => {
                    errors.push(field(if f == "scopes" { "scope" } else { f }, message))
                }
                Err(AccountError::Store(e)) => return Err(e.into()),
            }
        }
        render_invalid(page(&state, &staff, errors, &scopes, name, agency).await?)
    }
    .await;
    respond(&state, result)
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        if !state.store().revoke_api_token(&id).await? {
            return Err(AppError::NotFound);
        }
        state
            .store()
            .audit(staff.event("token_revoked", "api_token", &id, "allowed"))
            .await?;
        done("/admin/tokens?done=token-revoked")
    }
    .await;
    respond(&state, result)
}

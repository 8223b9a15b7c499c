//! The outbox (so one-time links are retrievable before e-mail delivery exists), the audit
//! log with its chain verification, and a record's access log for managers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_app::audit::{self as uc, AccessLogFilter, Entries};
use serde::Deserialize;

use super::{invalid, when};
use crate::auth::Staff;
use crate::error::{AppError, FieldError, html};
use crate::{AppState, Chrome};

struct Message {
    recipient: String,
    subject: String,
    body: String,
    created: String,
    status: String,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    messages: Vec<Message>,
}

pub(super) async fn outbox(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    let messages = uc::outbox(state.app(), &staff.caller())
        .await?
        .into_iter()
        .map(|m| Message {
            status: match (m.sent_at, m.failed_at) {
                (Some(at), _) => format!("Sent {}", when(at)),
                (None, Some(at)) => {
                    format!("Failed {} after {} attempts", when(at), m.attempts)
                }
                (None, None) => "Waiting".into(),
            },
            created: when(m.created_at),
            recipient: m.recipient,
            subject: m.subject,
            body: m.body,
        })
        .collect();
    html(OutboxPage {
        chrome: staff.chrome(&state, "Outbox"),
        messages,
    })
}

/// An audit entry as the tables show it.
struct Entry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    record: String,
    client: String,
    outcome: String,
    reason: String,
}

fn entries(found: Entries) -> Vec<Entry> {
    let names = found.names;
    found
        .entries
        .into_iter()
        .map(|c| {
            let e = c.event;
            Entry {
                seq: c.seq,
                at: when(e.at),
                actor: names.get(&e.actor_id).cloned().unwrap_or(e.actor_id),
                action: e.action,
                record: if e.record_id.is_empty() {
                    e.record_type
                } else {
                    format!("{} {}", e.record_type, e.record_id)
                },
                client: e.client,
                outcome: e.outcome,
                reason: e.reason,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<Entry>,
    verified: Option<(bool, String)>,
}

async fn audit_page(
    state: &AppState,
    staff: &Staff,
    verified: Option<(bool, String)>,
) -> Result<Response, AppError> {
    let found = uc::recent(state.app(), &staff.caller()).await?;
    html(AuditPage {
        chrome: staff.chrome(state, "Audit log"),
        entries: entries(found),
        verified,
    })
}

pub(super) async fn log(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    audit_page(&state, &staff, None).await
}

pub(super) async fn verify(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    let verdict = uc::verify(state.app(), &staff.caller()).await?;
    audit_page(&state, &staff, Some(verdict)).await
}

#[derive(Deserialize)]
pub(super) struct AccessQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "admin/access_log.html")]
struct AccessLogPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    record_type: String,
    record_id: String,
    users: Vec<(String, String)>,
    user: String,
    from: String,
    to: String,
    entries: Vec<Entry>,
}

pub(super) async fn access_log(
    State(state): State<AppState>,
    staff: Staff,
    Path((record_type, record_id)): Path<(String, String)>,
    Query(q): Query<AccessQuery>,
) -> Result<Response, AppError> {
    let filter = AccessLogFilter {
        user: q.user.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
    };
    let log = uc::access_log(
        state.app(),
        &staff.caller(),
        &record_type,
        &record_id,
        &filter,
    )
    .await?;
    let failed = !log.errors.is_empty();
    let page = AccessLogPage {
        chrome: staff.chrome(&state, "Access log"),
        entries: entries(log.entries),
        errors: log.errors,
        record_type,
        record_id,
        users: log.users,
        user: q.user.trim().to_string(),
        from: q.from,
        to: q.to,
    };
    if failed { invalid(page) } else { html(page) }
}

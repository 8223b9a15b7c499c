//! The outbox (so one-time links are retrievable before e-mail delivery exists), the audit
//! log with its chain verification, and a record's access log for managers.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_domain::audit::ChainedEntry;
use pathways_domain::{Action, Permission, RecordFacts, decide};
use pathways_store::{AccessLogQuery, VerifyError, now_unix};
use serde::Deserialize;

use super::{field, render, render_invalid, respond, when};
use crate::auth::Staff;
use crate::error::{AppError, FieldError};
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

pub(super) async fn outbox(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let messages = state
            .store()
            .recent_outbox(100)
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
        // The outbox holds live sign-in links: who looked is worth knowing.
        state
            .store()
            .audit(staff.event("record_read", "outbox", "", "allowed"))
            .await?;
        render(OutboxPage {
            chrome: staff.chrome(&state, "Outbox"),
            messages,
        })
    }
    .await;
    respond(&state, result)
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

async fn entries(state: &AppState, rows: Vec<ChainedEntry>) -> Result<Vec<Entry>, AppError> {
    let names: HashMap<String, String> = state
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(rows
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
        .collect())
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<Entry>,
    verified: Option<(bool, String)>,
}

/// How many of the newest entries the audit log page shows.
const RECENT: i64 = 200;

async fn audit_page(
    state: &AppState,
    staff: &Staff,
    verified: Option<(bool, String)>,
) -> Result<Response, AppError> {
    // Reading the audit log is itself recorded: who looked, and at which page.
    let mut viewed = staff.event("audit_log_viewed", "audit_log", "", "allowed");
    viewed.reason = format!("newest {RECENT} entries");
    state.store().audit(viewed).await?;
    let rows = state.store().recent_audit(RECENT).await?;
    render(AuditPage {
        chrome: staff.chrome(state, "Audit log"),
        entries: entries(state, rows).await?,
        verified,
    })
}

pub(super) async fn log(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        audit_page(&state, &staff, None).await
    }
    .await;
    respond(&state, result)
}

pub(super) async fn verify(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let trust = state.store().audit_keys()?.ring();
        let verdict = match state.store().verify_audit(&trust, &[]).await {
            Ok(r) => (
                true,
                format!(
                    "Audit chain intact: {} entries, {} checkpoints.",
                    r.entries, r.checkpoints
                ),
            ),
            Err(VerifyError::Broken(b)) => (false, format!("Audit chain broken: {b}.")),
            Err(VerifyError::Store(e)) => return Err(e.into()),
            Err(e) => (false, format!("Audit chain could not be checked: {e}.")),
        };
        let outcome = if verdict.0 { "intact" } else { "broken" };
        state
            .store()
            .audit(staff.event("audit_verified", "audit_log", "", outcome))
            .await?;
        audit_page(&state, &staff, Some(verdict)).await
    }
    .await;
    respond(&state, result)
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

/// Parses `YYYY-MM-DD` to the first second of that day (UTC).
fn parse_day(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

fn valid_record_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':')
}

pub(super) async fn access_log(
    State(state): State<AppState>,
    staff: Staff,
    Path((record_type, record_id)): Path<(String, String)>,
    Query(q): Query<AccessQuery>,
) -> Response {
    let result = async {
        // Reading an access log depends only on the reader's role, so the record's facts are
        // not needed; the policy still decides, so its rules stay in one place.
        let decision = decide(
            &staff.actor(),
            Action::ViewAccessLog,
            &RecordFacts::default(),
            now_unix(),
        );
        if !decision.allowed() {
            state
                .store()
                .audit(staff.event("access_log_viewed", &record_type, &record_id, "denied"))
                .await?;
            return Err(AppError::Forbidden("view access log".into()));
        }
        if !valid_record_part(&record_type) || !valid_record_part(&record_id) {
            return Err(AppError::NotFound);
        }
        let mut errors = Vec::new();
        let from = match q.from.trim() {
            "" => None,
            s => parse_day(s).or_else(|| {
                errors.push(field(
                    "from",
                    "Enter the start date as YYYY-MM-DD, for example 2026-03-01",
                ));
                None
            }),
        };
        let to = match q.to.trim() {
            "" => None,
            s => parse_day(s).map(|d| d + 86_399).or_else(|| {
                errors.push(field(
                    "to",
                    "Enter the end date as YYYY-MM-DD, for example 2026-03-31",
                ));
                None
            }),
        };
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            errors.push(field(
                "to",
                "The end date must be the same as or after the start date",
            ));
        }
        let users: Vec<(String, String)> = state
            .store()
            .list_users(None)
            .await?
            .into_iter()
            .map(|u| (u.id, format!("{} ({})", u.display_name, u.email)))
            .collect();
        let user = q.user.trim().to_string();
        if !user.is_empty()
            && !users.iter().any(|(id, _)| *id == user)
            && !user.starts_with("token:")
            && user != "anonymous"
            && !user.starts_with("cli:")
        {
            errors.push(field("user", "Choose a user from the list"));
        }
        let rows = if errors.is_empty() {
            let query = AccessLogQuery {
                actor_id: (!user.is_empty()).then(|| user.clone()),
                from,
                to,
                limit: 500,
            };
            state
                .store()
                .access_log(&record_type, &record_id, &query)
                .await?
        } else {
            Vec::new()
        };
        // Which record's log, and with which filter, is recorded with the view.
        let mut viewed = staff.event("access_log_viewed", &record_type, &record_id, "allowed");
        viewed.reason = filter_description(&user, &q.from, &q.to);
        state.store().audit(viewed).await?;
        let page = AccessLogPage {
            chrome: staff.chrome(&state, "Access log"),
            entries: entries(&state, rows).await?,
            errors: errors.clone(),
            record_type,
            record_id,
            users,
            user,
            from: q.from,
            to: q.to,
        };
        if errors.is_empty() {
            render(page)
        } else {
            render_invalid(page)
        }
    }
    .await;
    respond(&state, result)
}

/// The filter of an access-log view as the audit entry records it, e.g.
/// `filter: user=ID from=2026-03-01`; empty without a filter.
fn filter_description(user: &str, from: &str, to: &str) -> String {
    let parts: Vec<String> = [("user", user), ("from", from), ("to", to)]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", v.trim().chars().take(40).collect::<String>()))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("filter: {}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_midnight_utc() {
        assert_eq!(parse_day("1970-01-02"), Some(86_400));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn record_parts_are_plain() {
        assert!(valid_record_part("case"));
        assert!(valid_record_part("3f0e-aa_1"));
        assert!(!valid_record_part(""));
        assert!(!valid_record_part("a b"));
    }
}

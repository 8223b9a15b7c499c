//! Reading what happened: the audit log with its chain verification, a record's access log
//! for managers, and the outbox (which holds live sign-in links until e-mail delivery is set
//! up). Every one of these reads is itself audited.

use std::collections::HashMap;

use pathways_domain::audit::ChainedEntry;
use pathways_domain::{Action, AuditAction, Permission, RecordFacts, decide};
use pathways_store::{AccessLogQuery, OutboxMessage, VerifyError, now_unix};

use crate::{App, Caller, Error, FieldError, Fields, RecordKind, Result};

/// How many of the newest entries the audit log page shows.
pub const RECENT: i64 = 200;
/// Most entries one access-log view shows.
pub const ACCESS_LOG_LIMIT: i64 = 500;

const AUDIT_LOG: RecordKind = RecordKind::Other("audit_log");

/// Entries with the display names of the users who appear in them.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Newest first.
    pub entries: Vec<ChainedEntry>,
    /// User id → display name.
    pub names: HashMap<String, String>,
}

async fn with_names(app: &App, entries: Vec<ChainedEntry>) -> Result<Entries> {
    let names = app
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(Entries { entries, names })
}

/// The outbox's newest messages. The outbox holds live sign-in links: who looked is audited.
pub async fn outbox(app: &App, caller: &Caller) -> Result<Vec<OutboxMessage>> {
    caller.permit(Permission::Administer)?;
    let messages = app.store().recent_outbox(100).await?;
    app.audit(caller.event(AuditAction::RecordRead, RecordKind::Other("outbox"), ""))
        .await?;
    Ok(messages)
}

/// How many of the newest 500 outbox messages still wait to be sent (a count, not a read
/// of any message).
pub async fn queued(app: &App, caller: &Caller) -> Result<usize> {
    caller.permit(Permission::Administer)?;
    Ok(app
        .store()
        .recent_outbox(500)
        .await?
        .iter()
        .filter(|m| m.sent_at.is_none())
        .count())
}

/// The newest [`RECENT`] entries of the audit log; the reading is recorded first.
pub async fn recent(app: &App, caller: &Caller) -> Result<Entries> {
    caller.permit(Permission::Administer)?;
    let mut viewed = caller.event(AuditAction::AuditLogViewed, AUDIT_LOG, "");
    viewed.reason = format!("newest {RECENT} entries");
    app.audit(viewed).await?;
    let rows = app.store().recent_audit(RECENT).await?;
    with_names(app, rows).await
}

/// Verifies the audit chain against the trusted keys: `(intact, what was found)`. The
/// verification is audited with its verdict.
pub async fn verify(app: &App, caller: &Caller) -> Result<(bool, String)> {
    caller.permit(Permission::Administer)?;
    let trust = app.store().audit_keys()?.ring();
    let verdict = match app.store().verify_audit(&trust, &[]).await {
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
    let mut e = caller.event(AuditAction::AuditVerified, AUDIT_LOG, "");
    e.outcome = if verdict.0 { "intact" } else { "broken" }.into();
    app.audit(e).await?;
    Ok(verdict)
}

/// The filter of an access-log view, as typed.
#[derive(Debug, Clone, Default)]
pub struct AccessLogFilter {
    /// Only this actor (a user id, `token:…`, `cli:…` or `anonymous`).
    pub user: String,
    /// From this day (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// Up to and including this day.
    pub to: String,
}

/// A record's access log as a manager sees it.
#[derive(Debug, Clone, Default)]
pub struct AccessLog {
    /// The entries (none when the filter is wrong).
    pub entries: Entries,
    /// Users to filter by: id and `Name (e-mail)`.
    pub users: Vec<(String, String)>,
    /// Problems with the filter.
    pub errors: Vec<FieldError>,
}

/// `YYYY-MM-DD` to the first second of that day (UTC).
fn parse_day(raw: &str) -> Option<i64> {
    pathways_domain::time::parse_date(raw.trim())
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

fn valid_record_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':')
}

/// The filter of an access-log view as the audit entry records it, e.g.
/// `filter: user=ID from=2026-03-01`; empty without a filter.
fn filter_description(f: &AccessLogFilter) -> String {
    let parts: Vec<String> = [("user", &f.user), ("from", &f.from), ("to", &f.to)]
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

/// Who read or changed one record, filtered by user and days. The policy decides who may
/// read access logs (it depends only on the reader's role); refusals are audited, and so is
/// every view, with the record and the filter.
pub async fn access_log(
    app: &App,
    caller: &Caller,
    record_type: &str,
    record_id: &str,
    filter: &AccessLogFilter,
) -> Result<AccessLog> {
    let event = |outcome: &str| {
        let mut e = caller.event(AuditAction::AccessLogViewed, RecordKind::List, record_id);
        e.record_type = record_type.into();
        e.outcome = outcome.into();
        e
    };
    let decision = decide(
        &caller.actor,
        Action::ViewAccessLog,
        &RecordFacts::default(),
        now_unix(),
    );
    if !decision.allowed() {
        app.audit(event("denied")).await?;
        return Err(Error::Forbidden("view access log".into()));
    }
    if !valid_record_part(record_type) || !valid_record_part(record_id) {
        return Err(Error::NotFound);
    }
    let mut fields = Fields::new();
    let from = match filter.from.trim() {
        "" => None,
        s => parse_day(s).or_else(|| {
            fields.add(
                "from",
                "Enter the start date as YYYY-MM-DD, for example 2026-03-01",
            );
            None
        }),
    };
    let to = match filter.to.trim() {
        "" => None,
        s => parse_day(s).map(|d| d + 86_399).or_else(|| {
            fields.add(
                "to",
                "Enter the end date as YYYY-MM-DD, for example 2026-03-31",
            );
            None
        }),
    };
    if let (Some(f), Some(t)) = (from, to) {
        fields.check(
            f > t,
            "to",
            "The end date must be the same as or after the start date",
        );
    }
    let users: Vec<(String, String)> = app
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{} ({})", u.display_name, u.email)))
        .collect();
    let user = filter.user.trim();
    fields.check(
        !user.is_empty()
            && !users.iter().any(|(id, _)| id == user)
            && !user.starts_with("token:")
            && user != "anonymous"
            && !user.starts_with("cli:"),
        "user",
        "Choose a user from the list",
    );
    let errors = match fields.finish() {
        Ok(()) => Vec::new(),
        Err(Error::Invalid(e)) => e,
        Err(e) => return Err(e),
    };
    let rows = if errors.is_empty() {
        let query = AccessLogQuery {
            actor_id: (!user.is_empty()).then(|| user.to_string()),
            from,
            to,
            limit: ACCESS_LOG_LIMIT,
        };
        app.store()
            .access_log(record_type, record_id, &query)
            .await?
    } else {
        Vec::new()
    };
    let mut viewed = event("allowed");
    viewed.reason = filter_description(filter);
    app.audit(viewed).await?;
    Ok(AccessLog {
        entries: with_names(app, rows).await?,
        users,
        errors,
    })
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

    #[test]
    fn filters_are_described_for_the_audit_entry() {
        let f = AccessLogFilter {
            user: "u1".into(),
            from: "2026-03-01".into(),
            to: String::new(),
        };
        assert_eq!(filter_description(&f), "filter: user=u1 from=2026-03-01");
        assert_eq!(filter_description(&AccessLogFilter::default()), "");
    }
}

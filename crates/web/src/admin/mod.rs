//! Administration: agencies, users and roles, API tokens, the outbox and the audit log, plus
//! the access log managers read for one record. Every change is audited.
//!
//! The routes live in one table, [`ROUTES`]: the router is built from it and the route
//! matrix test walks it, so a route registered here cannot escape the access checks' test.
//! Each handler calls one use case of `pathways_app` and renders the answer.

mod agencies;
mod audit;
mod instruments;
mod tokens;
mod users;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pathways_domain::AuditAction as A;
use pathways_domain::Permission;

use crate::AppState;
use crate::auth::Staff;
use crate::error::{AppError, FieldError, html};
use crate::routes::{Guard, Route, Verb};

const ADMIN: Guard = Guard::Permission(Permission::Administer);

/// Every route of the administration module.
pub const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/admin",
        guard: ADMIN,
        audit: &[],
        summary: "the administration overview",
        handler: || get(overview),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/agencies",
        guard: ADMIN,
        audit: &[],
        summary: "agencies",
        handler: || get(agencies::list),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/agencies",
        guard: ADMIN,
        audit: &[A::AgencyCreated],
        summary: "create an agency",
        handler: || post(agencies::create),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/agencies/{agency_id}/archive",
        guard: ADMIN,
        audit: &[A::AgencyArchived],
        summary: "archive an agency",
        handler: || post(agencies::archive),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/agencies/{agency_id}/restore",
        guard: ADMIN,
        audit: &[A::AgencyRestored],
        summary: "restore an agency",
        handler: || post(agencies::restore),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/users",
        guard: ADMIN,
        audit: &[],
        summary: "users, by agency",
        handler: || get(users::list),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users",
        guard: ADMIN,
        audit: &[A::UserInvited],
        summary: "invite a user",
        handler: || post(users::invite),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/users/new",
        guard: ADMIN,
        audit: &[],
        summary: "the invitation form",
        handler: || get(users::invite_form),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/users/{user_id}",
        guard: ADMIN,
        audit: &[A::RecordRead],
        summary: "one user's account",
        handler: || get(users::show),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/roles",
        guard: ADMIN,
        audit: &[A::PermissionChange],
        summary: "change a user's roles",
        handler: || post(users::set_roles),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/disable",
        guard: ADMIN,
        audit: &[A::UserDisabled],
        summary: "disable an account",
        handler: || post(users::disable),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/enable",
        guard: ADMIN,
        audit: &[A::UserEnabled],
        summary: "enable an account",
        handler: || post(users::enable),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/reset-link",
        guard: ADMIN,
        audit: &[A::ResetLinkSent, A::InvitationResent],
        summary: "send a password reset link or a new invitation",
        handler: || post(users::reset_link),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/reset-second-factor",
        guard: ADMIN,
        audit: &[A::SecondFactorReset],
        summary: "remove a user's second factor",
        handler: || post(users::reset_second_factor),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/tokens",
        guard: ADMIN,
        audit: &[],
        summary: "API tokens",
        handler: || get(tokens::list),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/tokens",
        guard: ADMIN,
        audit: &[A::TokenCreated],
        summary: "issue an API token (the secret is shown once)",
        handler: || post(tokens::create),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/tokens/{token_id}/revoke",
        guard: ADMIN,
        audit: &[A::TokenRevoked],
        summary: "revoke an API token",
        handler: || post(tokens::revoke),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/outbox",
        guard: ADMIN,
        audit: &[A::RecordRead],
        summary: "the outbox",
        handler: || get(audit::outbox),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/audit",
        guard: ADMIN,
        audit: &[A::AuditLogViewed],
        summary: "the newest audit entries",
        handler: || get(audit::log),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/audit/verify",
        guard: ADMIN,
        audit: &[A::AuditVerified, A::AuditLogViewed],
        summary: "verify the audit chain",
        handler: || post(audit::verify),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/instruments",
        guard: ADMIN,
        audit: &[],
        summary: "risk instruments and their versions",
        handler: || get(instruments::list),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/instruments/{instrument}",
        guard: ADMIN,
        audit: &[],
        summary: "one instrument's versions",
        handler: || get(instruments::show),
    },
    Route {
        verb: Verb::Get,
        path: "/admin/instruments/{instrument}/edit",
        guard: ADMIN,
        audit: &[],
        summary: "the form for an instrument's next version",
        handler: || get(instruments::edit_form),
    },
    Route {
        verb: Verb::Post,
        path: "/admin/instruments/{instrument}/versions",
        guard: ADMIN,
        audit: &[A::InstrumentPublished],
        summary: "publish an instrument's next version",
        handler: || post(instruments::publish),
    },
    Route {
        verb: Verb::Get,
        path: "/access-log/{record_type}/{record_id}",
        guard: Guard::AccessLogPolicy,
        audit: &[A::AccessLogViewed],
        summary: "who read or changed a record",
        handler: || get(audit::access_log),
    },
    Route {
        verb: Verb::Get,
        path: "/api/v1/agencies",
        guard: Guard::ApiScope(Permission::Administer),
        audit: &[],
        summary: "every agency (JSON)",
        handler: || get(agencies::api_list),
    },
];

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct Overview {
    chrome: crate::Chrome,
    agencies: usize,
    users: usize,
    tokens: usize,
    queued: usize,
}

async fn overview(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let caller = staff.caller();
    let app = state.app();
    let agencies = pathways_app::agencies::list(app, &caller)
        .await?
        .iter()
        .filter(|a| a.archived_at.is_none())
        .count();
    let users = pathways_app::identity::users(app, &caller, None)
        .await?
        .len();
    let tokens = pathways_app::tokens::list(app, &caller)
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .count();
    let queued = pathways_app::audit::queued(app, &caller).await?;
    html(Overview {
        chrome: staff.chrome(&state, "Administration"),
        agencies,
        users,
        tokens,
        queued,
    })
}

/// Renders a form page with validation errors (422, GOV.UK error summary).
fn invalid(t: impl Template) -> Result<Response, AppError> {
    let mut page = html(t)?;
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(page)
}

/// A redirect after a successful change (POST, then GET).
fn done(to: &str) -> Result<Response, AppError> {
    Ok(Redirect::to(to).into_response())
}

/// The field errors of a use case's refusal, or the refusal itself when it is not about
/// the input.
fn field_errors(e: pathways_app::Error) -> Result<Vec<FieldError>, AppError> {
    match e {
        pathways_app::Error::Invalid(errors) => Ok(errors),
        other => Err(other.into()),
    }
}

/// Fixed confirmation messages shown after a change, chosen by key so that nothing from
/// the query string is reflected into the page.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "agency-created" => "Agency created.",
        "agency-archived" => {
            "Agency archived. Its users keep their accounts; no new users can join it."
        }
        "agency-restored" => "Agency restored.",
        "roles-changed" => "Roles changed.",
        "disabled" => "Account disabled. The person's sessions have ended.",
        "enabled" => "Account enabled.",
        "second-factor-reset" => {
            "Second factor removed. The person will set up a new one at their next sign-in."
        }
        "token-revoked" => "Token revoked. It no longer works.",
        "instrument-published" => {
            "New version published. New assessments use it; earlier assessments keep the version they were made with."
        }
        _ => return None,
    })
}

/// The error for one form field, if any (templates show it beside the field).
pub(crate) fn error_for<'a>(errors: &'a [FieldError], name: &str) -> Option<&'a FieldError> {
    errors.iter().find(|e| e.field == name)
}

/// A field error.
fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// Formats an instant for tables (UTC).
pub(crate) fn when(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| at.to_string())
}

/// Formats an optional instant, with a word for "never".
pub(crate) fn when_opt(at: Option<i64>, never: &str) -> String {
    at.map(when).unwrap_or_else(|| never.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_per_method() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.path, r.verb == Verb::Get)),
                "{} twice",
                r.path
            );
            assert!(
                r.verb == Verb::Get || !r.audit.is_empty(),
                "{}: every change is audited",
                r.path
            );
        }
        // Building the router panics on conflicting routes.
        let _ = crate::routes::router(&[ROUTES]);
    }

    #[test]
    fn instants_format_in_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when_opt(None, "never"), "never");
    }

    #[test]
    fn unknown_notices_show_nothing() {
        assert_eq!(notice(Some("<script>")), None);
        assert_eq!(notice(Some("roles-changed")), Some("Roles changed."));
    }
}

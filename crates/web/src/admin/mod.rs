//! Administration: agencies, users and roles, API tokens, the outbox and the audit log, plus
//! the access log managers read for one record. Every change is audited.
//!
//! The routes live in one table, [`ROUTES`]: the router is built from it and the route
//! matrix test walks it, so a route registered here cannot escape the access checks' test.

mod agencies;
mod audit;
mod instruments;
mod tokens;
mod users;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use pathways_domain::Permission;

use crate::AppState;
use crate::auth::Staff;
use crate::error::{AppError, FieldError, PageError};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Signed-in staff holding this permission.
    Permission(Permission),
    /// The access policy's `ViewAccessLog` decision (managers and administrators).
    AccessLogPolicy,
    /// API callers (bearer token or signed-in staff) whose scopes include this permission.
    ApiScope(Permission),
}

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST (form submission, CSRF-checked).
    Post,
}

/// One route of this module: how it is reached, who may use it, and a valid sample form
/// body so tests can exercise it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// Method.
    pub verb: Verb,
    /// Path pattern; `{agency_id}`, `{user_id}`, `{token_id}`, `{record_type}`,
    /// `{record_id}` and `{instrument}` are placeholders.
    pub path: &'static str,
    /// Who may use it.
    pub guard: Guard,
    /// A valid `application/x-www-form-urlencoded` body for POST routes, with the same
    /// placeholders (`{agency_id}`) and `{unique}` for a value that must differ per call.
    pub sample_form: &'static str,
    /// The status an allowed caller gets for the sample request (200 page, 303 redirect).
    pub ok_status: u16,
    /// Builds the handler.
    pub handler: fn() -> MethodRouter<AppState>,
}

const ADMIN: Guard = Guard::Permission(Permission::Administer);

/// Every route of the administration module.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        verb: Verb::Get,
        path: "/admin",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(overview),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/agencies",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(agencies::list),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/agencies",
        guard: ADMIN,
        sample_form: "name=Agency+{unique}&kind=school",
        ok_status: 303,
        handler: || post(agencies::create),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/agencies/{agency_id}/archive",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(agencies::archive),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/agencies/{agency_id}/restore",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(agencies::restore),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/users",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(users::list),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users",
        guard: ADMIN,
        sample_form: "agency={agency_id}&email=new{unique}%40example.org&name=New+Person&role=practitioner",
        ok_status: 200,
        handler: || post(users::invite),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/users/new",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(users::invite_form),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/users/{user_id}",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(users::show),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/roles",
        guard: ADMIN,
        sample_form: "role=practitioner&role=analyst",
        ok_status: 303,
        handler: || post(users::set_roles),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/disable",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(users::disable),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/enable",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(users::enable),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/reset-link",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || post(users::reset_link),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/users/{user_id}/reset-second-factor",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(users::reset_second_factor),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/tokens",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(tokens::list),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/tokens",
        guard: ADMIN,
        sample_form: "name=Token+{unique}&agency={agency_id}&scope=make_referral",
        ok_status: 200,
        handler: || post(tokens::create),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/tokens/{token_id}/revoke",
        guard: ADMIN,
        sample_form: "",
        ok_status: 303,
        handler: || post(tokens::revoke),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/outbox",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(audit::outbox),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/audit",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(audit::log),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/audit/verify",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || post(audit::verify),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/instruments",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(instruments::list),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/instruments/{instrument}",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(instruments::show),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/admin/instruments/{instrument}/edit",
        guard: ADMIN,
        sample_form: "",
        ok_status: 200,
        handler: || get(instruments::edit_form),
    },
    RouteSpec {
        verb: Verb::Post,
        path: "/admin/instruments/{instrument}/versions",
        guard: ADMIN,
        sample_form: "base_version=1&weight-weapon-carrying=4&band-medium=6&note=Weapon+carrying+weighs+more",
        ok_status: 303,
        handler: || post(instruments::publish),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/access-log/{record_type}/{record_id}",
        guard: Guard::AccessLogPolicy,
        sample_form: "",
        ok_status: 200,
        handler: || get(audit::access_log),
    },
    RouteSpec {
        verb: Verb::Get,
        path: "/api/v1/agencies",
        guard: Guard::ApiScope(Permission::Administer),
        sample_form: "",
        ok_status: 200,
        handler: || get(agencies::api_list),
    },
];

/// The module's router, built from [`ROUTES`] (routes sharing a path are merged).
pub(crate) fn routes() -> Router<AppState> {
    ROUTES.iter().fold(Router::new(), |r, spec| {
        r.route(spec.path, (spec.handler)())
    })
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct Overview {
    chrome: crate::Chrome,
    agencies: usize,
    users: usize,
    tokens: usize,
    queued: usize,
}

async fn overview(
    axum::extract::State(state): axum::extract::State<AppState>,
    staff: Staff,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let store = state.store();
        let agencies = store
            .list_agencies()
            .await?
            .iter()
            .filter(|a| a.archived_at.is_none())
            .count();
        let users = store.list_users(None).await?.len();
        let tokens = store
            .list_api_tokens()
            .await?
            .iter()
            .filter(|t| t.revoked_at.is_none())
            .count();
        let queued = store
            .recent_outbox(500)
            .await?
            .iter()
            .filter(|m| m.sent_at.is_none())
            .count();
        render(Overview {
            chrome: staff.chrome(&state, "Administration"),
            agencies,
            users,
            tokens,
            queued,
        })
    }
    .await;
    respond(&state, result)
}

/// Renders a template as a 200 page.
fn render(t: impl Template) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// Renders a form page with validation errors (422, GOV.UK error summary).
fn render_invalid(t: impl Template) -> Result<Response, AppError> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(t.render()?)).into_response())
}

/// Turns a handler result into a response, rendering errors as pages.
fn respond(state: &AppState, result: Result<Response, AppError>) -> Response {
    result.unwrap_or_else(|e| PageError(state.clone(), e).into_response())
}

/// A redirect after a successful change (POST, then GET).
fn done(to: &str) -> Result<Response, AppError> {
    Ok(Redirect::to(to).into_response())
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
    FieldError {
        field: field.into(),
        message: message.into(),
    }
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
            if r.verb == Verb::Get {
                assert!(r.sample_form.is_empty(), "{}: GET takes no form", r.path);
            }
            assert!(matches!(r.ok_status, 200 | 303), "{}", r.path);
        }
        // Building the router panics on conflicting routes.
        let _ = routes();
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

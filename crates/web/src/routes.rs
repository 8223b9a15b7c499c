//! Routes as data. Every module declares its routes in one table of [`Route`]s: the path, the
//! method, who may use it, what it writes to the audit log, and the handler. The router is
//! built from the tables, the role × route matrix test walks them, and the route list in
//! README.md is generated from them (`routes_markdown`), so no route can exist outside all
//! three.

use axum::Router;
use axum::routing::MethodRouter;
use pathways_domain::{AuditAction, Permission};

use crate::AppState;

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET (reads; never changes anything).
    Get,
    /// POST (changes; CSRF-checked unless a bearer token is used).
    Post,
}

impl Verb {
    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone, signed in or not (public pages, sign-in, health).
    Public,
    /// Any signed-in member of staff.
    Staff,
    /// Signed-in staff holding this permission (and, for records, what the access policy
    /// decides).
    Permission(Permission),
    /// Staff holding any of these permissions.
    AnyPermission(&'static [Permission]),
    /// API callers (bearer token with this scope, or signed-in staff holding it).
    ApiScope(Permission),
    /// API callers with any of these scopes.
    AnyApiScope(&'static [Permission]),
    /// The access policy's `ViewAccessLog` decision (managers and administrators).
    AccessLogPolicy,
}

impl Guard {
    /// How the route list in README.md describes it.
    pub fn describe(self) -> String {
        let names = |ps: &[Permission]| {
            ps.iter()
                .map(|p| format!("`{}`", p.key()))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match self {
            Guard::Public => "anyone".into(),
            Guard::Staff => "signed-in staff".into(),
            Guard::Permission(p) => format!("staff with `{}`", p.key()),
            Guard::AnyPermission(ps) => format!("staff with {}", names(ps)),
            Guard::ApiScope(p) => format!("token or staff with `{}`", p.key()),
            Guard::AnyApiScope(ps) => format!("token or staff with {}", names(ps)),
            Guard::AccessLogPolicy => "the access policy (access logs)".into(),
        }
    }
}

/// One route: how it is reached, who may use it, what it audits, and its handler.
#[derive(Clone, Copy)]
pub struct Route {
    /// Method.
    pub verb: Verb,
    /// Path pattern (`{id}` placeholders, as axum reads them).
    pub path: &'static str,
    /// Who may use it.
    pub guard: Guard,
    /// The audit actions an allowed request writes (reads of protected records, changes).
    pub audit: &'static [AuditAction],
    /// What it is for, in a few words (the README's route list).
    pub summary: &'static str,
    /// Builds the handler.
    pub handler: fn() -> MethodRouter<AppState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("verb", &self.verb)
            .field("path", &self.path)
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

/// Every route of the application, module by module.
pub fn all() -> Vec<&'static Route> {
    crate::modules()
        .iter()
        .flat_map(|(_, table)| table.iter())
        .collect()
}

/// The router built from route tables.
pub(crate) fn router(tables: &[&'static [Route]]) -> Router<AppState> {
    let mut router = Router::new();
    for table in tables {
        for r in *table {
            router = router.route(r.path, (r.handler)());
        }
    }
    router
}

/// The route list as the Markdown table README.md carries, module by module.
pub fn routes_markdown() -> String {
    let mut out = String::new();
    for (module, table) in crate::modules() {
        out.push_str(&format!(
            "\n**{module}**\n\n| method | path | who | what |\n|---|---|---|---|\n"
        ));
        for r in *table {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                r.verb.name(),
                r.path,
                r.guard.describe(),
                r.summary
            ));
        }
    }
    out
}

//! The start page and the operational endpoints: health, readiness and metrics.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::{AppError, html};
use crate::routes::{Guard, Route, Verb};
use crate::{AppState, Chrome, metrics};

/// The start page and the operational endpoints.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/",
        guard: Guard::Public,
        audit: &[],
        summary: "the start page",
        handler: || get(home),
    },
    Route {
        verb: Verb::Get,
        path: "/healthz",
        guard: Guard::Public,
        audit: &[],
        summary: "liveness: the process answers",
        handler: || get(healthz),
    },
    Route {
        verb: Verb::Get,
        path: "/readyz",
        guard: Guard::Public,
        audit: &[],
        summary: "readiness: the database takes a write",
        handler: || get(readyz),
    },
    Route {
        verb: Verb::Get,
        path: "/metrics",
        guard: Guard::Public,
        audit: &[],
        summary: "request counts and latency by route template",
        handler: || get(metrics::exposition),
    },
];

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
}

async fn home(State(state): State<AppState>) -> Result<Response, AppError> {
    html(Home {
        chrome: Chrome::public(&state, "Home"),
    })
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the directory's search index is built (waiting a few seconds for it), a
/// database connection can be had and the database takes a write. The reason for a failure
/// goes to the log, not to the caller.
async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(reason) = state
        .directory()
        .wait_ready(state.store(), std::time::Duration::from_secs(5))
        .await
    {
        tracing::warn!(%reason, "not ready");
        return (StatusCode::SERVICE_UNAVAILABLE, "directory index not ready").into_response();
    }
    match state.store().ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

//! The start page and the operational endpoints: health, readiness and metrics.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::error::PageError;
use crate::{AppState, Chrome, metrics};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::exposition))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
}

async fn home(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let page = Home {
        chrome: Chrome::public(&state, "Home"),
    };
    page.render()
        .map(Html)
        .map_err(|e| PageError(state, e.into()))
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

//! The `/api/v1` family as a whole: its OpenAPI document, served at
//! `/api/v1/openapi.json`. The operations themselves live with their modules (referrals,
//! cases, administration, insight); a test checks that the document and the router agree,
//! route for route.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::AppState;
use crate::routes::{Guard, Route, Verb};

/// The document as shipped; `servers` is filled in from the public URL when served.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of the module.
pub(crate) const ROUTES: &[Route] = &[Route {
    verb: Verb::Get,
    path: "/api/v1/openapi.json",
    guard: Guard::Public,
    audit: &[],
    summary: "the OpenAPI document of `/api/v1`",
    handler: || get(openapi),
}];

async fn openapi(State(state): State<AppState>) -> Response {
    let mut doc: Value =
        serde_json::from_str(OPENAPI).expect("the shipped OpenAPI document is valid JSON (tested)");
    let base = state.settings().public_url.trim_end_matches('/');
    doc["servers"] = json!([{"url": format!("{base}/api/v1"), "description": "This service"}]);
    Json(doc).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"].as_object().is_some_and(|p| p.len() >= 8));
    }
}

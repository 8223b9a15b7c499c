//! Static assets compiled into the binary under content-hashed URLs, served with year-long
//! immutable caching: a changed file gets a new URL, so caches never serve stale styles.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// One compiled-in asset.
#[derive(Debug)]
pub struct Asset {
    /// The name code refers to it by (`govuk-frontend.min.css`, `app.js`).
    pub logical: &'static str,
    /// The content-hashed URL it is served at.
    pub url: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The hashed URL of the asset with this logical name.
pub fn url(logical: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.logical == logical)
        .map(|a| a.url)
        .unwrap_or("/assets/missing")
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    match ASSETS.iter().find(|a| a.url == wanted) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "asset not found",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stylesheet_is_hashed_and_free_of_the_gds_font() {
        let css = ASSETS
            .iter()
            .find(|a| a.logical == "govuk-frontend.min.css")
            .expect("the GOV.UK stylesheet is compiled in");
        assert!(css.url.starts_with("/assets/govuk-frontend.min."));
        let text = std::str::from_utf8(css.bytes).expect("CSS is UTF-8");
        assert!(!text.contains("GDS Transport"));
        assert!(text.contains(".govuk-button"));
        let app = ASSETS
            .iter()
            .find(|a| a.logical == "app.js")
            .expect("app.js");
        let js = std::str::from_utf8(app.bytes).expect("JS is UTF-8");
        assert!(js.contains(url("govuk-frontend.min.js")));
    }
}

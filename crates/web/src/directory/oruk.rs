//! The Open Referral UK 3.0 API under `/oruk`: the root document, our OpenAPI description,
//! services (paged JSON or ndjson), service-at-locations by postcode, taxonomies and terms.
//!
//! Every response carries `Access-Control-Allow-Origin: *`; bad parameters are 400 JSON naming
//! the parameter; confidential locations never appear (the directory crate drops them).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pathways_directory::oruk::{self, ParamError, ServicesParams};
use pathways_directory::search::GeoPoint;
use serde_json::{Value, json};

use crate::AppState;

/// Our own OpenAPI description of the endpoints below (the server URL is filled in per request).
const OPENAPI: &str = include_str!("openapi.json");

pub(super) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/oruk", get(root))
        .route("/oruk/", get(root))
        .route("/oruk/openapi.json", get(openapi))
        .route("/oruk/services", get(services))
        .route("/oruk/services/{id}", get(service))
        .route("/oruk/service_at_locations", get(service_at_locations))
        .route("/oruk/service_at_locations/{id}", get(service_at_location))
        .route("/oruk/taxonomies", get(taxonomies))
        .route("/oruk/taxonomies/{id}", get(taxonomy))
        .route("/oruk/taxonomy_terms", get(taxonomy_terms))
        .route("/oruk/taxonomy_terms/{id}", get(taxonomy_term))
        .route("/oruk/{*rest}", get(unknown))
        .layer(middleware::from_fn_with_state(state.clone(), conditional))
        .layer(middleware::map_response(cors))
}

/// Any site may read the open feed.
async fn cors(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// Makes every `/oruk` answer cacheable by validation: an `ETag` naming the directory
/// versions it was built from and the request (path, query and the `Accept` header, which
/// chooses ndjson), and `Last-Modified`, the last change to the directory. A client that
/// sends back a tag still current, or a date not older than the last change, gets `304 Not
/// Modified` without the search being run or the page built.
async fn conditional(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok((versions, changed_at)) = state.directory().validator(state.store()).await else {
        return next.run(req).await;
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    use std::hash::{Hash as _, Hasher as _};
    req.uri().path().hash(&mut hasher);
    req.uri().query().hash(&mut hasher);
    req.headers()
        .get(header::ACCEPT)
        .map(HeaderValue::as_bytes)
        .hash(&mut hasher);
    let etag = format!("\"{versions}.{:016x}\"", hasher.finish());
    let last_modified = (changed_at > 0)
        .then(|| time::OffsetDateTime::from_unix_timestamp(changed_at).ok())
        .flatten()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .map(|t| t.replace("+0000", "GMT"));
    let h = req.headers();
    let not_modified = match h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags
            .split(',')
            .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag),
        None => h
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                time::OffsetDateTime::parse(
                    &v.replace("GMT", "+0000"),
                    &time::format_description::well_known::Rfc2822,
                )
                .ok()
            })
            .is_some_and(|since| changed_at > 0 && since.unix_timestamp() >= changed_at),
    };
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        next.run(req).await
    };
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        if let Some(v) = last_modified.and_then(|t| HeaderValue::from_str(&t).ok()) {
            h.insert(header::LAST_MODIFIED, v);
        }
        // Open data: anyone may keep a copy, but must check it is current before use.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        );
        h.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
    }
    res
}

/// An API failure as JSON: `{"error": {"code", "message", "parameter"?}}`.
#[derive(Debug)]
enum ApiError {
    Param(ParamError),
    NotFound(String),
    Internal(String),
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError::Param(e)
    }
}

impl From<super::DataError> for ApiError {
    fn from(e: super::DataError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<pathways_store::StoreError> for ApiError {
    fn from(e: pathways_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

fn param(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::Param(ParamError {
        name: name.into(),
        message: message.into(),
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Param(e) => (
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": "bad_request", "parameter": e.name, "message": e.to_string()}}),
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "not_found", "message": format!("{what} not found")}}),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "directory API failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": {"code": "internal", "message": "Something went wrong on our side. Try again later."}}),
                )
            }
        };
        (status, axum::Json(body)).into_response()
    }
}

fn json_response(v: &Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_string(v).expect("JSON values always serialise"),
    )
        .into_response()
}

fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .map_err(|e| param("query", format!("the query string is not understood: {e}")))
}

fn borrowed(p: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn public_base(state: &AppState) -> String {
    state
        .settings()
        .public_url
        .trim_end_matches('/')
        .to_string()
}

async fn root(State(state): State<AppState>) -> Response {
    json_response(&oruk::root_document(&format!(
        "{}/oruk/openapi.json",
        public_base(&state)
    )))
}

async fn openapi(State(state): State<AppState>) -> Response {
    let mut doc: Value =
        serde_json::from_str(OPENAPI).expect("the shipped OpenAPI document is valid JSON (tested)");
    doc["servers"] =
        json!([{"url": format!("{}/oruk", public_base(&state)), "description": "This directory"}]);
    json_response(&doc)
}

async fn unknown() -> ApiError {
    ApiError::NotFound("endpoint".into())
}

/// Resolves `postcode` through the postcode directory; `proximity` needs a postcode.
async fn point_of(state: &AppState, params: &ServicesParams) -> Result<Option<GeoPoint>, ApiError> {
    let Some(pc) = params.postcode.as_deref() else {
        if params.proximity.is_some() {
            return Err(param(
                "proximity",
                "`proximity` needs a `postcode` to measure from",
            ));
        }
        return Ok(None);
    };
    let directory = state.directory();
    if !directory.postcodes_loaded(state.store()).await? {
        return Err(param(
            "postcode",
            "postcode search is unavailable: no postcode directory is loaded on this server",
        ));
    }
    match directory.postcode_point(state.store(), pc).await? {
        Some(p) => Ok(Some(p)),
        None => Err(param("postcode", format!("`{pc}` is not a known postcode"))),
    }
}

/// Refuses a need or taxonomy the directory does not have, rather than answering nothing.
fn check_terms(
    terms: &pathways_directory::TermSet,
    params: &ServicesParams,
) -> Result<(), ApiError> {
    if let Some(t) = params.taxonomy_term_id.as_deref()
        && !terms.contains(t)
    {
        return Err(param(
            "taxonomy_term_id",
            format!("`{}` is not a known taxonomy term id", short(t)),
        ));
    }
    if let Some(t) = params.taxonomy_id.as_deref()
        && terms.taxonomy(t).is_none()
    {
        return Err(param(
            "taxonomy_id",
            format!("`{}` is not a known taxonomy id", short(t)),
        ));
    }
    Ok(())
}

/// A value quoted back in an error, cut to a readable length.
fn short(v: &str) -> String {
    if v.chars().count() > 40 {
        format!("{}…", v.chars().take(40).collect::<String>())
    } else {
        v.to_string()
    }
}

fn wants_ndjson(pairs: &[(String, String)], headers: &HeaderMap) -> Result<bool, ApiError> {
    if let Some((_, f)) = pairs.iter().rev().find(|(k, _)| k == "format") {
        return match f.trim() {
            "ndjson" => Ok(true),
            "json" | "" => Ok(false),
            other => Err(param(
                "format",
                format!("`{other}` is not a format (use json or ndjson)"),
            )),
        };
    }
    Ok(headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/x-ndjson")))
}

async fn services(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = pairs(q.as_deref())?;
    let params = ServicesParams::from_pairs(borrowed(&pairs), oruk::SERVICES_PARAMS)?;
    let ndjson = wants_ndjson(&pairs, &headers)?;
    let point = point_of(&state, &params).await?;
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    check_terms(index.terms(), &params)?;
    if ndjson {
        let mut out = Vec::new();
        oruk::services_ndjson(&index, &params, point, &mut out)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(ndjson_response(out));
    }
    Ok(json_response(&oruk::services_page(&index, &params, point)))
}

fn ndjson_response(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        Body::from(body),
    )
        .into_response()
}

async fn service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    let s = index
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("service {id}")))?;
    Ok(json_response(&oruk::service_document(s)))
}

async fn service_at_locations(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(q.as_deref())?;
    let params = ServicesParams::from_pairs(borrowed(&pairs), oruk::SERVICE_AT_LOCATIONS_PARAMS)?;
    let point = point_of(&state, &params).await?;
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    check_terms(index.terms(), &params)?;
    Ok(json_response(&oruk::service_at_locations_page(
        &index, &params, point,
    )))
}

async fn service_at_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    let doc = oruk::service_at_location_document(&index, &id)
        .ok_or_else(|| ApiError::NotFound(format!("service_at_location {id}")))?;
    Ok(json_response(&doc))
}

async fn taxonomies(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(q.as_deref())?;
    oruk::check_names(borrowed(&pairs), oruk::TAXONOMIES_PARAMS)?;
    let paging = oruk::parse_paging(borrowed(&pairs))?;
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    Ok(json_response(&oruk::taxonomies_page(index.terms(), paging)))
}

async fn taxonomy(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    let doc = oruk::taxonomy_document(index.terms(), &id)
        .ok_or_else(|| ApiError::NotFound(format!("taxonomy {id}")))?;
    Ok(json_response(&doc))
}

async fn taxonomy_terms(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(q.as_deref())?;
    oruk::check_names(borrowed(&pairs), oruk::TAXONOMY_TERMS_PARAMS)?;
    let paging = oruk::parse_paging(borrowed(&pairs))?;
    let taxonomy_id = pairs
        .iter()
        .find(|(k, v)| k == "taxonomy_id" && !v.trim().is_empty())
        .map(|(_, v)| v.trim());
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    if let Some(t) = taxonomy_id
        && index.terms().taxonomy(t).is_none()
    {
        return Err(param(
            "taxonomy_id",
            format!("`{t}` is not a known taxonomy id"),
        ));
    }
    Ok(json_response(&oruk::taxonomy_terms_page(
        index.terms(),
        taxonomy_id,
        paging,
    )))
}

async fn taxonomy_term(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let index = state.directory().index(state.store()).await?;
    let index = index.read().await;
    let doc = oruk::taxonomy_term_document(index.terms(), &id)
        .ok_or_else(|| ApiError::NotFound(format!("taxonomy_term {id}")))?;
    Ok(json_response(&doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_document_describes_every_route() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.0.3");
        for path in [
            "/",
            "/services",
            "/services/{id}",
            "/service_at_locations",
            "/service_at_locations/{id}",
            "/taxonomies",
            "/taxonomies/{id}",
            "/taxonomy_terms",
            "/taxonomy_terms/{id}",
        ] {
            assert!(doc["paths"][path]["get"].is_object(), "{path} is described");
        }
    }
}

//! The one error type of the web layer and where it is rendered. Handlers return
//! `Result<_, AppError>` and use `?`; an error becomes a bare response that carries the error,
//! and the [`render`] middleware, which knows the route and the caller, turns it into the
//! accessible HTML page (in the staff layout for signed-in staff, the public layout otherwise)
//! or, on `/api/` and `/oruk`, into JSON with a stable machine-readable code. Internal
//! details are logged with a reference number, which is all a user sees.

use askama::Template;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

use crate::{AppState, Chrome};

pub use pathways_app::FieldError;

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// No such page or record (also used when a record exists but may not be known).
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed; the reason is for logs only.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Not signed in (pages redirect to the sign-in page).
    #[error("sign in required")]
    Unauthenticated,
    /// The request was malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request failed validation, field by field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The request clashes with the record's state; the message says so plainly.
    #[error("{0}")]
    Conflict(String),
    /// The cross-site request forgery check failed.
    #[error("the form has expired or did not come from this site")]
    Csrf,
    /// Too many attempts.
    #[error("too many attempts")]
    TooManyRequests,
    /// The service cannot take the request now; trying again later may work.
    #[error("the service is busy or unavailable")]
    Unavailable,
    /// Something broke on our side: logged with this reference.
    #[error("internal error {reference}")]
    Internal {
        /// The reference number shown to the user and written to the log.
        reference: String,
    },
}

impl AppError {
    /// An internal error: logged now with a fresh reference number.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        match pathways_app::Error::internal(detail.to_string()) {
            pathways_app::Error::Internal { reference, .. } => AppError::Internal { reference },
            _ => AppError::Unavailable,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Forbidden(_) => "forbidden",
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadRequest(_) => "bad_request",
            AppError::Invalid(_) => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::Csrf => "csrf",
            AppError::TooManyRequests => "too_many_requests",
            AppError::Unavailable => "unavailable",
            AppError::Internal { .. } => "internal",
        }
    }

    fn public_message(&self) -> String {
        match self {
            AppError::Internal { reference } => format!(
                "Something went wrong on our side. Try again later; if it keeps happening, quote reference {reference}."
            ),
            AppError::Forbidden(_) => "You do not have permission to do that.".into(),
            AppError::Unavailable => "The service is busy. Try again in a few seconds.".into(),
            other => other.to_string(),
        }
    }

    /// The JSON form.
    pub(crate) fn json(&self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            errors: Option<&'a [FieldError]>,
        }
        let errors = match self {
            AppError::Invalid(e) => Some(e.as_slice()),
            _ => None,
        };
        let body = Body {
            error: Inner {
                code: self.code(),
                message: self.public_message(),
                errors,
            },
        };
        let mut res = (self.status(), Json(&body)).into_response();
        retry_after(&mut res);
        res
    }
}

/// A 503 tells the client when to try again.
fn retry_after(res: &mut Response) {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
}

impl From<pathways_app::Error> for AppError {
    fn from(e: pathways_app::Error) -> Self {
        use pathways_app::Error as E;
        match e {
            E::NotFound => AppError::NotFound,
            E::Forbidden(why) => AppError::Forbidden(why),
            E::Invalid(fields) => AppError::Invalid(fields),
            E::Conflict(m) => AppError::Conflict(m),
            E::Unavailable(detail) => {
                tracing::warn!(%detail, "unavailable");
                AppError::Unavailable
            }
            E::Internal { reference, .. } => AppError::Internal { reference },
        }
    }
}

impl From<pathways_store::StoreError> for AppError {
    fn from(e: pathways_store::StoreError) -> Self {
        pathways_app::Error::from(e).into()
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(format!("template: {e}"))
    }
}

/// The error a response carries until [`render`] gives it its final form.
#[derive(Debug, Clone)]
struct Failure(AppError);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        res.extensions_mut().insert(Failure(self));
        res
    }
}

/// True for a client error answered in plain text, which only axum's extractors do.
fn is_plain_rejection(res: &Response) -> bool {
    res.status().is_client_error()
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
}

/// True for routes that answer in JSON.
pub(crate) fn json_route(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/oruk")
}

/// Renders errors by route: JSON on API routes, otherwise the accessible error page in the
/// caller's layout, or a redirect to sign in.
pub(crate) async fn render(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let mut res = next.run(req).await;
    let Some(Failure(err)) = res.extensions_mut().remove::<Failure>() else {
        if json_route(&path) && is_plain_rejection(&res) {
            // An extractor refused the request (a query, path or body that does not parse)
            // with axum's plain-text answer: API clients get the JSON error shape instead.
            let status = res.status();
            let body = axum::body::to_bytes(std::mem::take(res.body_mut()), 4096)
                .await
                .unwrap_or_default();
            let message = String::from_utf8_lossy(&body).trim().to_string();
            let err = if status == StatusCode::UNPROCESSABLE_ENTITY {
                AppError::Invalid(vec![FieldError::new("body", message)])
            } else {
                AppError::BadRequest(message)
            };
            let mut out = err.json();
            *out.status_mut() = status;
            return out;
        }
        return res;
    };
    if json_route(&path) {
        return err.json();
    }
    if matches!(err, AppError::Unauthenticated) {
        return Redirect::to("/login").into_response();
    }
    let chrome = match crate::auth::signed_in(&state, &headers, &path).await {
        Some(staff) => staff.chrome(&state, ""),
        None => Chrome::public(&state, ""),
    };
    error_response(chrome, &err)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: String,
    paragraphs: Vec<String>,
}

/// The accessible error page for an error, in the given layout.
fn error_response(mut chrome: Chrome, err: &AppError) -> Response {
    let status = err.status();
    let (heading, mut paragraphs): (&str, Vec<String>) = match err {
        AppError::NotFound => (
            "Page not found",
            vec![
                "If you typed the web address, check it is correct.".into(),
                "If you pasted the web address, check you copied the entire address.".into(),
            ],
        ),
        AppError::Forbidden(_) => (
            "You do not have access to this page",
            vec!["If you think you should, ask your manager or an administrator.".into()],
        ),
        AppError::Csrf => (
            "The form has expired",
            vec!["The form has expired or did not come from this site. Go back, reload the page and try again.".into()],
        ),
        AppError::TooManyRequests => (
            "Too many attempts",
            vec!["Wait a few minutes, then try again.".into()],
        ),
        AppError::BadRequest(m) | AppError::Conflict(m) => ("There is a problem", vec![m.clone()]),
        AppError::Invalid(fields) => (
            "There is a problem",
            fields.iter().map(|f| f.message.clone()).collect(),
        ),
        AppError::Unavailable => (
            "The service is busy",
            vec!["Nothing was lost. Wait a few seconds, then try again.".into()],
        ),
        AppError::Internal { reference } => (
            "Sorry, there is a problem with the service",
            vec![
                "Try again later.".into(),
                format!("If it keeps happening, contact the service desk and quote reference {reference}."),
            ],
        ),
        AppError::Unauthenticated => ("Sign in", vec![]),
    };
    if paragraphs.is_empty() {
        paragraphs.push("Go back and try again.".into());
    }
    chrome.title = heading.to_string();
    let page = ErrorPage {
        chrome,
        heading: heading.into(),
        paragraphs,
    };
    let mut res = match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    };
    retry_after(&mut res);
    res
}

/// Answers 503 when a request, reading its body included, takes longer than the
/// configured request time-out; the handler is dropped, so its open transaction rolls back.
pub(crate) async fn request_timeout(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.settings().request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(?limit, "a request took longer than the request time-out");
            AppError::Unavailable.into_response()
        }
    }
}

/// Renders a template as a full HTML page.
pub(crate) fn html(t: impl Template) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// Renders a template as a page, or the error page if rendering fails (pages not yet
/// returning `Result`).
pub(crate) fn render_page(_state: &AppState, t: impl Template) -> Response {
    html(t).unwrap_or_else(IntoResponse::into_response)
}

/// An error bound to the state, for handlers written before errors were rendered by route.
#[allow(dead_code)]
pub struct PageError(pub AppState, pub AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.1.into_response()
    }
}

impl AppError {
    /// The response for an API route (rendered as JSON by route).
    pub fn into_json(self) -> Response {
        self.into_response()
    }
}

/// The error page for a status (handlers written before errors were rendered by route).
pub fn error_page(_state: &AppState, status: StatusCode, _detail: Option<String>) -> Response {
    match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::FORBIDDEN => AppError::Forbidden(String::new()),
        StatusCode::TOO_MANY_REQUESTS => AppError::TooManyRequests,
        _ => AppError::internal(format!("error page for {status}")),
    }
    .into_response()
}

/// The fallback for unknown routes.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}

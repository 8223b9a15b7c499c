//! Errors a handler can return, rendered as accessible HTML pages for browsers and as JSON
//! with stable machine-readable codes for API clients. Internal details are logged, never
//! shown.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::{AppState, Chrome};

/// A field-level problem, for the GOV.UK error summary and 422 API bodies.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The form field or JSON path.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page or record (also used when a record exists but may not be known).
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Not signed in (pages redirect to the sign-in page).
    #[error("sign in required")]
    Unauthenticated,
    /// The request was malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request failed validation.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The cross-site request forgery check failed.
    #[error("the form has expired or did not come from this site")]
    Csrf,
    /// Too many attempts.
    #[error("too many attempts")]
    TooManyRequests,
    /// Something broke on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<pathways_store::StoreError> for AppError {
    fn from(e: pathways_store::StoreError) -> Self {
        match e {
            pathways_store::StoreError::NotFound { .. } => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            AppError::Csrf => "csrf",
            AppError::TooManyRequests => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "Something went wrong on our side. Try again later.".into(),
            AppError::Forbidden(_) => "You do not have permission to do that.".into(),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if let AppError::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
    }

    /// The JSON form, for API routes.
    pub fn into_json(self) -> Response {
        self.log();
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
        let errors = match &self {
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
        (self.status(), Json(&body)).into_response()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: String,
    paragraphs: Vec<String>,
}

/// Renders the accessible error page for a status.
pub fn error_page(state: &AppState, status: StatusCode, detail: Option<String>) -> Response {
    let (title, heading, mut paragraphs): (&str, &str, Vec<String>) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            "Page not found",
            vec![
                "If you typed the web address, check it is correct.".into(),
                "If you pasted the web address, check you copied the entire address.".into(),
            ],
        ),
        StatusCode::FORBIDDEN => (
            "You do not have access",
            "You do not have access to this page",
            vec!["If you think you should, ask your manager or an administrator.".into()],
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Too many attempts",
            "Too many attempts",
            vec!["Wait a few minutes, then try again.".into()],
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            "Sorry, there is a problem with the service",
            "Sorry, there is a problem with the service",
            vec!["Try again later.".into()],
        ),
        _ => ("There is a problem", "There is a problem", vec![]),
    };
    if let Some(d) = detail {
        paragraphs.insert(0, d);
    }
    let page = ErrorPage {
        chrome: Chrome::public(state, title),
        heading: heading.into(),
        paragraphs,
    };
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// Renders a template as a full HTML page, or the error page if rendering fails.
pub(crate) fn render_page(state: &AppState, t: impl Template) -> Response {
    match t.render() {
        Ok(h) => Html(h).into_response(),
        Err(e) => PageError(state.clone(), e.into()).into_response(),
    }
}

/// An error bound to the state so it can render the full page.
pub struct PageError(pub AppState, pub AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let PageError(state, err) = self;
        err.log();
        match err {
            AppError::Unauthenticated => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()
            }
            AppError::Csrf => error_page(
                &state,
                StatusCode::FORBIDDEN,
                Some("The form has expired or did not come from this site. Go back, reload the page and try again.".into()),
            ),
            AppError::BadRequest(m) => error_page(&state, StatusCode::BAD_REQUEST, Some(m)),
            AppError::Forbidden(_) => error_page(&state, StatusCode::FORBIDDEN, None),
            other => error_page(&state, other.status(), None),
        }
    }
}

pub(crate) async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/oruk") {
        return AppError::NotFound.into_json();
    }
    error_page(&state, StatusCode::NOT_FOUND, None)
}

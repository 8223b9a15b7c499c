//! Form posts, one way: the handler reads a typed form (`axum::Form<T>` of a struct with
//! `#[serde(default)]` fields), calls a use case, and [`respond`] turns the outcome into a
//! redirect on success or the same page again with a GOV.UK error summary (422) when the
//! input was invalid. Any other error is rendered by route.

use std::future::Future;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::{AppError, FieldError};

/// After a form post: `to` on success; on invalid input the page built by `again` with the
/// field errors, answered 422; any other error as it is.
pub(crate) async fn respond<T, F, Fut>(
    result: Result<T, pathways_app::Error>,
    to: impl FnOnce(T) -> String,
    again: F,
) -> Result<Response, AppError>
where
    F: FnOnce(Vec<FieldError>) -> Fut,
    Fut: Future<Output = Result<Response, AppError>>,
{
    match result {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(pathways_app::Error::Invalid(errors)) => {
            let mut page = again(errors).await?;
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

/// The message for `field`, if it has one (for inline error messages beside inputs).
pub(crate) fn message_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

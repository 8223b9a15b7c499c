//! Idempotency keys on every `POST` under `/api/v1`. A client sends `Idempotency-Key: <key>`
//! with a creating call; the first request with that key runs and its answer is kept for
//! 24 hours (in the store's `idempotency_keys` table), and a retry by the same caller with
//! the same key and the same request gets that answer again (status and body, marked
//! `Idempotent-Replayed: true`) without running again. The same key with another request
//! is refused (422); a retry while the first is still running is answered 409 with
//! `Retry-After`. Keys are the caller's own: a token and a staff member never share one.
//!
//! What is kept: every answer that may have changed something (2xx, and 5xx, since a
//! failure may come after the write). An answer in 4xx changed nothing by construction
//! (refused or invalid before any write), so its key is forgotten and may be used again
//! with a corrected request. Once claimed, the request runs to its end even if the client
//! goes away, so its answer is always kept.
//!
//! The layer knows nothing of the handlers: it sits outside the error renderer, so it keeps
//! the final bytes the client would have seen.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pathways_store::idempotency::{Claim, StoredResponse};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{AppError, FieldError};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header that marks a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted.
pub const MAX_KEY: usize = 255;
/// Largest request body read (the API's JSON bodies are far smaller).
const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Largest answer kept for replay.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;

fn applies(req: &Request) -> bool {
    req.method() == Method::POST && req.uri().path().starts_with("/api/v1/")
}

fn field_error(message: impl Into<String>) -> Response {
    AppError::Invalid(vec![FieldError::new("Idempotency-Key", message)]).json()
}

/// The middleware.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !applies(&req) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => {
            return AppError::BadRequest(format!(
                "The Idempotency-Key header must be 1 to {MAX_KEY} visible ASCII characters \
                 (a UUID is usual)."
            ))
            .json();
        }
    };
    let (mut parts, body) = req.into_parts();
    // Whose key it is: an unauthenticated request goes on to be refused as usual, unkeyed.
    let caller = match ApiCaller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c.audit_id,
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return AppError::BadRequest(format!(
                "The request body is larger than {} MiB.",
                BODY_LIMIT >> 20
            ))
            .json();
        }
    };
    let request_hash = {
        let mut h = Sha256::new();
        h.update(parts.method.as_str().as_bytes());
        h.update([0]);
        h.update(
            parts
                .uri
                .path_and_query()
                .map_or("", |p| p.as_str())
                .as_bytes(),
        );
        h.update([0]);
        h.update(&bytes);
        hex::encode(h.finalize())
    };
    let store = state.store().clone();
    match store
        .claim_idempotency_key(&caller, &key, &request_hash)
        .await
    {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Replay(stored)) => return replay(stored),
        Ok(Claim::Mismatch) => {
            return field_error(
                "This key was already used for a different request (another body or path). \
                 Use a new key for a new request.",
            );
        }
        Ok(Claim::InProgress { .. }) => {
            let mut res = AppError::Conflict(
                "A request with this Idempotency-Key is still being processed. Try again in a \
                 moment to get its answer."
                    .into(),
            )
            .json();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return res;
        }
        Err(e) => return AppError::from(e).json(),
    }
    // The request runs to its end and its answer is kept even if the client goes away.
    let run = tokio::spawn(async move {
        let res = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        let status = res.status();
        if status.is_client_error() {
            store.release_idempotency_key(&caller, &key).await?;
            return Ok(res);
        }
        let (res_parts, res_body) = res.into_parts();
        let body = to_bytes(res_body, ANSWER_LIMIT)
            .await
            .map_err(|e| pathways_store::StoreError::Unavailable(e.to_string()))?;
        let stored = StoredResponse {
            status: status.as_u16(),
            content_type: res_parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.to_vec(),
        };
        store.finish_idempotency_key(&caller, &key, &stored).await?;
        Ok::<Response, pathways_store::StoreError>(Response::from_parts(
            res_parts,
            Body::from(body),
        ))
    });
    match run.await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => AppError::from(e).json(),
        Err(e) => AppError::internal(format!("idempotent request: {e}")).json(),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, stored.body).into_response();
    let h = res.headers_mut();
    h.remove(header::CONTENT_TYPE);
    if let Some(ct) = stored
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

//! Case documents: the multipart upload (checked by the use case from the file's bytes) and
//! the download, always as an attachment in a sandbox.

use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pathways_app::cases as uc;
use pathways_domain::documents::{DocumentError, MAX_BYTES};
use pathways_domain::ids::CaseId;

use crate::AppState;
use crate::auth::Staff;
use crate::error::AppError;
use crate::forms::respond;

/// The `document` part of an upload: its name and bytes, `None` when nothing was sent.
async fn document_part(
    mut multipart: Multipart,
) -> Result<Option<(String, Vec<u8>)>, pathways_app::Error> {
    let too_large = || {
        pathways_app::Error::invalid(
            "document",
            DocumentError::TooLarge {
                size: MAX_BYTES + 1,
            }
            .to_string(),
        )
    };
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // Axum reports a body over the route's limit as a multipart error.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(pathways_app::Error::invalid(
                    "document",
                    format!("The upload could not be read: {e}"),
                ));
            }
        };
        if field.name() != Some("document") {
            continue;
        }
        let name = field.file_name().unwrap_or("document").to_string();
        match field.bytes().await {
            Ok(b) => file = Some((name, b.to_vec())),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(pathways_app::Error::invalid(
                    "document",
                    format!("The upload could not be read: {e}"),
                ));
            }
        }
    }
    Ok(file)
}

/// `POST /cases/{id}/documents` (multipart, CSRF token in the query string).
pub(crate) async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let result = match document_part(multipart).await {
        Ok(file) => {
            let (name, bytes) = match &file {
                Some((n, b)) => (n.as_str(), Some(b.as_slice())),
                None => ("document", None),
            };
            uc::upload(state.app(), &staff.caller(), &CaseId::new(&id), name, bytes).await
        }
        Err(e) => Err(e),
    };
    respond(
        result,
        |_| format!("/cases/{id}#documents"),
        |e| super::pages::show(&state, &staff, &id, e),
    )
    .await
}

/// `GET /cases/{id}/documents/{doc}`: the document as a download, never shown inline, in a
/// sandbox with no script.
pub(crate) async fn download(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let d = uc::download(state.app(), &staff.caller(), &CaseId::new(&id), &doc).await?;
    Ok((
        [
            (header::CONTENT_TYPE, d.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", d.ascii_name()),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        d.content,
    )
        .into_response())
}

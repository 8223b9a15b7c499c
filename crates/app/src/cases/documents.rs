//! Case documents: uploads checked by size and by their bytes, stored with a SHA-256 in the
//! same transaction as their audit entry; downloads only for those who may read the case.

use pathways_domain::AuditAction;
use pathways_domain::access::Action;
use pathways_domain::documents::{DocumentError, clean_name, sniff};
use pathways_domain::ids::CaseId;
use sha2::{Digest, Sha256};

use super::{Lookup, for_edit, lookup};
use crate::{App, Caller, Error, RecordKind, Result, commit};

fn invalid(e: DocumentError) -> Error {
    Error::invalid("document", e.to_string())
}

/// Stores an uploaded document on a case after checking its type from its bytes. `bytes`
/// is `None` when nothing was chosen. Returns the document id.
pub async fn upload(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    name: &str,
    bytes: Option<&[u8]>,
) -> Result<String> {
    let opened = for_edit(app, caller, case_id).await?;
    let name = clean_name(name);
    let bytes = bytes.ok_or_else(|| invalid(DocumentError::Empty))?;
    let kind = sniff(&name, bytes).map_err(invalid)?;
    let digest = hex::encode(Sha256::digest(bytes));
    let mut tx = app.write().await?;
    let id = tx
        .add_document(
            &opened.cap,
            &name,
            kind.mime,
            &digest,
            bytes,
            caller.user_id(),
        )
        .await?;
    commit(
        tx,
        &caller.event(
            AuditAction::DocumentUpload,
            RecordKind::Case,
            case_id.as_str(),
        ),
    )
    .await?;
    Ok(id)
}

/// A document to send: always as a download, never shown inline.
#[derive(Debug, Clone)]
pub struct Download {
    /// The name it was uploaded with.
    pub filename: String,
    /// Its MIME type (decided from its bytes at upload).
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl Download {
    /// The file name reduced to plain ASCII for the `Content-Disposition` header.
    pub fn ascii_name(&self) -> String {
        self.filename
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// A document of a case the caller may read; the read is audited.
pub async fn download(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    doc_id: &str,
) -> Result<Download> {
    match lookup(app, caller, case_id, Action::ViewRecord).await? {
        Lookup::Open(_) => {}
        Lookup::Restricted(_) => return Err(Error::Forbidden("restricted case".into())),
    }
    let (meta, content) = app.store().document(case_id.as_str(), doc_id).await?;
    app.audit(caller.event(AuditAction::DocumentRead, RecordKind::Document, doc_id))
        .await?;
    Ok(Download {
        filename: meta.filename,
        content_type: meta.content_type,
        content,
    })
}

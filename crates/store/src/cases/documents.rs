//! Documents uploaded to a case: metadata and content, checked by digest.

use super::{editable, touch};
use pathways_domain::access::Authorized;
use pathways_domain::ids::CaseId;

use sqlx::Row as _;

use crate::{Row, Store, StoreError, WriteTx, new_id, now_unix};

/// A stored document without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    /// Id.
    pub id: String,
    /// The uploaded file name (cleaned).
    pub filename: String,
    /// The type found from the file's bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Uploaded.
    pub uploaded_at: i64,
    /// Uploader's display name.
    pub uploaded_by_name: String,
}

fn document_from(r: &Row) -> Result<DocumentMeta, StoreError> {
    Ok(DocumentMeta {
        id: r.try_get("id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_at: r.try_get("uploaded_at")?,
        uploaded_by_name: r.try_get("uploaded_by_name")?,
    })
}

impl Store {
    /// Documents of a case (without content).
    pub async fn documents(&self, case_id: &str) -> Result<Vec<DocumentMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.filename, d.content_type, d.size_bytes, d.sha256, d.uploaded_at, \
             COALESCE(u.display_name, d.uploaded_by) AS uploaded_by_name FROM case_documents d \
             LEFT JOIN users u ON u.id = d.uploaded_by WHERE d.case_id = $1 ORDER BY d.uploaded_at DESC, d.id",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(document_from).collect()
    }

    /// One document with its content, only from the case it belongs to.
    pub async fn document(
        &self,
        case_id: &str,
        doc_id: &str,
    ) -> Result<(DocumentMeta, Vec<u8>), StoreError> {
        let row = sqlx::query(
            "SELECT d.id, d.filename, d.content_type, d.size_bytes, d.sha256, d.uploaded_at, d.content, \
             COALESCE(u.display_name, d.uploaded_by) AS uploaded_by_name FROM case_documents d \
             LEFT JOIN users u ON u.id = d.uploaded_by WHERE d.case_id = $1 AND d.id = $2",
        )
        .bind(case_id)
        .bind(doc_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "document" })?;
        Ok((document_from(&row)?, row.try_get("content")?))
    }
}

impl WriteTx {
    /// Stores a document already checked for size and type; the SHA-256 is given by the
    /// caller, which computed it while checking.
    pub async fn add_document(
        &mut self,
        case: &Authorized<CaseId>,
        filename: &str,
        content_type: &str,
        sha256: &str,
        content: &[u8],
        by: &str,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_documents (id, case_id, filename, content_type, size_bytes, sha256, content, uploaded_at, uploaded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(filename)
        .bind(content_type)
        .bind(content.len() as i64)
        .bind(sha256)
        .bind(content.to_vec())
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
        Ok(id)
    }
}

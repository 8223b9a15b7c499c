//! Idempotency keys of creating API calls. A caller's key is claimed before the request
//! runs and holds the answer once it has; a retry with the same key and the same request is
//! answered from here, so a client that lost an answer can ask again without creating a
//! second record. Keys are kept for [`KEEP_SECS`].

use sqlx::Row as _;

use crate::{Store, StoreError, now_unix};

/// How long a key is remembered: 24 hours.
pub const KEEP_SECS: i64 = 24 * 60 * 60;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, when there was one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or had expired): the caller now holds it and must run the request,
    /// then [`Store::finish_idempotency_key`] or [`Store::release_idempotency_key`].
    Claimed,
    /// The same request ran before: its answer.
    Replay(StoredResponse),
    /// The key was used before for a different request.
    Mismatch,
    /// The same request is running now (or its process stopped before answering), since
    /// this instant.
    InProgress {
        /// When the running request claimed the key.
        since: i64,
    },
}

impl Store {
    /// Claims `key` for `caller` and the request whose digest is `request_hash`, or says
    /// why not. Concurrent claims of one key admit exactly one; expired keys are forgotten
    /// first.
    pub async fn claim_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
            .bind(now - KEEP_SECS)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (caller, idem_key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (caller, idem_key) DO NOTHING",
        )
        .bind(caller)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let claim = if inserted == 1 {
            Claim::Claimed
        } else {
            let row = sqlx::query(
                "SELECT request_hash, created_at, status, content_type, body FROM idempotency_keys \
                 WHERE caller = $1 AND idem_key = $2",
            )
            .bind(caller)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let stored_hash: String = row.try_get("request_hash")?;
            let status: Option<i64> = row.try_get("status")?;
            if stored_hash != request_hash {
                Claim::Mismatch
            } else if let Some(status) = status {
                Claim::Replay(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    content_type: row.try_get("content_type")?,
                    body: row
                        .try_get::<Option<Vec<u8>>, _>("body")?
                        .unwrap_or_default(),
                })
            } else {
                Claim::InProgress {
                    since: row.try_get("created_at")?,
                }
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Keeps the answer to a claimed key's request, for replay.
    pub async fn finish_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 \
             WHERE caller = $4 AND idem_key = $5",
        )
        .bind(i64::from(response.status))
        .bind(response.content_type.as_deref())
        .bind(response.body.as_slice())
        .bind(caller)
        .bind(key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forgets a claimed key whose request changed nothing, so the caller may use it again.
    pub async fn release_idempotency_key(&self, caller: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE caller = $1 AND idem_key = $2")
            .bind(caller)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

//! The outbox: messages to send (e-mail and in-app), written in the same transaction as the
//! change that causes them and delivered later with retries. And in-app notifications.

use sqlx::Row as _;

use crate::{Store, StoreError, new_id, now_unix};

/// A queued or sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Id.
    pub id: String,
    /// `email` or `in_app`.
    pub channel: String,
    /// Address or user id.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Body text as shown to administrators: a one-time link in it is replaced by
    /// [`WITHHELD`].
    pub body: String,
    /// The secret [`WITHHELD`] stands for, until the message is sent or given up; never
    /// shown (see [`OutboxMessage::body_to_send`]).
    pub secret: Option<String>,
    /// Queued at.
    pub created_at: i64,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When delivered.
    pub sent_at: Option<i64>,
    /// When given up.
    pub failed_at: Option<i64>,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Id.
    pub id: String,
    /// Created.
    pub created_at: i64,
    /// Kind key (`break_glass`, `referral_update`, ...).
    pub kind: String,
    /// Text.
    pub message: String,
    /// Where to go.
    pub link: String,
    /// When read.
    pub read_at: Option<i64>,
}

const OUTBOX_COLUMNS: &str = "id, channel, recipient, subject, body, secret, created_at, attempts, sent_at, failed_at, last_error";

/// What a message's body says in place of the secret it carries: the outbox, its page and
/// backups never hold a live sign-in link once the message has gone.
pub const WITHHELD: &str = "[one-time link: withheld, sent only in the message itself]";

impl OutboxMessage {
    /// The body to deliver: the stored body with the secret put back in place of
    /// [`WITHHELD`].
    pub fn body_to_send(&self) -> String {
        match &self.secret {
            Some(secret) => self.body.replace(WITHHELD, secret),
            None => self.body.clone(),
        }
    }
}

fn message_from(r: &crate::Row) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: r.try_get("id")?,
        channel: r.try_get("channel")?,
        recipient: r.try_get("recipient")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        secret: r.try_get("secret")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        sent_at: r.try_get("sent_at")?,
        failed_at: r.try_get("failed_at")?,
        last_error: r.try_get("last_error")?,
    })
}

/// Queues a message inside an open transaction; a repeated idempotency key is ignored, so
/// retrying the causing change never sends twice.
pub async fn enqueue(
    tx: &mut crate::Tx<'_>,
    channel: &str,
    recipient: &str,
    subject: &str,
    body: &str,
    idempotency_key: &str,
) -> Result<(), StoreError> {
    let now = now_unix();
    sqlx::query(
        "INSERT INTO outbox (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(channel)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(idempotency_key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds an in-app notification inside an open transaction.
pub async fn notify(
    tx: &mut crate::Tx<'_>,
    user_id: &str,
    kind: &str,
    message: &str,
    link: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, created_at, kind, message, link) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(now_unix())
    .bind(kind)
    .bind(message)
    .bind(link)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Queues one message in its own transaction.
    pub async fn enqueue_message(
        &self,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        enqueue(&mut tx, channel, recipient, subject, body, idempotency_key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a message that carries a secret (a one-time link): `body` says [`WITHHELD`]
    /// where the secret goes, and the secret is kept apart until the message is sent.
    pub async fn enqueue_secret_message(
        &self,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        secret: &str,
        idempotency_key: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        enqueue(&mut tx, channel, recipient, subject, body, idempotency_key).await?;
        sqlx::query("UPDATE outbox SET secret = $1 WHERE idempotency_key = $2 AND sent_at IS NULL")
            .bind(secret)
            .bind(idempotency_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The most recent messages, newest first.
    pub async fn recent_outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql =
            format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY created_at DESC, id LIMIT $1");
        let rows = sqlx::query(&sql).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(message_from).collect()
    }

    /// Messages due for a delivery attempt at `now`, unclaimed or with an expired claim
    /// (for administrators and tests; senders use [`Store::claim_due`]).
    pub async fn due_messages(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(message_from).collect()
    }

    /// Claims one message due at `now` for `owner` until `now + lease_secs`: a message no
    /// one holds, or whose holder's lease has run out (a sender that died). Several senders
    /// in several processes may claim at once: on PostgreSQL each skips rows another is
    /// claiming (`FOR UPDATE SKIP LOCKED`); on SQLite claims are serialised by the write
    /// lock. Only the holder can then mark the message sent or failed, which also ends the
    /// claim.
    pub async fn claim_due(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let skip_locked = match self.backend() {
            crate::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE id = (\
             SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY next_attempt_at, id LIMIT 1 {skip_locked}) \
             AND (lease_until IS NULL OR lease_until <= $3) RETURNING {OUTBOX_COLUMNS}"
        );
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_secs)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(message_from).transpose()
    }

    /// Marks a message delivered and ends `owner`'s claim on it, in one statement. False
    /// when `owner` no longer held it (its lease ran out and another sender took it over).
    pub async fn mark_sent(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL, \
             secret = NULL WHERE id = $2 AND lease_owner = $3 AND sent_at IS NULL",
        )
        .bind(now_unix())
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt by `owner` and ends its claim: retried after `retry_in`
    /// seconds, or given up when `None`.
    pub async fn mark_attempt_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_in: Option<i64>,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, failed_at = $3, \
             secret = CASE WHEN $3 IS NULL THEN secret ELSE NULL END, \
             lease_owner = NULL, lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND sent_at IS NULL",
        )
        .bind(error)
        .bind(now + retry_in.unwrap_or(0))
        .bind(if retry_in.is_none() { Some(now) } else { None })
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Adds one in-app notification.
    pub async fn add_notification(
        &self,
        user_id: &str,
        kind: &str,
        message: &str,
        link: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        notify(&mut tx, user_id, kind, message, link).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's notifications, newest first.
    pub async fn notifications(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, kind, message, link, read_at FROM notifications WHERE user_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get("id")?,
                    created_at: r.try_get("created_at")?,
                    kind: r.try_get("kind")?,
                    message: r.try_get("message")?,
                    link: r.try_get("link")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect()
    }

    /// Marks all of a user's notifications read.
    pub async fn mark_notifications_read(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(now_unix())
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

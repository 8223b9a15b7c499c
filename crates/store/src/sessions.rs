//! Sign-in state: server-side sessions (stored by the digest of their id), failed sign-in
//! counts for throttling, one-time links, recovery codes and API tokens.

use pathways_domain::Permission;
use pathways_domain::access::Permitted;
use sqlx::Row as _;

use crate::cases::needs;
use crate::{Store, StoreError, WriteTx, new_id, now_unix};

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// An invitation: the new user chooses their first password.
    Invite,
    /// A password reset.
    Reset,
}

impl LinkPurpose {
    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A message to queue in the outbox with the change that causes it.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Where it goes (an e-mail address).
    pub recipient: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// A repeated key is ignored, so retrying never sends twice.
    pub idempotency_key: &'a str,
    /// The one-time link the body carries as [`crate::outbox::WITHHELD`]: kept apart from
    /// the body administrators see, and cleared once the message is sent or given up.
    pub secret: &'a str,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The signed-in user.
    pub user_id: String,
    /// `totp` (password accepted, second factor pending), `enrol` (must enrol a second
    /// factor) or `full`.
    pub stage: String,
    /// When the session began.
    pub created_at: i64,
    /// Last request seen.
    pub last_seen_at: i64,
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Id.
    pub id: String,
    /// What the token is for.
    pub name: String,
    /// The agency whose system uses it.
    pub agency_id: String,
    /// Permission keys.
    pub scopes: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
    /// Last use.
    pub last_used_at: Option<i64>,
    /// When revoked.
    pub revoked_at: Option<i64>,
}

fn token_from(row: &crate::Row) -> Result<ApiToken, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        agency_id: row.try_get("agency_id")?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// The session with this id digest, if any.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, stage, created_at, last_seen_at FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                user_id: r.try_get("user_id")?,
                stage: r.try_get("stage")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            })
        })
        .transpose()
    }

    /// Records activity on a session.
    pub async fn touch_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now_unix())
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes sessions idle longer than `idle` or older than `absolute` seconds.
    pub async fn purge_sessions(&self, idle: i64, absolute: i64) -> Result<u64, StoreError> {
        let now = now_unix();
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(now - idle)
            .bind(now - absolute)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Counts a failed sign-in against a subject (`account:<id or e-mail digest>`, `client:<address>`).
    pub async fn record_login_failure(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
            .bind(subject)
            .bind(now_unix())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Failed sign-ins against a subject since `since`.
    pub async fn login_failures_since(&self, subject: &str, since: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at >= $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(self.pool())
        .await?)
    }

    /// Forgets a subject's failures (after a successful sign-in).
    pub async fn clear_login_failures(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The user a live link belongs to, without using it up (to show the form).
    pub async fn peek_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM one_time_links WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.key())
        .bind(now_unix())
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every API token, newest first.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, agency_id, scopes, created_by, created_at, last_used_at, revoked_at \
             FROM api_tokens ORDER BY created_at DESC, name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from).collect()
    }

    /// The live token with this digest, recording its use.
    pub async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, agency_id, scopes, created_by, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from(&row)?;
        let now = now_unix();
        // Last-used is kept to the minute, sparing a write on every call.
        if token.last_used_at.is_none_or(|t| now - t >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&token.id)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(token))
    }
}

/// A live session joined with its user and agency: what every signed-in request needs,
/// fetched in one query.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The session.
    pub session: SessionRow,
    /// The user.
    pub user: crate::User,
    /// The user's agency name.
    pub agency_name: String,
}

impl Store {
    /// The session with this id digest, joined with its user and agency.
    pub async fn session_user(&self, id_hash: &str) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.stage, s.created_at, s.last_seen_at, \
             u.id, u.agency_id, u.email, u.display_name, u.roles, u.totp_enabled, \
             CAST(CASE WHEN u.disabled <> 0 OR a.archived_at IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS disabled, \
             CAST(CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, u.last_login_at, \
             a.name AS agency_name \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN agencies a ON a.id = u.agency_id \
             WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SessionUser {
            session: SessionRow {
                user_id: r.try_get("user_id")?,
                stage: r.try_get("stage")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            },
            user: crate::identity::user_from_row(&r)?,
            agency_name: r.try_get("agency_name")?,
        }))
    }
}

impl WriteTx {
    /// Stores a new session under the digest of its id.
    pub async fn create_session(
        &mut self,
        id_hash: &str,
        user_id: &str,
        stage: &str,
        client: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, stage, created_at, last_seen_at, client) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(stage)
        .bind(now)
        .bind(client)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Replaces a session by a new id at a new stage (id rotation on every privilege
    /// change), keeping its start time so the absolute time-out still applies.
    pub async fn rotate_session(
        &mut self,
        old_hash: &str,
        new_hash: &str,
        stage: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, stage, created_at, last_seen_at, client) \
             SELECT $1, user_id, $2, created_at, $3, client FROM sessions WHERE id_hash = $4",
        )
        .bind(new_hash)
        .bind(stage)
        .bind(now_unix())
        .bind(old_hash)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "session" });
        }
        self.end_session(old_hash).await
    }

    /// Ends one session (signing out, or replacing it).
    pub async fn end_session(&mut self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Stores a one-time link (by digest) for `purpose`, valid for `ttl` seconds, and queues
    /// the message that carries it. Earlier unused links of the same purpose for the user are
    /// voided.
    pub async fn issue_link(
        &mut self,
        token_hash: &str,
        user_id: &str,
        purpose: LinkPurpose,
        ttl: i64,
        message: &Message<'_>,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        sqlx::query("UPDATE one_time_links SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(purpose.key())
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO one_time_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.key())
        .bind(now)
        .bind(now + ttl)
        .execute(&mut *self.tx)
        .await?;
        crate::outbox::enqueue(
            &mut self.tx,
            "email",
            message.recipient,
            message.subject,
            message.body,
            message.idempotency_key,
        )
        .await?;
        sqlx::query("UPDATE outbox SET secret = $1 WHERE idempotency_key = $2 AND sent_at IS NULL")
            .bind(message.secret)
            .bind(message.idempotency_key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Uses up a live link and sets the user's password, ending their sessions; `None` when
    /// the link is unknown, used or expired.
    pub async fn consume_link_setting_password(
        &mut self,
        token_hash: &str,
        purpose: LinkPurpose,
        password_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let now = now_unix();
        let user: Option<String> = sqlx::query_scalar(
            "UPDATE one_time_links SET used_at = $1 \
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.key())
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(user_id) = user else {
            return Ok(None);
        };
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(&user_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(Some(user_id))
    }

    /// Uses up a recovery code; false when unknown or already used.
    pub async fn use_recovery_code(
        &mut self,
        user_id: &str,
        digest: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_unix())
        .bind(user_id)
        .bind(digest)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates an API token (stored as a digest) and returns its id.
    pub async fn create_api_token(
        &mut self,
        admin: &Permitted,
        name: &str,
        token_hash: &str,
        agency_id: &str,
        scopes: &[String],
        created_by: &str,
    ) -> Result<String, StoreError> {
        needs(admin, Permission::Administer)?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO api_tokens (id, name, token_hash, agency_id, scopes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(name)
        .bind(token_hash)
        .bind(agency_id)
        .bind(scopes.join(","))
        .bind(created_by)
        .bind(now_unix())
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Revokes a token; true when it was live.
    pub async fn revoke_api_token(
        &mut self,
        admin: &Permitted,
        id: &str,
    ) -> Result<bool, StoreError> {
        needs(admin, Permission::Administer)?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_unix())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

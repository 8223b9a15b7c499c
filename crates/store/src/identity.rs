//! Agencies and users: the people who use Pathways and the organisations they belong to.

use pathways_domain::access::Permitted;
use pathways_domain::{AgencyKind, Permission, RoleSet};
use sqlx::Row as _;

use crate::cases::needs;
use crate::{Row, Store, StoreError, WriteTx, new_id, now_unix};

/// An agency as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Agency {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What kind of organisation it is.
    pub kind: AgencyKind,
    /// Set when archived (kept for history, no new users).
    pub archived_at: Option<i64>,
}

/// A user as stored (without secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: String,
    /// The user's agency.
    pub agency_id: String,
    /// Lower-cased e-mail address, unique.
    pub email: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Roles.
    pub roles: RoleSet,
    /// True once a TOTP second factor is enrolled.
    pub totp_enabled: bool,
    /// True when the account may not sign in.
    pub disabled: bool,
    /// True when a password is set (invited users have none until they accept).
    pub has_password: bool,
    /// Last successful sign-in.
    pub last_login_at: Option<i64>,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user's agency.
    pub agency_id: String,
    /// E-mail address (stored lower-cased).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Roles.
    pub roles: RoleSet,
    /// An argon2id hash, or `None` for an invited user who will set one.
    pub password_hash: Option<String>,
}

/// A user counts as disabled while their agency is archived, so no one signs in for it.
const USER_COLUMNS: &str = "id, agency_id, email, display_name, roles, totp_enabled, \
     CAST(CASE WHEN disabled <> 0 OR EXISTS (SELECT 1 FROM agencies a WHERE a.id = users.agency_id \
     AND a.archived_at IS NOT NULL) THEN 1 ELSE 0 END AS BIGINT) AS disabled, \
     CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, last_login_at";

fn agency_from(row: &Row) -> Result<Agency, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Agency {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: AgencyKind::parse(&kind).ok_or_else(|| {
            StoreError::Conflict(format!("unknown agency kind {kind:?} in the database"))
        })?,
        archived_at: row.try_get("archived_at")?,
    })
}

/// Reads a user from a row holding the user columns.
pub(crate) fn user_from_row(row: &Row) -> Result<User, StoreError> {
    user_from(row)
}

fn user_from(row: &Row) -> Result<User, StoreError> {
    let roles: String = row.try_get("roles")?;
    let has_password = row.try_get::<i64, _>("has_password")? != 0;
    Ok(User {
        id: row.try_get("id")?,
        agency_id: row.try_get("agency_id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        roles: RoleSet::parse(&roles).map_err(StoreError::Conflict)?,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        has_password,
        last_login_at: row.try_get("last_login_at")?,
    })
}

impl Store {
    /// Every agency, by name.
    pub async fn list_agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let rows = sqlx::query("SELECT id, name, kind, archived_at FROM agencies ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(agency_from).collect()
    }

    /// One agency.
    pub async fn agency(&self, id: &str) -> Result<Agency, StoreError> {
        let row = sqlx::query("SELECT id, name, kind, archived_at FROM agencies WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "agency" })?;
        agency_from(&row)
    }

    /// Finds an agency by exact name.
    pub async fn agency_by_name(&self, name: &str) -> Result<Option<Agency>, StoreError> {
        let row = sqlx::query("SELECT id, name, kind, archived_at FROM agencies WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(agency_from).transpose()
    }

    /// One user.
    pub async fn user(&self, id: &str) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "user" })?;
        user_from(&row)
    }

    /// Finds a user by e-mail (case-insensitive).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Users, optionally of one agency, by name.
    pub async fn list_users(&self, agency_id: Option<&str>) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE ($1 = '' OR agency_id = $1) ORDER BY display_name"
        );
        let rows = sqlx::query(&sql)
            .bind(agency_id.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from).collect()
    }

    /// The stored password hash of a user, if any.
    pub async fn password_hash(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    /// The TOTP secret of a user, if one is stored.
    pub async fn totp_secret(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }
}

/// Turns a unique violation into a readable conflict.
pub(crate) fn unique_to_conflict(e: sqlx::Error, message: String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message),
        _ => StoreError::Sql(e),
    }
}

/// Seconds in one TOTP time step.
pub const TOTP_STEP_SECS: i64 = 30;

impl WriteTx {
    /// Creates an agency; names are unique.
    pub async fn create_agency(
        &mut self,
        admin: &Permitted,
        name: &str,
        kind: AgencyKind,
    ) -> Result<Agency, StoreError> {
        needs(admin, Permission::Administer)?;
        let id = new_id();
        sqlx::query("INSERT INTO agencies (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(name)
            .bind(kind.key())
            .bind(now_unix())
            .execute(&mut *self.tx)
            .await
            .map_err(|e| {
                unique_to_conflict(e, format!("an agency called {name:?} already exists"))
            })?;
        Ok(Agency {
            id,
            name: name.to_string(),
            kind,
            archived_at: None,
        })
    }

    /// Archives or restores an agency.
    pub async fn set_agency_archived(
        &mut self,
        admin: &Permitted,
        id: &str,
        archived: bool,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        let at = archived.then(now_unix);
        let done = sqlx::query("UPDATE agencies SET archived_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agency" });
        }
        // Archiving ends every session of the agency's users and revokes its live API
        // tokens, so no one keeps acting for it; restoring brings neither back.
        if let Some(now) = at {
            sqlx::query(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE agency_id = $1)",
            )
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE agency_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Creates a user; e-mail addresses are unique (case-insensitive).
    pub async fn create_user(
        &mut self,
        admin: &Permitted,
        new: &NewUser,
    ) -> Result<User, StoreError> {
        needs(admin, Permission::Administer)?;
        let id = new_id();
        let email = new.email.trim().to_lowercase();
        sqlx::query(
            "INSERT INTO users (id, agency_id, email, display_name, password_hash, roles, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&new.agency_id)
        .bind(&email)
        .bind(&new.display_name)
        .bind(new.password_hash.clone())
        .bind(new.roles.to_stored())
        .bind(now_unix())
        .execute(&mut *self.tx)
        .await
        .map_err(|e| unique_to_conflict(e, format!("a user with e-mail {email} already exists")))?;
        Ok(User {
            id,
            agency_id: new.agency_id.clone(),
            email,
            display_name: new.display_name.clone(),
            roles: new.roles.clone(),
            totp_enabled: false,
            disabled: false,
            has_password: new.password_hash.is_some(),
            last_login_at: None,
        })
    }

    /// Replaces a user's roles.
    pub async fn set_roles(
        &mut self,
        admin: &Permitted,
        user_id: &str,
        roles: &RoleSet,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        let done = sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles.to_stored())
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }

    /// Enables or disables sign-in for a user; disabling ends their sessions.
    pub async fn set_user_disabled(
        &mut self,
        admin: &Permitted,
        user_id: &str,
        disabled: bool,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Removes a user's second factor and recovery codes and ends their sessions: they set
    /// up a new one at their next sign-in.
    pub async fn reset_second_factor(
        &mut self,
        admin: &Permitted,
        user_id: &str,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        for sql in [
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
        ] {
            sqlx::query(sql)
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&mut self, user_id: &str, hash: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }

    /// A user's own change: stores their new TOTP secret as enrolled, marks the time step
    /// whose code proved it as used, and replaces their recovery codes (stored as digests).
    pub async fn enrol_totp(
        &mut self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_digests: &[String],
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_enabled = 1, totp_last_step = $2 WHERE id = $3",
        )
        .bind(secret)
        .bind(step)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        for d in recovery_digests {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(d)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Uses up the TOTP time step `step` for a user: true when no code of this step or a
    /// later one was accepted before, so a code works once within its window.
    pub async fn accept_totp_step(&mut self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a successful sign-in.
    pub async fn touch_login(&mut self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now_unix())
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

//! Numbered, forward-only schema migrations, one SQL file per backend per step.
//! A database migrated by a newer binary is refused rather than guessed at.

use crate::connect::Backend;
use crate::{Store, StoreError, now_unix};

/// One schema step: the same version and intent, written once per backend dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Strictly increasing step number.
    pub version: i64,
    /// Short name, the file stem.
    pub name: &'static str,
    /// SQL for SQLite.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL.
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

const ALL: &[Migration] = &[
    migration!(1, "0001_core"),
    migration!(2, "0002_identity_audit"),
    migration!(3, "0003_people"),
    migration!(4, "0004_referrals"),
    migration!(5, "0005_cases"),
    migration!(6, "0006_directory"),
    migration!(7, "0007_caseload"),
    migration!(8, "0008_instruments"),
    migration!(9, "0009_audit_chain"),
    migration!(10, "0010_signed_audit"),
    migration!(15, "0015_outbox_lease"),
    migration!(16, "0016_referral_numbers"),
    migration!(20, "0020_store_changes"),
    migration!(25, "0025_idempotency"),
    migration!(26, "0026_outbox_secret"),
    migration!(30, "0030_person_restriction"),
    migration!(31, "0031_totp_replay"),
    migration!(40, "0040_panels"),
];

/// The newest schema version this binary knows.
pub const MIGRATIONS_LATEST: i64 = ALL[ALL.len() - 1].version;

/// Every migration this binary carries, oldest first.
pub fn migrations() -> &'static [Migration] {
    ALL
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Brings the schema up to [`MIGRATIONS_LATEST`], each step in its own transaction; steps
/// are recorded by number, so a gap in the numbering is allowed.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let pool = store.pool();
    let mut conn = pool.acquire().await?;
    if store.backend() == Backend::Postgres {
        // Two instances starting together must not both migrate.
        sqlx::query("SELECT pg_advisory_lock(727274)")
            .execute(&mut *conn)
            .await?;
    }
    let result = apply_pending(store, &mut conn).await;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock(727274)")
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply_pending(
    store: &Store,
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
) -> Result<(), StoreError> {
    sqlx::query(BOOKKEEPING).execute(&mut **conn).await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut **conn)
        .await?;
    let current = applied.iter().copied().max().unwrap_or(0);
    if current > MIGRATIONS_LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            latest: MIGRATIONS_LATEST,
        });
    }
    // Every step not yet recorded is applied, in order, even one numbered below the newest
    // applied step: numbers may be reserved by changes that are merged later, and a database
    // migrated in between must still receive them.
    for m in ALL.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match store.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let fail = |e: sqlx::Error| StoreError::Migration {
            version: m.version,
            name: m.name.to_string(),
            reason: e.to_string(),
        };
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(fail)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_unix())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}

/// The schema step from which checkpoints and the head are signed.
pub const SIGNED_AUDIT: i64 = 10;

/// Checks, reading only, that the database at `label` is a Pathways database this binary
/// understands and that its audit log is signed.
pub(crate) async fn check_version(store: &Store, label: &str) -> Result<(), StoreError> {
    let applied: Vec<i64> = match sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(store.pool())
        .await
    {
        Ok(v) => v,
        Err(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("42P01") || db.message().contains("no such table") =>
        {
            return Err(StoreError::NotPathways(label.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let current = applied.iter().copied().max().unwrap_or(0);
    if current > MIGRATIONS_LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            latest: MIGRATIONS_LATEST,
        });
    }
    if !applied.contains(&SIGNED_AUDIT) {
        return Err(StoreError::SchemaTooOld {
            found: current,
            needed: SIGNED_AUDIT,
        });
    }
    Ok(())
}

impl Store {
    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM schema_migrations")
                .fetch_one(self.pool())
                .await?;
        Ok(v.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase_and_both_dialects_exist() {
        let mut last = 0;
        for m in ALL {
            assert!(m.version > last, "{} is out of order", m.name);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
            last = m.version;
        }
    }
}

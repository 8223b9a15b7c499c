//! Versions of risk instruments published by the council. The definitions shipped in the
//! binary are not stored here; this table holds only the versions published since, each
//! immutable, as the JSON text `pathways_risk::InstrumentDefinition::to_json` writes.
//!
//! The store checks that the row and its JSON agree on key and version and that versions
//! only go forward; whether the definition itself is usable is the risk rules' decision,
//! made by the caller before publishing.

use pathways_domain::Permission;
use pathways_domain::access::Permitted;
use sqlx::Row as _;

use crate::cases::needs;
use crate::{Store, StoreError, WriteTx, now_unix};

/// A version to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInstrumentVersion {
    /// Instrument key (`yv-screening`).
    pub instrument_key: String,
    /// The new version number; must be above every stored version of the key.
    pub version: i64,
    /// The whole definition as JSON; its `key` and `version` must match the two above.
    pub definition: String,
    /// Id of the user publishing it.
    pub published_by: String,
    /// What changed and why, as the publisher wrote it.
    pub change_note: String,
}

/// A published version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    /// Instrument key.
    pub instrument_key: String,
    /// Version number.
    pub version: i64,
    /// The whole definition as JSON.
    pub definition: String,
    /// When it was published (Unix seconds).
    pub published_at: i64,
    /// Id of the user who published it.
    pub published_by: String,
    /// That user's display name (the id when the account no longer exists).
    pub published_by_name: String,
    /// What changed and why.
    pub change_note: String,
}

const COLUMNS: &str = "v.instrument_key, v.version, v.definition, v.published_at, v.published_by, \
     COALESCE(u.display_name, v.published_by) AS published_by_name, v.change_note";

fn version_from(r: &crate::Row) -> Result<PublishedVersion, StoreError> {
    Ok(PublishedVersion {
        instrument_key: r.try_get("instrument_key")?,
        version: r.try_get("version")?,
        definition: r.try_get("definition")?,
        published_at: r.try_get("published_at")?,
        published_by: r.try_get("published_by")?,
        published_by_name: r.try_get("published_by_name")?,
        change_note: r.try_get("change_note")?,
    })
}

/// Refuses a row whose JSON names another instrument or version, or that lacks a note.
fn check(new: &NewInstrumentVersion) -> Result<(), StoreError> {
    if new.instrument_key.trim().is_empty() || new.version < 1 {
        return Err(StoreError::Conflict(
            "an instrument version needs a key and a version of 1 or more".into(),
        ));
    }
    if new.change_note.trim().is_empty() {
        return Err(StoreError::Conflict(format!(
            "{} version {}: a change note is required",
            new.instrument_key, new.version
        )));
    }
    let json: serde_json::Value = serde_json::from_str(&new.definition).map_err(|e| {
        StoreError::Conflict(format!(
            "{} version {}: the definition is not JSON: {e}",
            new.instrument_key, new.version
        ))
    })?;
    let key = json.get("key").and_then(serde_json::Value::as_str);
    let version = json.get("version").and_then(serde_json::Value::as_i64);
    if key != Some(new.instrument_key.as_str()) || version != Some(new.version) {
        return Err(StoreError::Conflict(format!(
            "{} version {}: the definition says key {:?}, version {:?}",
            new.instrument_key, new.version, key, version
        )));
    }
    Ok(())
}

fn already_published(key: &str, version: i64, latest: i64) -> StoreError {
    StoreError::Conflict(if version == latest {
        format!(
            "{key} version {version} is already published; versions are never replaced, \
             so publish the change as version {}",
            latest + 1
        )
    } else {
        format!(
            "{key} version {version} is older than the latest published version {latest}; \
             publish the change as version {}",
            latest + 1
        )
    })
}

impl WriteTx {
    /// Publishes a new version (its audit entry commits with it). A version that is already
    /// stored, or older than the newest stored one, is refused with [`StoreError::Conflict`]
    /// naming the next free version; so is a definition whose JSON names another key or
    /// version.
    pub async fn publish_instrument_version(
        &mut self,
        admin: &Permitted,
        new: &NewInstrumentVersion,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        check(new)?;
        let now = now_unix();
        let tx = &mut self.tx;
        let latest: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(MAX(version) AS BIGINT) FROM risk_instrument_versions WHERE instrument_key = $1",
        )
        .bind(&new.instrument_key)
        .fetch_one(&mut **tx)
        .await?;
        if let Some(latest) = latest.filter(|l| *l >= new.version) {
            return Err(already_published(&new.instrument_key, new.version, latest));
        }
        let inserted = sqlx::query(
            "INSERT INTO risk_instrument_versions \
             (instrument_key, version, definition, published_at, published_by, change_note) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&new.instrument_key)
        .bind(new.version)
        .bind(&new.definition)
        .bind(now)
        .bind(&new.published_by)
        .bind(new.change_note.trim())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from);
        match inserted {
            // Another instance published the same version between our read and insert.
            Err(e) if e.is_unique_violation() => Err(already_published(
                &new.instrument_key,
                new.version,
                new.version,
            )),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }
}

impl Store {
    /// One published version, if stored.
    pub async fn instrument_version(
        &self,
        instrument_key: &str,
        version: i64,
    ) -> Result<Option<PublishedVersion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM risk_instrument_versions v LEFT JOIN users u ON u.id = v.published_by \
             WHERE v.instrument_key = $1 AND v.version = $2"
        );
        let row = sqlx::query(&sql)
            .bind(instrument_key)
            .bind(version)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(version_from).transpose()
    }

    /// The published versions of one instrument, oldest first.
    pub async fn instrument_versions(
        &self,
        instrument_key: &str,
    ) -> Result<Vec<PublishedVersion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM risk_instrument_versions v LEFT JOIN users u ON u.id = v.published_by \
             WHERE v.instrument_key = $1 ORDER BY v.version"
        );
        let rows = sqlx::query(&sql)
            .bind(instrument_key)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(version_from).collect()
    }

    /// Every published version of every instrument, by key then version.
    pub async fn all_instrument_versions(&self) -> Result<Vec<PublishedVersion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM risk_instrument_versions v LEFT JOIN users u ON u.id = v.published_by \
             ORDER BY v.instrument_key, v.version"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(version_from).collect()
    }
}

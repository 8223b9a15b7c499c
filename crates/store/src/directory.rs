//! The "find support" directory as stored: services as canonical Open Referral UK JSON text
//! beside indexed columns, the taxonomy, and the postcode directory used for distance search.
//!
//! This module does not validate documents: callers store only services that passed the
//! directory's validation, and rebuild the search index from [`Store::directory_services`].

use sqlx::Row as _;

use crate::{Store, StoreError, Tx, WriteTx, now_unix};

/// A service to write: its canonical document and the columns derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    /// Service UUID (primary key).
    pub id: String,
    /// Name, for listing and sorting.
    pub name: String,
    /// ORUK status (`active`, `inactive`, `defunct`, `temporarily closed`).
    pub status: String,
    /// Organisation UUID, if any.
    pub organization_id: Option<String>,
    /// RFC 3339 `last_modified`, if set.
    pub modified: Option<String>,
    /// `YYYY-MM-DD` date the record was last assured, if ever.
    pub assured_date: Option<String>,
    /// The canonical JSON document (including confidential locations; never publish as is).
    pub document: String,
}

/// A stored service with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredService {
    /// The columns and document.
    pub row: ServiceRow,
    /// Archived records are kept but neither searched nor published.
    pub archived: bool,
    /// When last written (seconds since the epoch).
    pub updated_at: i64,
    /// Who last wrote it (user id or `import`).
    pub updated_by: String,
}

/// One taxonomy or term document with its position, for [`Store::replace_directory_taxonomy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxonomyRow {
    /// UUID.
    pub id: String,
    /// The taxonomy this term belongs to (empty for a taxonomy itself).
    pub taxonomy_id: Option<String>,
    /// Parent term, for hierarchical terms.
    pub parent_id: Option<String>,
    /// Name.
    pub name: String,
    /// The ORUK JSON document.
    pub document: String,
}

/// A postcode centroid from the postcode directory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostcodePoint {
    /// Latitude (WGS84).
    pub lat: f64,
    /// Longitude (WGS84).
    pub lon: f64,
}

/// Rows per multi-row insert: well under SQLite's bound-parameter limit.
const POSTCODE_BATCH: usize = 500;

/// The stored form of a postcode: upper case with every space removed, so that "sw1a 1aa",
/// "SW1A1AA" and "SW1A  1AA" are one key.
pub fn normalise_postcode(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

const SERVICE_COLUMNS: &str = "id, name, status, organization_id, modified, assured_date, archived, document, updated_at, updated_by";

fn service_of(r: &crate::Row) -> Result<StoredService, StoreError> {
    Ok(StoredService {
        row: ServiceRow {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            status: r.try_get("status")?,
            organization_id: r.try_get("organization_id")?,
            modified: r.try_get("modified")?,
            assured_date: r.try_get("assured_date")?,
            document: r.try_get("document")?,
        },
        archived: r.try_get::<i64, _>("archived")? != 0,
        updated_at: r.try_get("updated_at")?,
        updated_by: r.try_get("updated_by")?,
    })
}

/// The change topic of directory services (see [`crate::changes`]).
pub const TOPIC_SERVICES: &str = "directory";
/// The change topic of the directory's taxonomy.
pub const TOPIC_TAXONOMY: &str = "directory_taxonomy";
/// The change topic of the postcode directory.
pub const TOPIC_POSTCODES: &str = "postcodes";

impl WriteTx {
    /// Inserts or replaces every service by id (an upsert clears `archived`) as part of this
    /// transaction, under one new version of [`TOPIC_SERVICES`]; returns how many rows.
    pub async fn upsert_directory_services(
        &mut self,
        rows: &[ServiceRow],
        actor: &str,
    ) -> Result<usize, StoreError> {
        let version = self.bump(TOPIC_SERVICES).await?;
        let at = now_unix();
        for row in rows {
            sqlx::query(
                "INSERT INTO directory_services \
                 (id, name, status, organization_id, modified, assured_date, archived, document, updated_at, updated_by, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, \
                 organization_id = excluded.organization_id, modified = excluded.modified, \
                 assured_date = excluded.assured_date, archived = 0, document = excluded.document, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by, version = excluded.version",
            )
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.status)
            .bind(row.organization_id.as_deref())
            .bind(row.modified.as_deref())
            .bind(row.assured_date.as_deref())
            .bind(&row.document)
            .bind(at)
            .bind(actor)
            .bind(version)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(rows.len())
    }

    /// Archives or restores a service as part of this transaction. Fails with `NotFound`
    /// when there is no such service.
    pub async fn set_directory_service_archived(
        &mut self,
        id: &str,
        archived: bool,
        actor: &str,
    ) -> Result<(), StoreError> {
        let version = self.bump(TOPIC_SERVICES).await?;
        let done = sqlx::query(
            "UPDATE directory_services SET archived = $1, updated_at = $2, updated_by = $3, \
             version = $4 WHERE id = $5",
        )
        .bind(i64::from(archived))
        .bind(now_unix())
        .bind(actor)
        .bind(version)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "directory service",
            });
        }
        Ok(())
    }

    /// Replaces the stored taxonomies and terms (in the given order) as part of this
    /// transaction, under a new version of [`TOPIC_TAXONOMY`].
    pub async fn replace_directory_taxonomy(
        &mut self,
        taxonomies: &[TaxonomyRow],
        terms: &[TaxonomyRow],
    ) -> Result<(), StoreError> {
        self.bump(TOPIC_TAXONOMY).await?;
        write_taxonomy(&mut self.tx, taxonomies, terms).await
    }
}

async fn write_taxonomy(
    tx: &mut Tx<'static>,
    taxonomies: &[TaxonomyRow],
    terms: &[TaxonomyRow],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM directory_taxonomy_terms")
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM directory_taxonomies")
        .execute(&mut **tx)
        .await?;
    for (i, t) in taxonomies.iter().enumerate() {
        sqlx::query(
            "INSERT INTO directory_taxonomies (id, position, document) VALUES ($1, $2, $3)",
        )
        .bind(&t.id)
        .bind(i as i64)
        .bind(&t.document)
        .execute(&mut **tx)
        .await?;
    }
    for (i, t) in terms.iter().enumerate() {
        sqlx::query(
            "INSERT INTO directory_taxonomy_terms (id, taxonomy_id, parent_id, name, position, document) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(t.taxonomy_id.as_deref())
        .bind(t.parent_id.as_deref())
        .bind(&t.name)
        .bind(i as i64)
        .bind(&t.document)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Writes `taxonomies` and `terms` when no taxonomy is stored yet, and returns whether it
    /// did. Safe when several processes start together on one database: on PostgreSQL the
    /// check and the write hold a transaction-scoped advisory lock, on SQLite the write lock,
    /// so exactly one of them writes and the others find it written. This is setup, like a
    /// migration, so it is not audited.
    pub async fn seed_directory_taxonomy(
        &self,
        taxonomies: &[TaxonomyRow],
        terms: &[TaxonomyRow],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(727276)) AS l")
                .execute(&mut *tx)
                .await?;
        }
        let present: Option<String> =
            sqlx::query_scalar("SELECT id FROM directory_taxonomies LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        if present.is_some() {
            return Ok(false);
        }
        write_taxonomy(&mut tx, taxonomies, terms).await?;
        let version = crate::changes::bump_in(&mut tx, self.backend(), TOPIC_TAXONOMY).await?;
        tx.commit().await?;
        self.changes().observe(TOPIC_TAXONOMY, version);
        Ok(true)
    }

    /// Services written since change `version` of [`TOPIC_SERVICES`], archived ones
    /// included (an instance removes those from its index), each with its version.
    pub async fn directory_changes_since(
        &self,
        version: i64,
    ) -> Result<Vec<(StoredService, i64)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SERVICE_COLUMNS}, version FROM directory_services WHERE version > $1 \
             ORDER BY version, id"
        ))
        .bind(version)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((service_of(r)?, r.try_get::<i64, _>("version")?)))
            .collect()
    }

    /// Inserts or replaces services by id in one transaction with their audit entry: all
    /// are written or none. Returns how many rows were written.
    pub async fn upsert_directory_services(
        &self,
        rows: &[ServiceRow],
        actor: &str,
        event: &pathways_domain::audit::AuditEvent,
    ) -> Result<usize, StoreError> {
        let mut tx = self.write().await?;
        let n = tx.upsert_directory_services(rows, actor).await?;
        tx.audit(&[event]).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// One stored service, archived or not.
    pub async fn directory_service(&self, id: &str) -> Result<Option<StoredService>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SERVICE_COLUMNS} FROM directory_services WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(service_of).transpose()
    }

    /// Every stored service ordered by id (stable for exports); archived ones only when asked.
    pub async fn directory_services(
        &self,
        include_archived: bool,
    ) -> Result<Vec<StoredService>, StoreError> {
        let sql = if include_archived {
            format!("SELECT {SERVICE_COLUMNS} FROM directory_services ORDER BY id")
        } else {
            format!(
                "SELECT {SERVICE_COLUMNS} FROM directory_services WHERE archived = 0 ORDER BY id"
            )
        };
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(service_of).collect()
    }

    /// Number of stored services that are not archived.
    pub async fn directory_service_count(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM directory_services WHERE archived = 0",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Live services never assured or last assured before `before` (`YYYY-MM-DD`), oldest
    /// assurance first (never-assured records lead).
    pub async fn directory_services_due_assurance(
        &self,
        before: &str,
    ) -> Result<Vec<StoredService>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SERVICE_COLUMNS} FROM directory_services \
             WHERE archived = 0 AND (assured_date IS NULL OR assured_date < $1) \
             ORDER BY CASE WHEN assured_date IS NULL THEN 0 ELSE 1 END, assured_date, name, id"
        ))
        .bind(before)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(service_of).collect()
    }

    /// The stored taxonomies and terms, each in stored order. Both empty on a new database.
    pub async fn directory_taxonomy(
        &self,
    ) -> Result<(Vec<TaxonomyRow>, Vec<TaxonomyRow>), StoreError> {
        let taxonomies =
            sqlx::query("SELECT id, document FROM directory_taxonomies ORDER BY position")
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| {
                    let document: String = r.try_get("document")?;
                    Ok(TaxonomyRow {
                        id: r.try_get("id")?,
                        taxonomy_id: None,
                        parent_id: None,
                        name: String::new(),
                        document,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        let terms = sqlx::query(
            "SELECT id, taxonomy_id, parent_id, name, document FROM directory_taxonomy_terms ORDER BY position",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(TaxonomyRow {
                id: r.try_get("id")?,
                taxonomy_id: r.try_get("taxonomy_id")?,
                parent_id: r.try_get("parent_id")?,
                name: r.try_get("name")?,
                document: r.try_get("document")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((taxonomies, terms))
    }

    /// The centroid of a postcode (any spacing or case), if the postcode directory has it.
    pub async fn postcode_point(
        &self,
        postcode: &str,
    ) -> Result<Option<PostcodePoint>, StoreError> {
        let row = sqlx::query("SELECT lat, lon FROM postcodes WHERE postcode = $1")
            .bind(normalise_postcode(postcode))
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(PostcodePoint {
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
            })
        })
        .transpose()
    }

    /// True when any postcode is loaded (postcode search is available).
    pub async fn postcodes_loaded(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT postcode FROM postcodes LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Number of postcodes loaded.
    pub async fn postcode_count(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM postcodes")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}

/// Writes postcodes inside one transaction, batching rows; a later load replaces earlier
/// centroids of the same postcode. Begin with [`Store::begin_write`], call [`PostcodeWriter::add`]
/// for each row, then [`PostcodeWriter::commit`]; dropping it unfinished writes nothing.
pub struct PostcodeWriter {
    store: Store,
    tx: Tx<'static>,
    pending: Vec<(String, f64, f64)>,
    written: u64,
}

impl std::fmt::Debug for PostcodeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostcodeWriter")
            .field("written", &self.written)
            .finish()
    }
}

impl PostcodeWriter {
    /// Starts a load in a new write transaction.
    pub async fn begin(store: &Store) -> Result<PostcodeWriter, StoreError> {
        Ok(PostcodeWriter {
            store: store.clone(),
            tx: store.begin_write().await?,
            pending: Vec::new(),
            written: 0,
        })
    }

    /// Queues one postcode (normalised here) with its centroid.
    pub async fn add(&mut self, postcode: &str, lat: f64, lon: f64) -> Result<(), StoreError> {
        self.pending.push((normalise_postcode(postcode), lat, lon));
        if self.pending.len() >= POSTCODE_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // A postcode repeated within one batch would make the upsert touch a row twice.
        let mut batch = std::mem::take(&mut self.pending);
        batch.reverse();
        let mut seen = std::collections::HashSet::new();
        batch.retain(|(p, _, _)| seen.insert(p.clone()));
        let mut sql = String::from("INSERT INTO postcodes (postcode, lat, lon) VALUES ");
        for i in 0..batch.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
        }
        sql.push_str(
            " ON CONFLICT (postcode) DO UPDATE SET lat = excluded.lat, lon = excluded.lon",
        );
        let mut q = sqlx::query(&sql);
        for (p, lat, lon) in &batch {
            q = q.bind(p.as_str()).bind(*lat).bind(*lon);
        }
        q.execute(&mut *self.tx).await?;
        self.written += batch.len() as u64;
        Ok(())
    }

    /// Writes what is queued and commits; returns the number of postcodes written.
    pub async fn commit(mut self) -> Result<u64, StoreError> {
        self.flush().await?;
        let version =
            crate::changes::bump_in(&mut self.tx, self.store.backend(), TOPIC_POSTCODES).await?;
        self.tx.commit().await?;
        self.store.changes().observe(TOPIC_POSTCODES, version);
        Ok(self.written)
    }
}

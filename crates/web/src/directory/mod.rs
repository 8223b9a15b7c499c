//! The "find support" directory on the web: public survivor-safe pages under `/support`, the
//! Open Referral UK 3.0 API under `/oruk`, and the editor pages under `/directory`.
//!
//! Every route reads one shared in-memory [`SearchIndex`], built from the store on first use
//! and updated after each editor write, so searches never touch the database.

mod editor;
mod oruk;
mod public;

use std::sync::Arc;

use axum::Router;
use pathways_directory::model::{Taxonomy, TaxonomyTerm};
use pathways_directory::{SearchIndex, TermSet, ValidService};
use pathways_store::directory::{ServiceRow, TaxonomyRow};
use pathways_store::{Store, StoreError};
use tokio::sync::{OnceCell, RwLock};

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(public::routes())
        .merge(oruk::routes())
        .merge(editor::routes())
}

/// Why the directory could not be loaded from the store.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored taxonomy is not a valid term set.
    #[error(
        "the stored directory taxonomy is not valid: {0}; re-create it by clearing the directory_taxonomies tables"
    )]
    Taxonomy(String),
}

impl From<DataError> for crate::AppError {
    fn from(e: DataError) -> Self {
        crate::AppError::internal(e.to_string())
    }
}

/// The shared search index of one running service.
#[derive(Default)]
pub struct Directory {
    cell: OnceCell<Arc<RwLock<SearchIndex>>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("loaded", &self.cell.initialized())
            .finish()
    }
}

impl Directory {
    /// The index, building it from the store the first time (live services only).
    pub async fn index(&self, store: &Store) -> Result<Arc<RwLock<SearchIndex>>, DataError> {
        let lock = self
            .cell
            .get_or_try_init(|| async {
                let terms = load_terms(store).await?;
                let (services, skipped) = load_services(store, &terms).await?;
                for (id, errors) in &skipped {
                    tracing::warn!(%id, problems = errors.len(), "stored directory service no longer validates; left out of search");
                }
                tracing::info!(services = services.len(), "built the directory index");
                Ok::<_, DataError>(Arc::new(RwLock::new(SearchIndex::build(terms, services))))
            })
            .await?;
        Ok(lock.clone())
    }

    /// Replaces the index with one built afresh from the store (after a bulk import).
    pub async fn reload(&self, store: &Store) -> Result<(), DataError> {
        let index = self.index(store).await?;
        let terms = load_terms(store).await?;
        let (services, _) = load_services(store, &terms).await?;
        *index.write().await = SearchIndex::build(terms, services);
        Ok(())
    }
}

/// The directory's taxonomy from the store. A new database gets the shipped needs taxonomy
/// written to it first, so the stored and served terms are always the same.
pub async fn load_terms(store: &Store) -> Result<TermSet, DataError> {
    let (taxonomies, terms) = store.directory_taxonomy().await?;
    if taxonomies.is_empty() {
        let shipped = TermSet::needs();
        save_terms(store, &shipped).await?;
        return Ok(shipped);
    }
    let bad = |e: serde_json::Error| DataError::Taxonomy(e.to_string());
    let taxonomies: Vec<Taxonomy> = taxonomies
        .iter()
        .map(|t| serde_json::from_str(&t.document))
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    let terms: Vec<TaxonomyTerm> = terms
        .iter()
        .map(|t| serde_json::from_str(&t.document))
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    TermSet::new(taxonomies, terms).map_err(|e| DataError::Taxonomy(e.to_string()))
}

/// Writes a taxonomy to the store, replacing what was there.
pub async fn save_terms(store: &Store, terms: &TermSet) -> Result<(), DataError> {
    let taxonomies: Vec<TaxonomyRow> = terms
        .taxonomies()
        .iter()
        .map(|t| TaxonomyRow {
            id: t.id.clone(),
            taxonomy_id: None,
            parent_id: None,
            name: t.name.clone(),
            document: serde_json::to_string(t).expect("a taxonomy always serialises"),
        })
        .collect();
    let rows: Vec<TaxonomyRow> = terms
        .terms()
        .iter()
        .map(|t| TaxonomyRow {
            id: t.id.clone(),
            taxonomy_id: terms.taxonomy_id_of(t).map(str::to_string),
            parent_id: t.parent_id.clone(),
            name: t.name.clone(),
            document: serde_json::to_string(t).expect("a term always serialises"),
        })
        .collect();
    store.replace_directory_taxonomy(&taxonomies, &rows).await?;
    Ok(())
}

/// The row the store keeps for a validated service.
pub fn service_row(s: &ValidService) -> ServiceRow {
    let c = s.columns();
    ServiceRow {
        id: c.id.to_string(),
        name: c.name.to_string(),
        status: c.status.to_string(),
        organization_id: c.organization_id.map(str::to_string),
        modified: c.last_modified.map(str::to_string),
        assured_date: c.assured_date.map(str::to_string),
        document: s.to_canonical_json(),
    }
}

/// Every live stored service, validated against `terms`, ordered by id; records that no
/// longer validate are returned apart with their problems.
pub async fn load_services(
    store: &Store,
    terms: &TermSet,
) -> Result<
    (
        Vec<ValidService>,
        Vec<(String, Vec<pathways_directory::FieldError>)>,
    ),
    DataError,
> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for stored in store.directory_services(false).await? {
        match ValidService::from_json(&stored.row.document, terms) {
            Ok(s) => good.push(s),
            Err(e) => bad.push((stored.row.id, e)),
        }
    }
    Ok((good, bad))
}

/// Upserts validated services by id in one transaction; returns how many were written.
pub async fn save_services(
    store: &Store,
    services: &[ValidService],
    actor: &str,
) -> Result<usize, StoreError> {
    let rows: Vec<ServiceRow> = services.iter().map(service_row).collect();
    store.upsert_directory_services(&rows, actor).await
}

/// Seeds the demo directory (the shipped taxonomy and 180 generated services across every
/// need, assured relative to today) unless the store already has services; returns how many.
pub async fn seed_demo(store: &Store) -> Result<usize, DataError> {
    if store.directory_service_count().await? > 0 {
        return Ok(0);
    }
    let terms = load_terms(store).await?;
    let services =
        pathways_directory::generate::demo(&terms, time::OffsetDateTime::now_utc().date());
    Ok(save_services(store, &services, "demo").await?)
}

/// Miles to metres, for the distance choices on the public pages.
pub(crate) const METRES_PER_MILE: f64 = 1609.344;

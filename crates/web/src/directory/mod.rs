//! The "find support" directory on the web: public survivor-safe pages under `/support`, the
//! Open Referral UK 3.0 API under `/oruk`, and the editor pages under `/directory`.
//!
//! Every route reads one shared in-memory [`SearchIndex`] per process ([`Directory`]). It is
//! built when the server starts (`/readyz` answers 503 until it is), then follows the
//! store's change versions ([`pathways_store::changes`]): a write from this process, another
//! instance or the CLI bumps the directory's topic, and a task here reads only the services
//! changed since the version it holds and applies them (a large import rebuilds the index
//! beside the one serving, then swaps it in). A read first waits, briefly, until the index
//! holds every change this process knows of, so a process always reads its own writes.

mod editor;
mod oruk;
mod public;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use pathways_directory::model::{Taxonomy, TaxonomyTerm};
use pathways_directory::search::GeoPoint;
use pathways_directory::{SearchIndex, TermSet, ValidService};
use pathways_store::changes::Topic;
use pathways_store::directory::{
    ServiceRow, TOPIC_POSTCODES, TOPIC_SERVICES, TOPIC_TAXONOMY, TaxonomyRow,
};
use pathways_store::{Store, StoreError};
use tokio::sync::{OnceCell, RwLock, watch};

use crate::AppState;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(public::routes())
        .merge(oruk::routes(state))
        // Search pages and feeds are large and compress well; sent compressed only to a
        // client that asks (Accept-Encoding: br or gzip).
        .layer(tower_http::compression::CompressionLayer::new())
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
    /// The index is not built yet, or could not be.
    #[error("the directory is not available yet: {0}")]
    NotReady(String),
}

impl From<DataError> for crate::AppError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotReady(m) => {
                tracing::warn!(reason = %m, "directory not available");
                crate::AppError::Unavailable
            }
            e => crate::AppError::internal(e.to_string()),
        }
    }
}

/// Changed services beyond which the index is rebuilt from scratch rather than updated.
const REBUILD_OVER: usize = 2000;
/// How long a read waits for the index to catch up with a change this process knows of
/// before it is answered from the index as it is.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);
/// Postcodes remembered (found or not) before the memory is cleared.
const POSTCODE_CACHE: usize = 20_000;

/// Where the index is.
#[derive(Debug, Clone, PartialEq)]
enum Progress {
    /// Being built for the first time.
    Building,
    /// The first build failed (it is retried); the reason.
    Failed(String),
    /// Serving, holding every change up to these versions.
    Ready { services: i64, taxonomy: i64 },
}

/// What the postcode directory is known to hold.
#[derive(Debug, Default)]
struct Postcodes {
    /// The version of the postcodes topic this reflects.
    version: i64,
    /// Whether any postcode is loaded; `None` until first asked.
    loaded: Option<bool>,
    /// Postcodes looked up, by normalised form.
    points: HashMap<String, Option<GeoPoint>>,
}

struct Live {
    index: Arc<RwLock<SearchIndex>>,
    /// When the directory last changed (seconds since the epoch), as the store says.
    changed_at: std::sync::atomic::AtomicI64,
    progress: watch::Sender<Progress>,
    services: Topic,
    taxonomy: Topic,
    postcodes_topic: Topic,
    postcodes: Mutex<Postcodes>,
}

/// The shared search index of one running service.
#[derive(Default)]
pub struct Directory {
    cell: OnceCell<Arc<Live>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("ready", &self.ready())
            .finish()
    }
}

impl Directory {
    /// Starts building the index and following changes (once; later calls do nothing).
    /// Needs a Tokio runtime.
    pub async fn start(&self, store: &Store) {
        self.live(store).await;
    }

    async fn live(&self, store: &Store) -> &Arc<Live> {
        self.cell
            .get_or_init(|| async {
                store.follow_changes();
                let changes = store.changes();
                let live = Arc::new(Live {
                    index: Arc::new(RwLock::new(SearchIndex::build(
                        TermSet::needs(),
                        Vec::new(),
                    ))),
                    changed_at: std::sync::atomic::AtomicI64::new(0),
                    progress: watch::channel(Progress::Building).0,
                    services: changes.topic(TOPIC_SERVICES),
                    taxonomy: changes.topic(TOPIC_TAXONOMY),
                    postcodes_topic: changes.topic(TOPIC_POSTCODES),
                    postcodes: Mutex::new(Postcodes::default()),
                });
                tokio::spawn(follow(store.clone(), Arc::downgrade(&live)));
                live
            })
            .await
    }

    /// Starts the index if needed and waits, at most `bound`, for its first build; the
    /// reason when it is not ready (for `/readyz`).
    pub async fn wait_ready(&self, store: &Store, bound: Duration) -> Result<(), String> {
        let live = self.live(store).await;
        let mut rx = live.progress.subscribe();
        let done =
            tokio::time::timeout(bound, rx.wait_for(|p| !matches!(p, Progress::Building))).await;
        match done {
            Err(_) => Err("the directory index is still being built".into()),
            Ok(Err(_)) => Err("the directory index stopped".into()),
            Ok(Ok(p)) => match &*p {
                Progress::Failed(reason) => Err(format!("the directory index failed: {reason}")),
                _ => Ok(()),
            },
        }
    }

    /// What an answer built from the index depends on: the versions it holds (services,
    /// taxonomy, postcodes) and when the directory last changed; after catching up as
    /// [`Directory::index`] does. The same on every instance holding the same versions.
    pub async fn validator(&self, store: &Store) -> Result<(String, i64), DataError> {
        self.index(store).await?;
        let live = self.live(store).await;
        let Progress::Ready { services, taxonomy } = *live.progress.borrow() else {
            return Err(DataError::NotReady(
                "the directory index is not built".into(),
            ));
        };
        let postcodes = live.postcodes_topic.version();
        Ok((
            format!("{services}.{taxonomy}.{postcodes}"),
            live.changed_at.load(std::sync::atomic::Ordering::Relaxed),
        ))
    }

    /// True once the index is built.
    pub fn ready(&self) -> bool {
        self.cell
            .get()
            .is_some_and(|l| matches!(*l.progress.borrow(), Progress::Ready { .. }))
    }

    /// The index, holding every change this process knows of (starting it if needed, and
    /// waiting for the first build).
    pub async fn index(&self, store: &Store) -> Result<Arc<RwLock<SearchIndex>>, DataError> {
        let live = self.live(store).await;
        let (want_s, want_t) = (live.services.version(), live.taxonomy.version());
        let mut rx = live.progress.subscribe();
        let caught_up = |p: &Progress| match p {
            Progress::Building => false,
            Progress::Failed(_) => true,
            Progress::Ready { services, taxonomy } => *services >= want_s && *taxonomy >= want_t,
        };
        if !caught_up(&rx.borrow()) {
            let first_build = matches!(*rx.borrow(), Progress::Building);
            let waited = if first_build {
                rx.wait_for(|p| caught_up(p))
                    .await
                    .map(|_| ())
                    .map_err(|_| ())
            } else {
                match tokio::time::timeout(CATCH_UP_WAIT, rx.wait_for(|p| caught_up(p))).await {
                    Ok(r) => r.map(|_| ()).map_err(|_| ()),
                    Err(_) => {
                        tracing::warn!("the directory index is behind; answering from it as it is");
                        Ok(())
                    }
                }
            };
            if waited.is_err() {
                return Err(DataError::NotReady("the directory index stopped".into()));
            }
        }
        if let Progress::Failed(reason) = &*rx.borrow() {
            return Err(DataError::NotReady(reason.clone()));
        }
        Ok(Arc::clone(&live.index))
    }

    /// Whether the postcode directory holds any postcode.
    pub async fn postcodes_loaded(&self, store: &Store) -> Result<bool, DataError> {
        let live = self.live(store).await;
        let want = live.postcodes_topic.version();
        {
            let p = live.postcodes.lock().expect("never poisoned");
            if p.version >= want
                && let Some(loaded) = p.loaded
            {
                return Ok(loaded);
            }
        }
        let loaded = store.postcodes_loaded().await?;
        let mut p = live.postcodes.lock().expect("never poisoned");
        if p.version < want {
            *p = Postcodes {
                version: want,
                ..Postcodes::default()
            };
        }
        p.loaded = Some(loaded);
        Ok(loaded)
    }

    /// The centroid of a postcode, remembered between requests until the postcode directory
    /// changes.
    pub async fn postcode_point(
        &self,
        store: &Store,
        postcode: &str,
    ) -> Result<Option<GeoPoint>, DataError> {
        let live = self.live(store).await;
        let key = pathways_store::directory::normalise_postcode(postcode);
        let want = live.postcodes_topic.version();
        {
            let p = live.postcodes.lock().expect("never poisoned");
            if p.version >= want
                && let Some(found) = p.points.get(&key)
            {
                return Ok(*found);
            }
        }
        let point = store.postcode_point(&key).await?.map(|p| GeoPoint {
            lat: p.lat,
            lon: p.lon,
        });
        let mut p = live.postcodes.lock().expect("never poisoned");
        if p.version < want {
            *p = Postcodes {
                version: want,
                ..Postcodes::default()
            };
        }
        if p.points.len() >= POSTCODE_CACHE {
            p.points.clear();
        }
        p.points.insert(key, point);
        Ok(point)
    }
}

/// Builds the index, then keeps it up to date with every change until the directory is gone.
async fn follow(store: Store, live: std::sync::Weak<Live>) {
    let (mut services, mut taxonomy) = {
        let Some(l) = live.upgrade() else { return };
        (l.services.clone(), l.taxonomy.clone())
    };
    loop {
        services.mark_seen();
        taxonomy.mark_seen();
        match build(&store).await {
            Ok(b) => {
                let Some(l) = live.upgrade() else { return };
                *l.index.write().await = b.index;
                l.changed_at
                    .store(b.changed_at, std::sync::atomic::Ordering::Relaxed);
                l.progress.send_replace(Progress::Ready {
                    services: b.services,
                    taxonomy: b.taxonomy,
                });
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not build the directory index; retrying");
                let Some(l) = live.upgrade() else { return };
                l.progress.send_replace(Progress::Failed(e.to_string()));
                drop(l);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    loop {
        tokio::select! {
            r = services.changed() => if r.is_err() { return },
            r = taxonomy.changed() => if r.is_err() { return },
        }
        let Some(l) = live.upgrade() else { return };
        while let Err(e) = catch_up(&store, &l).await {
            tracing::warn!(error = %e, "could not update the directory index; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A freshly built index and the versions it holds.
struct Built {
    index: SearchIndex,
    services: i64,
    taxonomy: i64,
    changed_at: i64,
}

/// When the directory's services or taxonomy last changed, as the store says.
async fn last_change(store: &Store) -> Result<i64, DataError> {
    let s = store.changed_at(TOPIC_SERVICES).await?.unwrap_or(0);
    let t = store.changed_at(TOPIC_TAXONOMY).await?.unwrap_or(0);
    Ok(s.max(t))
}

async fn build(store: &Store) -> Result<Built, DataError> {
    let started = std::time::Instant::now();
    // Versions first: whatever is read afterwards is at least this new.
    let taxonomy = store.change_version(TOPIC_TAXONOMY).await?;
    let services = store.change_version(TOPIC_SERVICES).await?;
    let terms = load_terms(store).await?;
    let changed_at = last_change(store).await?;
    let (list, skipped) = load_services(store, &terms).await?;
    for (id, errors) in &skipped {
        tracing::warn!(%id, problems = errors.len(), "stored directory service no longer validates; left out of search");
    }
    let count = list.len();
    let index = tokio::task::spawn_blocking(move || SearchIndex::build(terms, list))
        .await
        .map_err(|e| DataError::NotReady(format!("building the index failed: {e}")))?;
    tracing::info!(
        services = count,
        millis = started.elapsed().as_millis() as u64,
        "built the directory index"
    );
    Ok(Built {
        index,
        services,
        taxonomy,
        changed_at,
    })
}

/// Brings the index up to the newest versions: the changed services only, or a rebuild
/// after a taxonomy change or a large import.
async fn catch_up(store: &Store, live: &Live) -> Result<(), DataError> {
    let Progress::Ready {
        services: held,
        taxonomy: held_t,
    } = *live.progress.borrow()
    else {
        return Ok(());
    };
    let taxonomy = store.change_version(TOPIC_TAXONOMY).await?;
    let services = store.change_version(TOPIC_SERVICES).await?;
    let changed = if taxonomy > held_t {
        None
    } else {
        let rows = store.directory_changes_since(held).await?;
        (rows.len() <= REBUILD_OVER).then_some(rows)
    };
    let Some(rows) = changed else {
        let b = build(store).await?;
        *live.index.write().await = b.index;
        live.changed_at
            .store(b.changed_at, std::sync::atomic::Ordering::Relaxed);
        live.progress.send_replace(Progress::Ready {
            services: b.services,
            taxonomy: b.taxonomy,
        });
        return Ok(());
    };
    let newest = rows
        .iter()
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(0)
        .max(services);
    let changed_at = last_change(store).await?;
    let terms = live.index.read().await.terms().clone();
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for (stored, _) in rows {
        if stored.archived {
            removals.push(stored.row.id);
            continue;
        }
        match ValidService::from_json(&stored.row.document, &terms) {
            Ok(v) => upserts.push(v),
            Err(e) => {
                tracing::warn!(id = %stored.row.id, problems = e.len(), "stored directory service no longer validates; left out of search");
                removals.push(stored.row.id);
            }
        }
    }
    let n = upserts.len() + removals.len();
    live.index.write().await.apply(upserts, &removals);
    live.changed_at
        .store(changed_at, std::sync::atomic::Ordering::Relaxed);
    live.progress.send_replace(Progress::Ready {
        services: newest,
        taxonomy: held_t.max(taxonomy),
    });
    tracing::debug!(changed = n, version = newest, "directory index caught up");
    Ok(())
}

fn taxonomy_rows(terms: &TermSet) -> (Vec<TaxonomyRow>, Vec<TaxonomyRow>) {
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
    (taxonomies, rows)
}

/// The directory's taxonomy from the store. A new database gets the shipped needs taxonomy
/// written to it first (once, however many processes start together), so the stored and
/// served terms are always the same.
pub async fn load_terms(store: &Store) -> Result<TermSet, DataError> {
    let (mut taxonomies, mut terms) = store.directory_taxonomy().await?;
    if taxonomies.is_empty() {
        let (t, r) = taxonomy_rows(&TermSet::needs());
        store.seed_directory_taxonomy(&t, &r).await?;
        (taxonomies, terms) = store.directory_taxonomy().await?;
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

/// Upserts validated services by id in one transaction with their `directory_import`
/// audit entry (`actor` names the source: `import`, `demo`); returns how many were written.
pub async fn save_services(
    store: &Store,
    services: &[ValidService],
    actor: &str,
) -> Result<usize, StoreError> {
    let rows: Vec<ServiceRow> = services.iter().map(service_row).collect();
    let event = crate::auth::system_event("directory_import", "directory", "", actor, "allowed");
    store.upsert_directory_services(&rows, actor, &event).await
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

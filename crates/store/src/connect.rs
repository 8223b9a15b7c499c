//! Opening a database: choosing the backend from the URL, connection settings that must
//! hold on every connection (SQLite pragmas), and running migrations before first use.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::StoreError;
use crate::keys::AuditKeys;
use crate::migrate;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: one file, the default for small deployments and the demo.
    Sqlite,
    /// PostgreSQL, for deployments at scale.
    Postgres,
}

/// A handle on the database: a connection pool plus the backend it speaks to.
/// Cheap to clone; every clone shares the pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, whose disk the readiness check watches.
    sqlite_file: Option<PathBuf>,
    /// The audit writer and its signing key; `None` on a read-only store.
    audit: Option<std::sync::Arc<(crate::audit::AuditWriter, AuditKeys)>>,
    /// The change versions this process knows of (see [`crate::changes`]).
    pub(crate) changes: std::sync::Arc<crate::changes::Changes>,
    /// The PostgreSQL URL, for the connection that listens for change notifications.
    pub(crate) postgres_url: Option<String>,
}

/// How a [`Store`] uses its database connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections the request pool keeps at most; the audit writer has one more of its own.
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it is refused as busy.
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    /// The defaults for a backend: see [`default_pool_size`]; a request waits at most two
    /// seconds for a connection, so an exhausted pool answers "busy" at once instead of
    /// holding every caller until a long time-out.
    pub fn defaults_for(url: &str) -> StoreOptions {
        let postgres = matches!(parse_target(url), Ok(Target::Postgres(_)));
        StoreOptions {
            pool_size: default_pool_size(postgres),
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

/// Pooled connections one process keeps by default. SQLite: 8 (one writer at a time, the
/// rest read beside it). PostgreSQL: twice the CPU cores, between 4 and 10. Every query
/// here is short, so a few connections serve many concurrent requests; more connections
/// than the machine can run at once only add context switches, and a bound that does not
/// grow with the cores keeps several processes inside PostgreSQL's default
/// `max_connections` of 100 (three processes on 16 cores: 3 × (10 + 1) = 33).
pub fn default_pool_size(postgres: bool) -> u32 {
    if !postgres {
        return 8;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(10).clamp(4, 10)
}

/// A database location, parsed once from the configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn parse_target(url: &str) -> Result<Target, StoreError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_string()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::BadUrl {
            url: url.to_string(),
        });
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// Pool options for a SQLite file: settings every connection must hold.
fn sqlite_pool_options(max_connections: u32, acquire_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Connection as _;
                let was_open = conn.execute("ROLLBACK").await.is_ok();
                Ok(sqlite_connection_is_clean(
                    was_open,
                    conn.is_in_transaction(),
                ))
            })
        })
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // Every connection must enforce references and wait, not fail, on a
                // briefly locked file; WAL lets readers run beside the one writer.
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                // Caseload and audit queries read across large tables: a 64 MiB page
                // cache per connection keeps them off the disk. Memory-mapped reads stay
                // off: with every read audited the file changes many times a second, and
                // each change made every connection's mapping cost page faults and
                // cross-core TLB flushes, which cost about a fifth of audited throughput (see
                // BENCHMARKS.md, audit cost).
                conn.execute("PRAGMA cache_size = -65536").await?;
                conn.execute("PRAGMA mmap_size = 0").await?;
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                // The audit writer checkpoints in the background twice a second; the
                // automatic checkpoint inside a commit is only the safety net (40 MiB).
                conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
                Ok(())
            })
        })
}

/// Decides whether a SQLite connection may go back to the pool.
///
/// When a write fails for want of space (or on an I/O error) SQLite may roll the whole
/// transaction back by itself, and sqlx, which counts transactions, does not see it: its
/// rollback then fails, the count stays at one, and the next transaction on the connection
/// is opened as a savepoint. Rolling that one back (`ROLLBACK TO`) leaves the transaction it
/// implicitly began open, holding the database's write lock: every other connection then
/// failed with "database is locked" until the process restarted. So every released
/// connection is checked: a plain `ROLLBACK` ends any transaction still open (normally
/// there is none and it fails harmlessly), and a connection whose count no longer matches
/// is closed, so the pool opens a fresh one. `was_open`: the `ROLLBACK` found a transaction;
/// `counted_open`: sqlx still counts one.
fn sqlite_connection_is_clean(was_open: bool, counted_open: bool) -> bool {
    if was_open || counted_open {
        tracing::warn!(
            transaction_left_open = was_open,
            "a database connection's transaction state was out of step; closing it"
        );
        return false;
    }
    true
}

fn redact(url: &str) -> String {
    // Keep passwords out of error messages and logs.
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

fn check_sqlite_path(path: &Path) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::SqlitePath {
        path: path.display().to_string(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create its folder {}: {e}", dir.display())))?;
    }
    if path.is_dir() {
        return Err(fail("it is a folder, not a file".into()));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| fail(format!("cannot open it for writing: {e}")))?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`: a SQLite file path
    /// (`sqlite://` prefix optional) or a `postgres://` URL. Audit entries are signed with
    /// `keys`; a log whose head is signed by a key `keys` does not trust is refused, and a log
    /// never signed is adopted by a key made just now.
    pub async fn connect(url: &str, keys: AuditKeys) -> Result<Store, StoreError> {
        Self::connect_with(url, keys, StoreOptions::defaults_for(url)).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(
        url: &str,
        keys: AuditKeys,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        if options.pool_size == 0 {
            return Err(StoreError::Unavailable(
                "the database pool size must be at least 1".into(),
            ));
        }
        let (mut store, writer) = match parse_target(url)? {
            Target::Sqlite(path) => Self::open_sqlite(&path, options).await?,
            Target::Postgres(pg) => Self::open_postgres(&pg, options).await?,
        };
        migrate::run(&store).await?;
        store.check_audit_key(&keys).await?;
        let audit = crate::audit::AuditWriter::start(
            writer,
            store.pool.clone(),
            store.backend,
            keys.clone(),
        );
        store.audit = Some(std::sync::Arc::new((audit, keys)));
        Ok(store)
    }

    /// Opens the database at `url` for reading only: no migration, no audit writer, nothing
    /// written (a SQLite file is opened read-only, a PostgreSQL session is read-only). For
    /// verifying and checking a copy, which may sit on read-only storage or be reached
    /// through a role without write rights. A database newer than this binary is refused.
    pub async fn open_read_only(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = match parse_target(url)? {
            Target::Sqlite(path) => (open_sqlite_read_only(&path).await?, Backend::Sqlite),
            Target::Postgres(pg) => {
                let fail = |e: sqlx::Error| StoreError::Connect {
                    target: redact(&pg),
                    reason: e.to_string(),
                };
                let pool = AnyPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute("SET default_transaction_read_only = on")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&pg)
                    .await
                    .map_err(fail)?;
                (pool, Backend::Postgres)
            }
        };
        let store = Store::unaudited(pool, backend);
        migrate::check_version(&store, &redact(url)).await?;
        Ok(store)
    }

    async fn open_sqlite(
        path: &Path,
        options: StoreOptions,
    ) -> Result<(Store, AnyPool), StoreError> {
        check_sqlite_path(path)?;
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let opts = sqlx::any::AnyConnectOptions::from_str(&url)?;
        let fail = |e: sqlx::Error| StoreError::SqlitePath {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let pool = sqlite_pool_options(options.pool_size, options.acquire_timeout)
            .connect_with(opts.clone())
            .await
            .map_err(fail)?;
        let writer = sqlite_pool_options(1, Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(fail)?;
        let mut store = Store::unaudited(pool, Backend::Sqlite);
        store.sqlite_file = Some(path.to_path_buf());
        Ok((store, writer))
    }

    async fn open_postgres(
        url: &str,
        options: StoreOptions,
    ) -> Result<(Store, AnyPool), StoreError> {
        let fail = |e: sqlx::Error| StoreError::Connect {
            target: redact(url),
            reason: crate::error::server_reason(&e),
        };
        // One connection first, on its own: a pool retries until its time-out and then
        // reports only that it timed out, while the server's own refusal ("too many clients
        // already", "password authentication failed", "database does not exist") is what
        // an operator needs to read.
        let first = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
            .await
            .map_err(fail)?;
        sqlx::Connection::close(first).await.map_err(fail)?;
        let pool = AnyPoolOptions::new()
            .max_connections(options.pool_size)
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await
            .map_err(fail)?;
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(fail)?;
        let mut store = Store::unaudited(pool, Backend::Postgres);
        store.postgres_url = Some(url.to_string());
        Ok((store, writer))
    }

    /// A store on `pool` whose audit writer is not started yet.
    fn unaudited(pool: AnyPool, backend: Backend) -> Store {
        Store {
            pool,
            backend,
            sqlite_file: None,
            audit: None,
            changes: std::sync::Arc::default(),
            postgres_url: None,
        }
    }

    pub(crate) fn audit_writer(&self) -> Result<&crate::audit::AuditWriter, StoreError> {
        self.audit
            .as_deref()
            .map(|(w, _)| w)
            .ok_or(StoreError::ReadOnly)
    }

    /// The key audit entries are signed with; a read-only store has none.
    pub fn audit_keys(&self) -> Result<&AuditKeys, StoreError> {
        self.audit
            .as_deref()
            .map(|(_, k)| k)
            .ok_or(StoreError::ReadOnly)
    }

    /// The connection pool, for modules of the store crate.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction; dropped without `commit` it rolls back.
    pub async fn begin(&self) -> Result<crate::Tx<'static>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Starts a write: every change made through the returned [`WriteTx`] commits together
    /// with the audit entries that record it, or not at all. On SQLite the transaction begins
    /// `IMMEDIATE`, taking the write lock up front (waiting up to the busy timeout), so a
    /// read-then-write sequence cannot fail half-way on a stale snapshot.
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            store: self.clone(),
            audited: false,
            bumped: Vec::new(),
        })
    }

    /// Starts a transaction that will write, for store modules not yet moved to [`WriteTx`].
    pub(crate) async fn begin_write(&self) -> Result<crate::Tx<'static>, StoreError> {
        Ok(self.write().await?.tx)
    }

    /// True when a trivial query succeeds.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The readiness check: a pooled connection can be had within the pool's time-out, and
    /// the database takes a committed write (a full disk, a read-only file or server, or a
    /// lock held for good all fail it). The write is one small row, so probing every few
    /// seconds costs nothing worth counting.
    pub async fn ready(&self) -> Result<(), StoreError> {
        if let Some(free) = self.sqlite_file.as_deref().and_then(free_bytes) {
            // A small probe reuses pages already there and can pass on a full disk, while
            // any write that needs the file or its write-ahead log to grow fails.
            if free < SQLITE_MIN_FREE {
                return Err(StoreError::Unavailable(format!(
                    "only {} KiB free on the database's disk; below {} MiB writes may fail",
                    free / 1024,
                    SQLITE_MIN_FREE >> 20
                )));
            }
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('ready-probe', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(crate::now_unix().to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes every pooled connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(audit) = &self.audit {
            audit.0.close().await;
        }
    }
}

/// A read-only pool on an existing SQLite file. A file in write-ahead-log mode normally needs
/// its shared-memory file beside it, which cannot be made in a read-only folder; when there
/// is no log file beside it (so nothing is waiting to be copied in), the file is opened as
/// immutable instead, which needs none.
async fn open_sqlite_read_only(path: &Path) -> Result<AnyPool, StoreError> {
    let fail = |reason: String| StoreError::SqlitePath {
        path: path.display().to_string(),
        reason,
    };
    if !path.is_file() {
        return Err(fail("there is no such file".into()));
    }
    let options = || {
        AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA query_only = ON").await?;
                    Ok(())
                })
            })
    };
    let open = |query: &'static str| async move {
        let url = format!("sqlite://{}?{query}", path.display());
        let pool = options()
            .connect_with(sqlx::any::AnyConnectOptions::from_str(&url)?)
            .await?;
        sqlx::query("SELECT COUNT(*) FROM sqlite_master")
            .execute(&pool)
            .await?;
        Ok::<AnyPool, sqlx::Error>(pool)
    };
    match open("mode=ro").await {
        Ok(pool) => Ok(pool),
        Err(first) => {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            if Path::new(&wal).exists() {
                return Err(fail(first.to_string()));
            }
            open("mode=ro&immutable=true")
                .await
                .map_err(|e| fail(e.to_string()))
        }
    }
}

/// A write transaction. Store writes are methods of it; [`WriteTx::audit`] appends the audit
/// entries in the same transaction, and [`WriteTx::commit`] refuses to commit changes that
/// no audit entry records. Dropped without committing, it rolls back.
pub struct WriteTx {
    pub(crate) tx: crate::Tx<'static>,
    store: Store,
    audited: bool,
    /// Change topics bumped, with their new versions, published after the commit.
    pub(crate) bumped: Vec<(String, i64)>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("backend", &self.store.backend)
            .field("audited", &self.audited)
            .finish()
    }
}

impl WriteTx {
    /// Appends audit entries to the chain inside this transaction; they become durable with
    /// the changes they record. Returns the first new sequence number.
    pub async fn audit(
        &mut self,
        events: &[&pathways_domain::audit::AuditEvent],
    ) -> Result<i64, StoreError> {
        let seq = crate::audit::append_in(&mut self.tx, &self.store, events).await?;
        self.audited = !events.is_empty() || self.audited;
        Ok(seq)
    }

    /// Commits the changes and their audit entries together.
    pub async fn commit(self) -> Result<(), StoreError> {
        if !self.audited {
            return Err(StoreError::Unaudited);
        }
        self.tx.commit().await?;
        for (topic, version) in &self.bumped {
            self.store.changes.observe(topic, *version);
        }
        Ok(())
    }

    /// Which engine the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.store.backend
    }
}

/// Free space a SQLite database's disk must keep for the database to count as writable:
/// room for the write-ahead log to grow to its checkpoint size (40 MiB, see
/// `wal_autocheckpoint`) is what commits need between checkpoints.
const SQLITE_MIN_FREE: u64 = 16 << 20;

/// Bytes free to this process on the filesystem holding `file`.
fn free_bytes(file: &Path) -> Option<u64> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            parse_target("postgres://u@h/db").expect("valid"),
            Target::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            parse_target("sqlite:///tmp/a.db?mode=rwc").expect("valid"),
            Target::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            parse_target("data/p.db").expect("valid"),
            Target::Sqlite("data/p.db".into())
        );
        assert!(parse_target("mysql://x").is_err());
        assert!(parse_target("").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://…@h:5432/db"
        );
        assert_eq!(redact("/tmp/a.db"), "/tmp/a.db");
    }
}

//! Change notification between the processes and instances sharing one database.
//!
//! Anything a process keeps in memory from the database (the directory's search index, and
//! later instrument versions or settings) names a *topic*. A write that changes it calls
//! [`WriteTx::bump`] in its own transaction: the topic's row in `store_changes` gets the next
//! version, and on PostgreSQL a `NOTIFY pathways_changes` is sent, which the server delivers
//! at commit. Each process learns of changes three ways, fastest first:
//!
//! - its own commits: [`WriteTx::commit`] publishes the versions it bumped at once, so a
//!   process always reads its own writes;
//! - on PostgreSQL, `LISTEN pathways_changes` on a connection of its own;
//! - a periodic read of `store_changes` ([`POLL_POSTGRES`], [`POLL_SQLITE`]), the fallback
//!   that also covers notifications lost while the listening connection was down, and the
//!   only way on SQLite, where another process (the CLI) may write the same file.
//!
//! Versions only grow, and on one topic writers queue on the topic's row until the writer
//! before commits, so when a process has seen version `v`, every change up to `v` is
//! committed and visible to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::connect::Backend;
use crate::{Store, StoreError, Tx, WriteTx, now_unix};

/// How often a PostgreSQL instance reads the versions although no notification came.
pub const POLL_POSTGRES: Duration = Duration::from_secs(1);
/// How often a SQLite process reads the versions (a read of a few rows of a local file).
pub const POLL_SQLITE: Duration = Duration::from_millis(250);
/// The PostgreSQL notification channel.
const CHANNEL: &str = "pathways_changes";

/// The versions this process knows of, by topic; shared by every clone of a [`Store`].
#[derive(Debug, Default)]
pub struct Changes {
    topics: Mutex<HashMap<String, watch::Sender<i64>>>,
    following: std::sync::atomic::AtomicBool,
    /// Wakes the follower to read the versions now (after a notification).
    wake: tokio::sync::Notify,
}

/// One topic's version as this process knows it: cheap to read on every request.
#[derive(Debug, Clone)]
pub struct Topic {
    rx: watch::Receiver<i64>,
}

impl Topic {
    /// The newest version known (0 before the first change).
    pub fn version(&self) -> i64 {
        *self.rx.borrow()
    }

    /// Waits until the version is newer than the one last returned by this handle, and
    /// returns it. Fails only when the store is gone.
    pub async fn changed(&mut self) -> Result<i64, StoreError> {
        self.rx
            .changed()
            .await
            .map_err(|_| StoreError::Unavailable("the store was closed".into()))?;
        Ok(*self.rx.borrow_and_update())
    }

    /// Marks the current version as seen, so [`Topic::changed`] waits for a newer one.
    pub fn mark_seen(&mut self) -> i64 {
        *self.rx.borrow_and_update()
    }
}

impl Changes {
    fn sender(&self, topic: &str) -> watch::Sender<i64> {
        let mut topics = self.topics.lock().expect("the topic map is never poisoned");
        topics
            .entry(topic.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    /// A handle on a topic's version.
    pub fn topic(&self, topic: &str) -> Topic {
        Topic {
            rx: self.sender(topic).subscribe(),
        }
    }

    /// Records that `topic` has reached `version` (never moves a version back).
    pub fn observe(&self, topic: &str, version: i64) {
        self.sender(topic).send_if_modified(|v| {
            if version > *v {
                *v = version;
                true
            } else {
                false
            }
        });
    }
}

impl Store {
    /// The change versions this process knows of.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Reads every topic's version from the database and publishes any newer one.
    pub async fn refresh_changes(&self) -> Result<(), StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT topic, version FROM store_changes")
            .fetch_all(self.pool())
            .await?;
        for (topic, version) in rows {
            self.changes.observe(&topic, version);
        }
        Ok(())
    }

    /// The same database and pool, with change versions of its own, as another process on
    /// the database would hold them (for tests of what other processes see).
    pub fn as_other_process(&self) -> Store {
        let mut other = self.clone();
        other.changes = Arc::default();
        other
    }

    /// One topic's version as stored (0 before the first change).
    pub async fn change_version(&self, topic: &str) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT version FROM store_changes WHERE topic = $1")
                .bind(topic)
                .fetch_optional(self.pool())
                .await?;
        Ok(v.unwrap_or(0))
    }

    /// When `topic` last changed (seconds since the epoch), if it ever did.
    pub async fn changed_at(&self, topic: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT changed_at FROM store_changes WHERE topic = $1")
                .bind(topic)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Starts following changes made by other processes (once per store; later calls do
    /// nothing): a task listens for notifications on PostgreSQL and reads the versions
    /// periodically on both backends. It ends when the last clone of the store is dropped.
    pub fn follow_changes(&self) {
        if self
            .changes
            .following
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let weak = Arc::downgrade(&self.changes);
        let pool = self.pool().clone();
        let backend = self.backend();
        let url = self.postgres_url.clone();
        if let (Backend::Postgres, Some(url)) = (backend, url) {
            tokio::spawn(listen(url, Arc::downgrade(&self.changes)));
        }
        tokio::spawn(poll(pool, weak, backend));
    }
}

/// Reads the versions periodically, and at once when a notification wakes it.
async fn poll(pool: sqlx::AnyPool, changes: Weak<Changes>, backend: Backend) {
    let every = match backend {
        Backend::Postgres => POLL_POSTGRES,
        Backend::Sqlite => POLL_SQLITE,
    };
    loop {
        let Some(c) = changes.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        match sqlx::query_as::<_, (String, i64)>("SELECT topic, version FROM store_changes")
            .fetch_all(&pool)
            .await
        {
            Ok(rows) => {
                for (topic, version) in rows {
                    c.observe(&topic, version);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read change versions; retrying"),
        }
        // Holding the hub while waiting keeps it at most one period after the store is gone.
        let wake = c.wake.notified();
        tokio::select! {
            _ = wake => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Holds `LISTEN pathways_changes` on a connection of its own, reconnecting after a failure;
/// each notification wakes the poller, which reads the versions.
async fn listen(url: String, changes: Weak<Changes>) {
    loop {
        if changes.strong_count() == 0 {
            return;
        }
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; reading them periodically");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for changes; reading them periodically");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
            let Some(c) = changes.upgrade() else { return };
            match next {
                Ok(Ok(_)) => c.wake.notify_one(),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "lost the change listener; reconnecting");
                    c.wake.notify_one();
                    break;
                }
                Err(_) => {}
            }
        }
    }
}

/// Gives `topic` its next version inside `tx` and returns it; on PostgreSQL also queues the
/// notification, sent when `tx` commits. For store modules whose writes do not go through
/// [`WriteTx`]; publish the version with [`Changes::observe`] after committing.
pub(crate) async fn bump_in(
    tx: &mut Tx<'_>,
    backend: Backend,
    topic: &str,
) -> Result<i64, StoreError> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO store_changes (topic, version, changed_at) VALUES ($1, 1, $2) \
         ON CONFLICT (topic) DO UPDATE SET version = store_changes.version + 1, \
         changed_at = excluded.changed_at RETURNING version",
    )
    .bind(topic)
    .bind(now_unix())
    .fetch_one(&mut **tx)
    .await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_notify($1, $2)) AS n")
            .bind(CHANNEL)
            .bind(topic)
            .execute(&mut **tx)
            .await?;
    }
    Ok(version)
}

impl WriteTx {
    /// Gives `topic` its next version as part of this transaction and returns it; every
    /// process on the database learns of it after the commit.
    pub async fn bump(&mut self, topic: &str) -> Result<i64, StoreError> {
        let backend = self.backend();
        let v = bump_in(&mut self.tx, backend, topic).await?;
        self.bumped.push((topic.to_string(), v));
        Ok(v)
    }
}

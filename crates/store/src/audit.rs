//! The append-only, hash-chained audit log. Appends go through one writer task that commits
//! them in batches (group commit): each caller waits until its entry is durable, yet many
//! concurrent requests share one transaction, so auditing every read stays cheap.

use pathways_domain::audit::{AuditEvent, ChainBreak, ChainedEntry, Verifier, chain};
use sqlx::Row as _;
use tokio::sync::{mpsc, oneshot};

use crate::{Store, StoreError, now_unix};

/// How many entries lie between two checkpoints of the chain head.
pub const CHECKPOINT_EVERY: i64 = 1000;
const MAX_BATCH: usize = 256;

type Job = (AuditEvent, oneshot::Sender<Result<i64, String>>);

/// The handle through which entries reach the writer task.
#[derive(Debug)]
pub(crate) struct AuditWriter {
    jobs: mpsc::Sender<Job>,
    own: sqlx::AnyPool,
}

impl AuditWriter {
    /// Starts the writer task on `own`, a one-connection pool nothing else uses, so a batch
    /// never queues behind requests for a pooled connection (every audited request waits
    /// for its batch, so that queue would be on every request's path); `shared`, the
    /// store's pool, serves SQLite's background checkpoints.
    pub(crate) fn start(
        own: sqlx::AnyPool,
        shared: sqlx::AnyPool,
        backend: crate::Backend,
    ) -> AuditWriter {
        let (jobs, rx) = mpsc::channel(4096);
        tokio::spawn(writer_loop(own.clone(), shared, backend, rx));
        AuditWriter { jobs, own }
    }

    /// Closes the writer's connection (graceful shutdown).
    pub(crate) async fn close(&self) {
        self.own.close().await;
    }
}

/// The chain head as this writer last wrote it: sequence number and hash.
type Head = Option<(i64, String)>;

/// How often the writer has SQLite copy its write-ahead log into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

async fn writer_loop(
    pool: sqlx::AnyPool,
    shared: sqlx::AnyPool,
    backend: crate::Backend,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut head: Head = None;
    let checkpointing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut last_checkpoint = std::time::Instant::now();
    while let Some(first) = rx.recv().await {
        if backend == crate::Backend::Sqlite && last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL {
            last_checkpoint = std::time::Instant::now();
            checkpoint_beside(&shared, &checkpointing);
        }
        // Let every request that is ready to run reach its audit point before the batch is
        // taken: under load the batch grows and the commits per request fall; when idle the
        // writer is the only task ready and goes straight on.
        tokio::task::yield_now().await;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let events: Vec<&AuditEvent> = batch.iter().map(|(e, _)| e).collect();
        let fast = match &head {
            Some((seq, hash)) => write_batch_after(&pool, backend, *seq, hash, &events).await,
            None => Ok(None),
        };
        let result = match fast {
            Ok(Some(written)) => Ok(written),
            // Another process (or a transaction of this one) moved the head, the batch holds
            // a PostgreSQL checkpoint, or the head is not known yet: the general path reads
            // the head.
            Ok(None) => write_batch(&pool, backend, &events).await,
            Err(e) => Err(e),
        };
        let result = result.map(|(first_seq, new_head)| {
            head = Some(new_head);
            first_seq
        });
        if result.is_err() {
            head = None;
        }
        match result {
            Ok(first_seq) => {
                for (i, (_, ack)) in batch.into_iter().enumerate() {
                    let _ = ack.send(Ok(first_seq + i as i64));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "audit batch failed");
                for (_, ack) in batch {
                    let _ = ack.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Starts a passive SQLite checkpoint on another connection unless one is running. Left to
/// SQLite, the checkpoint runs inside whichever commit crosses the log's size limit: that is
/// nearly always this writer's, and every request waiting for its audit entry would wait for
/// the copy and its flush too. A passive checkpoint never blocks the writer or readers; the
/// connections' own automatic checkpoint (at a larger size, see `connect.rs`) stays as a
/// safety net when nothing is audited for a while.
fn checkpoint_beside(
    pool: &sqlx::AnyPool,
    running: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    if running.swap(true, Ordering::AcqRel) {
        return;
    }
    let (pool, running) = (pool.clone(), running.clone());
    tokio::spawn(async move {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_all(&pool)
            .await
        {
            tracing::warn!(error = %e, "background checkpoint failed");
        }
        running.store(false, Ordering::Release);
    });
}

/// Rows per multi-row `INSERT` in the general path: 12 parameters each keeps a statement
/// well under both backends' parameter limits (a one-statement batch of [`MAX_BATCH`] rows
/// binds 3,072, still far below SQLite's 32,766 and PostgreSQL's 65,535).
const INSERT_CHUNK: usize = 64;

async fn write_batch(
    pool: &sqlx::AnyPool,
    backend: crate::Backend,
    events: &[&AuditEvent],
) -> Result<(i64, (i64, String)), StoreError> {
    let mut tx = pool.begin().await?;
    let written = append_chain(&mut tx, backend, events).await?;
    tx.commit().await?;
    Ok(written)
}

/// The one-statement append: chains the batch onto the head this writer last wrote and
/// inserts it only if that is still the head, so a batch costs one statement instead of five.
/// `Ok(None)` when the head has moved (another process, or a transaction of this one, wrote)
/// or, on PostgreSQL, when the batch would need a checkpoint; nothing is written then.
///
/// On PostgreSQL the statement moves `audit_head` with a compare-and-set in a `WITH` clause
/// and inserts only if that succeeded. On SQLite it is a plain multi-row `INSERT` outside any
/// explicit transaction: the schema's triggers (migration 0009) refuse an entry that does not
/// follow the recorded head, move the head and record checkpoints, so the statement appends
/// the whole batch or nothing.
async fn write_batch_after(
    pool: &sqlx::AnyPool,
    backend: crate::Backend,
    seq: i64,
    hash: &str,
    events: &[&AuditEvent],
) -> Result<Option<(i64, (i64, String))>, StoreError> {
    let (entries, (last_seq, last_hash)) = chain_onto(seq, hash.to_string(), events);
    let written = Some((seq + 1, (last_seq, last_hash.clone())));
    if backend == crate::Backend::Sqlite {
        let mut sql = String::from(INSERT_ENTRIES);
        push_value_rows(&mut sql, entries.len(), 0);
        return match bind_entries(sqlx::query(&sql), &entries)
            .execute(pool)
            .await
        {
            Ok(_) => Ok(written),
            Err(sqlx::Error::Database(e)) if e.message().contains(HEAD_MOVED) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    if entries.iter().any(|e| e.seq % CHECKPOINT_EVERY == 0) {
        return Ok(None);
    }
    let mut sql = String::from(
        "WITH head AS (UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 RETURNING id) \
         INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id, client, \
         reason, outcome, prev_hash, hash) SELECT v.* FROM (VALUES ",
    );
    push_value_rows(&mut sql, entries.len(), 3);
    sql.push_str(
        ") AS v(seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, \
         outcome, prev_hash, hash) WHERE EXISTS (SELECT 1 FROM head)",
    );
    let q = sqlx::query(&sql).bind(last_seq).bind(&last_hash).bind(seq);
    let done = bind_entries(q, &entries).execute(pool).await?;
    if done.rows_affected() != entries.len() as u64 {
        return Ok(None);
    }
    Ok(written)
}

/// What the SQLite trigger says when an entry does not follow the head.
const HEAD_MOVED: &str = "audit chain: entry does not follow the head";

const INSERT_ENTRIES: &str = "INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, \
     record_type, record_id, client, reason, outcome, prev_hash, hash) VALUES ";

/// Chains `events` after the head (`seq`, `hash`): the entries and the new head.
fn chain_onto(
    mut seq: i64,
    mut hash: String,
    events: &[&AuditEvent],
) -> (Vec<ChainedEntry>, (i64, String)) {
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        let entry = chain(seq, &hash, (*event).clone());
        seq = entry.seq;
        hash.clone_from(&entry.hash);
        entries.push(entry);
    }
    (entries, (seq, hash))
}

/// Appends `rows` parenthesised groups of twelve placeholders, numbered after `offset`.
fn push_value_rows(sql: &mut String, rows: usize, offset: usize) {
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        let p = offset + i * 12;
        sql.push('(');
        for c in 1..=12 {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(p + c).to_string());
        }
        sql.push(')');
    }
}

/// Binds each entry's twelve columns in `audit_log` order.
fn bind_entries<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    entries: &'q [ChainedEntry],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for e in entries {
        let ev = &e.event;
        q = q
            .bind(e.seq)
            .bind(ev.at)
            .bind(&ev.actor_id)
            .bind(&ev.actor_agency)
            .bind(&ev.action)
            .bind(&ev.record_type)
            .bind(&ev.record_id)
            .bind(&ev.client)
            .bind(&ev.reason)
            .bind(&ev.outcome)
            .bind(&e.prev_hash)
            .bind(&e.hash);
    }
    q
}

/// Appends events to the chain inside the caller's transaction and returns the first new
/// sequence number; they become durable when, and only if, that transaction commits. For
/// rare writes whose record and audit entry must not exist one without the other.
pub(crate) async fn append_in(
    tx: &mut crate::Tx<'_>,
    backend: crate::Backend,
    events: &[&AuditEvent],
) -> Result<i64, StoreError> {
    Ok(append_chain(tx, backend, events).await?.0)
}

/// [`append_in`], also returning the new head (sequence number and hash).
async fn append_chain(
    tx: &mut crate::Tx<'_>,
    backend: crate::Backend,
    events: &[&AuditEvent],
) -> Result<(i64, (i64, String)), StoreError> {
    // Taking the head row's write lock first serialises writers across processes and, on
    // SQLite, takes the database write lock before anything is read; RETURNING reads the
    // head in the same round trip.
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let first = seq + 1;
    let (entries, (seq, hash)) = chain_onto(seq, hash, events);
    // One statement per chunk rather than per entry: the batch costs a few round trips
    // whatever its size, which is what keeps auditing every read cheap.
    for chunk in entries.chunks(INSERT_CHUNK) {
        insert_entries(tx, chunk).await?;
    }
    if backend == crate::Backend::Sqlite {
        // The schema's triggers moved the head and recorded the checkpoints.
        return Ok((first, (seq, hash)));
    }
    for entry in entries.iter().filter(|e| e.seq % CHECKPOINT_EVERY == 0) {
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at) VALUES ($1, $2, $3)")
            .bind(entry.seq)
            .bind(&entry.hash)
            .bind(now_unix())
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok((first, (seq, hash)))
}

async fn insert_entries(
    tx: &mut crate::Tx<'_>,
    entries: &[ChainedEntry],
) -> Result<(), StoreError> {
    let mut sql = String::from(INSERT_ENTRIES);
    push_value_rows(&mut sql, entries.len(), 0);
    let q = bind_entries(sqlx::query(&sql), entries);
    q.execute(&mut **tx).await?;
    Ok(())
}

fn entry_from(r: &crate::Row) -> Result<ChainedEntry, StoreError> {
    Ok(ChainedEntry {
        seq: r.try_get("seq")?,
        event: AuditEvent {
            at: r.try_get("at")?,
            actor_id: r.try_get("actor_id")?,
            actor_agency: r.try_get("actor_agency")?,
            action: r.try_get("action")?,
            record_type: r.try_get("record_type")?,
            record_id: r.try_get("record_id")?,
            client: r.try_get("client")?,
            reason: r.try_get("reason")?,
            outcome: r.try_get("outcome")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const ENTRY_COLUMNS: &str = "seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, outcome, prev_hash, hash";

/// The result of a full verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints compared.
    pub checkpoints: u64,
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken; names the first bad entry.
    #[error("audit chain broken: {0}")]
    Broken(#[from] ChainBreak),
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Filters for a record's access log.
#[derive(Debug, Clone, Default)]
pub struct AccessLogQuery {
    /// Only this actor.
    pub actor_id: Option<String>,
    /// From this instant.
    pub from: Option<i64>,
    /// Up to this instant.
    pub to: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

impl Store {
    /// Appends an event and waits until it is durable; returns its sequence number.
    pub async fn audit(&self, event: AuditEvent) -> Result<i64, StoreError> {
        let (ack, done) = oneshot::channel();
        self.audit_writer()
            .jobs
            .send((event, ack))
            .await
            .map_err(|_| StoreError::Conflict("the audit writer has stopped".into()))?;
        match done.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(e)) => Err(StoreError::Conflict(format!("audit write failed: {e}"))),
            Err(_) => Err(StoreError::Conflict("the audit writer has stopped".into())),
        }
    }

    /// Walks the whole chain and every checkpoint; names the first bad entry.
    pub async fn verify_audit(&self) -> Result<VerifyReport, VerifyError> {
        let mut verifier = Verifier::default();
        let checkpoints = sqlx::query("SELECT seq, hash FROM audit_checkpoints ORDER BY seq")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::from)?;
        let mut checkpoints: std::collections::VecDeque<(i64, String)> = checkpoints
            .iter()
            .map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)?;
        let total_checkpoints = checkpoints.len() as u64;
        let mut after = 0i64;
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000");
        loop {
            let rows = sqlx::query(&sql)
                .bind(after)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let entry = entry_from(row)?;
                verifier.check(&entry)?;
                while checkpoints.front().is_some_and(|c| c.0 <= entry.seq) {
                    let (seq, hash) = checkpoints.pop_front().expect("front exists");
                    if seq != entry.seq || hash != entry.hash {
                        return Err(ChainBreak::Anchor {
                            seq,
                            place: "a checkpoint",
                        }
                        .into());
                    }
                }
                after = entry.seq;
            }
        }
        if let Some((seq, _)) = checkpoints.front() {
            return Err(ChainBreak::Anchor {
                seq: *seq,
                place: "a checkpoint",
            }
            .into());
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::from)?;
        let (head_seq, head_hash): (i64, String) = (
            head.try_get("seq").map_err(StoreError::from)?,
            head.try_get("hash").map_err(StoreError::from)?,
        );
        let entries = verifier.finish(head_seq, &head_hash)?;
        Ok(VerifyReport {
            entries,
            checkpoints: total_checkpoints,
        })
    }

    /// Who did what to one record, newest first, with optional filters.
    pub async fn access_log(
        &self,
        record_type: &str,
        record_id: &str,
        q: &AccessLogQuery,
    ) -> Result<Vec<ChainedEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE record_type = $1 AND record_id = $2 \
             AND ($3 = '' OR actor_id = $3) AND at >= $4 AND at <= $5 ORDER BY seq DESC LIMIT $6"
        );
        let rows = sqlx::query(&sql)
            .bind(record_type)
            .bind(record_id)
            .bind(q.actor_id.clone().unwrap_or_default())
            .bind(q.from.unwrap_or(0))
            .bind(q.to.unwrap_or(i64::MAX))
            .bind(if q.limit > 0 { q.limit } else { 500 })
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(entry_from).collect()
    }

    /// The newest entries of the whole log (administrators).
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<ChainedEntry>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1");
        let rows = sqlx::query(&sql).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(entry_from).collect()
    }
}

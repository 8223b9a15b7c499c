//! The append-only, hash-chained audit log. Appends go through one writer task that commits
//! them in batches (group commit): each caller waits until its entry is durable, yet many
//! concurrent requests share one transaction, so auditing every read stays cheap.

use pathways_domain::audit::signed::{KeyRing, SignatureProblem, Signed, Statement, StatementKind};
use pathways_domain::audit::{AuditEvent, ChainBreak, ChainedEntry, GENESIS, Verifier, chain};
use sqlx::Row as _;
use tokio::sync::{mpsc, oneshot};

use crate::keys::AuditKeys;
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
        keys: AuditKeys,
    ) -> AuditWriter {
        let (jobs, rx) = mpsc::channel(4096);
        tokio::spawn(writer_loop(own.clone(), shared, backend, keys, rx));
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
    keys: AuditKeys,
    mut rx: mpsc::Receiver<Job>,
) {
    let writer = Append {
        backend,
        keys: &keys,
    };
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
            Some((seq, hash)) => writer.batch_after(&pool, *seq, hash, &events).await,
            None => Ok(None),
        };
        let result = match fast {
            Ok(Some(written)) => Ok(written),
            // Another process (or a transaction of this one) moved the head, the batch holds
            // a PostgreSQL checkpoint, or the head is not known yet: the general path reads
            // the head.
            Ok(None) => writer.batch(&pool, &events).await,
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

/// Rows per multi-row `INSERT` in the general path: at most 16 parameters each keeps a
/// statement well under both backends' parameter limits (a one-statement batch of
/// [`MAX_BATCH`] rows binds 4,096, still far below SQLite's 32,766 and PostgreSQL's 65,535).
const INSERT_CHUNK: usize = 64;

/// The signatures one batch needs: the checkpoint at each thousandth entry and the head
/// after the batch, all made at one instant with the signing key.
struct BatchSignatures {
    at: i64,
    key: String,
    /// One per entry: the checkpoint signature, or empty where there is no checkpoint.
    checkpoints: Vec<String>,
    head: String,
}

fn sign_batch(keys: &AuditKeys, entries: &[ChainedEntry], head: (i64, &str)) -> BatchSignatures {
    let at = now_unix();
    let signer = keys.signer();
    let checkpoints = entries
        .iter()
        .map(|e| {
            if e.seq % CHECKPOINT_EVERY == 0 {
                signer
                    .sign(Statement {
                        kind: StatementKind::Checkpoint,
                        seq: e.seq,
                        hash: e.hash.clone(),
                        at,
                    })
                    .signature
            } else {
                String::new()
            }
        })
        .collect();
    let head = signer
        .sign(Statement {
            kind: StatementKind::Head,
            seq: head.0,
            hash: head.1.to_string(),
            at,
        })
        .signature;
    BatchSignatures {
        at,
        key: signer.public_key().to_string(),
        checkpoints,
        head,
    }
}

/// What appending needs besides the connection: the backend's dialect and the signing key.
struct Append<'k> {
    backend: crate::Backend,
    keys: &'k AuditKeys,
}

impl Append<'_> {
    async fn batch(
        &self,
        pool: &sqlx::AnyPool,
        events: &[&AuditEvent],
    ) -> Result<(i64, (i64, String)), StoreError> {
        let mut tx = pool.begin().await?;
        let written = self.chain(&mut tx, events).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// The one-statement append: chains the batch onto the head this writer last wrote and
    /// inserts it only if that is still the head, so a batch costs one statement instead of
    /// five. `Ok(None)` when the head has moved (another process, or a transaction of this
    /// one, wrote) or, on PostgreSQL, when the batch would need a checkpoint; nothing is
    /// written then.
    ///
    /// On PostgreSQL the statement moves `audit_head` (with the head's signature) with a
    /// compare-and-set in a `WITH` clause and inserts only if that succeeded. On SQLite it is
    /// a plain multi-row `INSERT` into the `audit_append` view outside any explicit
    /// transaction: the schema's triggers (migrations 0009 and 0010) refuse an entry that
    /// does not follow the recorded head, move the head with its signature and record signed
    /// checkpoints, so the statement appends the whole batch or nothing.
    async fn batch_after(
        &self,
        pool: &sqlx::AnyPool,
        seq: i64,
        hash: &str,
        events: &[&AuditEvent],
    ) -> Result<Option<(i64, (i64, String))>, StoreError> {
        let (entries, (last_seq, last_hash)) = chain_onto(seq, hash.to_string(), events);
        let written = Some((seq + 1, (last_seq, last_hash.clone())));
        if self.backend == crate::Backend::Sqlite {
            let sigs = sign_batch(self.keys, &entries, (last_seq, &last_hash));
            let mut sql = String::from(INSERT_APPEND);
            push_value_rows(&mut sql, entries.len(), 0, APPEND_COLUMNS);
            return match bind_appends(sqlx::query(&sql), &entries, &sigs, 0)
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
        let sigs = sign_batch(self.keys, &entries, (last_seq, &last_hash));
        let mut sql = String::from(
            "WITH head AS (UPDATE audit_head SET seq = $1, hash = $2, at = $4, signing_key = $5, \
             signature = $6 WHERE id = 1 AND seq = $3 RETURNING id) \
             INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id, client, \
             reason, outcome, prev_hash, hash) SELECT v.* FROM (VALUES ",
        );
        push_value_rows(&mut sql, entries.len(), 6, ENTRY_WIDTH);
        sql.push_str(
            ") AS v(seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, \
             outcome, prev_hash, hash) WHERE EXISTS (SELECT 1 FROM head)",
        );
        let q = sqlx::query(&sql)
            .bind(last_seq)
            .bind(&last_hash)
            .bind(seq)
            .bind(sigs.at)
            .bind(&sigs.key)
            .bind(&sigs.head);
        let done = bind_entries(q, &entries).execute(pool).await?;
        if done.rows_affected() != entries.len() as u64 {
            return Ok(None);
        }
        Ok(written)
    }

    /// Appends inside `tx` after taking the head's lock; returns the first new sequence
    /// number and the new head.
    async fn chain(
        &self,
        tx: &mut crate::Tx<'_>,
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
        let sigs = sign_batch(self.keys, &entries, (seq, &hash));
        // One statement per chunk rather than per entry: the batch costs a few round trips
        // whatever its size, which is what keeps auditing every read cheap.
        if self.backend == crate::Backend::Sqlite {
            // The view's trigger moves the head and records the checkpoints.
            for (i, chunk) in entries.chunks(INSERT_CHUNK).enumerate() {
                let mut sql = String::from(INSERT_APPEND);
                push_value_rows(&mut sql, chunk.len(), 0, APPEND_COLUMNS);
                bind_appends(sqlx::query(&sql), chunk, &sigs, i * INSERT_CHUNK)
                    .execute(&mut **tx)
                    .await?;
            }
            return Ok((first, (seq, hash)));
        }
        for chunk in entries.chunks(INSERT_CHUNK) {
            let mut sql = String::from(INSERT_ENTRIES);
            push_value_rows(&mut sql, chunk.len(), 0, ENTRY_WIDTH);
            bind_entries(sqlx::query(&sql), chunk)
                .execute(&mut **tx)
                .await?;
        }
        for (entry, signature) in entries.iter().zip(&sigs.checkpoints) {
            if signature.is_empty() {
                continue;
            }
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, at, signing_key, signature) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(entry.seq)
            .bind(&entry.hash)
            .bind(sigs.at)
            .bind(&sigs.key)
            .bind(signature)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "UPDATE audit_head SET seq = $1, hash = $2, at = $3, signing_key = $4, signature = $5 \
             WHERE id = 1",
        )
        .bind(seq)
        .bind(&hash)
        .bind(sigs.at)
        .bind(&sigs.key)
        .bind(&sigs.head)
        .execute(&mut **tx)
        .await?;
        Ok((first, (seq, hash)))
    }
}

/// What the SQLite trigger says when an entry does not follow the head.
const HEAD_MOVED: &str = "audit chain: entry does not follow the head";

const INSERT_ENTRIES: &str = "INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, \
     record_type, record_id, client, reason, outcome, prev_hash, hash) VALUES ";

/// SQLite's append: entries with their signatures, through the `audit_append` view.
const INSERT_APPEND: &str = "INSERT INTO audit_append (seq, at, actor_id, actor_agency, action, \
     record_type, record_id, client, reason, outcome, prev_hash, hash, signed_at, signing_key, \
     head_signature, checkpoint_signature) VALUES ";

/// Columns of an entry in `audit_log`.
const ENTRY_WIDTH: usize = 12;
/// Columns of a row of `audit_append`: the entry and four for its signatures.
const APPEND_COLUMNS: usize = 16;

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

/// Appends `rows` parenthesised groups of `width` placeholders, numbered after `offset`.
fn push_value_rows(sql: &mut String, rows: usize, offset: usize, width: usize) {
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        let p = offset + i * width;
        sql.push('(');
        for c in 1..=width {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(p + c).to_string());
        }
        sql.push(')');
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_entry<'q>(q: AnyQuery<'q>, e: &'q ChainedEntry) -> AnyQuery<'q> {
    let ev = &e.event;
    q.bind(e.seq)
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
        .bind(&e.hash)
}

/// Binds each entry's twelve columns in `audit_log` order.
fn bind_entries<'q>(mut q: AnyQuery<'q>, entries: &'q [ChainedEntry]) -> AnyQuery<'q> {
    for e in entries {
        q = bind_entry(q, e);
    }
    q
}

/// Binds rows of `audit_append`: each entry, then the signing instant and key, the head's
/// signature on the batch's last entry and the checkpoint's where there is one. `from` is
/// the index of `entries[0]` in the batch.
fn bind_appends<'q>(
    mut q: AnyQuery<'q>,
    entries: &'q [ChainedEntry],
    sigs: &'q BatchSignatures,
    from: usize,
) -> AnyQuery<'q> {
    let last = sigs.checkpoints.len() - 1;
    for (i, e) in entries.iter().enumerate() {
        let at = from + i;
        q = bind_entry(q, e)
            .bind(sigs.at)
            .bind(&sigs.key)
            .bind(if at == last { sigs.head.as_str() } else { "" })
            .bind(sigs.checkpoints[at].as_str());
    }
    q
}

/// Appends events to the chain inside the caller's transaction and returns the first new
/// sequence number; they become durable when, and only if, that transaction commits. For
/// rare writes whose record and audit entry must not exist one without the other.
pub(crate) async fn append_in(
    tx: &mut crate::Tx<'_>,
    store: &Store,
    events: &[&AuditEvent],
) -> Result<i64, StoreError> {
    let keys = store.audit_keys()?;
    let append = Append {
        backend: store.backend(),
        keys,
    };
    Ok(append.chain(tx, events).await?.0)
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
    /// Checkpoints compared (each with its signature, unless only hashes were checked).
    pub checkpoints: u64,
    /// Witness statements the log was shown to extend.
    pub witnesses: u64,
    /// The head: its sequence number and hash.
    pub head: (i64, String),
    /// The key that signed the head (`ed25519:HEX`), or empty when only hashes were checked.
    pub head_key: String,
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken; names the first bad entry.
    #[error("audit chain broken: {0}")]
    Broken(#[from] ChainBreak),
    /// The audit tables are not there or not whole: a table, a column or the head row.
    #[error("audit log damaged: {0}")]
    Damaged(String),
    /// A witness statement given to compare with is not signed by a trusted key.
    #[error("the witness checkpoint for entry {seq} cannot be trusted: {problem}")]
    UntrustedWitness { seq: i64, problem: SignatureProblem },
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a failed query on the audit tables: a missing table or column is damage to report
/// plainly, anything else a database error.
fn damage(e: sqlx::Error) -> VerifyError {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        let msg = db.message();
        if code == "42P01" || msg.contains("no such table") {
            return VerifyError::Damaged(format!("a table of the audit log is missing ({msg})"));
        }
        if code == "42703" || msg.contains("no such column") {
            return VerifyError::Damaged(format!(
                "a column of the audit log is missing ({msg}); a database from before signed \
                 checkpoints must be upgraded first (`pathways migrate`)"
            ));
        }
    }
    VerifyError::Store(e.into())
}

struct CheckpointRow {
    seq: i64,
    hash: String,
    at: i64,
    key: String,
    signature: String,
}

struct HeadRow {
    seq: i64,
    hash: String,
    at: i64,
    key: String,
    signature: String,
}

async fn read_head(conn: &mut sqlx::AnyConnection) -> Result<HeadRow, VerifyError> {
    let row =
        sqlx::query("SELECT seq, hash, at, signing_key, signature FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(damage)?
            .ok_or_else(|| {
                VerifyError::Damaged("the chain head (row 1 of audit_head) is missing".into())
            })?;
    let get = |e: sqlx::Error| VerifyError::Store(e.into());
    Ok(HeadRow {
        seq: row.try_get("seq").map_err(get)?,
        hash: row.try_get("hash").map_err(get)?,
        at: row.try_get("at").map_err(get)?,
        key: row.try_get("signing_key").map_err(get)?,
        signature: row.try_get("signature").map_err(get)?,
    })
}

async fn read_checkpoints(
    conn: &mut sqlx::AnyConnection,
) -> Result<std::collections::VecDeque<CheckpointRow>, VerifyError> {
    let rows = sqlx::query(
        "SELECT seq, hash, at, signing_key, signature FROM audit_checkpoints ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(damage)?;
    rows.iter()
        .map(|r| {
            Ok(CheckpointRow {
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                at: r.try_get("at")?,
                key: r.try_get("signing_key")?,
                signature: r.try_get("signature")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(|e| VerifyError::Store(e.into()))
}

/// Walks the chain on `conn`, which should hold one snapshot of the database. With `trust`,
/// every checkpoint and the head must carry a valid signature by a trusted key; without, only
/// hashes are checked (when a new key adopts a log that was never signed). Each witness
/// statement's entry must still carry the witnessed hash.
async fn walk(
    conn: &mut sqlx::AnyConnection,
    trust: Option<&KeyRing>,
    witnesses: &[Signed],
) -> Result<VerifyReport, VerifyError> {
    if let Some(trust) = trust {
        for w in witnesses {
            trust
                .check(w)
                .map_err(|problem| VerifyError::UntrustedWitness {
                    seq: w.statement.seq,
                    problem,
                })?;
        }
    }
    let head = read_head(conn).await?;
    let mut checkpoints = read_checkpoints(conn).await?;
    let total_checkpoints = checkpoints.len() as u64;
    let signature = |seq: i64, place: &'static str, problem: SignatureProblem| {
        VerifyError::Broken(ChainBreak::Signature {
            seq,
            place,
            problem,
        })
    };
    let mut verifier = Verifier::default();
    let mut after = 0i64;
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000");
    loop {
        let rows = sqlx::query(&sql)
            .bind(after)
            .fetch_all(&mut *conn)
            .await
            .map_err(damage)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let entry = entry_from(row)?;
            verifier.check(&entry)?;
            let mut anchored = false;
            while checkpoints.front().is_some_and(|c| c.seq <= entry.seq) {
                let c = checkpoints.pop_front().expect("front exists");
                if c.seq != entry.seq || c.hash != entry.hash {
                    return Err(ChainBreak::Anchor {
                        seq: c.seq,
                        place: "a checkpoint",
                    }
                    .into());
                }
                if let Some(trust) = trust {
                    let statement = Statement {
                        kind: StatementKind::Checkpoint,
                        seq: c.seq,
                        hash: c.hash,
                        at: c.at,
                    };
                    trust
                        .check_stored(statement, &c.key, &c.signature)
                        .map_err(|p| signature(c.seq, "the checkpoint recorded for it", p))?;
                }
                anchored = true;
            }
            if entry.seq % CHECKPOINT_EVERY == 0 && !anchored {
                return Err(ChainBreak::MissingCheckpoint { seq: entry.seq }.into());
            }
            if witnesses
                .iter()
                .any(|w| w.statement.seq == entry.seq && w.statement.hash != entry.hash)
            {
                return Err(ChainBreak::Witness { seq: entry.seq }.into());
            }
            after = entry.seq;
        }
    }
    if let Some(c) = checkpoints.front() {
        return Err(ChainBreak::Anchor {
            seq: c.seq,
            place: "a checkpoint",
        }
        .into());
    }
    for w in witnesses {
        if w.statement.seq > after {
            return Err(ChainBreak::Truncated {
                witnessed: w.statement.seq,
                last: after,
            }
            .into());
        }
        if w.statement.seq == 0 && w.statement.hash != GENESIS {
            return Err(ChainBreak::Witness { seq: 0 }.into());
        }
    }
    let entries = verifier.finish(head.seq, &head.hash)?;
    let mut head_key = String::new();
    if let Some(trust) = trust {
        let statement = Statement {
            kind: StatementKind::Head,
            seq: head.seq,
            hash: head.hash.clone(),
            at: head.at,
        };
        trust
            .check_stored(statement, &head.key, &head.signature)
            .map_err(|p| signature(head.seq, "the chain head", p))?;
        head_key = head.key;
    }
    Ok(VerifyReport {
        entries,
        checkpoints: total_checkpoints,
        witnesses: witnesses.len() as u64,
        head: (head.seq, head.hash),
        head_key,
    })
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
        self.audit_writer()?
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

    /// Walks the whole chain in one snapshot of the database: every entry, every checkpoint
    /// and the head, whose signatures must be by keys in `trust`; and each witness statement
    /// (a signed head exported earlier) must name an entry the log still has, with the same
    /// hash. Names the first bad entry. Reads only: works on a read-only store.
    pub async fn verify_audit(
        &self,
        trust: &KeyRing,
        witnesses: &[Signed],
    ) -> Result<VerifyReport, VerifyError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        }
        let report = walk(&mut tx, Some(trust), witnesses).await;
        tx.rollback().await.map_err(StoreError::from)?;
        report
    }

    /// Checks the signing key against the log when the store opens. A log whose head is
    /// signed by a key this process does not trust is refused: it was signed by a key file
    /// that is not the one configured (restore that file). A log that was never signed is
    /// adopted by a key made just now: its hashes are checked, then its checkpoints and
    /// head are signed, all in one transaction. A key that is not new adopts nothing, so
    /// stripping the signatures from a log never gets them made again.
    pub(crate) async fn check_audit_key(&self, keys: &AuditKeys) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        // The head's lock first (on SQLite the write lock), so no append runs in between.
        let lock = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        if lock.rows_affected() != 1 {
            return Err(StoreError::AuditKey(
                "the audit chain's head (row 1 of audit_head) is missing; run `pathways audit verify` \
                 and restore from a backup"
                    .into(),
            ));
        }
        let head = read_head(&mut tx).await.map_err(verify_to_store)?;
        let ring = keys.ring();
        if !head.key.is_empty() {
            let known = pathways_domain::audit::signed::PublicKey::parse(&head.key)
                .is_ok_and(|k| ring.keys().iter().any(|t| t.key == k));
            if !known {
                return Err(StoreError::AuditKey(format!(
                    "the audit log's head is signed with {}, but the signing key{} is {} and no \
                     retired key matches: restore the key file that signed the log (or add its \
                     public key to the retired-keys file) before starting",
                    head.key,
                    keys.path()
                        .map(|p| format!(" at {}", p.display()))
                        .unwrap_or_default(),
                    keys.public_key()
                )));
            }
            return Ok(());
        }
        let signed_checkpoints: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_checkpoints WHERE signature <> ''",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !keys.is_fresh() || signed_checkpoints > 0 {
            return Ok(());
        }
        let walked = walk(&mut tx, None, &[]).await.map_err(|e| {
            StoreError::AuditKey(format!(
                "the new signing key cannot adopt the audit log, which is not intact: {e}"
            ))
        })?;
        let signer = keys.signer();
        let at = now_unix();
        let key = signer.public_key().to_string();
        for c in read_checkpoints(&mut tx).await.map_err(verify_to_store)? {
            let signed = signer.sign(Statement {
                kind: StatementKind::Checkpoint,
                seq: c.seq,
                hash: c.hash,
                at,
            });
            sqlx::query(
                "UPDATE audit_checkpoints SET at = $1, signing_key = $2, signature = $3 WHERE seq = $4",
            )
            .bind(at)
            .bind(&key)
            .bind(&signed.signature)
            .bind(c.seq)
            .execute(&mut *tx)
            .await?;
        }
        let (seq, hash) = walked.head;
        let signed = signer.sign(Statement {
            kind: StatementKind::Head,
            seq,
            hash,
            at,
        });
        sqlx::query("UPDATE audit_head SET at = $1, signing_key = $2, signature = $3 WHERE id = 1")
            .bind(at)
            .bind(&key)
            .bind(&signed.signature)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if walked.entries > 0 {
            tracing::info!(
                entries = walked.entries,
                "the new audit signing key signed the existing checkpoints and head"
            );
        }
        Ok(())
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

fn verify_to_store(e: VerifyError) -> StoreError {
    match e {
        VerifyError::Store(e) => e,
        other => StoreError::AuditKey(other.to_string()),
    }
}

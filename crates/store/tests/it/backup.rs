//! Online backups taken while writes are in flight, and their restoration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pathways_domain::AgencyKind;
use pathways_domain::audit::AuditEvent;
use pathways_store::backup::restore_sqlite;
use pathways_store::testing::TestDatabase;
use pathways_store::{AuditKeys, BackupError, Store};
use tokio::sync::{Mutex, Notify};

fn written(i: usize, agency: &str) -> AuditEvent {
    AuditEvent {
        at: 1_800_000_000 + i as i64,
        actor_id: format!("writer-{}", i % 4),
        actor_agency: String::new(),
        action: "agency_created".into(),
        record_type: "agency".into(),
        record_id: agency.into(),
        client: "test".into(),
        reason: String::new(),
        outcome: "allowed".into(),
    }
}

/// Every write that was acknowledged (the agency, then its audit entry): its agency id and
/// the entry's sequence number.
type Acked = Arc<Mutex<Vec<(String, i64)>>>;

#[tokio::test]
async fn a_backup_taken_under_concurrent_writes_restores_every_acknowledged_write() {
    let db = TestDatabase::sqlite().await.expect("db");
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Notify::new());
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, acked, stop, progress) = (
            db.store.clone(),
            acked.clone(),
            stop.clone(),
            progress.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Acquire) {
                let agency = pathways_store::testing::create_agency(
                    &store,
                    &format!("Agency {i}"),
                    AgencyKind::School,
                )
                .await
                .expect("agency");
                let seq = store.audit(written(i, &agency.id)).await.expect("audited");
                acked.lock().await.push((agency.id, seq));
                progress.notify_one();
                i += 4;
            }
        }));
    }
    // Let writes build up, then take the backup while they go on.
    while acked.lock().await.len() < 200 {
        progress.notified().await;
    }
    let before: Vec<(String, i64)> = acked.lock().await.clone();
    let dir = tempdir();
    let out = dir.join("backup.db");
    db.store.backup_to(&out).await.expect("backup");
    let during = acked.lock().await.len();
    while acked.lock().await.len() < during + 50 {
        progress.notified().await;
    }
    stop.store(true, Ordering::Release);
    for w in writers {
        w.await.expect("writer");
    }
    let err = db.store.backup_to(&out).await.expect_err("no overwrite");
    assert!(matches!(err, BackupError::Exists { .. }), "{err}");

    let target = dir.join("restored").join("pathways.db");
    let restored = restore_sqlite(&out, &target, &db.ring(), false)
        .await
        .expect("restores");
    assert!(restored.audit.entries as usize >= before.len());
    let store = Store::open_read_only(&target.display().to_string())
        .await
        .expect("opens");
    let agencies = store.list_agencies().await.expect("agencies");
    let log = store.recent_audit(1_000_000).await.expect("log");
    for (agency, seq) in &before {
        assert!(
            agencies.iter().any(|a| &a.id == agency),
            "agency {agency} was acknowledged before the backup began"
        );
        assert!(
            log.iter()
                .any(|e| e.seq == *seq && &e.event.record_id == agency),
            "audit entry {seq} was acknowledged before the backup began"
        );
    }
    store.verify_audit(&db.ring(), &[]).await.expect("intact");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_restore_refuses_a_live_database_a_newer_schema_and_a_broken_chain() {
    let db = TestDatabase::sqlite().await.expect("db");
    db.store.audit(written(0, "a")).await.expect("audited");
    let dir = tempdir();
    let good = dir.join("good.db");
    db.store.backup_to(&good).await.expect("backup");

    // The live database is not replaced unless asked; when it is, it is kept beside.
    let err = restore_sqlite(&good, std::path::Path::new(&db.url), &db.ring(), false)
        .await
        .expect_err("live database");
    assert!(err.to_string().contains("--replace"), "{err}");
    let target = dir.join("live.db");
    std::fs::copy(&good, &target).expect("copy");
    let restored = restore_sqlite(&good, &target, &db.ring(), true)
        .await
        .expect("replaces");
    assert!(restored.replaced.expect("kept beside").exists());

    // Signed by a key this installation does not trust.
    let other = AuditKeys::generate().ring();
    let err = restore_sqlite(&good, &dir.join("a.db"), &other, false)
        .await
        .expect_err("untrusted");
    assert!(err.to_string().contains("not a trusted audit key"), "{err}");
    assert!(!dir.join("a.db").exists());

    // A newer schema than this binary.
    sqlx::query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
    )
    .execute(db.store.pool())
    .await
    .expect("future");
    let newer = dir.join("newer.db");
    db.store.backup_to(&newer).await.expect("backup");
    let err = restore_sqlite(&newer, &dir.join("b.db"), &db.ring(), false)
        .await
        .expect_err("newer");
    assert!(err.to_string().contains("newer than this binary"), "{err}");

    // A chain that does not verify.
    sqlx::query("DELETE FROM schema_migrations WHERE version = 9999")
        .execute(db.store.pool())
        .await
        .expect("undo");
    sqlx::query("UPDATE audit_log SET record_id = 'b' WHERE seq = 1")
        .execute(db.store.pool())
        .await
        .expect("tamper");
    let broken = dir.join("broken.db");
    db.store.backup_to(&broken).await.expect("backup");
    let err = restore_sqlite(&broken, &dir.join("c.db"), &db.ring(), false)
        .await
        .expect_err("broken");
    assert!(err.to_string().contains("entry 1: its content"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_backups_are_left_to_pg_dump() {
    let Some(db) = TestDatabase::postgres().await.expect("postgres") else {
        return;
    };
    let err = db
        .store
        .backup_to(&std::env::temp_dir().join("never.db"))
        .await
        .expect_err("postgres");
    assert!(err.to_string().contains("pg_dump"), "{err}");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pathways-backup-{}", pathways_store::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

//! Attacks by someone who can write to the database but does not hold the signing key, and
//! verification of copies that must not be written to.

use pathways_domain::audit::signed::Signed;
use pathways_domain::audit::{AuditEvent, ChainBreak, GENESIS, chain};
use pathways_store::testing::TestDatabase;
use pathways_store::{AuditKeys, Store, StoreError, VerifyError};

use crate::audit::verify;
use crate::on_every_backend;

fn event(i: i64) -> AuditEvent {
    AuditEvent {
        at: 1_800_000_000 + i,
        actor_id: format!("user-{}", i % 3),
        actor_agency: "agency".into(),
        action: "read".into(),
        record_type: "case".into(),
        record_id: format!("case-{}", i % 2),
        client: "127.0.0.1".into(),
        reason: String::new(),
        outcome: "allowed".into(),
    }
}

/// Appends events `from..to` concurrently.
async fn append(store: &Store, from: i64, to: i64) {
    let mut tasks = Vec::new();
    for i in from..to {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.audit(event(i)).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("appended");
    }
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn broken(result: Result<pathways_store::VerifyReport, VerifyError>) -> ChainBreak {
    match result {
        Err(VerifyError::Broken(b)) => b,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

async fn head(store: &Store) -> (i64, String) {
    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(store.pool())
        .await
        .expect("head")
}

/// Rewrites the log as an attacker with write access but without the key would: changes
/// entry `seq`, then recomputes every later hash, the checkpoints' hashes and the head's, so
/// that the hash chain alone is consistent again. `sign` stands for the attacker's own key.
async fn rewrite_from(store: &Store, seq: i64, sign: Option<&AuditKeys>) {
    let mut entries = store.recent_audit(1_000_000).await.expect("entries");
    entries.reverse();
    let mut tx = store.pool().begin().await.expect("tx");
    let (mut prev_seq, mut prev_hash) = (0, GENESIS.to_string());
    for e in &entries {
        let mut ev = e.event.clone();
        if e.seq == seq {
            ev.record_id = "someone-else".into();
        }
        let redone = chain(prev_seq, &prev_hash, ev);
        if e.seq >= seq {
            sqlx::query(
                "UPDATE audit_log SET record_id = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(&redone.event.record_id)
            .bind(&redone.prev_hash)
            .bind(&redone.hash)
            .bind(e.seq)
            .execute(&mut *tx)
            .await
            .expect("rewrite entry");
            let (key, signature) = match sign {
                Some(k) => {
                    let s = k.sign_head(e.seq, &redone.hash);
                    (s.key.to_string(), s.signature)
                }
                None => (String::new(), String::new()),
            };
            let keep = sign.is_none();
            sqlx::query(
                "UPDATE audit_checkpoints SET hash = $1, \
                 signing_key = CASE WHEN $2 = 1 THEN signing_key ELSE $3 END, \
                 signature = CASE WHEN $2 = 1 THEN signature ELSE $4 END WHERE seq = $5",
            )
            .bind(&redone.hash)
            .bind(i64::from(keep))
            .bind(&key)
            .bind(&signature)
            .bind(e.seq)
            .execute(&mut *tx)
            .await
            .expect("rewrite checkpoint");
        }
        prev_seq = redone.seq;
        prev_hash = redone.hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev_hash)
        .execute(&mut *tx)
        .await
        .expect("rewrite head");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn deleting_the_tail_and_moving_the_head_back_is_caught() {
    on_every_backend!(|store| {
        append(&store, 0, 20).await;
        let hash15: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 15")
            .fetch_one(store.pool())
            .await
            .expect("hash");
        exec(&store, "DELETE FROM audit_log WHERE seq > 15").await;
        sqlx::query("UPDATE audit_head SET seq = 15, hash = $1 WHERE id = 1")
            .bind(&hash15)
            .execute(store.pool())
            .await
            .expect("move head");
        let b = broken(verify(&store).await);
        assert!(
            matches!(
                b,
                ChainBreak::Signature {
                    seq: 15,
                    place: "the chain head",
                    ..
                }
            ),
            "{b}"
        );
        assert!(b.to_string().contains("signature does not match"), "{b}");
    });
}

#[tokio::test]
async fn an_edit_with_every_later_hash_checkpoint_and_head_recomputed_is_caught() {
    on_every_backend!(|store| {
        append(&store, 0, 1205).await;
        // Before the checkpoint: the checkpoint's signature no longer holds.
        rewrite_from(&store, 7, None).await;
        let b = broken(verify(&store).await);
        assert!(matches!(b, ChainBreak::Signature { seq: 1000, .. }), "{b}");
        assert!(
            b.to_string().starts_with("entry 1000: the checkpoint"),
            "{b}"
        );
        // Signed again with a key of the attacker's own: not a trusted key.
        let attacker = AuditKeys::generate();
        rewrite_from(&store, 7, Some(&attacker)).await;
        let b = broken(verify(&store).await);
        assert!(b.to_string().contains("not a trusted audit key"), "{b}");
    });
}

#[tokio::test]
async fn an_edit_after_the_last_checkpoint_is_caught_by_the_signed_head() {
    on_every_backend!(|store| {
        append(&store, 0, 30).await;
        rewrite_from(&store, 12, None).await;
        let b = broken(verify(&store).await);
        assert!(
            matches!(
                b,
                ChainBreak::Signature {
                    seq: 30,
                    place: "the chain head",
                    ..
                }
            ),
            "{b}"
        );
    });
}

#[tokio::test]
async fn forged_signatures_are_refused() {
    on_every_backend!(|store| {
        append(&store, 0, 1003).await;
        // The head signed by another key but claiming the trusted one.
        let (seq, hash) = head(&store).await;
        let forged = AuditKeys::generate().sign_head(seq, &hash);
        sqlx::query("UPDATE audit_head SET at = $1, signature = $2 WHERE id = 1")
            .bind(forged.statement.at)
            .bind(&forged.signature)
            .execute(store.pool())
            .await
            .expect("forge");
        let b = broken(verify(&store).await);
        assert!(
            matches!(
                b,
                ChainBreak::Signature {
                    place: "the chain head",
                    ..
                }
            ),
            "{b}"
        );
        // A checkpoint whose signature was altered: caught before the head is reached.
        exec(
            &store,
            "UPDATE audit_checkpoints SET signature = 'ff' || substr(signature, 3) WHERE seq = 1000",
        )
        .await;
        let b = broken(verify(&store).await);
        assert!(matches!(b, ChainBreak::Signature { seq: 1000, .. }), "{b}");
        // A checkpoint removed altogether.
        exec(&store, "DELETE FROM audit_checkpoints WHERE seq = 1000").await;
        let b = broken(verify(&store).await);
        assert_eq!(b, ChainBreak::MissingCheckpoint { seq: 1000 });
    });
}

#[tokio::test]
async fn a_witness_checkpoint_from_a_longer_log_catches_truncation() {
    on_every_backend!(|store| {
        let keys = store.audit_keys().expect("keys").clone();
        let ring = keys.ring();
        append(&store, 0, 20).await;
        // The attacker keeps a copy of the head as it is now, signature and all.
        let saved: (i64, String, i64, String, String) = sqlx::query_as(
            "SELECT seq, hash, at, signing_key, signature FROM audit_head WHERE id = 1",
        )
        .fetch_one(store.pool())
        .await
        .expect("head");
        append(&store, 20, 30).await;
        let (seq, hash) = head(&store).await;
        let witness = Signed::parse_witness(&keys.sign_head(seq, &hash).to_witness_text(&[]))
            .expect("round trip");
        store
            .verify_audit(&ring, std::slice::from_ref(&witness))
            .await
            .expect("the log extends its own witness");
        exec(&store, "DELETE FROM audit_log WHERE seq > 20").await;
        sqlx::query(
            "UPDATE audit_head SET seq = $1, hash = $2, at = $3, signing_key = $4, signature = $5 WHERE id = 1",
        )
        .bind(saved.0)
        .bind(&saved.1)
        .bind(saved.2)
        .bind(&saved.3)
        .bind(&saved.4)
        .execute(store.pool())
        .await
        .expect("restore the old head");
        // A head that was once genuine passes on its own: only a witness shows what is gone.
        verify(&store).await.expect("consistent without a witness");
        let b = broken(
            store
                .verify_audit(&ring, std::slice::from_ref(&witness))
                .await,
        );
        assert_eq!(
            b,
            ChainBreak::Truncated {
                witnessed: 30,
                last: 20
            }
        );
        // A witness of an entry that was rewritten since.
        let mut older = keys.sign_head(10, &"0".repeat(64));
        assert!(matches!(
            store.verify_audit(&ring, &[older.clone()]).await,
            Err(VerifyError::Broken(ChainBreak::Witness { seq: 10 }))
        ));
        // A witness statement that was altered does not count.
        older.statement.seq = 11;
        assert!(matches!(
            store.verify_audit(&ring, &[older]).await,
            Err(VerifyError::UntrustedWitness { seq: 11, .. })
        ));
    });
}

#[tokio::test]
async fn a_missing_head_row_or_table_is_reported_plainly() {
    on_every_backend!(|store| {
        append(&store, 0, 5).await;
        exec(&store, "DROP TABLE audit_checkpoints").await;
        let err = verify(&store).await.expect_err("no table");
        assert!(
            err.to_string()
                .starts_with("audit log damaged: a table of the audit log is missing"),
            "{err}"
        );
        exec(&store, "DELETE FROM audit_head").await;
        let err = verify(&store).await.expect_err("no head");
        assert!(matches!(err, VerifyError::Damaged(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "audit log damaged: the chain head (row 1 of audit_head) is missing"
        );
    });
}

#[tokio::test]
async fn a_log_signed_by_another_key_is_refused_at_start() {
    for db in crate::backends().await {
        append(&db.store, 0, 3).await;
        let err = Store::connect(&db.url, AuditKeys::generate())
            .await
            .expect_err("another key");
        assert!(matches!(err, StoreError::AuditKey(_)), "{err:?}");
        assert!(err.to_string().contains("restore the key file"), "{err}");
    }
}

#[tokio::test]
async fn stripped_signatures_are_not_made_again_by_a_key_in_use() {
    for db in crate::backends().await {
        let dir = std::env::temp_dir().join(format!("pathways-key-{}", uuid_like()));
        let path = dir.join("audit-signing-key.pem");
        let made = AuditKeys::load_or_create(&path).expect("key file");
        // A log never signed (as before signing existed) is adopted by a key made just now.
        strip(&db.store).await;
        let store = Store::connect(&db.url, made.clone()).await.expect("adopts");
        append(&store, 0, 1003).await;
        store
            .verify_audit(&made.ring(), &[])
            .await
            .expect("adopted and signed");
        // Stripped again and reopened with the same key, now read from its file: nothing is
        // signed anew, so verification shows it.
        strip(&store).await;
        let again = AuditKeys::load(&path).expect("key file");
        assert!(!again.is_fresh());
        let reopened = Store::connect(&db.url, again.clone()).await.expect("opens");
        let b = broken(reopened.verify_audit(&again.ring(), &[]).await);
        assert_eq!(
            b.to_string(),
            "entry 1000: the checkpoint recorded for it cannot be trusted: it carries no signature"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn strip(store: &Store) {
    exec(
        store,
        "UPDATE audit_head SET signing_key = '', signature = ''",
    )
    .await;
    exec(
        store,
        "UPDATE audit_checkpoints SET signing_key = '', signature = ''",
    )
    .await;
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

/// The files in `dir` with their bytes, to show that nothing was written.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn verification_reads_a_read_only_sqlite_copy_without_writing() {
    use std::os::unix::fs::PermissionsExt as _;
    let db = TestDatabase::sqlite().await.expect("db");
    append(&db.store, 0, 1003).await;
    let dir = std::env::temp_dir().join(format!("pathways-ro-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let copy = dir.join("copy.db");
    db.store.backup_to(&copy).await.expect("backup");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = snapshot(&dir);
    let url = copy.display().to_string();
    let ro = Store::open_read_only(&url).await.expect("opens read-only");
    let report = ro.verify_audit(&db.ring(), &[]).await.expect("intact");
    assert_eq!(report.entries, 1003);
    assert!(matches!(
        ro.audit(event(1)).await,
        Err(StoreError::ReadOnly)
    ));
    ro.close().await;
    assert_eq!(
        snapshot(&dir),
        before,
        "nothing was written beside or into the copy"
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn verification_works_through_a_postgres_role_without_write_rights() {
    let Some(db) = TestDatabase::postgres().await.expect("postgres") else {
        return;
    };
    append(&db.store, 0, 10).await;
    let role = format!("pathways_ro_{}", uuid_like().replace('-', "_"));
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"),
    ] {
        exec(&db.store, &sql).await;
    }
    // The same server and database, as the new role.
    let after_scheme = db.url.find("://").expect("a URL") + 3;
    let rest = &db.url[after_scheme..];
    let host = &rest[rest.find('@').map_or(0, |i| i + 1)..];
    let url = format!("postgres://{role}@{host}");
    let result = async {
        let ro = Store::open_read_only(&url).await?;
        let report = ro.verify_audit(&db.ring(), &[]).await;
        ro.close().await;
        Ok::<_, StoreError>(report)
    }
    .await;
    exec(&db.store, &format!("DROP OWNED BY {role}")).await;
    exec(&db.store, &format!("DROP ROLE {role}")).await;
    let report = result.expect("opens").expect("intact");
    assert_eq!(report.entries, 10);
}

#[tokio::test]
async fn an_unknown_or_newer_database_is_refused_read_only() {
    let dir = std::env::temp_dir().join(format!("pathways-ro-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let missing = dir.join("none.db").display().to_string();
    let err = Store::open_read_only(&missing).await.expect_err("no file");
    assert!(err.to_string().contains("there is no such file"), "{err}");
    let db = TestDatabase::sqlite().await.expect("db");
    exec(
        &db.store,
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
    )
    .await;
    let err = Store::open_read_only(&db.url).await.expect_err("newer");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
    exec(&db.store, "DROP TABLE schema_migrations").await;
    let err = Store::open_read_only(&db.url).await.expect_err("not ours");
    assert!(
        err.to_string().contains("is not a Pathways database"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_write_without_its_audit_entry_cannot_commit() {
    let db = TestDatabase::sqlite().await.expect("database");
    let w = db.store.write().await.expect("write");
    assert!(
        matches!(w.commit().await, Err(pathways_store::StoreError::Unaudited)),
        "a change and its audit entry commit together or not at all"
    );
}

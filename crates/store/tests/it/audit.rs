use pathways_domain::audit::AuditEvent;
use pathways_store::{Store, VerifyError};

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

async fn fill(store: &Store, n: i64) {
    // Concurrent appends exercise the group-commit writer.
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.audit(event(i)).await }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("task").expect("appended"));
    }
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "every append got its own place"
    );
}

/// Verifies against the store's own key, as the server's administration page does.
pub async fn verify(store: &Store) -> Result<pathways_store::VerifyReport, VerifyError> {
    let ring = store.audit_keys().expect("a writable store").ring();
    store.verify_audit(&ring, &[]).await
}

async fn broken_at(store: &Store) -> String {
    match verify(store).await {
        Err(VerifyError::Broken(b)) => b.to_string(),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[tokio::test]
async fn intact_chain_verifies_with_checkpoints() {
    on_every_backend!(|store| {
        fill(&store, 1205).await;
        let report = verify(&store).await.expect("intact");
        assert_eq!(report.entries, 1205);
        assert_eq!(report.checkpoints, 1);
    });
}

#[tokio::test]
async fn an_edited_entry_is_named() {
    on_every_backend!(|store| {
        fill(&store, 20).await;
        sqlx::query("UPDATE audit_log SET record_id = 'case-9' WHERE seq = 7")
            .execute(store.pool())
            .await
            .expect("tamper");
        assert!(
            broken_at(&store)
                .await
                .starts_with("entry 7: its content does not match")
        );
    });
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    on_every_backend!(|store| {
        fill(&store, 20).await;
        sqlx::query("DELETE FROM audit_log WHERE seq = 5")
            .execute(store.pool())
            .await
            .expect("tamper");
        assert!(
            broken_at(&store)
                .await
                .starts_with("entry 6: expected entry 5")
        );
        let end = store.clone();
        sqlx::query("DELETE FROM audit_log WHERE seq >= 5")
            .execute(end.pool())
            .await
            .expect("truncate");
        assert!(broken_at(&end).await.contains("recorded head is entry 20"));
    });
}

#[tokio::test]
async fn an_inserted_entry_is_named() {
    on_every_backend!(|store| {
        fill(&store, 10).await;
        // A forged entry appended after the head, with a plausible link.
        let last: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 10")
            .fetch_one(store.pool())
            .await
            .expect("hash");
        let forged = pathways_domain::audit::chain(10, &last, event(99));
        sqlx::query("INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, outcome, prev_hash, hash) VALUES ($1, 0, 'x', '', 'read', 'case', 'c', '', '', 'allowed', $2, $3)")
            .bind(11_i64)
            .bind(&forged.prev_hash)
            .bind(&forged.hash)
            .execute(store.pool())
            .await
            .expect("insert");
        let msg = broken_at(&store).await;
        assert!(msg.starts_with("entry 11"), "{msg}");
    });
}

#[tokio::test]
async fn sqlite_refuses_an_entry_that_does_not_follow_the_head() {
    on_every_backend!(|store| {
        if store.backend() != pathways_store::Backend::Sqlite {
            // PostgreSQL's writer checks the head in its own statement; see `audit.rs`.
            return;
        }
        fill(&store, 10).await;
        let last: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 10")
            .fetch_one(store.pool())
            .await
            .expect("hash");
        let insert = "INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, outcome, prev_hash, hash) VALUES ($1, 0, 'x', '', 'read', 'case', 'c', '', '', 'allowed', $2, 'h')";
        // A gap in the numbering, a wrong link, and a good entry followed by a bad one in
        // one statement: each is refused whole.
        for (rows, prev) in [(vec![12_i64], last.clone()), (vec![11], "f".repeat(64))] {
            let err = sqlx::query(insert)
                .bind(rows[0])
                .bind(&prev)
                .execute(store.pool())
                .await
                .expect_err("refused");
            assert!(
                err.to_string().contains("does not follow the head"),
                "{err}"
            );
        }
        let two = "INSERT INTO audit_log (seq, at, actor_id, actor_agency, action, record_type, record_id, client, reason, outcome, prev_hash, hash) VALUES (11, 0, 'x', '', 'read', 'case', 'c', '', '', 'allowed', $1, 'h11'), (12, 0, 'x', '', 'read', 'case', 'c', '', '', 'allowed', 'not-h11', 'h12')";
        sqlx::query(two)
            .bind(&last)
            .execute(store.pool())
            .await
            .expect_err("refused");
        let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .expect("head");
        assert_eq!(head, (10, last));
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(count, 10);
        // The writer appends on after the refusals.
        assert_eq!(store.audit(event(10)).await.expect("appended"), 11);
        assert_eq!(verify(&store).await.expect("intact").entries, 11);
    });
}

#[tokio::test]
async fn reordered_entries_are_named() {
    on_every_backend!(|store| {
        fill(&store, 10).await;
        // Swap the contents of entries 3 and 4 (keeping their positions).
        sqlx::query("UPDATE audit_log SET seq = -3 WHERE seq = 3")
            .execute(store.pool())
            .await
            .expect("a");
        sqlx::query("UPDATE audit_log SET seq = 3 WHERE seq = 4")
            .execute(store.pool())
            .await
            .expect("b");
        sqlx::query("UPDATE audit_log SET seq = 4 WHERE seq = -3")
            .execute(store.pool())
            .await
            .expect("c");
        assert!(broken_at(&store).await.starts_with("entry 3:"));
    });
}

#[tokio::test]
async fn access_log_filters_by_user_and_date() {
    on_every_backend!(|store| {
        fill(&store, 12).await;
        let all = store
            .access_log("case", "case-0", &pathways_store::AccessLogQuery::default())
            .await
            .expect("log");
        assert_eq!(all.len(), 6);
        let q = pathways_store::AccessLogQuery {
            actor_id: Some("user-0".into()),
            from: Some(1_800_000_001),
            to: Some(1_800_000_010),
            limit: 100,
        };
        let some = store.access_log("case", "case-0", &q).await.expect("log");
        // Events 0..12 with i%2==0 and i%3==0 → i in {0, 6}; the date window keeps 6.
        assert_eq!(
            some.iter().map(|e| e.event.at).collect::<Vec<_>>(),
            vec![1_800_000_006]
        );
    });
}

#[tokio::test]
async fn two_processes_appending_to_one_chain_keep_it_intact() {
    for db in crate::backends().await {
        // A second store on the same database stands for another Pathways process: each
        // writer must notice the head the other moved, never fork the chain.
        let one = db.store.clone();
        let two = Store::connect(&db.url, db.keys.clone())
            .await
            .expect("second process");
        let mut seqs = Vec::new();
        for round in 0..6 {
            let mut tasks = Vec::new();
            for i in 0..20 {
                let s = if (round + i) % 2 == 0 {
                    one.clone()
                } else {
                    two.clone()
                };
                tasks.push(tokio::spawn(async move {
                    s.audit(event(round * 100 + i)).await
                }));
            }
            for t in tasks {
                seqs.push(t.await.expect("task").expect("appended"));
            }
        }
        seqs.sort();
        assert_eq!(seqs, (1..=120).collect::<Vec<_>>(), "{:?}", one.backend());
        let report = verify(&one).await.expect("intact");
        assert_eq!(report.entries, 120);
    }
}

use pathways_store::{AuditKeys, MIGRATIONS_LATEST, Store, StoreError};

use crate::on_every_backend;

#[tokio::test]
async fn fresh_database_is_at_the_latest_version_and_reopening_is_a_no_op() {
    for db in crate::backends().await {
        assert_eq!(
            db.store.schema_version().await.expect("version"),
            MIGRATIONS_LATEST
        );
        let again = Store::connect(&db.url, db.keys.clone())
            .await
            .expect("reopens");
        assert_eq!(
            again.schema_version().await.expect("version"),
            MIGRATIONS_LATEST
        );
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_message() {
    for db in crate::backends().await {
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)",
        )
        .bind(MIGRATIONS_LATEST + 1)
        .execute(db.store.pool())
        .await
        .expect("insert");
        let err = Store::connect(&db.url, db.keys.clone())
            .await
            .expect_err("must refuse");
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, latest } if found == MIGRATIONS_LATEST + 1 && latest == MIGRATIONS_LATEST)
        );
        assert!(err.to_string().contains("newer than this binary"));
    }
}

#[tokio::test]
async fn a_step_missing_below_the_newest_applied_one_is_still_applied() {
    for db in crate::backends().await {
        // As if the database had been migrated before the directory step was merged.
        for sql in [
            "DROP TABLE directory_taxonomy_terms",
            "DROP TABLE directory_taxonomies",
            "DROP TABLE directory_services",
            "DROP TABLE postcodes",
            "DELETE FROM schema_migrations WHERE version = 6",
        ] {
            sqlx::query(sql)
                .execute(db.store.pool())
                .await
                .expect("setup");
        }
        let again = Store::connect(&db.url, db.keys.clone())
            .await
            .expect("reopens");
        assert_eq!(
            again.schema_version().await.expect("version"),
            MIGRATIONS_LATEST
        );
        assert_eq!(
            again.directory_service_count().await.expect("table back"),
            0
        );
    }
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    on_every_backend!(|store| {
        let err = sqlx::query("INSERT INTO users (id, agency_id, email, display_name, roles, created_at) VALUES ('u', 'no-such-agency', 'e', 'n', '', 0)")
            .execute(store.pool())
            .await;
        assert!(err.is_err(), "a user in a missing agency must be refused");
    });
}

#[tokio::test]
async fn unusable_locations_get_clear_errors() {
    let err = Store::connect("/proc/no-such-dir/x.db", AuditKeys::generate())
        .await
        .expect_err("unwritable");
    assert!(
        err.to_string()
            .starts_with("cannot use database file /proc/no-such-dir/x.db"),
        "{err}"
    );
    let err = Store::connect("postgres://nobody@127.0.0.1:1/none", AuditKeys::generate())
        .await
        .expect_err("no server");
    assert!(
        err.to_string()
            .starts_with("cannot connect to the database at postgres://…@127.0.0.1:1/none"),
        "{err}"
    );
    let err = Store::connect("mysql://x", AuditKeys::generate())
        .await
        .expect_err("unknown scheme");
    assert!(err.to_string().contains("is not understood"), "{err}");
}

/// SQLite ends a transaction by itself on some failures (a full disk at commit, a trigger's
/// `RAISE(ROLLBACK)`). The connection must not stay in a transaction afterwards: before
/// the fix, the next transaction on it was opened as a savepoint, its rollback left the
/// transaction open, and every other connection failed with "database is locked" for good.
#[tokio::test]
async fn a_transaction_sqlite_ended_by_itself_leaves_no_lock_behind() {
    let dir = std::env::temp_dir().join(format!("pathways-test-{}", pathways_store::new_id()));
    let path = dir.join("p.db").display().to_string();
    let store = Store::connect_with(
        &path,
        pathways_store::AuditKeys::generate(),
        pathways_store::StoreOptions {
            pool_size: 1,
            acquire_timeout: std::time::Duration::from_secs(10),
        },
    )
    .await
    .expect("store");
    sqlx::raw_sql(
        "CREATE TABLE probe (x TEXT); CREATE TRIGGER probe_rollback BEFORE INSERT ON probe \
         WHEN NEW.x = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END; \
         CREATE TRIGGER probe_abort BEFORE INSERT ON probe \
         WHEN NEW.x = 'abort' BEGIN SELECT RAISE(ABORT, 'abort'); END;",
    )
    .execute(store.pool())
    .await
    .expect("trigger");
    // First SQLite ends the transaction itself; then an ordinary failed statement is
    // rolled back by the caller, on the same connection (the pool holds one).
    for value in ["boom", "abort"] {
        let mut tx = store.begin().await.expect("begin");
        let err = sqlx::query("INSERT INTO probe (x) VALUES ($1)")
            .bind(value)
            .execute(&mut *tx)
            .await
            .expect_err("the trigger refuses the row");
        assert!(err.to_string().contains(value), "{err}");
        drop(tx);
    }
    // The audit writer has a connection of its own: it must get the write lock.
    let event = pathways_domain::audit::AuditEvent {
        at: 1,
        actor_id: "system".into(),
        actor_agency: String::new(),
        action: "probe".into(),
        record_type: "probe".into(),
        record_id: String::new(),
        client: String::new(),
        reason: String::new(),
        outcome: "allowed".into(),
    };
    store.audit(event).await.expect("no lock left behind");
    store.ready().await.expect("ready");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A request that cannot get a pooled connection is refused as busy within the pool's
/// short wait, and readiness fails meanwhile; both recover once a connection frees.
#[tokio::test]
async fn an_exhausted_pool_answers_busy_and_unready() {
    let dir = std::env::temp_dir().join(format!("pathways-test-{}", pathways_store::new_id()));
    let path = dir.join("p.db").display().to_string();
    let store = Store::connect_with(
        &path,
        pathways_store::AuditKeys::generate(),
        pathways_store::StoreOptions {
            pool_size: 1,
            acquire_timeout: std::time::Duration::from_millis(200),
        },
    )
    .await
    .expect("store");
    let held = store.pool().acquire().await.expect("the only connection");
    let err = store
        .user_by_email("a@b.example")
        .await
        .expect_err("no connection to be had");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(matches!(
        store.ready().await,
        Err(StoreError::Unavailable(_))
    ));
    drop(held);
    store
        .user_by_email("a@b.example")
        .await
        .expect("served again");
    store.ready().await.expect("ready again");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

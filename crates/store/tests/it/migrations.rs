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

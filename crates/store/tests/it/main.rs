//! The store conformance suite: every test runs on SQLite, and on PostgreSQL too when
//! `PATHWAYS_TEST_POSTGRES_URL` names a server.

mod audit;
mod audit_signed;
mod backup;
mod cases;
mod directory;
mod identity;
mod instruments;
mod migrations;
mod panels;
mod referrals;
mod sessions;

use pathways_store::testing::TestDatabase;

/// Runs `check` once per available backend, naming the backend in any failure.
#[macro_export]
macro_rules! on_every_backend {
    (|$store:ident| $body:block) => {{
        for db in $crate::backends().await {
            let $store = db.store.clone();
            let backend = format!("{:?}", $store.backend());
            let result = tokio::spawn(async move { $body }).await;
            if let Err(e) = result {
                panic!("failed on {backend}: {e}");
            }
        }
    }};
}

pub async fn backends() -> Vec<TestDatabase> {
    TestDatabase::all().await
}

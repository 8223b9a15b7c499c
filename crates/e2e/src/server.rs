//! The real Pathways router served on 127.0.0.1 with a fresh SQLite database, for tests
//! that talk HTTP or drive a browser; it stops when dropped.

use pathways_store::Store;
use pathways_store::testing::TestDatabase;
use pathways_web::{AppState, WebSettings};

use crate::E2eError;

/// A running Pathways instance on a random local port over its own throw-away database.
pub struct TestServer {
    base_url: String,
    task: tokio::task::JoinHandle<()>,
    // Declared last so the server stops before its database folder is removed.
    db: TestDatabase,
}

impl TestServer {
    /// Serves the application with default settings changed by `settings`, which receives
    /// the server's own base URL (e.g. to point the exit URL at a local page).
    pub async fn start(
        settings: impl FnOnce(&str, &mut WebSettings),
    ) -> Result<TestServer, E2eError> {
        Self::start_with(settings, async |_: &Store| {}).await
    }

    /// Like [`TestServer::start`], and runs `seed` on the migrated store before the first
    /// request can arrive.
    pub async fn start_with(
        settings: impl FnOnce(&str, &mut WebSettings),
        seed: impl AsyncFnOnce(&Store),
    ) -> Result<TestServer, E2eError> {
        let db = TestDatabase::sqlite().await?;
        seed(&db.store).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(E2eError::Server)?;
        let addr = listener.local_addr().map_err(E2eError::Server)?;
        let base_url = format!("http://{addr}");
        let mut web = WebSettings {
            public_url: base_url.clone(),
            ..WebSettings::default()
        };
        settings(&base_url, &mut web);
        let app_settings = pathways_app::Settings {
            public_url: web.public_url.clone(),
            ..pathways_app::Settings::default()
        };
        let app = pathways_web::router(AppState::new(db.store.clone(), web, app_settings));
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                eprintln!("test server on {addr} stopped: {e}");
            }
        });
        Ok(TestServer { base_url, task, db })
    }

    /// The absolute URL of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The store the server runs on, for seeding and for checking what requests wrote.
    pub fn store(&self) -> &Store {
        &self.db.store
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Aborting, not graceful shutdown: a browser's keep-alive connections would
        // otherwise hold the server open after the test.
        self.task.abort();
    }
}

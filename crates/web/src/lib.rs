//! The Pathways web layer: HTML pages on GOV.UK Frontend, JSON APIs, sessions, security
//! headers and metrics. Handlers parse input, ask the domain rules, and call the store.

pub mod admin;
mod api;
pub mod assets;
pub mod auth;
mod cases;
pub mod client;
pub mod crypto;
pub mod directory;
mod error;
mod format;
mod forms;
mod idempotency;
pub mod insight;
mod layout;
pub mod login;
pub mod metrics;
pub mod notify;
pub mod pages;
mod panels;
mod referrals;
pub mod routes;
mod security;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use pathways_store::Store;

pub use error::AppError;
pub use layout::Chrome;

/// Settings the web layer needs, resolved by the binary from flags, environment and file.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The service's name in the header.
    pub service_name: String,
    /// The public base URL; when it starts with `https://`, cookies are `Secure` and HSTS is
    /// sent (TLS is terminated by the reverse proxy in front of Pathways).
    pub public_url: String,
    /// Where "Exit this page" goes: a neutral site.
    pub exit_url: String,
    /// Seconds of inactivity after which a staff session ends.
    pub session_idle_secs: i64,
    /// Seconds after login after which a staff session ends regardless of activity.
    pub session_absolute_secs: i64,
    /// Require a TOTP second factor for roles that can read case files.
    pub require_totp_for_case_roles: bool,
    /// Record a `record_read` audit entry for every view of a protected record. Always on
    /// in the product; only the audit benchmark turns it off to measure what it costs.
    pub audit_reads: bool,
    /// The data folder: the crime store lives in its `crime/` folder.
    pub data_dir: std::path::PathBuf,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers say who the client is.
    pub trusted_proxies: Vec<client::ProxyRange>,
    /// Longest time a request may take, body included, before it is answered 503.
    pub request_timeout: std::time::Duration,
    /// Client addresses (worked out behind `trusted_proxies`) that may read `/metrics`
    /// without a token; loopback by default.
    pub metrics_allow: Vec<client::ProxyRange>,
    /// A bearer token that also admits a scraper to `/metrics` from anywhere.
    pub metrics_token: Option<String>,
    /// The key of the CSRF tokens: a server secret kept in the data folder, read once at
    /// start (a fresh one in memory by default).
    pub csrf_key: pathways_store::ServerSecret,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            service_name: "Pathways".into(),
            public_url: "http://127.0.0.1:8080".into(),
            exit_url: "https://www.bbc.co.uk/weather".into(),
            session_idle_secs: 30 * 60,
            session_absolute_secs: 10 * 60 * 60,
            require_totp_for_case_roles: true,
            audit_reads: true,
            data_dir: std::path::PathBuf::from("pathways-data"),
            trusted_proxies: Vec::new(),
            request_timeout: std::time::Duration::from_secs(30),
            metrics_allow: metrics::LOOPBACK
                .iter()
                .filter_map(|r| r.parse().ok())
                .collect(),
            metrics_token: None,
            csrf_key: pathways_store::ServerSecret::generate(),
        }
    }
}

impl WebSettings {
    /// True when the service is reached over TLS.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    app: pathways_app::App,
    store: Store,
    settings: WebSettings,
    metrics: metrics::Metrics,
    directory: directory::Directory,
}

impl AppState {
    /// State over an open store, with the web settings and the settings every use case
    /// shares, both loaded once at start.
    pub fn new(store: Store, settings: WebSettings, app: pathways_app::Settings) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                app: pathways_app::App::new(store.clone(), app),
                store,
                settings,
                metrics: metrics::Metrics::default(),
                directory: directory::Directory::default(),
            }),
        }
    }

    /// The use cases.
    pub fn app(&self) -> &pathways_app::App {
        &self.inner.app
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &WebSettings {
        &self.inner.settings
    }

    /// The CSRF token bound to a session id (or a pre-sign-in cookie).
    pub fn csrf_token(&self, binding: &str) -> String {
        crypto::csrf_token(&self.inner.settings.csrf_key, binding)
    }

    /// The request metrics.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The "find support" directory's search index (built from the store on first use).
    pub fn directory(&self) -> &directory::Directory {
        &self.inner.directory
    }
}

/// Every module's route table, with the module's name.
pub(crate) fn modules() -> &'static [(&'static str, &'static [routes::Route])] {
    &[
        ("Pages", pages::ROUTES),
        ("Sign-in", login::ROUTES),
        ("Administration", admin::ROUTES),
        ("Referrals", referrals::ROUTES),
        ("Cases", cases::ROUTES),
        ("Panels", panels::ROUTES),
        ("Insight", insight::ROUTES),
        ("API", api::ROUTES),
    ]
}

/// The whole application: every route, with security headers and metrics around them.
pub fn router(state: AppState) -> Router {
    let tables: Vec<&'static [routes::Route]> = modules().iter().map(|(_, t)| *t).collect();
    routes::router(&tables)
        .merge(assets::routes())
        .merge(directory::routes(&state))
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::csrf))
        .layer(middleware::from_fn_with_state(state.clone(), error::render))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client::middleware,
        ))
        .with_state(state)
}

//! Running the server: logging, opening the store, binding the port, and shutting down
//! gracefully on SIGTERM or Ctrl-C.

use anyhow::Context;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Sets up `tracing` output in the chosen format. Safe to call more than once.
pub fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Opens the store and serves until a shutdown signal.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    init_logging(&settings);
    let store = settings.connect().await?;
    let listener = bind(settings.listen).await?;
    run_until_shutdown(listener, store, settings.web).await
}

/// Binds the listening socket with a clear message when the port is taken.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} (is another program using that port? choose one with --listen)"
        )
    })
}

/// Serves the application on `listener` until SIGTERM or Ctrl-C, then drains and closes.
pub async fn run_until_shutdown(
    listener: TcpListener,
    store: pathways_store::Store,
    web: pathways_web::WebSettings,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let state = pathways_web::AppState::new(store.clone(), web);
    let app = pathways_web::router(state);
    let outbox = pathways_web::notify::spawn_worker(
        store.clone(),
        pathways_web::notify::NotifySettings::from_env(),
    );
    tracing::info!(%addr, "serving");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server failed");
    outbox.abort();
    served?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

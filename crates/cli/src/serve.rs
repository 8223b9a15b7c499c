//! Running the server: logging, opening the store, binding the port, and shutting down
//! gracefully on SIGTERM or Ctrl-C.

use anyhow::Context as _;
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
pub async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    init_logging(&settings);
    settings.load_server_secrets()?;
    let store = settings.connect().await?;
    let listener = bind(settings.listen).await?;
    run_until_shutdown(
        listener,
        store,
        settings.web,
        settings.app,
        settings.notify,
        settings.limits,
    )
    .await
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
    app: pathways_app::Settings,
    notify: pathways_web::notify::NotifySettings,
    limits: crate::server::Limits,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if let Some(files) = crate::server::open_files_limit()
        && files < limits.max_connections as u64 + 64
    {
        tracing::warn!(
            open_files = files,
            max_connections = limits.max_connections,
            "the open-file limit is below max_connections plus room for the database and \
                 files; raise the limit (LimitNOFILE=) or lower max_connections"
        );
    }
    let drain = web.request_timeout + std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    let state = pathways_web::AppState::new(store.clone(), web, app);
    // The directory's search index is built now, not on the first search; `/readyz`
    // answers 503 until it is.
    state.directory().start(&store).await;
    let ready_state = state.clone();
    let ready_store = store.clone();
    let ready = tokio::spawn(async move {
        while ready_state
            .directory()
            .wait_ready(&ready_store, std::time::Duration::from_secs(60))
            .await
            .is_err()
        {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        tracing::info!(
            millis = started.elapsed().as_millis() as u64,
            "ready: the directory index is built"
        );
    });
    let app = pathways_web::router(state);
    let outbox = pathways_web::notify::spawn_worker(store.clone(), notify);
    tracing::info!(%addr, "serving");
    crate::server::serve(listener, app, limits, shutdown_signal(), drain).await;
    outbox.abort();
    ready.abort();
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

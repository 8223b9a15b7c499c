//! The web shell as a browser and an operator meet it: security headers, hashed assets with
//! long caching, accessible error pages, health, readiness and metrics.

use std::net::SocketAddr;

use pathways_store::testing::TestDatabase;
use pathways_web::{AppState, WebSettings, router};

struct Running {
    base: String,
    _db: TestDatabase,
}

async fn start(settings: WebSettings) -> Running {
    let db = TestDatabase::sqlite().await.expect("database");
    let app = router(AppState::new(
        db.store.clone(),
        settings,
        pathways_app::Settings::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serves");
    });
    Running {
        base: format!("http://{addr}"),
        _db: db,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = start(WebSettings::default()).await;
    let res = client()
        .get(format!("{}/", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    assert!(h.get("set-cookie").is_none(), "no cookie on public pages");
    let body = res.text().await.expect("body");
    assert!(body.contains("Skip to main content"));
    assert!(body.contains("Exit this page"));
    assert!(body.contains("call 999"));
    assert!(!body.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn hsts_is_sent_behind_tls() {
    let app = start(WebSettings {
        public_url: "https://pathways.example".into(),
        ..WebSettings::default()
    })
    .await;
    let res = client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("get");
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .starts_with("max-age=")
    );
}

#[tokio::test]
async fn assets_are_hashed_and_cached_for_a_year() {
    let app = start(WebSettings::default()).await;
    let home = client()
        .get(format!("{}/", app.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let css = home
        .split('"')
        .find(|s| s.starts_with("/assets/govuk-frontend.min.") && s.ends_with(".css"))
        .expect("stylesheet link")
        .to_string();
    let res = client()
        .get(format!("{}{css}", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
    let missing = client()
        .get(format!("{}/assets/nope.css", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn errors_are_accessible_pages_or_json() {
    let app = start(WebSettings::default()).await;
    let res = client()
        .get(format!("{}/no/such/page", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    let body = res.text().await.expect("body");
    assert!(body.contains("<h1 class=\"govuk-heading-l\">Page not found</h1>"));
    assert!(body.contains("<html lang=\"en\""));
    let api = client()
        .get(format!("{}/api/v1/nothing", app.base))
        .send()
        .await
        .expect("get");
    assert_eq!(api.status(), 404);
    let json: serde_json::Value = api.json().await.expect("json");
    assert_eq!(json["error"]["code"], "not_found");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = start(WebSettings::default()).await;
    let c = client();
    assert_eq!(
        c.get(format!("{}/healthz", app.base))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("t"),
        "ok"
    );
    assert_eq!(
        c.get(format!("{}/readyz", app.base))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    for _ in 0..3 {
        c.get(format!("{}/", app.base)).send().await.expect("get");
    }
    c.get(format!("{}/no-such", app.base))
        .send()
        .await
        .expect("get");
    let m = c
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(
        m.contains("pathways_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("route=\"unmatched\",method=\"GET\",status=\"404\"} 1"),
        "{m}"
    );
    assert!(m.contains("pathways_http_request_duration_seconds_bucket{route=\"/\",le=\"+Inf\"} 3"));
    assert!(!m.contains("no-such"), "raw paths never reach the metrics");
}

#[tokio::test]
async fn insight_errors_never_show_a_server_path() {
    let data = std::env::temp_dir().join(format!("pathways-no-crime-{}", pathways_store::new_id()));
    let app = crate::support::App::start_with(|s| s.data_dir = data.clone()).await;
    let analyst = app
        .user(
            "analyst@council.example",
            "Ana Lyst",
            &[pathways_domain::Role::Analyst],
        )
        .await;
    let (client, _, _) = app.session(&analyst).await;
    let res = client
        .get(app.url("/api/v1/insight/profile?area=E09000001"))
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(body.contains("pathways crime import"), "{body}");
    let folder = data.display().to_string();
    assert!(!body.contains(&folder) && !body.contains("/tmp"), "{body}");
    let page = client
        .get(app.url("/insight?area=E09000001"))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("page");
    assert!(!page.contains(&folder), "the page shows a server path");
}

//! Request metrics in the Prometheus text format: counts by route, method and status, and
//! latency histograms by route. Routes are the matched templates (`/cases/{id}`), never raw
//! paths, so no identifier or personal data reaches the metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and histograms for every route seen.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_string()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP pathways_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE pathways_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((route, method, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "pathways_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    escape(route),
                    escape(method)
                );
            }
        }
        out.push_str(
            "# HELP pathways_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE pathways_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = escape(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "pathways_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "pathways_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "pathways_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "pathways_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", %method, %route);
    let res = {
        let _enter = span.enter();
        next.run(req).await
    };
    let elapsed = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    state.metrics().record(&route, &method, status, elapsed);
    tracing::info!(%method, %route, status, elapsed_ms = elapsed * 1000.0, "request");
    res
}

/// The addresses admitted to `/metrics` by default: this machine only.
pub const LOOPBACK: &[&str] = &["127.0.0.0/8", "::1"];

/// `GET /metrics`, for a scraper on an allowed address or holding the metrics token;
/// anyone else is answered 404, as if there were nothing there. The counts name no person,
/// but request rates by route still tell an outsider how the service is used.
pub(crate) async fn exposition(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, crate::AppError> {
    let settings = state.settings();
    let client = req
        .extensions()
        .get::<crate::client::ClientAddr>()
        .and_then(|c| c.0.parse::<std::net::IpAddr>().ok());
    let by_address = client.is_some_and(|ip| settings.metrics_allow.iter().any(|r| r.contains(ip)));
    let by_token = settings.metrics_token.as_deref().is_some_and(|expected| {
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| pathways_app::crypto::same(given.trim(), expected))
    });
    if !(by_address || by_token) {
        return Err(crate::AppError::NotFound);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record("/cases/{id}", "GET", 200, 0.003);
        m.record("/cases/{id}", "GET", 200, 0.2);
        let text = m.render();
        assert!(text.contains(
            "pathways_http_requests_total{route=\"/cases/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0025\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(
            text.contains("pathways_http_request_duration_seconds_count{route=\"/cases/{id}\"} 2")
        );
    }
}

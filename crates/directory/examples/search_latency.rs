//! Measures search latency percentiles (p50, p95, p99, max) over random keyword + need +
//! distance queries against a generated directory. Run in release:
//! `cargo run --release -p pathways-directory --example search_latency -- [services] [queries]`.

use std::time::Instant;

use pathways_directory::TermSet;
use pathways_directory::generate::{GenerateOptions, generate};
use pathways_directory::search::{GeoPoint, Query, SearchIndex, SortOrder, haversine_m};
use rand::{Rng, SeedableRng};
use time::macros::date;

const WORDS: &[&str] = &[
    "support",
    "advice",
    "young",
    "counselling",
    "abuse",
    "football",
    "housing",
    "help",
    "free",
    "confidential",
    "family",
    "drug",
    "alcohol",
    "court",
    "crisis",
    "club",
    "work",
    "women",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let queries: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let terms = TermSet::needs();
    let t0 = Instant::now();
    let services = generate(
        &terms,
        &GenerateOptions {
            seed: 1,
            services: n,
            today: date!(2026 - 11 - 29),
        },
    );
    let gen_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let idx = SearchIndex::build(terms.clone(), services);
    let build_s = t1.elapsed().as_secs_f64();
    println!("services: {n}; generated in {gen_s:.2} s; index built in {build_s:.2} s");
    // A naive reference: per query, scan every service's lower-cased text, check the need by
    // walking the taxonomy and compute every distance. The index is compared against it.
    let texts: Vec<(String, Vec<String>, Vec<GeoPoint>)> = idx
        .services()
        .map(|s| {
            let v = s.service();
            let text = format!(
                "{} {} {}",
                v.name,
                v.description.as_deref().unwrap_or(""),
                v.organization
                    .as_ref()
                    .map(|o| o.name.as_str())
                    .unwrap_or("")
            )
            .to_lowercase();
            let pts = v
                .public_locations()
                .filter_map(|l| {
                    Some(GeoPoint {
                        lat: l.latitude?,
                        lon: l.longitude?,
                    })
                })
                .collect();
            (text, v.term_ids().map(str::to_string).collect(), pts)
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut times = Vec::with_capacity(queries);
    let mut best_times = Vec::with_capacity(queries);
    let mut total_hits = 0usize;
    for _ in 0..queries {
        let words = rng.gen_range(1..=2);
        let text: Vec<&str> = (0..words)
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect();
        let term = &terms.terms()[rng.gen_range(0..terms.terms().len())];
        let near = GeoPoint {
            lat: 51.50 + rng.gen_range(-0.02..0.02),
            lon: -0.19 + rng.gen_range(-0.03..0.03),
        };
        let sort = if rng.gen_bool(0.5) {
            SortOrder::Distance
        } else {
            SortOrder::Relevance
        };
        let q = Query {
            text: Some(text.join(" ")),
            need: Some(term.id.clone()),
            near: Some(near),
            sort,
            ..Query::default()
        };
        let start = Instant::now();
        let page = idx.search(&q, 0, 20);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        total_hits += page.total;
        // On a shared machine a query can be descheduled mid-run; the best of three repeats
        // estimates the work itself.
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                let _ = idx.search(&q, 0, 20);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min);
        best_times.push(best);
    }
    best_times.sort_by(f64::total_cmp);
    times.sort_by(f64::total_cmp);
    let index_p50 = percentile(&times, 0.50);
    println!(
        "keyword + need + distance, {queries} random queries: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms (mean matches {:.1})",
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times[times.len() - 1],
        total_hits as f64 / queries as f64
    );
    println!(
        "  same queries, best of 3 repeats each: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&best_times, 0.50),
        percentile(&best_times, 0.95),
        percentile(&best_times, 0.99),
        best_times[best_times.len() - 1]
    );
    // The same kind of query through the naive scan (fewer queries: it is slow).
    let mut naive = Vec::new();
    for _ in 0..(queries / 10).max(10) {
        let words = rng.gen_range(1..=2);
        let text: Vec<&str> = (0..words)
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect();
        let term = &terms.terms()[rng.gen_range(0..terms.terms().len())];
        let near = GeoPoint {
            lat: 51.50 + rng.gen_range(-0.02..0.02),
            lon: -0.19 + rng.gen_range(-0.03..0.03),
        };
        let start = Instant::now();
        let mut found: Vec<(f64, usize)> = texts
            .iter()
            .enumerate()
            .filter(|(_, (t, tags, _))| {
                text.iter().all(|w| t.contains(w))
                    && tags.iter().any(|x| terms.filter_matches(&term.id, x))
            })
            .map(|(i, (_, _, pts))| {
                let d = pts
                    .iter()
                    .map(|p| haversine_m(near, *p))
                    .fold(f64::INFINITY, f64::min);
                (d, i)
            })
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.truncate(20);
        naive.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    naive.sort_by(f64::total_cmp);
    let naive_p50 = percentile(&naive, 0.50);
    println!(
        "naive linear scan reference, {} queries: p50 {:.3} ms, p99 {:.3} ms; index p50 is {:.0}x faster",
        naive.len(),
        naive_p50,
        percentile(&naive, 0.99),
        naive_p50 / index_p50
    );
    // "Near me" with no other criterion: every public service ranked by distance.
    let mut times = Vec::with_capacity(queries / 4);
    for _ in 0..queries / 4 {
        let near = GeoPoint {
            lat: 51.50 + rng.gen_range(-0.02..0.02),
            lon: -0.19 + rng.gen_range(-0.03..0.03),
        };
        let q = Query {
            near: Some(near),
            sort: SortOrder::Distance,
            ..Query::default()
        };
        let start = Instant::now();
        let _ = idx.search(&q, 0, 20);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "distance only (all services), {} random queries: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    // The harder case: need + distance over a broad parent term, no keyword.
    let mut times = Vec::with_capacity(queries);
    let roots: Vec<_> = terms.roots().collect();
    for _ in 0..queries {
        let term = roots[rng.gen_range(0..roots.len())];
        let near = GeoPoint {
            lat: 51.50 + rng.gen_range(-0.02..0.02),
            lon: -0.19 + rng.gen_range(-0.03..0.03),
        };
        let q = Query {
            need: Some(term.id.clone()),
            near: Some(near),
            sort: SortOrder::Distance,
            ..Query::default()
        };
        let start = Instant::now();
        let _ = idx.search(&q, 0, 20);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "need (parent term) + distance, {queries} random queries: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
}

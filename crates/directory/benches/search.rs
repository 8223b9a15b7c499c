//! Criterion benchmarks of directory search over 50,000 generated services.
//! Run: `cargo bench -p pathways-directory --bench search`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pathways_directory::generate::{GenerateOptions, generate};
use pathways_directory::search::{GeoPoint, Query, SearchIndex, SortOrder};
use pathways_directory::{TermSet, oruk};
use time::macros::date;

fn bench(c: &mut Criterion) {
    let terms = TermSet::needs();
    let services = generate(
        &terms,
        &GenerateOptions {
            seed: 1,
            services: 50_000,
            today: date!(2026 - 11 - 29),
        },
    );
    let idx = SearchIndex::build(terms.clone(), services);
    let da = terms.by_code("domestic-abuse").expect("term").id.clone();
    let youth = terms.by_code("youth").expect("term").id.clone();
    let home = GeoPoint {
        lat: 51.503,
        lon: -0.185,
    };
    let mut g = c.benchmark_group("search_50k");
    let cases = [
        (
            "keyword+need+distance",
            Query {
                text: Some("support".into()),
                need: Some(da.clone()),
                near: Some(home),
                sort: SortOrder::Distance,
                ..Query::default()
            },
        ),
        (
            "keyword+need+distance_rare",
            Query {
                text: Some("refuge".into()),
                need: Some(da),
                near: Some(home),
                within_m: Some(2000.0),
                ..Query::default()
            },
        ),
        (
            "need+distance_broad",
            Query {
                need: Some(youth),
                near: Some(home),
                sort: SortOrder::Distance,
                ..Query::default()
            },
        ),
        (
            "keyword_common",
            Query {
                text: Some("support young people".into()),
                ..Query::default()
            },
        ),
        (
            "distance_all",
            Query {
                near: Some(home),
                sort: SortOrder::Distance,
                ..Query::default()
            },
        ),
    ];
    for (name, q) in &cases {
        g.bench_with_input(BenchmarkId::from_parameter(name), q, |b, q| {
            b.iter(|| idx.search(q, 0, 20))
        });
    }
    let params = oruk::ServicesParams::from_pairs(
        [("search", "counselling"), ("per_page", "50")],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect("params");
    g.bench_function("oruk_services_page_search", |b| {
        b.iter(|| oruk::services_page(&idx, &params, None).to_string())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);

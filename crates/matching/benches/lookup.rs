//! Criterion benchmark of `PersonIndex::candidates` against a large generated population
//! (default 1,000,000 people; set PATHWAYS_BENCH_PEOPLE to change it).

use criterion::{Criterion, criterion_group, criterion_main};
use pathways_matching::generate::{generate_population, perturb};
use pathways_matching::{Model, PersonIndex};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn lookup(c: &mut Criterion) {
    let n: usize = std::env::var("PATHWAYS_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let people = generate_population(n, 7);
    let index = PersonIndex::build(Model::default(), people.iter());
    let mut rng = StdRng::seed_from_u64(5);
    let queries: Vec<_> = (0..1000)
        .map(|q| {
            let i = rng.gen_range(0..people.len());
            perturb(&mut rng, &people[i], format!("Q{q}"))
        })
        .collect();
    let mut next = 0;
    c.bench_function(&format!("candidates among {n} people"), |b| {
        b.iter(|| {
            next = (next + 1) % queries.len();
            index.candidates(&queries[next], 10, 0.01)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = lookup
}
criterion_main!(benches);

//! Candidate lookup latency against a large generated population: builds a `PersonIndex` of N
//! people and times `candidates` for perturbed copies and for new people, printing p50/p95/p99.
//! Usage: `lookup_latency [N] [QUERIES]` (defaults 1,000,000 and 2,000).

use std::time::Instant;

use pathways_matching::generate::{
    GenerateOptions, generate_people_pair, generate_population, perturb,
};
use pathways_matching::{Model, PersonIndex, TrainOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let queries = args.get(1).copied().unwrap_or(2_000);

    let t = Instant::now();
    let sample = generate_people_pair(20_000, 99, &GenerateOptions::default());
    let (model, _) = Model::train_link(&sample.a, &sample.b, &TrainOptions::default());
    println!(
        "trained model on 20,000 x 20,000 in {:.2}s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let people = generate_population(n, 7);
    println!("generated {n} people in {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let index = PersonIndex::build(model, people.iter());
    println!(
        "built index of {} people in {:.2}s",
        index.len(),
        t.elapsed().as_secs_f64()
    );

    let mut rng = StdRng::seed_from_u64(5);
    let strangers = generate_population(queries, 1234);
    let mut times = Vec::with_capacity(queries);
    let mut found = 0;
    let mut copies = 0;
    let mut candidates = 0;
    let mut blocked = Vec::with_capacity(queries);
    for (q, stranger) in strangers.iter().enumerate() {
        // Two thirds are perturbed copies of indexed people, one third are new people.
        let (query, target) = if q % 3 != 2 {
            let i = rng.gen_range(0..people.len());
            (
                perturb(&mut rng, &people[i], format!("Q{q}")),
                Some(people[i].id.clone()),
            )
        } else {
            let mut s = stranger.clone();
            s.id = format!("Q{q}");
            (s, None)
        };
        blocked.push(index.blocked_count(&query));
        let t = Instant::now();
        let c = index.candidates(&query, 10, 0.01);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        candidates += c.len();
        if let Some(id) = target {
            copies += 1;
            if c.first().is_some_and(|c| c.id == id) {
                found += 1;
            }
        }
    }
    blocked.sort_unstable();
    println!(
        "records scored per lookup: p50 {}, p95 {}, max {}",
        blocked[blocked.len() / 2],
        blocked[blocked.len() * 95 / 100],
        blocked.last().copied().unwrap_or(0)
    );
    times.sort_by(f64::total_cmp);
    println!(
        "lookups: {queries} against {n} people: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
    println!(
        "true record ranked first for {found} of {copies} perturbed copies ({:.2}%); {:.1} candidates returned per lookup",
        100.0 * found as f64 / copies.max(1) as f64,
        candidates as f64 / queries.max(1) as f64
    );
}

//! Linking whole lists: blocked candidate pairs between two lists (or within one), model
//! training on them, and scoring. Shared by CSV matching and by bulk training of the index.

use crate::blocking::{BlockMap, MAX_BLOCK, keys};
use crate::compare::{Pattern, Side, SimilarityCache, compare_cached};
use crate::model::{
    Model, PatternCounts, TrainOptions, TrainingReport, estimate_m, estimate_match_rate,
    estimate_u, prior_weight, probability_from_weight,
};
use crate::record::{Hot, PersonRecord, Prepared};

/// Prepares records on all cores (normalising and coding names is most of reading time).
pub(crate) fn prepare_all(records: &[PersonRecord]) -> Vec<Prepared> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = records.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(Prepared::new).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a preparing thread does not panic"))
            .collect()
    })
}

/// One blocked candidate pair: positions in the two lists, the rules that paired them, and
/// the comparison pattern.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairRow {
    pub a: u32,
    pub b: u32,
    pub rules: u8,
    pub pattern: Pattern,
}

/// All blocked pairs between `a` and `b`; with `dedupe` the lists are the same and each
/// unordered pair appears once. Work is split over the available cores.
pub(crate) fn blocked_pairs(a: &[Prepared], b: &[Prepared], dedupe: bool) -> Vec<PairRow> {
    let mut blocks = BlockMap::default();
    for (j, p) in b.iter().enumerate() {
        for k in keys(p) {
            blocks.entry(k.hash).or_default().push(j as u32);
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = a.len().div_ceil(threads).max(1);
    let blocks = &blocks;
    // A contiguous copy of the hot hashes: candidate records are visited in random order,
    // and a dense array keeps far more of them in cache than the full records would.
    let b_hot: Vec<Hot> = b.iter().map(|p| p.hot).collect();
    let b_hot = &b_hot;
    std::thread::scope(|s| {
        let handles: Vec<_> = a
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| s.spawn(move || pairs_for(part, c * chunk, b, b_hot, blocks, dedupe)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a pairing thread does not panic"))
            .collect()
    })
}

fn pairs_for(
    part: &[Prepared],
    offset: usize,
    b: &[Prepared],
    b_hot: &[Hot],
    blocks: &BlockMap,
    dedupe: bool,
) -> Vec<PairRow> {
    let mut out = Vec::new();
    let mut hits: Vec<(u32, u8)> = Vec::new();
    let mut cache = SimilarityCache::default();
    for (i, p) in part.iter().enumerate() {
        let ai = (offset + i) as u32;
        hits.clear();
        for k in keys(p) {
            if let Some(block) = blocks.get(&k.hash) {
                if block.len() <= MAX_BLOCK {
                    hits.extend(
                        block
                            .iter()
                            .filter(|&&j| !dedupe || j > ai)
                            .map(|&j| (j, 1u8 << k.rule)),
                    );
                }
            }
        }
        hits.sort_unstable_by_key(|h| h.0);
        let mut idx = 0;
        while idx < hits.len() {
            let j = hits[idx].0;
            let mut rules = 0u8;
            while idx < hits.len() && hits[idx].0 == j {
                rules |= hits[idx].1;
                idx += 1;
            }
            let j = j as usize;
            let pattern = compare_cached(
                Side::of(p),
                Side {
                    p: &b[j],
                    h: &b_hot[j],
                },
                Some(&mut cache),
            );
            out.push(PairRow {
                a: ai,
                b: j as u32,
                rules,
                pattern,
            });
        }
    }
    out
}

/// Trains u by random sampling, m by EM per blocking rule and the match rate on blocked pairs.
pub(crate) fn train_on(
    a: &[Prepared],
    b: &[Prepared],
    dedupe: bool,
    pairs: &[PairRow],
    opts: &TrainOptions,
) -> (Model, TrainingReport) {
    let mut model = Model::default();
    let random_pairs = estimate_u(&mut model, a, b, dedupe, opts);
    // Count in a hash map (fast for millions of pairs), then order for deterministic training.
    let mut hashed: std::collections::HashMap<(Pattern, u8), u64> =
        std::collections::HashMap::new();
    for p in pairs {
        *hashed.entry((p.pattern, p.rules)).or_default() += 1;
    }
    let counts: PatternCounts = hashed.into_iter().collect();
    let rounds = estimate_m(&mut model, &counts, opts);
    let total_pairs = if dedupe {
        a.len() as f64 * (a.len() as f64 - 1.0) / 2.0
    } else {
        a.len() as f64 * b.len() as f64
    };
    let other = if dedupe {
        a.len().saturating_sub(1)
    } else {
        b.len()
    };
    let expected_matches = estimate_match_rate(&mut model, &counts, other, total_pairs);
    let report = TrainingReport {
        random_pairs,
        blocked_pairs: pairs.len() as u64,
        rounds,
        expected_matches,
    };
    (model, report)
}

/// Match probability and weight of a pair under a model, for lists of `other` records.
pub(crate) fn score(
    model_weight: &crate::model::WeightTable,
    prior: f64,
    p: &Pattern,
) -> (f64, f64) {
    let w = prior + model_weight.weight(p);
    (probability_from_weight(w), w)
}

/// The prior weight for pairs between lists where the second has `other` records.
pub(crate) fn list_prior(model: &Model, other: usize) -> f64 {
    prior_weight(model.match_rate, other)
}

impl Model {
    /// Trains a model for linking list `a` against list `b` (u from random pairs, m by EM on
    /// blocked pairs, match rate by fixed point), starting from the prior model.
    pub fn train_link(
        a: &[PersonRecord],
        b: &[PersonRecord],
        opts: &TrainOptions,
    ) -> (Model, TrainingReport) {
        let (pa, pb) = (prepare_all(a), prepare_all(b));
        let pairs = blocked_pairs(&pa, &pb, false);
        train_on(&pa, &pb, false, &pairs, opts)
    }

    /// Trains a model on one list that may hold duplicates (for example the stored people
    /// before building a [`crate::PersonIndex`]).
    pub fn train_dedupe(people: &[PersonRecord], opts: &TrainOptions) -> (Model, TrainingReport) {
        let p = prepare_all(people);
        let pairs = blocked_pairs(&p, &p, true);
        train_on(&p, &p, true, &pairs, opts)
    }
}

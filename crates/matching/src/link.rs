//! Linking whole lists: blocked candidate pairs between two lists (or within one), model
//! training on them, and scoring. Shared by CSV matching and by bulk training of the index.

use crate::blocking::{BlockMap, BlockingPlan, MAX_BLOCK};
use crate::compare::{Pattern, Side, SimilarityCache, compare_cached};
use crate::model::{
    Model, PatternCounts, TrainOptions, TrainingReport, estimate_m, estimate_match_rate,
    estimate_u, prior_weight,
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
    pub rules: u64,
    pub pattern: Pattern,
}

/// All blocked pairs between `a` and `b`; with `dedupe` the lists are the same and each
/// unordered pair appears once. Work is split over the available cores.
pub(crate) fn blocked_pairs(
    plan: &BlockingPlan,
    a: &[Prepared],
    b: &[Prepared],
    dedupe: bool,
) -> Vec<PairRow> {
    let mut blocks = BlockMap::default();
    for (j, p) in b.iter().enumerate() {
        for (_, k) in plan.keys(p) {
            blocks.entry(k).or_default().push(j as u32);
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
            .map(|(c, part)| {
                s.spawn(move || pairs_for(plan, part, c * chunk, b, b_hot, blocks, dedupe))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a pairing thread does not panic"))
            .collect()
    })
}

fn pairs_for(
    plan: &BlockingPlan,
    part: &[Prepared],
    offset: usize,
    b: &[Prepared],
    b_hot: &[Hot],
    blocks: &BlockMap,
    dedupe: bool,
) -> Vec<PairRow> {
    let mut out = Vec::new();
    let mut hits: Vec<(u32, u64)> = Vec::new();
    let mut cache = SimilarityCache::default();
    for (i, p) in part.iter().enumerate() {
        let ai = (offset + i) as u32;
        hits.clear();
        for (rule, k) in plan.keys(p) {
            if let Some(block) = blocks.get(&k) {
                if block.len() <= MAX_BLOCK {
                    hits.extend(
                        block
                            .iter()
                            .filter(|&&j| !dedupe || j > ai)
                            .map(|&j| (j, 1u64 << rule)),
                    );
                }
            }
        }
        hits.sort_unstable_by_key(|h| h.0);
        let mut idx = 0;
        while idx < hits.len() {
            let j = hits[idx].0;
            let mut rules = 0u64;
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
    plan: &BlockingPlan,
    a: &[Prepared],
    b: &[Prepared],
    dedupe: bool,
    pairs: &[PairRow],
    opts: &TrainOptions,
) -> (Model, TrainingReport) {
    let mut model = Model {
        households: households_present(a) || (!dedupe && households_present(b)),
        ..Model::default()
    };
    let random_pairs = estimate_u(&mut model, a, b, dedupe, opts);
    // Count in a hash map (fast for millions of pairs), then order for deterministic training.
    let mut hashed: std::collections::HashMap<(Pattern, u64), u64> =
        std::collections::HashMap::new();
    for p in pairs {
        *hashed.entry((p.pattern, p.rules)).or_default() += 1;
    }
    let counts: PatternCounts = hashed.into_iter().collect();
    let rounds = estimate_m(&mut model, plan, &counts, opts);
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

/// Share of records, among those with an address, above which a list is taken to hold
/// households (see [`households_present`]).
const HOUSEHOLD_SHARE: f64 = 0.02;

/// Whether a list holds people who share a home: records at the same address (postcode and
/// address line) with a different first name and a different date of birth, so plainly
/// other people, not the same person recorded twice. In such data agreeing on postcode,
/// address and phone is one piece of evidence, not three.
pub(crate) fn households_present(list: &[Prepared]) -> bool {
    let mut homes: std::collections::HashMap<(u64, u64), Vec<u32>> =
        std::collections::HashMap::new();
    for (i, p) in list.iter().enumerate() {
        if p.hot.address != 0 {
            homes
                .entry((p.hot.postcode, p.hot.address))
                .or_default()
                .push(i as u32);
        }
    }
    let with_address: usize = homes.values().map(Vec::len).sum();
    let mut sharing = 0usize;
    for members in homes.values().filter(|m| m.len() > 1 && m.len() <= 50) {
        for &i in members {
            let p = &list[i as usize].hot;
            let other = members.iter().any(|&j| {
                let q = &list[j as usize].hot;
                j != i
                    && p.first != q.first
                    && p.dob_value != q.dob_value
                    && p.dob_value != 0
                    && q.dob_value != 0
            });
            sharing += usize::from(other);
        }
    }
    with_address > 0 && sharing as f64 / with_address as f64 > HOUSEHOLD_SHARE
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
        let plan = BlockingPlan::choose(&pa, &pb, false, opts.comparisons_per_record);
        let pairs = blocked_pairs(&plan, &pa, &pb, false);
        train_on(&plan, &pa, &pb, false, &pairs, opts)
    }

    /// Trains a model on one list that may hold duplicates (for example the stored people
    /// before building a [`crate::PersonIndex`]).
    pub fn train_dedupe(people: &[PersonRecord], opts: &TrainOptions) -> (Model, TrainingReport) {
        let p = prepare_all(people);
        let plan = BlockingPlan::choose(&p, &p, true, opts.comparisons_per_record);
        let pairs = blocked_pairs(&plan, &p, &p, true);
        train_on(&plan, &p, &p, true, &pairs, opts)
    }
}

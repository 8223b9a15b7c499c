//! The Fellegi–Sunter model: m and u probabilities per comparison level, match weights and
//! probabilities, per-field evidence, u estimation from random pairs and m estimation by EM.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::blocking::BlockingPlan;
use crate::compare::{
    FIELD_COUNT, Field, MAX_LEVELS, Pattern, Side, SimilarityCache, compare_cached,
};
use crate::error::ModelError;
use crate::frequency::{ADJUSTED, Adjustments};
use crate::record::Prepared;

/// m and u for one comparison level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    /// Level name, as in [`Field::levels`].
    pub name: String,
    /// Probability of this level among true matches.
    pub m: f64,
    /// Probability of this level among non-matches (random pairs).
    pub u: f64,
}

/// Parameters of one field's comparison; level 0 ("missing") carries no evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    /// The compared field.
    pub field: Field,
    /// One entry per level, in [`Field::levels`] order.
    pub levels: Vec<LevelParams>,
}

/// A trained (or prior) Fellegi–Sunter model, serialisable to JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Probability that a new record already has a match among the records it is compared
    /// with; the prior for one pair is `match_rate / number of records compared against`.
    pub match_rate: f64,
    /// One entry per field, in [`Field::ALL`] order.
    pub comparisons: Vec<ComparisonParams>,
    /// Whether people share homes in the data (siblings, parents): then postcode, address and
    /// phone agreeing describe one home and count once (see [`combine`]). Training decides
    /// it from the lists themselves.
    #[serde(default = "households_by_default")]
    pub households: bool,
}

fn households_by_default() -> bool {
    true
}

/// Evidence one field gave for a pair: its level and how much it moved the odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEvidence {
    /// The compared field.
    pub field: Field,
    /// Name of the level the pair fell into ("nickname", "day and month swapped", ...).
    pub level: String,
    /// m / u: how many times more likely this level is for a match than a non-match.
    pub bayes_factor: f64,
    /// log2 of the Bayes factor; positive supports a match.
    pub match_weight: f64,
}

/// Prior m and u per level, before any training: sensible for UK person data, used as the
/// EM starting point and as pseudo-counts that keep small samples stable.
fn prior_levels(field: Field) -> (&'static [f64], &'static [f64]) {
    match field {
        Field::FirstName => (
            &[0.0, 0.80, 0.02, 0.05, 0.04, 0.02, 0.01, 0.02, 0.04],
            &[0.0, 0.01, 0.0005, 0.002, 0.003, 0.003, 0.0005, 0.03, 0.951],
        ),
        Field::Surname => (
            &[0.0, 0.84, 0.03, 0.05, 0.02, 0.01, 0.02, 0.03],
            &[0.0, 0.005, 0.0005, 0.002, 0.002, 0.001, 0.03, 0.9595],
        ),
        Field::Dob => (
            &[0.0, 0.82, 0.03, 0.06, 0.02, 0.03, 0.02, 0.02],
            &[0.0, 0.0003, 0.00002, 0.005, 0.0005, 0.07, 0.14, 0.78418],
        ),
        Field::Postcode => (
            &[0.0, 0.70, 0.05, 0.05, 0.20],
            &[0.0, 0.0005, 0.005, 0.05, 0.9445],
        ),
        Field::Address => (
            &[0.0, 0.60, 0.10, 0.10, 0.05, 0.15],
            &[0.0, 0.0005, 0.001, 0.004, 0.03, 0.9645],
        ),
        Field::Phone => (&[0.0, 0.60, 0.05, 0.35], &[0.0, 0.0001, 0.0001, 0.9998]),
        Field::School => (&[0.0, 0.75, 0.10, 0.15], &[0.0, 0.05, 0.02, 0.93]),
        Field::Gender => (&[0.0, 0.98, 0.02], &[0.0, 0.5, 0.5]),
        Field::Email => (&[0.0, 0.70, 0.30], &[0.0, 0.0001, 0.9999]),
        Field::Town => (&[0.0, 0.80, 0.08, 0.12], &[0.0, 0.01, 0.005, 0.985]),
    }
}

impl Default for Model {
    /// The prior model: usable untrained, and the start of training.
    fn default() -> Self {
        let comparisons = Field::ALL
            .iter()
            .map(|&field| {
                let (m, u) = prior_levels(field);
                ComparisonParams {
                    field,
                    levels: field
                        .levels()
                        .iter()
                        .zip(m.iter().zip(u))
                        .map(|(name, (&m, &u))| LevelParams {
                            name: name.to_string(),
                            m,
                            u,
                        })
                        .collect(),
                }
            })
            .collect();
        Model {
            match_rate: 0.3,
            comparisons,
            households: true,
        }
    }
}

/// Precomputed log2 Bayes factors for fast scoring.
#[derive(Debug, Clone)]
pub(crate) struct WeightTable {
    weights: [[f64; MAX_LEVELS]; FIELD_COUNT],
    households: bool,
    u_exact: [f64; ADJUSTED.len()],
}

impl WeightTable {
    /// Total match weight of a pattern (see [`combine`]), with term-frequency adjustments.
    pub fn weight(&self, p: &Pattern, adj: &Adjustments) -> f64 {
        let mut w = [0.0; FIELD_COUNT];
        for (f, &l) in p.iter().enumerate() {
            w[f] = self.weights[f][l as usize] + adj[f];
        }
        combine(&w, self.households).0
    }

    /// The u of each term-frequency adjusted field's exact level.
    pub fn u_exact(&self) -> &[f64; ADJUSTED.len()] {
        &self.u_exact
    }
}

/// Postcode, address line and phone all describe one household: siblings share all three, so
/// adding their agreements would count the same home three times. Only the strongest positive
/// weight of the group counts; disagreements (negative weights) all count.
pub const HOUSEHOLD: [Field; 3] = [Field::Postcode, Field::Address, Field::Phone];

/// Adds per-field weights, under the household rule when `households`; also returns which
/// fields counted.
pub fn combine(w: &[f64; FIELD_COUNT], households: bool) -> (f64, [bool; FIELD_COUNT]) {
    let mut counted = [true; FIELD_COUNT];
    if !households {
        return (w.iter().sum(), counted);
    }
    let strongest = HOUSEHOLD
        .iter()
        .map(|f| f.index())
        .filter(|&i| w[i] > 0.0)
        .max_by(|&a, &b| w[a].total_cmp(&w[b]).then(b.cmp(&a)));
    for f in HOUSEHOLD {
        let i = f.index();
        if w[i] > 0.0 && Some(i) != strongest {
            counted[i] = false;
        }
    }
    let total = w
        .iter()
        .zip(counted)
        .filter(|(_, c)| *c)
        .map(|(x, _)| x)
        .sum();
    (total, counted)
}

/// Converts a total match weight (log2 odds) to a probability.
pub fn probability_from_weight(w: f64) -> f64 {
    1.0 / (1.0 + (-w).exp2())
}

/// log2 prior odds for one pair when a record is compared against `population` records.
pub(crate) fn prior_weight(match_rate: f64, population: usize) -> f64 {
    let lambda = (match_rate / population.max(1) as f64).clamp(1e-12, 0.999_999);
    (lambda / (1.0 - lambda)).log2()
}

impl Model {
    /// Reads a model from JSON and checks it fits this version's fields and levels.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let model: Model =
            serde_json::from_str(text).map_err(|e| ModelError::Json(e.to_string()))?;
        model.validate()?;
        Ok(model)
    }

    /// Writes the model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("a model of plain numbers and strings always serialises")
    }

    /// Checks fields, level names and that every m and u is a probability with u > 0.
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.match_rate > 0.0 && self.match_rate <= 1.0) {
            return Err(ModelError::Invalid(format!(
                "match_rate {} must be in (0, 1]",
                self.match_rate
            )));
        }
        if self.comparisons.len() != FIELD_COUNT {
            return Err(ModelError::Invalid(format!(
                "expected {FIELD_COUNT} comparisons, found {}",
                self.comparisons.len()
            )));
        }
        for (c, field) in self.comparisons.iter().zip(Field::ALL) {
            if c.field != field {
                return Err(ModelError::Invalid(format!(
                    "comparison for '{}' found where '{}' was expected",
                    c.field.name(),
                    field.name()
                )));
            }
            let names = field.levels();
            if c.levels.len() != names.len() {
                return Err(ModelError::Invalid(format!(
                    "'{}' needs {} levels ({}), found {}",
                    field.name(),
                    names.len(),
                    names.join(", "),
                    c.levels.len()
                )));
            }
            for (l, (lp, name)) in c.levels.iter().zip(names).enumerate() {
                let ok = |x: f64| (0.0..=1.0).contains(&x);
                if lp.name != *name
                    || !ok(lp.m)
                    || !ok(lp.u)
                    || (l > 0 && (lp.u <= 0.0 || lp.m <= 0.0))
                {
                    return Err(ModelError::Invalid(format!(
                        "'{}' level {l} must be named '{name}' with 0 < m, u <= 1 (found '{}', m {}, u {})",
                        field.name(),
                        lp.name,
                        lp.m,
                        lp.u
                    )));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn table(&self) -> WeightTable {
        let mut weights = [[0.0; MAX_LEVELS]; FIELD_COUNT];
        // Zips bound the loops, so a hand-built model with extra entries cannot panic here.
        for (row, c) in weights.iter_mut().zip(&self.comparisons) {
            for (slot, lp) in row.iter_mut().zip(&c.levels).skip(1) {
                *slot = (lp.m / lp.u).log2();
            }
        }
        let mut u_exact = [1.0; ADJUSTED.len()];
        for (slot, f) in u_exact.iter_mut().zip(ADJUSTED) {
            if let Some(lp) = self
                .comparisons
                .get(f.index())
                .and_then(|c| c.levels.get(1))
            {
                *slot = lp.u;
            }
        }
        WeightTable {
            weights,
            households: self.households,
            u_exact,
        }
    }

    /// Per-field evidence for a comparison pattern, term-frequency adjustments included.
    /// Fields whose agreement was not counted (household rule) show a Bayes factor of 1 and
    /// say so in their level text.
    pub(crate) fn evidence(&self, p: &Pattern, adj: &Adjustments) -> Vec<FieldEvidence> {
        let mut w = [0.0; FIELD_COUNT];
        for (f, (c, &l)) in self.comparisons.iter().zip(p).enumerate() {
            w[f] = match c.levels.get(l as usize) {
                Some(lp) if l != 0 => (lp.m / lp.u).log2() + adj[f],
                _ => 0.0,
            };
        }
        let (_, counted) = combine(&w, self.households);
        self.comparisons
            .iter()
            .zip(p)
            .enumerate()
            .map(|(f, (c, &l))| {
                let name = c
                    .levels
                    .get(l as usize)
                    .map_or("unknown level", |lp| lp.name.as_str());
                if counted[f] {
                    FieldEvidence {
                        field: c.field,
                        level: name.to_string(),
                        bayes_factor: w[f].exp2(),
                        match_weight: w[f],
                    }
                } else {
                    FieldEvidence {
                        field: c.field,
                        level: format!("{name} (same household: counted once)"),
                        bayes_factor: 1.0,
                        match_weight: 0.0,
                    }
                }
            })
            .collect()
    }

    fn m(&self, f: usize, l: usize) -> f64 {
        self.comparisons[f].levels[l].m
    }

    fn u(&self, f: usize, l: usize) -> f64 {
        self.comparisons[f].levels[l].u
    }
}

/// Training settings; the defaults suit lists from a few hundred to a few million records.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Random pairs sampled to estimate u.
    pub random_pairs: usize,
    /// Most EM iterations per blocking rule.
    pub max_iterations: usize,
    /// EM stops when no m moves by more than this.
    pub tolerance: f64,
    /// Weight of the prior m, in pseudo-matches, so rare levels stay stable.
    pub prior_strength: f64,
    /// Seed of the random pair sampler, so training is reproducible.
    pub seed: u64,
    /// Cap on the comparisons blocking may make, per record of the larger list.
    pub comparisons_per_record: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            random_pairs: 120_000,
            max_iterations: 100,
            tolerance: 1e-6,
            prior_strength: 20.0,
            seed: 42,
            comparisons_per_record: crate::blocking::COMPARISONS_PER_RECORD,
        }
    }
}

/// What EM did on the pairs of one blocking rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmRound {
    /// The blocking rule whose pairs trained this round.
    pub rule: String,
    /// Candidate pairs the rule produced.
    pub pairs: u64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the m probabilities stopped moving within the tolerance.
    pub converged: bool,
    /// Share of the rule's pairs EM judged to be matches.
    pub match_share: f64,
}

/// How a model was trained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingReport {
    /// Random pairs sampled for u.
    pub random_pairs: usize,
    /// Blocked candidate pairs seen by EM.
    pub blocked_pairs: u64,
    /// One entry per EM round.
    pub rounds: Vec<EmRound>,
    /// Expected number of true matches among the blocked pairs.
    pub expected_matches: f64,
}

/// Candidate pair patterns grouped by (pattern, blocking-rule mask) with counts.
pub(crate) type PatternCounts = std::collections::BTreeMap<(Pattern, u64), u64>;

/// Estimates u from random pairs; levels seen fewer than ten times keep their prior u, since
/// a handful of observations would give them wildly wrong Bayes factors.
pub(crate) fn estimate_u(
    model: &mut Model,
    a: &[Prepared],
    b: &[Prepared],
    dedupe: bool,
    opts: &TrainOptions,
) -> usize {
    if a.is_empty() || b.is_empty() || (dedupe && a.len() < 2) {
        return 0;
    }
    let mut rng = StdRng::seed_from_u64(opts.seed);
    // Small lists are compared in full: sampling them would count the same few pairs many
    // times over.
    let picks: Vec<(u32, u32)> = if (a.len() as f64) * (b.len() as f64) <= opts.random_pairs as f64
    {
        (0..a.len() as u32)
            .flat_map(|i| (0..b.len() as u32).map(move |j| (i, j)))
            .filter(|(i, j)| !dedupe || i < j)
            .collect()
    } else {
        (0..opts.random_pairs)
            .map(|_| {
                (
                    rng.gen_range(0..a.len()) as u32,
                    rng.gen_range(0..b.len()) as u32,
                )
            })
            .filter(|(i, j)| !dedupe || i != j)
            .collect()
    };
    let sampled = picks.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = picks.len().div_ceil(threads).max(1);
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = picks
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut counts = [[0u64; MAX_LEVELS]; FIELD_COUNT];
                    let mut cache = SimilarityCache::default();
                    for &(i, j) in part {
                        let p = compare_cached(
                            Side::of(&a[i as usize]),
                            Side::of(&b[j as usize]),
                            Some(&mut cache),
                        );
                        for (f, &l) in p.iter().enumerate() {
                            counts[f][l as usize] += 1;
                        }
                    }
                    counts
                })
            })
            .collect();
        let mut total = [[0u64; MAX_LEVELS]; FIELD_COUNT];
        for h in handles {
            let part = h.join().expect("a sampling thread does not panic");
            for f in 0..FIELD_COUNT {
                for l in 0..MAX_LEVELS {
                    total[f][l] += part[f][l];
                }
            }
        }
        total
    });
    for (f, c) in model.comparisons.iter_mut().enumerate() {
        let n: u64 = counts[f][1..].iter().sum();
        if n == 0 {
            continue;
        }
        let levels = c.levels.len();
        let fixed: f64 = (1..levels)
            .filter(|&l| counts[f][l] < 10)
            .map(|l| c.levels[l].u)
            .sum();
        let seen: u64 = (1..levels)
            .filter(|&l| counts[f][l] >= 10)
            .map(|l| counts[f][l])
            .sum();
        for (lp, &n) in c.levels.iter_mut().zip(&counts[f]).skip(1) {
            if n >= 10 {
                lp.u = (1.0 - fixed) * n as f64 / seen as f64;
            }
        }
    }
    sampled
}

/// Most EM rounds (one per training rule).
const TRAINING_ROUNDS: usize = 4;

/// Chooses the blocking rules whose pairs train m, as Splink's users do by hand: rules with
/// enough pairs, most pairs first, each taken while it lets a field be learned that fewer
/// than two rounds learn so far (a rule's own fields agree by construction, so its round
/// cannot learn them). Where people share homes, a rule must hold something siblings do not
/// share (first name, date or year of birth): pairs agreeing only on surname and home are
/// mostly brothers and sisters, and EM would learn from them that a different first name
/// is how the same person is recorded.
fn training_rules(
    plan: &BlockingPlan,
    counts: &PatternCounts,
    households: bool,
) -> Vec<(usize, f64)> {
    use crate::blocking::Component;
    let mut pairs = vec![0.0; plan.rules.len()];
    for ((_, mask), &c) in counts {
        for (i, slot) in pairs.iter_mut().enumerate() {
            if mask & (1u64 << i) != 0 {
                *slot += c as f64;
            }
        }
    }
    let personal = |i: usize| {
        plan.rules[i].components.iter().any(|c| {
            matches!(
                c,
                Component::FirstSound | Component::Dob | Component::BirthYear | Component::Email
            )
        })
    };
    let mut order: Vec<usize> = (0..plan.rules.len())
        .filter(|&i| pairs[i] >= 100.0 && (!households || personal(i)))
        .collect();
    order.sort_by(|&x, &y| pairs[y].total_cmp(&pairs[x]).then(x.cmp(&y)));
    let mut learned = [0usize; FIELD_COUNT];
    let mut chosen = Vec::new();
    for i in order {
        let fixed = plan.rules[i].fields();
        let helps = Field::ALL
            .iter()
            .any(|f| !fixed.contains(f) && learned[f.index()] < 2);
        if !helps {
            continue;
        }
        for f in Field::ALL {
            if !fixed.contains(&f) {
                learned[f.index()] += 1;
            }
        }
        chosen.push((i, pairs[i]));
        if chosen.len() == TRAINING_ROUNDS {
            break;
        }
    }
    chosen
}

/// Estimates m by expectation maximisation, one round per training rule (as Splink does),
/// averaging each field's m over the rounds that could learn it; u stays fixed.
pub(crate) fn estimate_m(
    model: &mut Model,
    plan: &BlockingPlan,
    counts: &PatternCounts,
    opts: &TrainOptions,
) -> Vec<EmRound> {
    let prior = model.clone();
    let mut sums = [[0.0; MAX_LEVELS]; FIELD_COUNT];
    let mut rounds_per_field = [0usize; FIELD_COUNT];
    let mut rounds = Vec::new();
    for (bit, pairs) in training_rules(plan, counts, prior.households) {
        let rule = &plan.rules[bit];
        let patterns: Vec<(Pattern, f64)> = counts
            .iter()
            .filter(|((_, mask), _)| mask & (1u64 << bit) != 0)
            .map(|((p, _), &c)| (*p, c as f64))
            .collect();
        let mut active = [true; FIELD_COUNT];
        for f in rule.fields() {
            active[f.index()] = false;
        }
        let (m, iterations, converged, share) = em_round(&prior, &patterns, &active, opts);
        for f in 0..FIELD_COUNT {
            if active[f] {
                rounds_per_field[f] += 1;
                for l in 0..MAX_LEVELS {
                    sums[f][l] += m[f][l];
                }
            }
        }
        rounds.push(EmRound {
            rule: rule.describe(),
            pairs: pairs as u64,
            iterations,
            converged,
            match_share: share,
        });
    }
    for (f, c) in model.comparisons.iter_mut().enumerate() {
        if rounds_per_field[f] == 0 {
            continue;
        }
        for (l, lp) in c.levels.iter_mut().enumerate().skip(1) {
            lp.m = (sums[f][l] / rounds_per_field[f] as f64).max(1e-9);
        }
    }
    rounds
}

type MTable = [[f64; MAX_LEVELS]; FIELD_COUNT];

fn em_round(
    prior: &Model,
    patterns: &[(Pattern, f64)],
    active: &[bool; FIELD_COUNT],
    opts: &TrainOptions,
) -> (MTable, usize, bool, f64) {
    let mut m: MTable = [[0.0; MAX_LEVELS]; FIELD_COUNT];
    for (row, c) in m.iter_mut().zip(&prior.comparisons) {
        for (slot, lp) in row.iter_mut().zip(&c.levels).skip(1) {
            *slot = lp.m;
        }
    }
    let mut lambda: f64 = 0.1;
    let total: f64 = patterns.iter().map(|(_, c)| c).sum();
    let mut iterations = 0;
    let mut converged = false;
    while iterations < opts.max_iterations {
        iterations += 1;
        let mut num = [[0.0; MAX_LEVELS]; FIELD_COUNT];
        let mut matched = 0.0;
        for (p, c) in patterns {
            let mut w = [0.0; FIELD_COUNT];
            for (f, &l) in p.iter().enumerate() {
                if active[f] && l != 0 {
                    w[f] = (m[f][l as usize] / prior.u(f, l as usize)).log2();
                }
            }
            let post = probability_from_weight(
                (lambda / (1.0 - lambda)).log2() + combine(&w, prior.households).0,
            );
            matched += c * post;
            for (f, &l) in p.iter().enumerate() {
                num[f][l as usize] += c * post;
            }
        }
        let mut delta: f64 = 0.0;
        for f in 0..FIELD_COUNT {
            if !active[f] {
                continue;
            }
            let levels = prior.comparisons[f].levels.len();
            let non_null: f64 = num[f][1..levels].iter().sum();
            for l in 1..levels {
                let new = (num[f][l] + opts.prior_strength * prior.m(f, l))
                    / (non_null + opts.prior_strength);
                delta = delta.max((new - m[f][l]).abs());
                m[f][l] = new;
            }
        }
        lambda = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        if delta < opts.tolerance {
            converged = true;
            break;
        }
    }
    (m, iterations, converged, lambda)
}

/// Finds the match rate at which the expected matches among blocked pairs agree with the
/// prior they imply (a fixed point), so probabilities are calibrated to the data's size.
pub(crate) fn estimate_match_rate(
    model: &mut Model,
    counts: &PatternCounts,
    other_side: usize,
    total_pairs: f64,
) -> f64 {
    let table = model.table();
    let weights: Vec<(f64, f64)> = counts
        .iter()
        .map(|((p, _), &c)| (table.weight(p, &crate::frequency::NONE), c as f64))
        .collect();
    let mut lambda: f64 = 1.0 / total_pairs.max(1.0);
    let mut expected = 0.0;
    for _ in 0..200 {
        let prior = (lambda / (1.0 - lambda)).log2();
        expected = weights
            .iter()
            .map(|(w, c)| c * probability_from_weight(prior + w))
            .sum::<f64>();
        let next = (expected / total_pairs.max(1.0)).clamp(1e-12, 0.5);
        if (next - lambda).abs() <= lambda * 1e-6 {
            lambda = next;
            break;
        }
        lambda = next;
    }
    model.match_rate = (lambda * other_side as f64).clamp(1e-6, 1.0);
    expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_is_valid_and_round_trips() {
        let m = Model::default();
        m.validate().expect("default model is valid");
        for c in &m.comparisons {
            let sm: f64 = c.levels[1..].iter().map(|l| l.m).sum();
            let su: f64 = c.levels[1..].iter().map(|l| l.u).sum();
            assert!((sm - 1.0).abs() < 1e-9, "{:?} m sums to {sm}", c.field);
            assert!((su - 1.0).abs() < 1e-9, "{:?} u sums to {su}", c.field);
        }
        let back = Model::from_json(&m.to_json()).expect("round trip");
        assert_eq!(back, m);
    }

    #[test]
    fn bad_json_models_are_refused_with_reason() {
        let mut m = Model::default();
        m.comparisons[2].levels[1].u = 0.0;
        let err = Model::from_json(&m.to_json()).expect_err("u = 0 refused");
        assert!(err.to_string().contains("dob"), "{err}");
        let err = Model::from_json("{").expect_err("bad json");
        assert!(err.to_string().contains("JSON"), "{err}");
    }

    #[test]
    fn weights_and_probability() {
        assert_eq!(probability_from_weight(0.0), 0.5);
        assert!((probability_from_weight(10.0) - 1024.0 / 1025.0).abs() < 1e-12);
        let w = prior_weight(0.5, 1);
        assert!((w - 0.0).abs() < 1e-9);
    }
}

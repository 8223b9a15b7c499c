//! The in-memory person index: prepared records plus blocking maps, so a new referral's
//! candidate matches among existing people are found and explained in milliseconds.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::blocking::{BlockMap, BlockingPlan, COMPARISONS_PER_RECORD, MAX_BLOCK};
use crate::compare::{Side, compare, compare_cached};
use crate::frequency::Frequencies;
use crate::link::prepare_all;
use crate::model::{FieldEvidence, Model, WeightTable, prior_weight, probability_from_weight};
use crate::record::{Hot, PersonRecord, Prepared};

/// The blocking rules are chosen again from the people held whenever their number has
/// doubled since the last choice (and at least this many are held), so rules chosen on a
/// small index do not become unselective as it grows.
const REPLAN_FROM: usize = 1_000;

/// A possible match for a looked-up person, with the evidence behind its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Id of the indexed person.
    pub id: String,
    /// Probability that the two records are the same person.
    pub probability: f64,
    /// Total match weight (log2 odds), the prior included.
    pub match_weight: f64,
    /// One entry per compared field, in a fixed field order.
    pub evidence: Vec<FieldEvidence>,
}

/// People held for matching, keyed by id; insert, remove and look up candidates.
#[derive(Debug, Clone)]
pub struct PersonIndex {
    model: Model,
    table: WeightTable,
    records: Vec<Option<Prepared>>,
    /// Copy of each slot's hot hashes in one dense array: lookups visit records in random
    /// order, and this keeps most of the bytes they read in a few cache lines.
    hot: Vec<Hot>,
    positions: HashMap<String, u32>,
    blocks: BlockMap,
    free: Vec<u32>,
    plan: BlockingPlan,
    /// Number of people the plan was chosen for.
    planned_for: usize,
    freq: Frequencies,
}

impl Default for PersonIndex {
    fn default() -> Self {
        PersonIndex::new(Model::default())
    }
}

impl PersonIndex {
    /// An empty index scoring with the given model.
    pub fn new(model: Model) -> PersonIndex {
        PersonIndex {
            table: model.table(),
            model,
            records: Vec::new(),
            hot: Vec::new(),
            positions: HashMap::new(),
            blocks: BlockMap::default(),
            free: Vec::new(),
            plan: BlockingPlan::choose(&[], &[], true, COMPARISONS_PER_RECORD),
            planned_for: 0,
            freq: Frequencies::default(),
        }
    }

    /// Builds an index from stored people in one go.
    pub fn build<'a>(
        model: Model,
        people: impl IntoIterator<Item = &'a PersonRecord>,
    ) -> PersonIndex {
        let mut index = PersonIndex::new(model);
        let people: Vec<&PersonRecord> = people.into_iter().collect();
        // Later records with the same id replace earlier ones, as `insert` would.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(people.len());
        for (i, p) in people.iter().enumerate() {
            last.insert(p.id.as_str(), i);
        }
        let kept: Vec<PersonRecord> = people
            .iter()
            .enumerate()
            .filter(|(i, p)| last.get(p.id.as_str()) == Some(i))
            .map(|(_, p)| (*p).clone())
            .collect();
        let prepared = prepare_all(&kept);
        for p in prepared {
            index
                .positions
                .insert(p.id.clone(), index.records.len() as u32);
            index.hot.push(p.hot);
            index.records.push(Some(p));
        }
        index.replan();
        index
    }

    /// Chooses the blocking rules from the people held and rebuilds the blocks and the
    /// value frequencies.
    fn replan(&mut self) {
        let held: Vec<Prepared> = Vec::new();
        let records: Vec<&Prepared> = self.records.iter().flatten().collect();
        // Costing needs a slice of prepared records; a sample keeps the copy small.
        let step = records.len().div_ceil(100_000).max(1);
        let sample: Vec<Prepared> = records.iter().step_by(step).map(|p| (*p).clone()).collect();
        let mut plan = BlockingPlan::choose(&sample, &held, true, COMPARISONS_PER_RECORD);
        // Costs were measured on the sample: scale the budget check to the whole index.
        plan.budget *= (records.len() as f64 / sample.len().max(1) as f64).max(1.0);
        self.plan = plan;
        self.planned_for = records.len();
        self.blocks = BlockMap::default();
        self.freq = Frequencies::default();
        for (slot, p) in self.records.iter().enumerate() {
            if let Some(p) = p {
                for (_, k) in self.plan.keys(p) {
                    self.blocks.entry(k).or_default().push(slot as u32);
                }
                self.freq.add(&p.hot);
            }
        }
    }

    /// The blocking rules in use, described.
    pub fn blocking_rules(&self) -> Vec<String> {
        self.plan.rules.iter().map(|r| r.describe()).collect()
    }

    /// The model used for scoring.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Number of people held.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True when no one is held.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// True when a person with this id is held.
    pub fn contains(&self, id: &str) -> bool {
        self.positions.contains_key(id)
    }

    /// Adds a person, replacing any earlier record with the same id (an edit or a merge).
    pub fn insert(&mut self, person: &PersonRecord) {
        self.remove(&person.id);
        let prepared = Prepared::new(person);
        let hot = prepared.hot;
        let slot = match self.free.pop() {
            Some(s) => {
                self.records[s as usize] = Some(prepared);
                self.hot[s as usize] = hot;
                s
            }
            None => {
                self.records.push(Some(prepared));
                self.hot.push(hot);
                u32::try_from(self.records.len() - 1)
                    .expect("an index holds fewer than 4 billion people")
            }
        };
        self.positions.insert(person.id.clone(), slot);
        if self.len() >= REPLAN_FROM && self.len() >= 2 * self.planned_for {
            self.replan();
            return;
        }
        let p = self.records[slot as usize]
            .as_ref()
            .expect("slot was just filled");
        for (_, k) in self.plan.keys(p) {
            self.blocks.entry(k).or_default().push(slot);
        }
        self.freq.add(&p.hot);
    }

    /// Removes a person by id; returns whether they were held.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.positions.remove(id) else {
            return false;
        };
        if let Some(p) = self.records[slot as usize].take() {
            for (_, k) in self.plan.keys(&p) {
                if let Some(block) = self.blocks.get_mut(&k) {
                    block.retain(|&s| s != slot);
                    if block.is_empty() {
                        self.blocks.remove(&k);
                    }
                }
            }
            self.freq.remove(&p.hot);
        }
        self.free.push(slot);
        true
    }

    /// Candidate matches for a person, best first: at most `limit`, each with probability at
    /// least `min_probability`. A held record with the same id is never its own candidate.
    pub fn candidates(
        &self,
        person: &PersonRecord,
        limit: usize,
        min_probability: f64,
    ) -> Vec<Candidate> {
        let query = Prepared::new(person);
        let mut slots: Vec<u32> = Vec::new();
        for (_, k) in self.plan.keys(&query) {
            if let Some(block) = self.blocks.get(&k) {
                if block.len() <= MAX_BLOCK {
                    slots.extend_from_slice(block);
                }
            }
        }
        slots.sort_unstable();
        slots.dedup();
        let prior = prior_weight(self.model.match_rate, self.len());
        let mut scored: Vec<(
            f64,
            u32,
            crate::compare::Pattern,
            crate::frequency::Adjustments,
        )> = slots
            .into_iter()
            .filter_map(|s| {
                let p = self.records[s as usize].as_ref()?;
                if p.id == query.id {
                    return None;
                }
                let pattern = compare_cached(
                    Side::of(&query),
                    Side {
                        p,
                        h: &self.hot[s as usize],
                    },
                    None,
                );
                let adj = self.adjust(&pattern, &query.hot, &self.hot[s as usize]);
                let w = prior + self.table.weight(&pattern, &adj);
                (probability_from_weight(w) >= min_probability).then_some((w, s, pattern, adj))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(limit);
        scored
            .into_iter()
            .filter_map(|(w, s, pattern, adj)| {
                let p = self.records[s as usize].as_ref()?;
                Some(Candidate {
                    id: p.id.clone(),
                    probability: probability_from_weight(w),
                    match_weight: w,
                    evidence: self.model.evidence(&pattern, &adj),
                })
            })
            .collect()
    }

    /// Number of distinct records sharing at least one blocking key with `person` (the
    /// records `candidates` scores), for capacity planning and benchmarks.
    pub fn blocked_count(&self, person: &PersonRecord) -> usize {
        let mut slots: Vec<u32> = self
            .plan
            .keys(&Prepared::new(person))
            .iter()
            .filter_map(|(_, k)| self.blocks.get(k))
            .filter(|b| b.len() <= MAX_BLOCK)
            .flatten()
            .copied()
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots.len()
    }

    /// Scores two records directly (no blocking), as if `b` were held in this index.
    pub fn compare_pair(&self, a: &PersonRecord, b: &PersonRecord) -> Candidate {
        let (pa, pb) = (Prepared::new(a), Prepared::new(b));
        let pattern = compare(&pa, &pb);
        let adj = self.adjust(&pattern, &pa.hot, &pb.hot);
        let w = prior_weight(self.model.match_rate, self.len().max(1))
            + self.table.weight(&pattern, &adj);
        Candidate {
            id: b.id.clone(),
            probability: probability_from_weight(w),
            match_weight: w,
            evidence: self.model.evidence(&pattern, &adj),
        }
    }

    /// Term-frequency adjustments of a query against a held record.
    fn adjust(
        &self,
        pattern: &crate::compare::Pattern,
        query: &Hot,
        held: &Hot,
    ) -> crate::frequency::Adjustments {
        self.freq
            .adjust(self.table.u_exact(), pattern, query, held, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, first: &str, surname: &str, dob: &str, postcode: &str) -> PersonRecord {
        PersonRecord {
            id: id.into(),
            first_name: Some(first.into()),
            surname: Some(surname.into()),
            dob: Some(dob.into()),
            postcode: Some(postcode.into()),
            ..Default::default()
        }
    }

    fn sample() -> PersonIndex {
        let people = [
            person("p1", "Robert", "Okafor", "2009-03-04", "W10 5AB"),
            person("p2", "Amina", "Hassan", "2010-11-12", "W11 1AA"),
            person("p3", "Robert", "Okafor", "2009-10-20", "E1 6AN"),
            person("p4", "Kasia", "Nowak", "2008-01-02", "SW10 0XX"),
        ];
        PersonIndex::build(Model::default(), people.iter())
    }

    #[test]
    fn finds_a_nickname_with_swapped_day_and_month() {
        let idx = sample();
        let q = person("new", "Bob", "Okafor", "2009-04-03", "W10 5AB");
        let c = idx.candidates(&q, 5, 0.0);
        assert_eq!(c[0].id, "p1");
        assert!(c[0].probability > 0.9, "{}", c[0].probability);
        let levels: Vec<&str> = c[0].evidence.iter().map(|e| e.level.as_str()).collect();
        assert_eq!(
            &levels[..4],
            &["nickname", "exact", "day and month swapped", "exact"]
        );
        // The namesake born the same year elsewhere is a candidate but ranks well below.
        let namesake = c
            .iter()
            .find(|x| x.id == "p3")
            .expect("namesake is a candidate");
        assert!(
            namesake.match_weight < c[0].match_weight - 10.0,
            "{namesake:?}"
        );
        assert_eq!(namesake.evidence[2].level, "same birth year");
    }

    #[test]
    fn min_probability_and_limit_filter() {
        let idx = sample();
        let q = person("new", "Bob", "Okafor", "2009-04-03", "W10 5AB");
        assert_eq!(idx.candidates(&q, 1, 0.0).len(), 1);
        assert!(idx.candidates(&q, 10, 0.999_999_999).is_empty());
    }

    #[test]
    fn insert_replaces_and_remove_forgets() {
        let mut idx = sample();
        assert_eq!(idx.len(), 4);
        idx.insert(&person("p1", "Zainab", "Ali", "2011-01-01", "N1 9GU"));
        assert_eq!(idx.len(), 4);
        let q = person("new", "Robert", "Okafor", "2009-03-04", "W10 5AB");
        assert!(idx.candidates(&q, 5, 0.5).iter().all(|c| c.id != "p1"));
        assert!(idx.remove("p3"));
        assert!(!idx.remove("p3"));
        assert!(!idx.contains("p3"));
        assert!(idx.candidates(&q, 5, 0.0).iter().all(|c| c.id != "p3"));
        // The freed slot is reused and the new person is found.
        idx.insert(&person("p5", "Robert", "Okafor", "2009-03-04", "W10 5AB"));
        assert_eq!(idx.candidates(&q, 5, 0.5)[0].id, "p5");
    }

    #[test]
    fn a_new_index_blocks_on_every_component() {
        // Nothing to cost rules on yet: every single component is a rule.
        let mut idx = PersonIndex::default();
        assert_eq!(idx.blocking_rules().len(), 10, "{:?}", idx.blocking_rules());
        idx.insert(&person("p1", "Tayo", "Okoro", "2010-04-12", "E1 6AN"));
        let q = person("q", "Tayo", "Okorro", "2010-12-04", "E1 6AN");
        assert_eq!(idx.candidates(&q, 5, 0.0)[0].id, "p1");
        let one = PersonIndex::build(
            Model::default(),
            [person("p1", "A", "B", "2010-04-12", "E1 6AN")].iter(),
        );
        assert_eq!(one.candidates(&q, 5, 0.0).len(), 1);
    }

    #[test]
    fn a_record_is_not_its_own_candidate() {
        let idx = sample();
        let me = person("p2", "Amina", "Hassan", "2010-11-12", "W11 1AA");
        assert!(idx.candidates(&me, 5, 0.0).iter().all(|c| c.id != "p2"));
    }
}

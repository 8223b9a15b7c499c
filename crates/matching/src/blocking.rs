//! Blocking: which pairs of records are compared at all. Rules are chosen from the data
//! itself rather than fixed: every pair of blocking components (name sounds, date of birth,
//! birth year, postcode, address, phone, e-mail, school) is a candidate rule, costed by how
//! many comparisons it would make on these lists (which follows from each field's
//! completeness and cardinality), and rules are taken cheapest first while the total stays
//! within a cap on comparisons per record. A true pair is then missed only when no two of
//! its fields agree exactly on any affordable rule. Single components that fit the remaining
//! budget are added last (they catch pairs agreeing on one strong field, a phone or e-mail).
//! A rule that costs nothing (a field nobody has yet, or an index still empty) is always
//! affordable, so a small or new index blocks on every single component.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::compare::Field;
use crate::phonetic::metaphone;
use crate::record::{Prepared, text_hash};

/// A part of a blocking key: one field's value reduced to what should survive common errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Metaphone code of the first name (and of each alias's first name).
    FirstSound,
    /// Metaphone code of the surname (and of each alias's surname).
    SurnameSound,
    /// The date of birth's digits, as written.
    Dob,
    /// The year of birth (from the date or the approximate year).
    BirthYear,
    /// The full postcode.
    Postcode,
    /// House numbers and the sound of the first word of the address.
    Address,
    /// The normalised phone number.
    Phone,
    /// The e-mail address.
    Email,
    /// The school.
    School,
    /// The town.
    Town,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; 10] = [
        Component::FirstSound,
        Component::SurnameSound,
        Component::Dob,
        Component::BirthYear,
        Component::Postcode,
        Component::Address,
        Component::Phone,
        Component::Email,
        Component::School,
        Component::Town,
    ];

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Component::FirstSound => "first name sound",
            Component::SurnameSound => "surname sound",
            Component::Dob => "date of birth",
            Component::BirthYear => "birth year",
            Component::Postcode => "postcode",
            Component::Address => "address",
            Component::Phone => "phone",
            Component::Email => "e-mail",
            Component::School => "school",
            Component::Town => "town",
        }
    }

    /// The compared field this component is taken from.
    pub fn field(self) -> Field {
        match self {
            Component::FirstSound => Field::FirstName,
            Component::SurnameSound => Field::Surname,
            Component::Dob | Component::BirthYear => Field::Dob,
            Component::Postcode => Field::Postcode,
            Component::Address => Field::Address,
            Component::Phone => Field::Phone,
            Component::Email => Field::Email,
            Component::School => Field::School,
            Component::Town => Field::Town,
        }
    }
}

/// A blocking rule: records sharing the values of all its components are compared. The rule
/// on both name sounds takes them in either order, so swapped names still meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// One or two components.
    pub components: Vec<Component>,
}

impl Rule {
    /// Human description, for example "surname sound + birth year".
    pub fn describe(&self) -> String {
        self.components
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The fields every pair of this rule agrees on by construction.
    pub fn fields(&self) -> Vec<Field> {
        let mut f: Vec<Field> = self.components.iter().map(|c| c.field()).collect();
        f.dedup();
        f
    }

    fn is_name_pair(&self) -> bool {
        self.components == [Component::FirstSound, Component::SurnameSound]
    }
}

/// Most rules a plan may hold (rule sets are bit masks of a `u64`).
pub const MAX_RULES: usize = 64;

/// Comparisons per record the blocking rules may make together, as costed on the data.
pub const COMPARISONS_PER_RECORD: f64 = 20.0;

/// Small lists can afford every rule: below this many comparisons the cap does not bite.
const MIN_BUDGET: f64 = 20_000.0;

/// Records sampled from each side to cost the rules (costs are scaled up from the sample).
const COST_SAMPLE: usize = 100_000;

/// Blocks larger than this are too unselective to help (a placeholder date, say) and are
/// skipped when pairing and looking up.
pub const MAX_BLOCK: usize = 5_000;

/// The chosen rules, with what they were expected to cost.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingPlan {
    /// Rules in the order chosen.
    pub rules: Vec<Rule>,
    /// Estimated comparisons each rule makes on the data it was chosen for.
    pub costs: Vec<f64>,
    /// The cap on comparisons the rules were chosen within.
    pub budget: f64,
}

/// Blocking values of one record, per component (several for names with aliases).
#[derive(Debug, Default, Clone)]
pub(crate) struct Values {
    per: [Vec<u64>; Component::ALL.len()],
}

impl Values {
    pub fn of(p: &Prepared) -> Values {
        let mut v = Values::default();
        let push = |v: &mut Values, c: Component, h: u64| {
            let slot = &mut v.per[c as usize];
            if h != 0 && !slot.contains(&h) {
                slot.push(h);
            }
        };
        push(&mut v, Component::FirstSound, text_hash(&p.first_code));
        push(&mut v, Component::SurnameSound, text_hash(&p.surname_code));
        for a in &p.aliases {
            push(
                &mut v,
                Component::FirstSound,
                text_hash(&metaphone(&a.first)),
            );
            push(
                &mut v,
                Component::SurnameSound,
                text_hash(&metaphone(&a.last)),
            );
        }
        push(&mut v, Component::Dob, text_hash(&p.dob_digits));
        if let Some(y) = p.birth_year {
            push(&mut v, Component::BirthYear, mix(0xb1, y as u64));
        }
        push(&mut v, Component::Postcode, p.hot.postcode);
        if let Some(a) = p.address.as_deref() {
            let word = a
                .split(' ')
                .find(|w| w.bytes().any(|c| c.is_ascii_alphabetic()))
                .map(metaphone)
                .unwrap_or_default();
            let key = format!("{} {}", p.address_numbers.join(" "), word);
            push(&mut v, Component::Address, text_hash(key.trim()));
        }
        push(&mut v, Component::Phone, p.hot.phone);
        push(&mut v, Component::Email, p.hot.email);
        push(&mut v, Component::School, p.hot.school);
        push(&mut v, Component::Town, p.hot.town);
        v
    }

    fn get(&self, c: Component) -> &[u64] {
        &self.per[c as usize]
    }
}

/// Mixes two 64-bit values into one (a multiply-xorshift finaliser).
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(31)
        .wrapping_add(b);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The keys of one record under one rule (none when a component is missing).
fn rule_keys(rule_no: usize, rule: &Rule, v: &Values, out: &mut Vec<u64>) {
    let seed = mix(0x5eed, rule_no as u64);
    match rule.components.as_slice() {
        [c] => out.extend(v.get(*c).iter().map(|&h| mix(seed, h))),
        [c, d] if rule.is_name_pair() => {
            for &x in v.get(*c) {
                for &y in v.get(*d) {
                    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
                    out.push(mix(mix(seed, lo), hi));
                }
            }
        }
        [c, d] => {
            for &x in v.get(*c) {
                for &y in v.get(*d) {
                    out.push(mix(mix(seed, x), y));
                }
            }
        }
        _ => {}
    }
}

impl BlockingPlan {
    /// Every key of a record under this plan, each tagged with its rule number.
    pub(crate) fn keys(&self, p: &Prepared) -> Vec<(u8, u64)> {
        let v = Values::of(p);
        let mut out = Vec::with_capacity(self.rules.len() + 4);
        let mut buf = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            buf.clear();
            rule_keys(i, rule, &v, &mut buf);
            out.extend(buf.iter().map(|&k| (i as u8, k)));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Chooses rules for linking `a` with `b` (or `a` with itself when `dedupe`), cheapest
    /// first within `per_record` comparisons per record of the larger list.
    pub(crate) fn choose(
        a: &[Prepared],
        b: &[Prepared],
        dedupe: bool,
        per_record: f64,
    ) -> BlockingPlan {
        let n = a.len().max(b.len());
        let budget = (per_record * n as f64).max(MIN_BUDGET);
        let sample = |list: &[Prepared]| -> (Vec<Values>, f64) {
            let step = list.len().div_ceil(COST_SAMPLE).max(1);
            let v: Vec<Values> = list.iter().step_by(step).map(Values::of).collect();
            let rate = if list.is_empty() {
                1.0
            } else {
                v.len() as f64 / list.len() as f64
            };
            (v, rate)
        };
        let (va, ra) = sample(a);
        let (vb, rb) = if dedupe { (Vec::new(), ra) } else { sample(b) };
        let vb_ref: &[Values] = if dedupe { &va } else { &vb };
        let mut candidates: Vec<Rule> = Vec::new();
        for (i, &c) in Component::ALL.iter().enumerate() {
            for &d in &Component::ALL[i + 1..] {
                if c.field() != d.field() {
                    candidates.push(Rule {
                        components: vec![c, d],
                    });
                }
            }
        }
        let singles: Vec<Rule> = Component::ALL
            .iter()
            .map(|&c| Rule {
                components: vec![c],
            })
            .collect();
        let cost_of = |rule: &Rule| -> f64 {
            let mut counts: HashMap<u64, (u64, u64), BuildHasherDefault<KeyHasher>> =
                HashMap::default();
            let mut buf = Vec::new();
            for v in &va {
                buf.clear();
                rule_keys(0, rule, v, &mut buf);
                for &k in &buf {
                    counts.entry(k).or_default().0 += 1;
                }
            }
            if !dedupe {
                for v in vb_ref {
                    buf.clear();
                    rule_keys(0, rule, v, &mut buf);
                    for &k in &buf {
                        counts.entry(k).or_default().1 += 1;
                    }
                }
            }
            let max_block = MAX_BLOCK as f64;
            counts
                .values()
                .map(|&(x, y)| {
                    if dedupe {
                        let full = x as f64 / ra;
                        if full > max_block {
                            0.0
                        } else {
                            (x * x.saturating_sub(1)) as f64 / 2.0 / (ra * ra)
                        }
                    } else if y as f64 / rb > max_block || x as f64 / ra > max_block {
                        0.0
                    } else {
                        (x * y) as f64 / (ra * rb)
                    }
                })
                .sum()
        };
        let mut costed: Vec<(f64, Rule)> =
            candidates.into_iter().map(|r| (cost_of(&r), r)).collect();
        costed.sort_by(|x, y| {
            x.0.total_cmp(&y.0)
                .then(x.1.components.cmp(&y.1.components))
        });
        let mut plan = BlockingPlan {
            rules: Vec::new(),
            costs: Vec::new(),
            budget,
        };
        let mut spent = 0.0;
        for (cost, rule) in costed {
            if spent + cost <= budget && plan.rules.len() < MAX_RULES {
                spent += cost;
                plan.rules.push(rule);
                plan.costs.push(cost);
            }
        }
        let mut singles: Vec<(f64, Rule)> = singles.into_iter().map(|r| (cost_of(&r), r)).collect();
        singles.sort_by(|x, y| {
            x.0.total_cmp(&y.0)
                .then(x.1.components.cmp(&y.1.components))
        });
        for (cost, rule) in singles {
            // A single component makes the pairs containing it redundant: they only find
            // pairs it finds too.
            let implied: f64 = plan
                .rules
                .iter()
                .zip(&plan.costs)
                .filter(|(r, _)| r.components.contains(&rule.components[0]))
                .map(|(_, c)| c)
                .sum();
            if spent - implied + cost <= budget {
                let keep: Vec<bool> = plan
                    .rules
                    .iter()
                    .map(|r| !r.components.contains(&rule.components[0]))
                    .collect();
                let mut k = keep.iter();
                plan.rules.retain(|_| *k.next().unwrap_or(&true));
                let mut k = keep.iter();
                plan.costs.retain(|_| *k.next().unwrap_or(&true));
                spent += cost - implied;
                plan.rules.push(rule);
                plan.costs.push(cost);
            }
        }
        plan
    }

    /// Total estimated comparisons of the plan's rules.
    pub fn estimated_comparisons(&self) -> f64 {
        self.costs.iter().sum()
    }
}

/// Keys are already hashes: a pass-through hasher avoids hashing them twice.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Map from key hash to the records carrying it.
pub(crate) type BlockMap = HashMap<u64, Vec<u32>, BuildHasherDefault<KeyHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PersonRecord;

    fn person(first: &str, surname: &str, dob: &str, postcode: &str) -> PersonRecord {
        PersonRecord {
            first_name: Some(first.into()),
            surname: Some(surname.into()),
            dob: Some(dob.into()),
            postcode: Some(postcode.into()),
            ..Default::default()
        }
    }

    fn plan_of(rules: &[&[Component]]) -> BlockingPlan {
        BlockingPlan {
            rules: rules
                .iter()
                .map(|c| Rule {
                    components: c.to_vec(),
                })
                .collect(),
            costs: vec![1.0; rules.len()],
            budget: 1.0,
        }
    }

    #[test]
    fn swapped_names_share_the_name_pair_key() {
        let plan = plan_of(&[&[Component::FirstSound, Component::SurnameSound]]);
        let a = Prepared::new(&person("John", "Smith", "", ""));
        let b = Prepared::new(&person("Smith", "John", "", ""));
        let (ka, kb) = (plan.keys(&a), plan.keys(&b));
        assert_eq!(ka.len(), 1);
        assert_eq!(ka, kb);
    }

    #[test]
    fn missing_fields_give_no_key_and_rules_differ() {
        let plan = plan_of(&[
            &[Component::SurnameSound, Component::BirthYear],
            &[Component::Dob, Component::Postcode],
        ]);
        let full = Prepared::new(&person("Amina", "Okafor", "2010-05-06", "W10 5AB"));
        let keys = plan.keys(&full);
        assert_eq!(keys.iter().map(|k| k.0).collect::<Vec<_>>(), vec![0, 1]);
        assert_ne!(keys[0].1, keys[1].1);
        let bare = Prepared::new(&PersonRecord {
            first_name: Some("Amina".into()),
            ..Default::default()
        });
        assert!(plan.keys(&bare).is_empty());
        // The same values under a different rule number give a different key.
        let moved = plan_of(&[
            &[Component::Dob, Component::Postcode],
            &[Component::SurnameSound, Component::BirthYear],
        ]);
        let other = moved.keys(&full);
        assert!(other.iter().all(|k| !keys.iter().any(|j| j.1 == k.1)));
    }

    /// People with a common surname and few birth years, but distinct dates of birth and
    /// postcodes: rules on the surname alone are costly, rules with the date are cheap.
    fn population(n: usize) -> Vec<Prepared> {
        (0..n)
            .map(|i| {
                Prepared::new(&person(
                    ["Amina", "Robert", "Kasia", "Tayo"][i % 4],
                    "Smith",
                    &format!(
                        "{}-{:02}-{:02}",
                        2000 + i % 3,
                        1 + (i / 3) % 12,
                        1 + (i / 36) % 28
                    ),
                    &format!("W{} {}AB", 1 + i % 20, i % 10),
                ))
            })
            .collect()
    }

    #[test]
    fn rules_are_chosen_by_cost_within_the_budget() {
        let people = population(3_000);
        let plan = BlockingPlan::choose(&people, &people, true, 20.0);
        assert!(plan.estimated_comparisons() <= plan.budget, "{plan:?}");
        let described: Vec<String> = plan.rules.iter().map(Rule::describe).collect();
        // Surname sound with birth year pairs about a third of all records with each other:
        // far over budget, so never chosen; the date of birth is cheap and taken alone.
        assert!(
            !described.contains(&"surname sound + birth year".to_string()),
            "{described:?}"
        );
        assert!(
            described.contains(&"date of birth".to_string()),
            "{described:?}"
        );
        // A larger budget admits more rules.
        let generous = BlockingPlan::choose(&people, &people, true, 1_000.0);
        assert!(generous.rules.len() >= plan.rules.len());
    }
}

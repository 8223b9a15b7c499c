//! Term-frequency adjustment: two records agreeing exactly on a rare name (or date of birth,
//! or postcode) is stronger evidence than agreeing on a common one. For the exact level of
//! these fields the model's average u is replaced by the value's own frequency `tf`, which
//! moves the weight by `log2(u_exact / tf)` (the adjustment Splink makes): an exact "smith"
//! counts for less than an exact "okonkwo". Frequencies come from the records being matched.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::blocking::KeyHasher;
use crate::compare::{FIELD_COUNT, Field, Pattern};
use crate::record::Hot;

/// The fields whose exact agreement is adjusted by the frequency of the value.
pub const ADJUSTED: [Field; 4] = [
    Field::FirstName,
    Field::Surname,
    Field::Dob,
    Field::Postcode,
];

/// Per-field weight adjustments of one pair (log2; zero where none applies).
pub type Adjustments = [f64; FIELD_COUNT];

/// Fewer values than this say little about how common a name is: no adjustment then.
pub const MIN_VALUES: u64 = 100;

/// No adjustment at all.
pub const NONE: Adjustments = [0.0; FIELD_COUNT];

fn value(h: &Hot, f: Field) -> u64 {
    match f {
        Field::FirstName => h.first,
        Field::Surname => h.surname,
        Field::Dob => h.dob_value,
        Field::Postcode => h.postcode,
        _ => 0,
    }
}

/// Counts of each value of the adjusted fields among a set of records.
#[derive(Debug, Clone, Default)]
pub struct Frequencies {
    counts: [HashMap<u64, u32, BuildHasherDefault<KeyHasher>>; ADJUSTED.len()],
    totals: [u64; ADJUSTED.len()],
}

impl Frequencies {
    /// Counts the values of these records.
    pub(crate) fn of<'a>(records: impl IntoIterator<Item = &'a Hot>) -> Frequencies {
        let mut f = Frequencies::default();
        for h in records {
            f.add(h);
        }
        f
    }

    /// Counts one more record.
    pub(crate) fn add(&mut self, h: &Hot) {
        for (i, &field) in ADJUSTED.iter().enumerate() {
            let v = value(h, field);
            if v != 0 {
                *self.counts[i].entry(v).or_default() += 1;
                self.totals[i] += 1;
            }
        }
    }

    /// Forgets one record counted before.
    pub(crate) fn remove(&mut self, h: &Hot) {
        for (i, &field) in ADJUSTED.iter().enumerate() {
            let v = value(h, field);
            if v == 0 {
                continue;
            }
            if let Some(c) = self.counts[i].get_mut(&v) {
                *c -= 1;
                self.totals[i] = self.totals[i].saturating_sub(1);
                if *c == 0 {
                    self.counts[i].remove(&v);
                }
            }
        }
    }

    /// Adjustments for a pair with this pattern. `u_exact` is the model's u of each adjusted
    /// field's exact level; `outside` is 1 when `a` is a query not among the counted records
    /// (it adds its own occurrence), 0 when both records were counted.
    pub(crate) fn adjust(
        &self,
        u_exact: &[f64; ADJUSTED.len()],
        pattern: &Pattern,
        a: &Hot,
        b: &Hot,
        outside: u32,
    ) -> Adjustments {
        let mut adj = NONE;
        for (i, &field) in ADJUSTED.iter().enumerate() {
            if pattern[field.index()] != 1 || self.totals[i] < MIN_VALUES {
                continue;
            }
            let (va, vb) = (value(a, field), value(b, field));
            let count = |v: u64| self.counts[i].get(&v).copied().unwrap_or(0);
            // Exact agreement can hold on texts with different hashes (spacing in a
            // surname): the rarer spelling is taken.
            let n = count(va).min(count(vb)).max(1) + outside;
            let total = (self.totals[i] + u64::from(outside)).max(1);
            let tf = (f64::from(n) / total as f64).clamp(1e-9, 1.0);
            adj[field.index()] = (u_exact[i] / tf).log2();
        }
        adj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{PersonRecord, Prepared};

    fn hot(first: &str, surname: &str) -> Hot {
        Prepared::new(&PersonRecord {
            first_name: Some(first.into()),
            surname: Some(surname.into()),
            ..Default::default()
        })
        .hot
    }

    #[test]
    fn rare_values_weigh_more_than_common_ones() {
        let mut people: Vec<Hot> = (0..98).map(|_| hot("Amina", "Smith")).collect();
        people.push(hot("Amina", "Okonkwo"));
        people.push(hot("Tayo", "Okonkwo"));
        let f = Frequencies::of(people.iter());
        let u = [0.02; 4];
        let mut exact = [0u8; FIELD_COUNT];
        exact[Field::Surname.index()] = 1;
        let smith = f.adjust(&u, &exact, &people[0], &people[1], 0);
        let okonkwo = f.adjust(&u, &exact, &people[98], &people[99], 0);
        let s = smith[Field::Surname.index()];
        let o = okonkwo[Field::Surname.index()];
        // smith: tf 0.98 -> log2(0.02 / 0.98); okonkwo: tf 0.02 -> log2(1) = 0.
        assert!((s - (0.02f64 / 0.98).log2()).abs() < 1e-9, "{s}");
        assert!(o.abs() < 1e-9, "{o}");
        // Fields not at their exact level are not adjusted.
        assert_eq!(smith[Field::FirstName.index()], 0.0);
        // Removing records changes the counts.
        let mut g = f.clone();
        for p in &people[..90] {
            g.remove(p);
        }
        let after = g.adjust(&u, &exact, &people[0], &people[1], 0)[Field::Surname.index()];
        assert!(after > s, "{after} > {s}");
    }
}

//! The shipped given-name equivalence table (`data/nicknames.txt`): Bob/Robert, Liz/Elizabeth,
//! Mo/Mohammed, Kasia/Katarzyna and a few hundred more, looked up after normalisation.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::normalize::normalise_name;

const TABLE: &str = include_str!("../data/nicknames.txt");

/// Name → the ids of every group it belongs to, built once on first use.
fn groups() -> &'static HashMap<String, Vec<u32>> {
    static GROUPS: OnceLock<HashMap<String, Vec<u32>>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut map: HashMap<String, Vec<u32>> = HashMap::new();
        let lines = TABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        for (group, line) in lines.enumerate() {
            for name in line.split(',') {
                let name = normalise_name(name);
                if name.is_empty() {
                    continue;
                }
                let ids = map.entry(name).or_default();
                let group = group as u32;
                if !ids.contains(&group) {
                    ids.push(group);
                }
            }
        }
        map
    })
}

/// Group ids of a normalised given name; empty when the name is not in the table.
pub fn name_groups(normalised: &str) -> &'static [u32] {
    groups().get(normalised).map(Vec::as_slice).unwrap_or(&[])
}

/// True when two normalised given names share a nickname group (and are not identical).
pub fn are_nicknames(a: &str, b: &str) -> bool {
    a != b && shares_group(name_groups(a), name_groups(b))
}

/// True when two sorted-or-not small group lists intersect.
pub fn shares_group(a: &[u32], b: &[u32]) -> bool {
    a.iter().any(|g| b.contains(g))
}

/// Every name in the table that shares a group with `normalised` (for the data generator).
pub fn variants_of(normalised: &str) -> Vec<&'static str> {
    let mine = name_groups(normalised);
    let mut out: Vec<&'static str> = groups()
        .iter()
        .filter(|(name, ids)| name.as_str() != normalised && shares_group(mine, ids))
        .map(|(name, _)| name.as_str())
        .collect();
    out.sort_unstable();
    out
}

/// Number of distinct names in the table.
pub fn table_size() -> usize {
    groups().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_pairs_match() {
        for (a, b) in [
            ("bob", "robert"),
            ("liz", "elizabeth"),
            ("mo", "mohammed"),
            ("kasia", "katarzyna"),
            ("kaz", "kasia"),
            ("bill", "william"),
            ("tunde", "babatunde"),
            ("sebastian", "seb"),
        ] {
            assert!(are_nicknames(a, b), "{a} / {b}");
            assert!(are_nicknames(b, a), "{b} / {a}");
        }
        assert!(!are_nicknames("robert", "robert"));
        assert!(!are_nicknames("robert", "elizabeth"));
        assert!(!are_nicknames("zzz", "robert"));
    }

    #[test]
    fn table_is_a_few_hundred_names() {
        assert!(table_size() > 800, "only {} names", table_size());
        assert!(variants_of("robert").contains(&"bob"));
    }
}

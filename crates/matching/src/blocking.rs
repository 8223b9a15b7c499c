//! Blocking keys: cheap exact keys so only records sharing at least one key are compared.
//! Candidates are the union over all keys; each key is tagged with the rule that made it.

use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use crate::record::Prepared;

/// Number of blocking rules.
pub const RULE_COUNT: usize = 6;

/// Human names of the blocking rules, by rule number.
pub const RULE_NAMES: [&str; RULE_COUNT] = [
    "surname sound and birth year",
    "date of birth",
    "postcode and first initial",
    "phone",
    "first name sound and surname initial",
    "both name sounds in any order",
];

/// A blocking key: the rule number and a hash of the key text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub rule: u8,
    pub hash: u64,
}

fn key(rule: u8, parts: &[&str]) -> Key {
    let mut h = DefaultHasher::new();
    rule.hash(&mut h);
    parts.hash(&mut h);
    Key {
        rule,
        hash: h.finish(),
    }
}

/// Every blocking key of a record (a record missing a field simply lacks that key).
pub(crate) fn keys(p: &Prepared) -> Vec<Key> {
    let mut out = Vec::with_capacity(8);
    let year = p.birth_year.map(|y| y.to_string());
    if let Some(y) = year.as_deref().filter(|_| !p.surname_code.is_empty()) {
        out.push(key(0, &[&p.surname_code, y]));
    }
    if let Some(d) = p.dob {
        out.push(key(1, &[&d.to_string()]));
    }
    if let (Some(pc), Some(i)) = (&p.postcode, p.first.get(..1)) {
        out.push(key(2, &[&pc.full, i]));
    }
    if let Some(phone) = &p.phone {
        out.push(key(3, &[phone]));
    }
    let mut name_key = |first_code: &str, surname: &str| {
        if let Some(i) = surname.get(..1).filter(|_| !first_code.is_empty()) {
            out.push(key(4, &[first_code, i]));
        }
    };
    name_key(&p.first_code, &p.surname);
    for a in &p.aliases {
        name_key(&crate::phonetic::metaphone(&a.first), &a.last);
    }
    if !p.first_code.is_empty() && !p.surname_code.is_empty() {
        let (x, y) = if p.first_code <= p.surname_code {
            (&p.first_code, &p.surname_code)
        } else {
            (&p.surname_code, &p.first_code)
        };
        out.push(key(5, &[x, y]));
    }
    out.sort_unstable();
    out.dedup();
    out
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
pub(crate) type BlockMap = std::collections::HashMap<u64, Vec<u32>, BuildHasherDefault<KeyHasher>>;

/// Blocks larger than this are too unselective to help and are skipped when looking up.
pub const MAX_BLOCK: usize = 5_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::parse_date;
    use crate::record::PersonRecord;

    #[test]
    fn swapped_names_share_the_any_order_key() {
        let a = PersonRecord {
            first_name: Some("John".into()),
            surname: Some("Smith".into()),
            ..Default::default()
        };
        let b = PersonRecord {
            first_name: Some("Smith".into()),
            surname: Some("John".into()),
            ..Default::default()
        };
        let (ka, kb) = (keys(&Prepared::new(&a)), keys(&Prepared::new(&b)));
        assert!(ka.iter().any(|k| k.rule == 5 && kb.contains(k)));
    }

    #[test]
    fn missing_fields_give_fewer_keys() {
        let full = PersonRecord {
            first_name: Some("Amina".into()),
            surname: Some("Okafor".into()),
            dob: Some(parse_date("2010-05-06").expect("date")),
            postcode: Some("W10 5AB".into()),
            phone: Some("07700900123".into()),
            ..Default::default()
        };
        let rules: Vec<u8> = keys(&Prepared::new(&full)).iter().map(|k| k.rule).collect();
        let mut sorted = rules.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
        let bare = PersonRecord {
            first_name: Some("Amina".into()),
            ..Default::default()
        };
        assert!(keys(&Prepared::new(&bare)).is_empty());
    }
}

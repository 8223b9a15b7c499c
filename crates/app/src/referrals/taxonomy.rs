//! The shipped taxonomy of concerns a referral can raise, read once from `concerns.json`
//! (compiled in), so the form, the API and the triage views share one list.

use std::sync::OnceLock;

use serde::Deserialize;

/// One concern a referrer can tick.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Concern {
    /// Stable key stored with referrals and used by the API.
    pub key: String,
    /// What the form shows.
    pub label: String,
    /// A hint under the label.
    pub hint: String,
}

const DATA: &str = include_str!("concerns.json");

/// Every concern, in form order.
pub fn concerns() -> &'static [Concern] {
    static LIST: OnceLock<Vec<Concern>> = OnceLock::new();
    LIST.get_or_init(|| {
        serde_json::from_str(DATA).expect("concerns.json is valid JSON, checked by a unit test")
    })
}

/// The concern with this key.
pub fn concern(key: &str) -> Option<&'static Concern> {
    concerns().iter().find(|c| c.key == key)
}

/// The label of a concern key, or the key itself when unknown.
pub fn label(key: &str) -> String {
    concern(key)
        .map(|c| c.label.clone())
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_parses_with_unique_keys_and_the_required_concerns() {
        let list: Vec<Concern> = serde_json::from_str(DATA).expect("valid");
        let mut keys: Vec<&str> = list.iter().map(|c| c.key.as_str()).collect();
        for k in [
            "serious_youth_violence",
            "criminal_exploitation",
            "gang_association",
            "carrying_weapons",
            "going_missing",
            "domestic_abuse",
            "sexual_violence",
            "stalking",
            "honour_based_abuse",
            "mental_health",
            "substance_misuse",
        ] {
            assert!(keys.contains(&k), "{k} missing");
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), list.len(), "duplicate keys");
        assert_eq!(label("going_missing"), "Going missing");
        assert_eq!(label("nope"), "nope");
    }
}

//! Property tests: normalisers are idempotent and never panic; match probabilities are in
//! [0, 1] and symmetric in the order of the two records.

use pathways_matching::normalize::{
    normalise_name, normalise_phone, normalise_postcode, parse_date,
};
use pathways_matching::{PersonIndex, PersonRecord};
use proptest::prelude::*;

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-zéüÑ' -]{0,12}")
}

fn record() -> impl Strategy<Value = PersonRecord> {
    (
        opt_text(),
        opt_text(),
        prop::option::of((2000i32..2018, 1u8..13, 1u8..29)),
        prop::option::of("[A-Z]{1,2}[0-9]{1,2} ?[0-9][A-Z]{2}"),
        prop::option::of("0[0-9 ]{10,12}"),
        opt_text(),
        prop::option::of(prop::sample::select(vec!["M", "F", "female"])),
    )
        .prop_map(
            |(first, surname, dob, postcode, phone, address, gender)| PersonRecord {
                id: "x".into(),
                first_name: first,
                surname,
                // Any parts, calendar dates or not: both are compared.
                dob: dob.map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
                postcode,
                phone,
                address_line: address,
                gender: gender.map(str::to_string),
                ..Default::default()
            },
        )
}

proptest! {
    #[test]
    fn name_normalisation_is_idempotent_and_clean(s in "\\PC{0,30}") {
        let n = normalise_name(&s);
        prop_assert_eq!(normalise_name(&n), n.clone());
        prop_assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
        prop_assert!(!n.starts_with(' ') && !n.ends_with(' ') && !n.contains("  "));
    }

    #[test]
    fn postcode_normalisation_is_idempotent(s in "[A-Za-z0-9 ]{0,10}") {
        if let Some(p) = normalise_postcode(&s) {
            prop_assert_eq!(normalise_postcode(&p), Some(p.clone()));
            prop_assert!(p.len() >= 6 && p.len() <= 8 && p.contains(' '));
        }
    }

    #[test]
    fn phone_normalisation_is_idempotent(s in "[+0-9 ()-]{0,20}") {
        if let Some(p) = normalise_phone(&s) {
            prop_assert_eq!(normalise_phone(&p), Some(p.clone()));
            prop_assert!(p.starts_with('+'));
        }
    }

    #[test]
    fn perturbing_any_record_never_panics(r in record(), seed in 0u64..1000) {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let q = pathways_matching::generate::perturb(&mut rng, &r, "copy".into());
        prop_assert_eq!(q.id, "copy");
    }

    #[test]
    fn date_parsing_never_panics(s in "\\PC{0,12}") {
        let _ = parse_date(&s);
    }

    #[test]
    fn probability_is_bounded_and_symmetric(a in record(), b in record()) {
        let index = PersonIndex::default();
        let mut b = b;
        b.id = "y".into();
        let ab = index.compare_pair(&a, &b);
        let ba = index.compare_pair(&b, &a);
        prop_assert!((0.0..=1.0).contains(&ab.probability));
        prop_assert!((ab.match_weight - ba.match_weight).abs() < 1e-9, "{} vs {}", ab.match_weight, ba.match_weight);
        let la: Vec<&str> = ab.evidence.iter().map(|e| e.level.as_str()).collect();
        let lb: Vec<&str> = ba.evidence.iter().map(|e| e.level.as_str()).collect();
        prop_assert_eq!(la, lb);
    }
}

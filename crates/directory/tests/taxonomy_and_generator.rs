//! The shipped needs taxonomy (coverage, stable ids, hierarchy, the child-term rule) and the
//! deterministic demo generator.

mod common;

use pathways_directory::generate::{GenerateOptions, demo, generate};
use pathways_directory::model::{Taxonomy, TaxonomyTerm};
use pathways_directory::{Query, SearchIndex, TaxonomyError, TermSet};
use time::Duration;

#[test]
fn needs_taxonomy_covers_the_borough_signposting() {
    let t = TermSet::needs();
    let names: Vec<String> = t.terms().iter().map(|x| x.name.to_lowercase()).collect();
    for area in [
        "talking therapies",
        "mental health",
        "domestic abuse",
        "vawg",
        "sexual violence",
        "stalking",
        "honour-based abuse",
        "female genital mutilation",
        "forced marriage",
        "substance misuse",
        "employability and training",
        "family support",
        "youth clubs",
        "sport",
        "housing",
        "victim support",
        "criminal justice system",
        "emergency help",
    ] {
        assert!(names.iter().any(|n| n.contains(area)), "no term for {area}");
    }
    assert_eq!(t.roots().count(), 13);
    assert_eq!(t.terms().len(), 47);
    // Ids are stable: links, stored attributes and partner feeds depend on them.
    assert_eq!(
        t.by_code("domestic-abuse").expect("term").id,
        "927c3151-f2d3-5300-b36f-a23aebc7ceef"
    );
    assert_eq!(
        t.by_code("football").expect("term").id,
        "4d12ac05-ac68-5451-a0c2-416048fd39f8"
    );
    // Only sport terms carry a national URI (OpenActive); see the file's notes.
    for term in t.terms() {
        if let Some(uri) = &term.term_uri {
            assert!(
                uri.starts_with("https://openactive.io/activity-list"),
                "{uri}"
            );
        }
    }
    assert_eq!(
        t.by_code("football").and_then(|x| x.term_uri.as_deref()),
        Some("https://openactive.io/activity-list#0a5f732d-e806-4e51-ad40-0a7de0239c8c")
    );
}

#[test]
fn child_term_rule_parent_filter_matches_descendants_only() {
    let t = TermSet::needs();
    let youth = t.by_code("youth").expect("youth").id.clone();
    let sport = t.by_code("sport").expect("sport").id.clone();
    let football = t.by_code("football").expect("football").id.clone();
    let housing = t.by_code("housing").expect("housing").id.clone();
    assert!(t.filter_matches(&sport, &football));
    assert!(
        t.filter_matches(&youth, &football),
        "grandchildren match too"
    );
    assert!(t.filter_matches(&football, &football));
    assert!(
        !t.filter_matches(&football, &sport),
        "a child filter never matches the parent"
    );
    assert!(!t.filter_matches(&housing, &football));
    let d = t.descendants_and_self(&sport);
    assert_eq!(d.len(), 4);

    // The same rule through the search index, for every term, against a brute-force scan.
    let services = common::services(600);
    let idx = SearchIndex::build(t.clone(), services.clone());
    for term in t.terms() {
        let got: std::collections::BTreeSet<String> = idx
            .search(
                &Query {
                    need: Some(term.id.clone()),
                    ..Query::default()
                },
                0,
                usize::MAX,
            )
            .hits
            .iter()
            .map(|h| h.service.id().to_string())
            .collect();
        let want: std::collections::BTreeSet<String> = services
            .iter()
            .filter(|s| {
                matches!(
                    s.service().status,
                    pathways_directory::model::Status::Active
                        | pathways_directory::model::Status::TemporarilyClosed
                )
            })
            .filter(|s| {
                s.service()
                    .term_ids()
                    .any(|tagged| t.filter_matches(&term.id, tagged))
            })
            .map(|s| s.id().to_string())
            .collect();
        assert_eq!(got, want, "term {}", term.name);
        assert!(!got.is_empty(), "term {} has services", term.name);
    }
}

fn term(id: &str, parent: Option<&str>) -> TaxonomyTerm {
    TaxonomyTerm {
        id: id.into(),
        name: "n".into(),
        description: "d".into(),
        parent_id: parent.map(Into::into),
        taxonomy: None,
        taxonomy_id: None,
        term_uri: None,
        term: None,
    }
}

#[test]
fn bad_taxonomies_are_refused() {
    let a = "00000000-0000-4000-8000-00000000000a";
    let b = "00000000-0000-4000-8000-00000000000b";
    let tax = vec![Taxonomy {
        id: "00000000-0000-4000-8000-0000000000ff".into(),
        name: "t".into(),
        description: "d".into(),
        uri: None,
        version: None,
    }];
    assert_eq!(
        TermSet::new(tax.clone(), vec![term(a, Some(b)), term(b, Some(a))]).expect_err("cycle"),
        TaxonomyError::Cycle(a.into())
    );
    assert!(matches!(
        TermSet::new(tax.clone(), vec![term(a, Some(b))]),
        Err(TaxonomyError::UnknownParent { .. })
    ));
    assert!(matches!(
        TermSet::new(tax.clone(), vec![term(a, None), term(a, None)]),
        Err(TaxonomyError::Duplicate(_))
    ));
    assert!(matches!(
        TermSet::new(tax, vec![term("x", None)]),
        Err(TaxonomyError::BadId { position: 1, .. })
    ));
    assert!(matches!(
        TermSet::from_json("{}"),
        Err(TaxonomyError::Parse(_))
    ));
}

#[test]
fn demo_directory_is_realistic_and_deterministic() {
    let terms = TermSet::needs();
    let a = demo(&terms, common::TODAY);
    let b = demo(&terms, common::TODAY);
    assert_eq!(a, b, "same seed, same directory");
    assert!(a.len() >= 150);
    let other = generate(
        &terms,
        &GenerateOptions {
            seed: 43,
            services: 180,
            today: common::TODAY,
        },
    );
    assert_ne!(a[0].id(), other[0].id());
    // Every term of the taxonomy is used directly.
    for t in terms.terms() {
        assert!(
            a.iter().any(|s| s.service().term_ids().any(|x| x == t.id)),
            "no service for {}",
            t.name
        );
    }
    let refuges: Vec<_> = a
        .iter()
        .filter(|s| s.service().has_confidential_location())
        .collect();
    assert!(refuges.len() >= 3);
    assert!(
        refuges
            .iter()
            .any(|s| s.service().public_locations().next().is_none()),
        "a refuge with no public location"
    );
    let cutoff = common::TODAY - Duration::days(92);
    let stale = a
        .iter()
        .filter(|s| {
            let d = pathways_directory::validate::parse_date(
                s.service().assured_date.as_deref().expect("assured"),
            )
            .expect("date");
            d < cutoff
        })
        .count();
    assert!(stale >= 5 && stale < a.len() / 3, "{stale} stale records");
    for s in &a {
        for loc in s
            .service()
            .service_at_locations
            .iter()
            .filter_map(|x| x.location.as_ref())
        {
            let (lat, lon) = (loc.latitude.expect("lat"), loc.longitude.expect("lon"));
            assert!((lat - 51.50).abs() < 0.02 && (lon + 0.19).abs() < 0.03);
            let pc = &loc.addresses[0].postal_code;
            let (out, inward) = pc.split_once(' ').expect("postcode has a space");
            assert!(
                ["W8", "W10", "W11", "W14", "SW5", "SW7", "SW10"].contains(&out),
                "{pc}"
            );
            let ib = inward.as_bytes();
            assert!(
                ib.len() == 3
                    && ib[0].is_ascii_digit()
                    && ib[1].is_ascii_uppercase()
                    && ib[2].is_ascii_uppercase(),
                "{pc}"
            );
        }
        let phone = &s.service().phones[0].number;
        assert!(phone.starts_with("020 7946 0"), "{phone}");
    }
    let names: std::collections::BTreeSet<&str> =
        a.iter().map(|s| s.service().name.as_str()).collect();
    assert_eq!(names.len(), a.len(), "service names are unique");
}

#[test]
fn assurance_and_stored_columns() {
    use pathways_directory::validate::months_before;
    use time::macros::date;
    assert_eq!(
        months_before(date!(2026 - 05 - 31), 3),
        date!(2026 - 02 - 28)
    );
    assert_eq!(
        months_before(date!(2026 - 01 - 15), 3),
        date!(2025 - 10 - 15)
    );
    let services = demo(&TermSet::needs(), common::TODAY);
    let overdue: Vec<_> = services
        .iter()
        .filter(|s| s.assurance_overdue(common::TODAY, 3))
        .collect();
    assert!(!overdue.is_empty());
    for s in &services {
        let assured = s.service().assured_date.as_deref().expect("assured");
        assert_eq!(
            s.assurance_overdue(common::TODAY, 3),
            assured < "2026-08-29",
            "{assured}"
        );
        let c = s.columns();
        assert_eq!(c.id, s.id());
        assert_eq!(c.status, s.service().status.as_str());
        assert_eq!(
            c.organization_id,
            s.service().organization.as_ref().map(|o| o.id.as_str())
        );
        assert_eq!(c.assured_date, Some(assured));
    }
}

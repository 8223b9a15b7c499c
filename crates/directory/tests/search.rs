//! Search: keywords, needs, ages, opening times, distance, the ORUK filters, incremental
//! updates, and the guarantee that confidential locations never influence distance ranking.

mod common;

use std::collections::BTreeSet;

use pathways_directory::model::{Address, Location, LocationType, ServiceAtLocation, Status};
use pathways_directory::schedule::CompiledSchedule;
use pathways_directory::search::{
    GeoPoint, Query, SearchIndex, SortOrder, StatusFilter, haversine_m,
};
use pathways_directory::{TermSet, ValidService, validate_service};
use time::macros::datetime;

fn ids(idx: &SearchIndex, q: &Query) -> Vec<String> {
    idx.search(q, 0, usize::MAX)
        .hits
        .iter()
        .map(|h| h.service.id().to_string())
        .collect()
}

fn public(s: &ValidService) -> bool {
    matches!(
        s.service().status,
        Status::Active | Status::TemporarilyClosed
    )
}

const HOME: GeoPoint = GeoPoint {
    lat: 51.5005,
    lon: -0.1905,
};

#[test]
fn keyword_search_ranks_name_matches_first() {
    let idx = common::index(400);
    let res = idx.search(
        &Query {
            text: Some("domestic abuse".into()),
            ..Query::default()
        },
        0,
        10,
    );
    assert!(res.total > 5);
    let top = &res.hits[0].service.service().name.to_lowercase();
    assert!(top.contains("domestic abuse"), "{top}");
    for w in res.hits.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
    // Stemming: "counsellors" finds "Counselling" services.
    let c = idx.search(
        &Query {
            text: Some("Counsellors".into()),
            ..Query::default()
        },
        0,
        50,
    );
    assert!(
        c.hits
            .iter()
            .any(|h| h.service.service().name.contains("Counselling"))
    );
    // Every keyword must occur.
    assert_eq!(
        idx.search(
            &Query {
                text: Some("football zzzunknown".into()),
                ..Query::default()
            },
            0,
            10
        )
        .total,
        0
    );
    // Organisation and term names are searchable too.
    let org = idx.search(
        &Query {
            text: Some("Paladin".into()),
            ..Query::default()
        },
        0,
        50,
    );
    assert!(org.total > 0);
    assert!(org.hits.iter().all(|h| {
        h.service
            .service()
            .organization
            .as_ref()
            .is_some_and(|o| o.name.contains("Paladin"))
    }));
    let by_term = idx.search(
        &Query {
            text: Some("ISVA".into()),
            ..Query::default()
        },
        0,
        50,
    );
    assert!(by_term.total > 0);
}

#[test]
fn age_and_open_now_match_brute_force() {
    let services = common::services(500);
    let idx = SearchIndex::build(TermSet::needs(), services.clone());
    let got: BTreeSet<String> = ids(
        &idx,
        &Query {
            ages: Some((14.0, 14.0)),
            ..Query::default()
        },
    )
    .into_iter()
    .collect();
    let want: BTreeSet<String> = services
        .iter()
        .filter(|s| public(s))
        .filter(|s| {
            let min = s
                .service()
                .minimum_age
                .as_ref()
                .and_then(|n| n.as_f64())
                .unwrap_or(0.0);
            let max = s
                .service()
                .maximum_age
                .as_ref()
                .and_then(|n| n.as_f64())
                .unwrap_or(f64::INFINITY);
            min <= 14.0 && 14.0 <= max
        })
        .map(|s| s.id().to_string())
        .collect();
    assert_eq!(got, want);
    assert!(!got.is_empty() && got.len() < services.len());

    // Friday 2026-12-04 at 23:00, London time: midnight football and 24-hour lines, not offices.
    let at = datetime!(2026-12-04 23:00);
    let open: Vec<String> = ids(
        &idx,
        &Query {
            open_at: Some(at),
            ..Query::default()
        },
    );
    let want: BTreeSet<String> = services
        .iter()
        .filter(|s| public(s))
        .filter(|s| {
            s.service()
                .schedules
                .iter()
                .filter_map(CompiledSchedule::compile)
                .any(|c| c.open_at(at))
        })
        .map(|s| s.id().to_string())
        .collect();
    assert_eq!(open.iter().cloned().collect::<BTreeSet<_>>(), want);
    let names: Vec<String> = open
        .iter()
        .map(|id| idx.get(id).expect("id").service().name.clone())
        .collect();
    assert!(names.iter().any(|n| n.contains("Midnight Football")));
    assert!(names.iter().any(|n| n.contains("24-Hour Crisis Line")));
    assert!(!names.iter().any(|n| n.contains("Employment Support")));
    // Monday 10:00: office hours services are open.
    let monday = ids(
        &idx,
        &Query {
            open_at: Some(datetime!(2026-11-30 10:00)),
            ..Query::default()
        },
    );
    assert!(monday.len() > open.len());
}

#[test]
fn distance_orders_and_limits() {
    let idx = common::index(500);
    let res = idx.search(
        &Query {
            near: Some(HOME),
            sort: SortOrder::Distance,
            ..Query::default()
        },
        0,
        usize::MAX,
    );
    let mut seen_none = false;
    for w in res.hits.windows(2) {
        match (w[0].distance_m, w[1].distance_m) {
            (Some(a), Some(b)) => assert!(a <= b),
            (None, Some(_)) => panic!("services without a public location must come last"),
            _ => seen_none = true,
        }
    }
    assert!(
        seen_none,
        "phone-only services and refuges are listed after located ones"
    );
    let near = idx.search(
        &Query {
            near: Some(HOME),
            within_m: Some(600.0),
            sort: SortOrder::Distance,
            ..Query::default()
        },
        0,
        usize::MAX,
    );
    assert!(near.total > 0 && near.total < res.total);
    assert!(
        near.hits
            .iter()
            .all(|h| h.distance_m.is_some_and(|d| d <= 600.0))
    );
    // The reported distance is to the nearest public location.
    for h in &near.hits {
        let min = h
            .service
            .service()
            .public_locations()
            .map(|l| {
                haversine_m(
                    HOME,
                    GeoPoint {
                        lat: l.latitude.expect("lat"),
                        lon: l.longitude.expect("lon"),
                    },
                )
            })
            .fold(f64::INFINITY, f64::min);
        assert_eq!(h.distance_m, Some(min));
    }
    // Keyword + need + distance together.
    let terms = TermSet::needs();
    let da = terms.by_code("domestic-abuse").expect("term").id.clone();
    let combined = idx.search(
        &Query {
            text: Some("support".into()),
            need: Some(da.clone()),
            near: Some(HOME),
            sort: SortOrder::Distance,
            ..Query::default()
        },
        0,
        20,
    );
    for h in &combined.hits {
        assert!(
            h.service
                .service()
                .term_ids()
                .any(|t| terms.filter_matches(&da, t))
        );
    }
}

fn with_confidential_location_at(s: &ValidService, p: GeoPoint) -> ValidService {
    let mut svc = s.service().clone();
    let loc_id = "0c0c0c0c-0000-4000-8000-000000000001";
    svc.service_at_locations.push(ServiceAtLocation {
        id: "0c0c0c0c-0000-4000-8000-000000000002".into(),
        service_id: Some(svc.id.clone()),
        location_id: Some(loc_id.into()),
        location: Some(Location {
            id: loc_id.into(),
            location_type: LocationType::Physical,
            name: Some("Refuge".into()),
            description: None,
            latitude: Some(p.lat),
            longitude: Some(p.lon),
            external_identifier: None,
            external_identifier_type: None,
            addresses: vec![Address {
                id: "0c0c0c0c-0000-4000-8000-000000000003".into(),
                location_id: Some(loc_id.into()),
                attention: None,
                address_1: "1 Secret Row".into(),
                address_2: None,
                city: "London".into(),
                region: None,
                state_province: "Greater London".into(),
                postal_code: "W8 9ZZ".into(),
                country: "GB".into(),
                address_type: LocationType::Physical,
                attributes: Vec::new(),
            }],
            accessibility: Vec::new(),
            attributes: Vec::new(),
            confidential: true,
        }),
    });
    validate_service(svc, &TermSet::needs()).expect("still valid")
}

#[test]
fn confidential_locations_never_affect_distance_ranking() {
    let services = common::services(400);
    let terms = TermSet::needs();
    let q = Query {
        near: Some(HOME),
        sort: SortOrder::Distance,
        status: StatusFilter::All,
        ..Query::default()
    };
    let plain = SearchIndex::build(terms.clone(), services.clone());
    let baseline: Vec<(String, Option<f64>)> = plain
        .search(&q, 0, usize::MAX)
        .hits
        .iter()
        .map(|h| (h.service.id().to_string(), h.distance_m))
        .collect();
    // Put a refuge exactly at the searcher's point on a far-away service, a no-location service
    // and an existing refuge: the ranking must not move.
    let far = baseline
        .iter()
        .rev()
        .find(|(_, d)| d.is_some())
        .expect("a located service")
        .0
        .clone();
    let unlocated = baseline
        .iter()
        .find(|(_, d)| d.is_none())
        .expect("an unlocated service")
        .0
        .clone();
    let changed: Vec<ValidService> = services
        .iter()
        .map(|s| {
            if s.id() == far || s.id() == unlocated {
                with_confidential_location_at(s, HOME)
            } else {
                s.clone()
            }
        })
        .collect();
    let hidden = SearchIndex::build(terms, changed);
    let after: Vec<(String, Option<f64>)> = hidden
        .search(&q, 0, usize::MAX)
        .hits
        .iter()
        .map(|h| (h.service.id().to_string(), h.distance_m))
        .collect();
    assert_eq!(baseline, after);
    // The public view of a changed service has no trace of the refuge.
    let changed_far = hidden.get(&far).expect("present");
    assert!(changed_far.service().has_confidential_location());
    let view = serde_json::to_string(&changed_far.public_view()).expect("json");
    assert!(!view.contains("Secret Row") && !view.contains("W8 9ZZ") && !view.contains("0c0c0c0c"));
    // A service whose only location is confidential has "no public location".
    let pos = after
        .iter()
        .find(|(id, _)| *id == unlocated)
        .expect("listed");
    assert_eq!(pos.1, None);
    // And is excluded by any distance limit, however close the refuge is.
    let within = hidden.search(
        &Query {
            within_m: Some(50.0),
            ..q.clone()
        },
        0,
        usize::MAX,
    );
    assert!(within.hits.iter().all(|h| h.service.id() != unlocated));
}

#[test]
fn incremental_updates_match_a_rebuild() {
    let services = common::services(300);
    let terms = TermSet::needs();
    let full = SearchIndex::build(terms.clone(), services.clone());
    let mut inc = SearchIndex::new(terms.clone());
    for s in services.iter().rev() {
        inc.upsert(s.clone());
    }
    for s in services.iter().step_by(3) {
        assert!(inc.remove(s.id()));
    }
    assert!(!inc.remove("00000000-0000-4000-8000-000000000000"));
    for s in services.iter().step_by(3) {
        inc.upsert(s.clone());
    }
    assert_eq!(inc.len(), full.len());
    let queries = [
        Query {
            text: Some("support".into()),
            ..Query::default()
        },
        Query {
            text: Some("young people".into()),
            near: Some(HOME),
            ..Query::default()
        },
        Query {
            need: Some(terms.by_code("youth").expect("t").id.clone()),
            sort: SortOrder::Distance,
            near: Some(HOME),
            ..Query::default()
        },
        Query {
            sort: SortOrder::Name,
            status: StatusFilter::All,
            ..Query::default()
        },
    ];
    for q in &queries {
        let a: Vec<(String, u32)> = full
            .search(q, 0, 100)
            .hits
            .iter()
            .map(|h| (h.service.id().to_string(), h.score.to_bits()))
            .collect();
        let b: Vec<(String, u32)> = inc
            .search(q, 0, 100)
            .hits
            .iter()
            .map(|h| (h.service.id().to_string(), h.score.to_bits()))
            .collect();
        assert_eq!(a.len(), b.len());
        assert_eq!(
            a.iter().map(|x| &x.0).collect::<Vec<_>>(),
            b.iter().map(|x| &x.0).collect::<Vec<_>>()
        );
    }
    // Renaming a service updates keyword results.
    let mut svc = services[0].service().clone();
    svc.name = "Zephyrine Wellbeing Hub".into();
    inc.upsert(validate_service(svc, &terms).expect("valid"));
    assert_eq!(
        ids(
            &inc,
            &Query {
                text: Some("zephyrine".into()),
                status: StatusFilter::All,
                ..Query::default()
            }
        ),
        vec![services[0].id().to_string()]
    );
    assert_eq!(inc.len(), full.len());
}

#[test]
fn oruk_filters_match_brute_force() {
    use pathways_directory::oruk::ServicesParams;
    let services = common::services(400);
    let idx = SearchIndex::build(TermSet::needs(), services.clone());
    let q = |pairs: &[(&str, &str)]| -> BTreeSet<String> {
        ServicesParams::from_pairs(
            pairs.iter().copied(),
            pathways_directory::oruk::SERVICES_PARAMS,
        )
        .map(|p| ids(&idx, &p.find(None).query()).into_iter().collect())
        .expect("valid params")
    };
    // The feed lists what the public pages list: active and temporarily closed services.
    let listed = |s: &&ValidService| {
        matches!(
            s.service().status,
            pathways_directory::model::Status::Active
                | pathways_directory::model::Status::TemporarilyClosed
        )
    };
    let all: BTreeSet<String> = services
        .iter()
        .filter(listed)
        .map(|s| s.id().to_string())
        .collect();
    assert!(
        all.len() < services.len(),
        "the sample has inactive services"
    );
    assert_eq!(q(&[]), all, "the feed lists the publicly listed services");
    let num = |n: &Option<serde_json::Number>| n.as_ref().and_then(|x| x.as_f64());
    let want = |f: &dyn Fn(&ValidService) -> bool| -> BTreeSet<String> {
        services
            .iter()
            .filter(listed)
            .filter(|s| f(s))
            .map(|s| s.id().to_string())
            .collect()
    };
    assert_eq!(
        q(&[("minimum_age", "16")]),
        want(&|s| num(&s.service().minimum_age).unwrap_or(0.0) >= 16.0)
    );
    assert_eq!(
        q(&[("maximum_age", "25")]),
        want(&|s| num(&s.service().maximum_age).is_some_and(|m| m <= 25.0))
    );
    let tax = TermSet::needs().taxonomies()[0].id.clone();
    assert_eq!(q(&[("taxonomy_id", &tax)]), all);
    assert!(q(&[("taxonomy_id", "00000000-0000-4000-8000-000000000000")]).is_empty());
    let sat_evening = q(&[("day", "SA"), ("start_time", "18:00")]);
    assert_eq!(
        sat_evening,
        want(&|s| s
            .service()
            .schedules
            .iter()
            .filter_map(CompiledSchedule::compile)
            .any(|c| c.on_weekday(5) && c.opens >= 18 * 60))
    );
    assert!(!sat_evening.is_empty());
    let early = q(&[("end_time", "16:00")]);
    assert_eq!(
        early,
        want(&|s| s
            .service()
            .schedules
            .iter()
            .filter_map(CompiledSchedule::compile)
            .any(|c| c.closes <= 16 * 60))
    );
    let since = q(&[("modified_after", "2026-10-01")]);
    assert_eq!(
        since,
        want(&|s| s
            .service()
            .last_modified
            .as_deref()
            .is_some_and(|m| m >= "2026-10-01"))
    );
    assert!(!since.is_empty() && since.len() < all.len());
    // Filters combine with AND.
    let both = q(&[("minimum_age", "16"), ("modified_after", "2026-10-01")]);
    let inter: BTreeSet<String> = q(&[("minimum_age", "16")])
        .intersection(&since)
        .cloned()
        .collect();
    assert_eq!(both, inter);
}

/// Nearest-first and within-a-distance searches go through the grid; they must give exactly
/// what measuring every service gives.
#[test]
fn grid_searches_match_measuring_every_service() {
    use pathways_directory::model::Status;
    use pathways_directory::search::haversine_m;
    let services = common::services(400);
    let idx = SearchIndex::build(TermSet::needs(), services.clone());
    let listed: Vec<&ValidService> = services
        .iter()
        .filter(|s| {
            matches!(
                s.service().status,
                Status::Active | Status::TemporarilyClosed
            )
        })
        .collect();
    let nearest = |s: &ValidService, p: GeoPoint| -> f64 {
        s.service()
            .public_locations()
            .filter_map(|l| {
                Some(haversine_m(
                    p,
                    GeoPoint {
                        lat: l.latitude?,
                        lon: l.longitude?,
                    },
                ))
            })
            .fold(f64::INFINITY, f64::min)
    };
    let points = [
        GeoPoint {
            lat: 51.50,
            lon: -0.19,
        },
        GeoPoint {
            lat: 51.512,
            lon: -0.171,
        },
        GeoPoint {
            lat: 51.4801,
            lon: -0.2203,
        },
        GeoPoint {
            lat: 53.48,
            lon: -2.24,
        },
        GeoPoint {
            lat: 51.5049,
            lon: -0.1851,
        },
    ];
    for p in points {
        let mut want: Vec<(f64, String, String)> = listed
            .iter()
            .map(|s| {
                (
                    nearest(s, p),
                    s.service().name.to_lowercase(),
                    s.id().to_string(),
                )
            })
            .collect();
        want.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| (&a.1, &a.2).cmp(&(&b.1, &b.2)))
        });
        let q = Query {
            near: Some(p),
            sort: SortOrder::Distance,
            ..Query::default()
        };
        for offset in [0, 7, 150, want.len() - 5] {
            let page = idx.search(&q, offset, 20);
            assert_eq!(page.total, want.len());
            let got: Vec<&str> = page.hits.iter().map(|h| h.service.id()).collect();
            let expected: Vec<&str> = want
                .iter()
                .skip(offset)
                .take(20)
                .map(|w| w.2.as_str())
                .collect();
            let first = got.iter().zip(&expected).position(|(a, b)| a != b);
            assert_eq!(
                got,
                expected,
                "nearest first from {p:?}, offset {offset}; first difference at {first:?}: {:?}",
                first.map(|i| (
                    &want[offset + i],
                    idx.search(&q, offset + i, 1).hits[0].distance_m
                ))
            );
        }
        for metres in [300.0, 1500.0, 40_000.0] {
            let q = Query {
                near: Some(p),
                within_m: Some(metres),
                sort: SortOrder::Name,
                ..Query::default()
            };
            let got: BTreeSet<String> = ids(&idx, &q).into_iter().collect();
            let expected: BTreeSet<String> = want
                .iter()
                .filter(|w| w.0 <= metres)
                .map(|w| w.2.clone())
                .collect();
            assert_eq!(got, expected, "within {metres} m of {p:?}");
        }
    }
}

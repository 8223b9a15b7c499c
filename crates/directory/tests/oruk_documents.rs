//! The ORUK documents: exact shapes in a fresh checkout, and validation of page 1, a middle
//! page, the last page and 10 random ids against the official schemas when they are present.

mod common;

use common::{assert_no_nulls_or_empty, assert_valid, assert_valid_definition, index, oruk_dir};
use pathways_directory::oruk::{self, Paging, ServicesParams};
use pathways_directory::search::GeoPoint;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::Value;

const ENVELOPE: [&str; 8] = [
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
    "contents",
];

fn params(pairs: &[(&str, &str)]) -> ServicesParams {
    ServicesParams::from_pairs(
        pairs.iter().copied(),
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect("valid parameters")
}

fn assert_envelope(page: &Value, total: usize, number: usize, size: usize, per_page: usize) {
    let keys: Vec<&str> = page
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = ENVELOPE.to_vec();
    expected.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, expected, "envelope keys");
    let pages = total.div_ceil(per_page).max(1);
    assert_eq!(page["total_items"], total);
    assert_eq!(page["total_pages"], pages);
    assert_eq!(page["page_number"], number);
    assert_eq!(page["size"], size);
    assert_eq!(page["contents"].as_array().expect("array").len(), size);
    assert_eq!(page["first_page"], number == 1);
    assert_eq!(page["last_page"], number >= pages);
    assert_eq!(page["empty"], size == 0);
}

#[test]
fn root_document_is_exact() {
    let root = oruk::root_document("https://directory.example/oruk/openapi.json");
    assert_eq!(
        root.to_string(),
        r#"{"openapi_url":"https://directory.example/oruk/openapi.json","profile":"https://openreferral.github.io/LGA-Open-Referral-Standard/","version":"HSDS-UK-3.0"}"#
    );
}

#[test]
fn services_pages_have_the_exact_envelope() {
    let idx = index(230);
    // Listed: active and temporarily closed services (226 of the 230 generated).
    let total = idx
        .services()
        .filter(|s| {
            matches!(
                s.service().status,
                pathways_directory::model::Status::Active
                    | pathways_directory::model::Status::TemporarilyClosed
            )
        })
        .count();
    assert_eq!(total, 226);
    let p1 = oruk::services_page(&idx, &params(&[("per_page", "50")]), None);
    assert_envelope(&p1, total, 1, 50, 50);
    let last = oruk::services_page(&idx, &params(&[("per_page", "50"), ("page", "5")]), None);
    assert_envelope(&last, total, 5, 26, 50);
    let beyond = oruk::services_page(&idx, &params(&[("per_page", "50"), ("page", "9")]), None);
    assert_envelope(&beyond, total, 9, 0, 50);
    let none = oruk::services_page(&idx, &params(&[("search", "zzzzunknownword")]), None);
    assert_envelope(&none, 0, 1, 0, 50);
    // List items carry only one-to-one fields and the organisation.
    for item in p1["contents"].as_array().expect("array") {
        let o = item.as_object().expect("object");
        for k in o.keys() {
            assert!(
                [
                    "id",
                    "organization_id",
                    "name",
                    "description",
                    "url",
                    "email",
                    "status",
                    "fees",
                    "accreditations",
                    "minimum_age",
                    "maximum_age",
                    "assured_date",
                    "assurer_email",
                    "alert",
                    "last_modified",
                    "organization"
                ]
                .contains(&k.as_str()),
                "unexpected list field {k}"
            );
        }
        assert!(o.contains_key("organization"));
        assert_no_nulls_or_empty(item, "$");
    }
    // Paging is stable and disjoint: the five pages hold every service exactly once.
    let mut ids = std::collections::BTreeSet::new();
    for page in 1..=5 {
        let p = oruk::services_page(
            &idx,
            &params(&[("per_page", "50"), ("page", &page.to_string())]),
            None,
        );
        for item in p["contents"].as_array().expect("array") {
            assert!(ids.insert(item["id"].as_str().expect("id").to_string()));
        }
    }
    assert_eq!(ids.len(), 226);
}

#[test]
fn bad_parameters_name_the_parameter() {
    let e = ServicesParams::from_pairs(
        [("per_page", "0")],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect_err("rejected");
    assert_eq!(e.name, "per_page");
    let e = ServicesParams::from_pairs(
        [("day", "someday")],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect_err("rejected");
    assert_eq!(
        e.to_string(),
        "query parameter `day`: `someday` is not a day (use MO..SU or a day name)"
    );
    let e = ServicesParams::from_pairs(
        [("start_time", "25:00")],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect_err("rejected");
    assert_eq!(e.name, "start_time");
    let e = ServicesParams::from_pairs(
        [("modified_after", "yesterday")],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect_err("rejected");
    assert_eq!(e.name, "modified_after");
    // Empty values count as absent; unknown, repeated and oversized parameters are refused.
    let p = ServicesParams::from_pairs([("search", "")], pathways_directory::oruk::SERVICES_PARAMS)
        .expect("accepted");
    assert_eq!(p.search, None);
    for (pairs, name) in [
        (vec![("text", "zzzz")], "text"),
        (vec![("full", "true")], "full"),
        (
            vec![("taxonomy_term_id", "a"), ("taxonomy_term_id", "b")],
            "taxonomy_term_id",
        ),
        (vec![("page", "0")], "page"),
        (vec![("per_page", "100000")], "per_page"),
    ] {
        let e = ServicesParams::from_pairs(pairs, pathways_directory::oruk::SERVICES_PARAMS)
            .expect_err("refused");
        assert_eq!(e.name, name, "{e}");
    }
    let long = "a".repeat(10_000);
    let e = ServicesParams::from_pairs(
        [("search", long.as_str())],
        pathways_directory::oruk::SERVICES_PARAMS,
    )
    .expect_err("refused");
    assert_eq!(e.name, "search");
    assert!(e.message.contains("longer than 200"), "{e}");
}

#[test]
fn full_service_is_nested_without_confidential_locations() {
    let idx = index(200);
    let mut saw_refuge = false;
    for s in idx.services() {
        let doc = oruk::service_document(s);
        assert_no_nulls_or_empty(&doc, "$");
        let text = doc.to_string();
        assert!(!text.contains("pathways_confidential"));
        if s.service().has_confidential_location() {
            saw_refuge = true;
            for sal in s.service().service_at_locations.iter() {
                let loc = sal
                    .location
                    .as_ref()
                    .expect("generated locations are nested");
                if loc.confidential {
                    assert!(!text.contains(&loc.id), "confidential location id leaked");
                    assert!(
                        !text.contains(&loc.addresses[0].postal_code),
                        "postcode leaked"
                    );
                    assert!(
                        !text.contains(&format!("{}", loc.latitude.expect("lat"))),
                        "latitude leaked"
                    );
                }
            }
        }
        assert!(doc["organization"].is_object());
    }
    assert!(saw_refuge, "the generated directory includes refuges");
    // A service with a physical location has location and address nested.
    let s = idx
        .services()
        .find(|s| s.service().public_locations().next().is_some())
        .expect("some located service");
    let doc = oruk::service_document(s);
    assert!(doc["service_at_locations"][0]["location"]["addresses"][0]["postal_code"].is_string());
    assert!(doc["attributes"][0]["taxonomy_term"]["name"].is_string());
    assert!(doc["schedules"][0]["opens_at"].is_string());
    assert!(doc["contacts"][0]["phones"][0]["number"].is_string());
}

#[test]
fn taxonomy_documents() {
    let terms = pathways_directory::TermSet::needs();
    let p = oruk::taxonomies_page(&terms, Paging::default());
    assert_envelope(&p, 1, 1, 1, 50);
    let tid = terms.taxonomies()[0].id.clone();
    let t = oruk::taxonomy_document(&terms, &tid).expect("known taxonomy");
    assert_eq!(
        t["taxonomy_terms"].as_array().expect("array").len(),
        terms.terms().len()
    );
    let tp = oruk::taxonomy_terms_page(
        &terms,
        None,
        Paging {
            page: 2,
            per_page: 20,
        },
    );
    assert_envelope(&tp, terms.terms().len(), 2, 20, 20);
    let filtered = oruk::taxonomy_terms_page(
        &terms,
        Some("00000000-0000-4000-8000-000000000000"),
        Paging::default(),
    );
    assert_envelope(&filtered, 0, 1, 0, 50);
    let first = &terms.terms()[0];
    let doc = oruk::taxonomy_term_document(&terms, &first.id).expect("known term");
    assert_eq!(doc["name"], first.name.as_str());
    assert!(oruk::taxonomy_term_document(&terms, "nope").is_none());
}

#[test]
fn official_schemas_accept_generated_documents() {
    let Some(dir) = oruk_dir("official_schemas_accept_generated_documents") else {
        return;
    };
    let idx = index(1000);
    let per_page = "50";
    let total_pages = idx.len().div_ceil(50);
    for page in [1, total_pages / 2, total_pages] {
        let p = oruk::services_page(
            &idx,
            &params(&[("per_page", per_page), ("page", &page.to_string())]),
            None,
        );
        for item in p["contents"].as_array().expect("array") {
            assert_valid(&dir, "service_list.json", item);
        }
        let sal = oruk::service_at_locations_page(
            &idx,
            &params(&[("per_page", per_page), ("page", &page.to_string())]),
            None,
        );
        for item in sal["contents"].as_array().expect("array") {
            assert_valid(&dir, "service_at_location_list.json", item);
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let all: Vec<_> = idx.services().cloned().collect();
    let mut refuges = all
        .iter()
        .filter(|s| s.service().has_confidential_location());
    let mut picks: Vec<_> = all.choose_multiple(&mut rng, 10).cloned().collect();
    picks.push(refuges.next().expect("a refuge").clone());
    for s in picks {
        let doc = oruk::service_document(&s);
        assert_valid(&dir, "service.json", &doc);
        if let Some(sal) = s
            .service()
            .service_at_locations
            .iter()
            .find(|sal| !sal.location.as_ref().is_some_and(|l| l.confidential))
        {
            let d = oruk::service_at_location_document(&idx, &sal.id).expect("public sal");
            assert_valid(&dir, "service_at_location.json", &d);
        }
    }
    let terms = idx.terms();
    let t = oruk::taxonomy_document(terms, &terms.taxonomies()[0].id).expect("taxonomy");
    assert_valid_definition(&dir, "taxonomy", &t);
    for term in terms.terms() {
        let d = oruk::taxonomy_term_document(terms, &term.id).expect("term");
        assert_valid_definition(&dir, "taxonomy_term", &d);
    }
}

#[test]
fn official_examples_parse_through_the_model() {
    let Some(dir) = oruk_dir("official_examples_parse_through_the_model") else {
        return;
    };
    // The checker itself accepts the official full example, so it is not over-strict.
    let example = common::load_json(&dir.join("examples/service_full.json"));
    assert_valid(&dir, "service.json", &example);
    // ... and is not vacuous: it catches a missing required field, a bad enum, a null and a bad uuid.
    let schema = common::load_json(&dir.join("schema/service.json"));
    for (field, value) in [
        ("name", None),
        ("status", Some(serde_json::json!("open"))),
        ("description", Some(Value::Null)),
        ("id", Some(serde_json::json!("not-a-uuid"))),
    ] {
        let mut bad = example.clone();
        match value {
            None => {
                bad.as_object_mut().expect("object").remove(field);
            }
            Some(v) => bad[field] = v,
        }
        let mut errs = Vec::new();
        common::check_schema(&schema, &schema, &bad, "$", &mut errs);
        assert!(!errs.is_empty(), "checker missed a bad {field}");
    }
    // And our model reads it without losing ORUK fields (type-level round trip).
    let s: pathways_directory::Service =
        serde_json::from_value(example.clone()).expect("model reads the example");
    let back = serde_json::to_value(&s).expect("serialises");
    assert_eq!(back["schedules"], example["schedules"]);
    assert_eq!(back["organization"], example["organization"]);
    assert_eq!(back["attributes"], example["attributes"]);
    let (b, e) = (
        &back["service_at_locations"][0]["location"],
        &example["service_at_locations"][0]["location"],
    );
    assert_eq!(b["addresses"], e["addresses"]);
    assert_eq!(b["accessibility"], e["accessibility"]);
    // Coordinates are f64, so 100 comes back as 100.0: equal as numbers.
    assert_eq!(b["latitude"].as_f64(), e["latitude"].as_f64());
}

#[test]
fn service_at_locations_by_proximity() {
    let idx = index(300);
    let point = GeoPoint {
        lat: 51.50,
        lon: -0.19,
    };
    let p = oruk::service_at_locations_page(
        &idx,
        &params(&[("proximity", "800"), ("per_page", "1000")]),
        Some(point),
    );
    let items = p["contents"].as_array().expect("array");
    assert!(!items.is_empty());
    let mut last = 0.0;
    for item in items {
        let loc = &item["location"];
        let d = pathways_directory::search::haversine_m(
            point,
            GeoPoint {
                lat: loc["latitude"].as_f64().expect("lat"),
                lon: loc["longitude"].as_f64().expect("lon"),
            },
        );
        assert!(d <= 800.0, "{d} m is outside the proximity");
        assert!(d >= last, "ordered by distance");
        last = d;
        assert!(item["service"]["name"].is_string());
    }
    // No confidential location ever appears.
    let all = oruk::service_at_locations_page(&idx, &params(&[("per_page", "1000")]), None);
    let text = all.to_string();
    for s in idx.services() {
        for sal in &s.service().service_at_locations {
            if sal.location.as_ref().is_some_and(|l| l.confidential) {
                assert!(!text.contains(&sal.id));
                assert!(oruk::service_at_location_document(&idx, &sal.id).is_none());
            }
        }
    }
}

#[test]
fn ndjson_bulk_streams_every_match_without_confidential_locations() {
    let idx = index(150);
    let mut out = Vec::new();
    oruk::services_ndjson(&idx, &params(&[("search", "support")]), None, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    let page = oruk::services_page(
        &idx,
        &params(&[("search", "support"), ("per_page", "1000")]),
        None,
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        page["total_items"].as_u64().expect("count") as usize
    );
    assert!(!lines.is_empty());
    for (line, item) in lines
        .iter()
        .zip(page["contents"].as_array().expect("array"))
    {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(v["id"], item["id"], "same order as the page");
        assert_no_nulls_or_empty(&v, "$");
    }
    assert!(!text.contains("pathways_confidential"));
}

//! Feed import and export: round trips are byte-identical, and every kind of bad input gives a
//! clear error naming the record and field while good records still come through.

mod common;

use std::io::Read;

use pathways_directory::export::{Audience, ExportFormat, write_feed, write_feed_for};
use pathways_directory::import::{
    FeedFormat, ImportError, ImportOptions, parse_feed, read_limited,
};
use pathways_directory::{TermSet, ValidService};
use proptest::prelude::*;
use serde_json::{Value, json};

fn export(services: &[ValidService], format: ExportFormat) -> Vec<u8> {
    let mut out = Vec::new();
    write_feed(services.iter(), format, &mut out).expect("writing to memory");
    out
}

fn minimal(id: &str) -> Value {
    json!({"id": id, "name": "Test service", "status": "active"})
}

const ID1: &str = "3f2b1c9e-1111-4a5b-8c6d-000000000001";
const ID2: &str = "3f2b1c9e-1111-4a5b-8c6d-000000000002";
const ID3: &str = "3f2b1c9e-1111-4a5b-8c6d-000000000003";

fn feed(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&Value::Array(records.to_vec())).expect("serialise")
}

fn parse(bytes: &[u8]) -> Result<pathways_directory::ParsedFeed, ImportError> {
    parse_feed(bytes, &TermSet::needs(), ImportOptions::default())
}

#[test]
fn export_import_export_is_byte_identical() {
    let services = common::services(200);
    for format in [
        ExportFormat::Page,
        ExportFormat::Array,
        ExportFormat::Ndjson,
    ] {
        let first = export(&services, format);
        let parsed = parse(&first).expect("own export parses");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert_eq!(parsed.services.len(), 200);
        let expected_format = match format {
            ExportFormat::Page => FeedFormat::Page,
            ExportFormat::Array => FeedFormat::Array,
            ExportFormat::Ndjson => FeedFormat::Ndjson,
        };
        assert_eq!(parsed.format, expected_format);
        let second = export(&parsed.services, format);
        assert!(first == second, "{format:?} round trip differs");
        // The public export never contains a confidential location.
        let text = String::from_utf8(first).expect("utf-8");
        assert!(!text.contains("pathways_confidential"));
    }
}

#[test]
fn internal_backup_keeps_confidential_locations_and_round_trips() {
    let services = common::services(120);
    let confidential = services
        .iter()
        .filter(|s| s.service().has_confidential_location())
        .count();
    assert!(confidential > 0);
    let mut first = Vec::new();
    write_feed_for(
        services.iter(),
        ExportFormat::Ndjson,
        Audience::Internal,
        &mut first,
    )
    .expect("write");
    let parsed = parse(&first).expect("parses");
    assert_eq!(
        parsed.services, services,
        "internal round trip keeps every field"
    );
    let mut second = Vec::new();
    write_feed_for(
        parsed.services.iter(),
        ExportFormat::Ndjson,
        Audience::Internal,
        &mut second,
    )
    .expect("write");
    assert!(first == second);
    assert_eq!(
        parsed
            .services
            .iter()
            .filter(|s| s.service().has_confidential_location())
            .count(),
        confidential
    );
}

#[test]
fn latitude_100_names_record_id_and_field() {
    let mut bad = minimal(ID2);
    bad["service_at_locations"] = json!([{
        "id": "3f2b1c9e-1111-4a5b-8c6d-0000000000aa",
        "location": {"id": "3f2b1c9e-1111-4a5b-8c6d-0000000000bb", "location_type": "physical", "latitude": 100, "longitude": -0.19}
    }]);
    let parsed = parse(&feed(&[minimal(ID1), bad, minimal(ID3)])).expect("feed parses");
    assert_eq!(parsed.services.len(), 2);
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(
        parsed.rejected[0].to_string(),
        format!(
            "record 2 (id {ID2}): service_at_locations[0].location.latitude: 100 is not a latitude (must be between -90 and 90)"
        )
    );
}

#[test]
fn malformed_json_reports_line_and_column() {
    let text = b"[\n  {\"id\": \"x\",\n   \"name\": }\n]";
    match parse(text) {
        Err(ImportError::Malformed { line, column, .. }) => {
            assert_eq!((line, column), (3, 12));
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    let e = parse(text).expect_err("malformed");
    assert!(
        e.to_string()
            .starts_with("the feed is not valid JSON at line 3, column 12"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_record_and_field() {
    let mut a = minimal(ID1);
    a["name"] = json!(5);
    let mut b = minimal(ID2);
    b["minimum_age"] = json!("ten");
    let mut c = minimal(ID3);
    c["schedules"] = json!({"id": ID3});
    let parsed = parse(&feed(&[a, b, c])).expect("feed parses");
    assert!(parsed.services.is_empty());
    let r = &parsed.rejected;
    assert_eq!(r.len(), 3);
    assert_eq!((r[0].position, r[0].id.as_deref()), (1, Some(ID1)));
    assert_eq!(r[0].errors[0].path, "name");
    assert!(
        r[0].errors[0]
            .message
            .contains("invalid type: integer `5`, expected a string"),
        "{}",
        r[0]
    );
    assert_eq!(r[1].errors[0].path, "minimum_age");
    assert_eq!(r[2].errors[0].path, "schedules");
    assert!(
        r[2].errors[0].message.contains("expected a sequence"),
        "{}",
        r[2]
    );
}

#[test]
fn unknown_taxonomy_terms_are_rejected() {
    let mut a = minimal(ID1);
    a["attributes"] =
        json!([{"id": ID2, "taxonomy_term_id": "00000000-0000-4000-8000-000000000000"}]);
    let parsed = parse(&feed(&[a])).expect("feed parses");
    let e = &parsed.rejected[0];
    assert_eq!(e.errors[0].path, "attributes[0].taxonomy_term_id");
    assert!(
        e.errors[0].message.contains("is not a known taxonomy term"),
        "{e}"
    );
}

#[test]
fn known_terms_are_canonicalised() {
    let terms = TermSet::needs();
    let term = terms
        .terms()
        .iter()
        .find(|t| t.term.as_deref() == Some("stalking"))
        .expect("term");
    let mut a = minimal(ID1);
    a["attributes"] = json!([{"id": ID2, "taxonomy_term": {"id": term.id, "name": "old name", "description": "x"}}]);
    let parsed = parse(&feed(&[a])).expect("feed parses");
    let attr = &parsed.services[0].service().attributes[0];
    assert_eq!(attr.taxonomy_term_id.as_deref(), Some(term.id.as_str()));
    assert_eq!(attr.taxonomy_term.as_ref().expect("nested"), term);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let bytes = feed(&[minimal(ID1)]);
    let e = parse_feed(
        &bytes,
        &TermSet::needs(),
        ImportOptions {
            max_bytes: 10,
            strict: false,
        },
    )
    .expect_err("too big");
    assert_eq!(
        e,
        ImportError::TooLarge {
            size: bytes.len() as u64,
            limit: 10
        }
    );
    assert!(e.to_string().contains("larger than the limit of 10 bytes"));
    // A 1 GB upload is cut off after the limit without being read in full.
    let gigabyte = std::io::repeat(b' ').take(1 << 30);
    let e = read_limited(gigabyte, 1 << 20).expect_err("too big");
    assert_eq!(
        e,
        ImportError::TooLarge {
            size: (1 << 20) + 1,
            limit: 1 << 20
        }
    );
    assert_eq!(
        read_limited(&bytes[..], 1 << 20).expect("small input"),
        bytes
    );
}

#[test]
fn invalid_utf8_reports_offset_and_line() {
    let mut bytes = b"[\n{\"id\": \"a\",\n \"name\": \"caf".to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(b"\"}]");
    let e = parse(&bytes).expect_err("bad utf-8");
    assert_eq!(
        e,
        ImportError::InvalidUtf8 {
            offset: 27,
            line: 3,
            column: 14
        }
    );
    assert!(e.to_string().contains("byte 27 (line 3, column 14)"));
}

#[test]
fn strict_mode_imports_nothing_when_a_record_fails() {
    let mut bad = minimal(ID2);
    bad["status"] = json!("open");
    let bytes = feed(&[minimal(ID1), bad]);
    let e = parse_feed(
        &bytes,
        &TermSet::needs(),
        ImportOptions {
            strict: true,
            ..ImportOptions::default()
        },
    )
    .expect_err("strict");
    match &e {
        ImportError::Strict { total, rejected } => {
            assert_eq!(*total, 2);
            assert_eq!(rejected[0].errors[0].path, "status");
            assert_eq!(
                rejected[0].errors[0].message,
                "`open` is not a status (must be one of active, inactive, defunct, temporarily closed)"
            );
        }
        other => panic!("expected Strict, got {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("1 of 2 records failed, so nothing was imported")
    );
}

#[test]
fn html_and_script_are_neutralised() {
    let mut a = minimal(ID1);
    a["name"] = json!("<b>Safe</b> Space");
    a["description"] =
        json!("<script>alert('x')</script>Help <a href=\"javascript:alert(1)\">now</a>");
    a["alert"] = json!("<img src=x onerror=alert(1)>");
    let parsed = parse(&feed(&[a])).expect("parses");
    let s = parsed.services[0].service();
    assert_eq!(s.name, "Safe Space");
    assert_eq!(s.description.as_deref(), Some("Help now"));
    // Text that was only markup is empty, hence omitted.
    assert_eq!(s.alert, None);
}

#[test]
fn ndjson_bad_line_is_reported_with_its_line() {
    let text = format!(
        "{}\n{{\"id\": \"{ID2}\", \"name\": \n{}\n",
        minimal(ID1),
        minimal(ID3)
    );
    let parsed = parse(text.as_bytes()).expect("ndjson parses");
    assert_eq!(parsed.format, FeedFormat::Ndjson);
    assert_eq!(parsed.services.len(), 2);
    assert_eq!(parsed.rejected[0].position, 2);
    assert_eq!(parsed.rejected[0].line, Some(2));
    assert!(
        parsed.rejected[0]
            .to_string()
            .starts_with("record 2 (line 2): not valid JSON at line 2")
    );
}

#[test]
fn other_record_errors() {
    let mut no_name = minimal(ID1);
    no_name.as_object_mut().expect("object").remove("name");
    let mut bad_id = minimal("abc");
    bad_id["name"] = json!("x");
    let mut bad_bits = minimal(ID3);
    bad_bits["email"] = json!("not an email");
    bad_bits["url"] = json!("ftp://x");
    bad_bits["minimum_age"] = json!(20);
    bad_bits["maximum_age"] = json!(10);
    bad_bits["schedules"] =
        json!([{"id": ID2, "opens_at": "9am", "closes_at": "17:00", "byday": "XX"}]);
    let dup = minimal(ID1);
    let parsed = parse(&feed(&[no_name, bad_id, bad_bits, minimal(ID2), dup])).expect("parses");
    let r = &parsed.rejected;
    assert_eq!(parsed.services.len(), 2, "{r:#?}");
    assert_eq!(
        r[0].to_string(),
        format!("record 1 (id {ID1}): name: is required")
    );
    assert_eq!(r[1].errors[0].path, "id");
    assert!(r[1].errors[0].message.starts_with("`abc` is not a UUID"));
    let paths: Vec<&str> = r[2].errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "url",
            "email",
            "maximum_age",
            "schedules[0].opens_at",
            "schedules[0].byday"
        ]
    );
    assert_eq!(r[2].errors[2].message, "10 is below minimum_age 20");
    // The duplicate of ID1 comes after ID1 was rejected, so it is accepted; duplicates of
    // accepted records are refused.
    let parsed = parse(&feed(&[minimal(ID1), minimal(ID1)])).expect("parses");
    assert_eq!(
        parsed.rejected[0].errors[0].message,
        "duplicates the id of record 1; each service needs its own id"
    );
}

#[test]
fn feed_shapes_and_not_a_feed() {
    let page = json!({"total_items": 1, "contents": [minimal(ID1)]});
    assert_eq!(
        parse(&serde_json::to_vec(&page).expect("json"))
            .expect("page")
            .format,
        FeedFormat::Page
    );
    let single = parse(&serde_json::to_vec(&minimal(ID1)).expect("json")).expect("single");
    assert_eq!(single.services.len(), 1);
    let e = parse(b"42").expect_err("not a feed");
    assert!(
        e.to_string()
            .starts_with("the feed is a number; expected a /services page")
    );
    let e = parse(b"{\"contents\": 3}").expect_err("not a feed");
    assert!(matches!(e, ImportError::NotAFeed { .. }));
    // Nulls are read as absent and never written back.
    let mut n = minimal(ID1);
    n["description"] = Value::Null;
    let parsed = parse(&feed(&[n])).expect("parses");
    assert!(
        !String::from_utf8(export(&parsed.services, ExportFormat::Array))
            .expect("utf-8")
            .contains("null")
    );
}

#[test]
fn official_example_is_rejected_for_its_coordinates() {
    let Some(dir) = common::oruk_dir("official_example_is_rejected_for_its_coordinates") else {
        return;
    };
    let bytes = std::fs::read(dir.join("examples/service_full.json")).expect("example");
    let parsed = parse(&bytes).expect("parses as a single record");
    let e = &parsed.rejected[0];
    let text = e.to_string();
    assert!(
        text.contains("service_at_locations[0].location.latitude: 100 is not a latitude"),
        "{text}"
    );
    // Its longitude (101) is in range, so only the latitude is reported for the location.
    assert!(!text.contains("longitude"), "{text}");
    assert!(text.contains("attributes[0].taxonomy_term.id: `3f7b145d-84af-42d7-8fae-eaca714b02b2` is not a known taxonomy term"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_json_like_text(s in "[\\[\\]{}\",:0-9a-z_ \n.-]{0,300}") {
        let _ = parse(s.as_bytes());
    }

    #[test]
    fn parser_never_panics_on_mutated_records(
        field in prop::sample::select(vec!["name", "status", "minimum_age", "latitude", "schedules", "attributes", "id", "organization", "service_at_locations"]),
        value in prop_oneof![
            Just(json!(null)), Just(json!(-1e308)), Just(json!("")), Just(json!([])), Just(json!({})),
            Just(json!([{"id": ID2}])), Just(json!("<script>x</script>")), any::<i64>().prop_map(|i| json!(i)),
            ".{0,20}".prop_map(|s| json!(s)),
        ],
    ) {
        let mut rec = minimal(ID1);
        rec[field] = value;
        let parsed = parse(&feed(&[rec]));
        if let Ok(p) = parsed {
            prop_assert_eq!(p.services.len() + p.rejected.len(), 1);
        }
    }
}

//! Shared test helpers: the official ORUK schema folder, a focused JSON Schema checker and
//! a generated demo index.
//! The checker covers the keywords the ORUK compiled schemas use (type, required, properties,
//! items, enum, format, $ref to #/definitions) plus the ORUK rule that no value may be null.

#![allow(dead_code)]

use std::path::PathBuf;

use pathways_directory::generate::{GenerateOptions, generate};
use pathways_directory::{SearchIndex, TermSet, ValidService};
use serde_json::Value;
use time::macros::date;

/// The shared data folder, from `PATHWAYS_SHARED_DIR` or beside the workspace.
pub fn shared_dir() -> PathBuf {
    match std::env::var("PATHWAYS_SHARED_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
    }
}

/// The official ORUK folder, or `None` (with a printed message) when absent.
pub fn oruk_dir(test: &str) -> Option<PathBuf> {
    let d = shared_dir().join("oruk");
    if d.join("schema").is_dir() {
        Some(d)
    } else {
        println!(
            "skipping {test}: official ORUK schemas not found at {}",
            d.display()
        );
        None
    }
}

/// Loads a JSON file.
pub fn load_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable test file");
    serde_json::from_str(&text).expect("valid JSON test file")
}

fn kind_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn format_ok(f: &str, s: &str) -> bool {
    match f {
        "uuid" => s.len() == 36 && uuid::Uuid::try_parse(s).is_ok(),
        "uri" => s.split_once(':').is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !s.contains(char::is_whitespace)
        }),
        "email" => s
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.')),
        "date-time" => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        }
        _ => true,
    }
}

/// Checks `doc` against `schema` (resolving `#/definitions/...` in `root`); returns problems.
pub fn check_schema(root: &Value, schema: &Value, doc: &Value, path: &str, errs: &mut Vec<String>) {
    if doc.is_null() {
        errs.push(format!("{path}: null is not allowed"));
        return;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(name) = r.strip_prefix("#/definitions/") {
            let target = &root["definitions"][name];
            assert!(!target.is_null(), "unresolved $ref {r}");
            check_schema(root, target, doc, path, errs);
        } else {
            panic!("external $ref {r} not supported by the checker");
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !kind_ok(t, doc) => {
            errs.push(format!("{path}: expected {t}, found {doc}"));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| kind_ok(t, doc)) => {
            errs.push(format!("{path}: expected one of {ts:?}"));
            return;
        }
        _ => {}
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(doc)
    {
        errs.push(format!("{path}: {doc} not in enum {allowed:?}"));
    }
    if let (Some(f), Some(s)) = (schema.get("format").and_then(Value::as_str), doc.as_str())
        && !format_ok(f, s)
    {
        errs.push(format!("{path}: `{s}` is not a valid {f}"));
    }
    if let Some(obj) = doc.as_object() {
        if let Some(Value::Array(req)) = schema.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errs.push(format!("{path}: required field `{r}` missing"));
                }
            }
        }
        if let Some(Value::Object(props)) = schema.get("properties") {
            for (k, v) in obj {
                if let Some(ps) = props.get(k) {
                    check_schema(root, ps, v, &format!("{path}.{k}"), errs);
                } else if v.is_null() {
                    errs.push(format!("{path}.{k}: null is not allowed"));
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), doc.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check_schema(root, items, v, &format!("{path}[{i}]"), errs);
        }
    }
}

/// Asserts `doc` validates against the schema file `name` in the official folder.
pub fn assert_valid(oruk: &std::path::Path, name: &str, doc: &Value) {
    let schema = load_json(&oruk.join("schema").join(name));
    let mut errs = Vec::new();
    check_schema(&schema, &schema, doc, "$", &mut errs);
    assert!(errs.is_empty(), "{name}: {errs:#?}\n{doc:#}");
}

/// Asserts `doc` validates against a named definition of `service_with_definitions.json`.
pub fn assert_valid_definition(oruk: &std::path::Path, def: &str, doc: &Value) {
    let root = load_json(&oruk.join("schema").join("service_with_definitions.json"));
    let schema = root["definitions"][def].clone();
    assert!(!schema.is_null(), "no definition {def}");
    let mut errs = Vec::new();
    check_schema(&root, &schema, doc, "$", &mut errs);
    assert!(errs.is_empty(), "{def}: {errs:#?}\n{doc:#}");
}

/// Asserts there is no null and no empty string anywhere in `v`.
pub fn assert_no_nulls_or_empty(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("{path}: null"),
        Value::String(s) => assert!(!s.is_empty(), "{path}: empty string"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls_or_empty(x, &format!("{path}[{i}]"))),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| assert_no_nulls_or_empty(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

/// The fixed "today" used by tests.
pub const TODAY: time::Date = date!(2026 - 11 - 29);

/// A generated directory of `n` services (seed 7).
pub fn services(n: usize) -> Vec<ValidService> {
    generate(
        &TermSet::needs(),
        &GenerateOptions {
            seed: 7,
            services: n,
            today: TODAY,
        },
    )
}

/// An index of a generated directory of `n` services.
pub fn index(n: usize) -> SearchIndex {
    SearchIndex::build(TermSet::needs(), services(n))
}

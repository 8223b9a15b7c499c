//! Import of the real West Yorkshire month, checked against an independent count with the csv crate.

use crate::common::*;
use pathways_insight::model::Series;
use pathways_insight::stats::{Measure, StatsBy, StatsQuery, stats};
use pathways_insight::store::{Filter, Store};
use std::collections::BTreeMap;

#[test]
fn west_yorkshire_month_counts_match_an_independent_count() {
    let Some(data) = shared_data() else {
        eprintln!("skipping: ../shared/data not present");
        return;
    };
    let file = data.join("police-uk/2016-07-west-yorkshire-street.csv");
    // Independent computation: plain csv crate, no code from the crate under test.
    let mut rdr = csv::Reader::from_path(&file).expect("open sample");
    let (mut rows, mut no_loc, mut asb) = (0u64, 0u64, 0u64);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("record");
        rows += 1;
        if &rec[6] == "No Location" {
            no_loc += 1;
        }
        if rec[0].is_empty() {
            asb += 1;
        }
        *by_type.entry(rec[9].to_string()).or_default() += 1;
    }
    assert_eq!(rows, 27_176);

    let store = TempDir::new("wy");
    let report = import(std::slice::from_ref(&file), store.path()).expect("import");
    assert_eq!(report.street.read, rows);
    assert_eq!(report.street.added, rows);
    assert_eq!(report.street.no_location, no_loc);
    assert_eq!(report.street.without_id, asb);
    assert_eq!(report.malformed, 0);

    let s = Store::open(store.path()).expect("open store");
    assert_eq!(s.rows(Series::Street), rows);
    let frame = s.load(Series::Street, &Filter::default()).expect("load");
    let stored_no_loc = frame.i32(6).iter().filter(|&&x| x == i32::MIN).count() as u64;
    assert_eq!(stored_no_loc, no_loc);

    let q = StatsQuery {
        by: StatsBy::Type,
        area: None,
        from: None,
        to: None,
        measure: Measure::Count,
    };
    let table = stats(
        &s,
        None,
        &pathways_insight::harm::HarmTable::default_table(),
        &q,
    )
    .expect("stats");
    let got: BTreeMap<String, u64> = table
        .rows
        .iter()
        .map(|r| match (&r[0], &r[1]) {
            (pathways_insight::stats::Cell::Text(k), pathways_insight::stats::Cell::Int(v)) => {
                (k.clone(), *v)
            }
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    assert_eq!(got, by_type);

    // Re-importing the same file adds nothing: IDs dedupe crimes, (file, occurrence) dedupes ASB.
    let again = import(&[file], store.path()).expect("re-import");
    assert_eq!(again.street.added, 0);
    assert_eq!(again.street.duplicates, rows);
    assert_eq!(
        Store::open(store.path())
            .expect("open")
            .rows(Series::Street),
        rows
    );
}

//! Import of hand-written files: BOM, CRLF, quoting, ASB duplicates, overlapping archives,
//! malformed rows, the three series, and counts checked against an independent csv parse.

use crate::common::*;
use pathways_insight::InsightError;
use pathways_insight::import::{ImportOptions, import_paths};
use pathways_insight::model::Series;
use pathways_insight::store::{Filter, Store};

const ID1: &str = "aaaa000000000000000000000000000000000000000000000000000000000001";
const ID2: &str = "aaaa000000000000000000000000000000000000000000000000000000000002";
const ID3: &str = "aaaa000000000000000000000000000000000000000000000000000000000003";

fn street_csv(rows: &[String]) -> String {
    let mut s = String::from("\u{feff}");
    s.push_str(STREET_HEADER);
    s.push_str("\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

fn row(id: &str, month: &str, cat: &str, outcome: &str) -> String {
    format!(
        "{id},{month},Metropolitan Police Service,Metropolitan Police Service,-0.194,51.49,On or near \"Earl's Court\",E01002835,Kensington and Chelsea 001A,{cat},{outcome},"
    )
}

#[test]
fn bom_crlf_quotes_no_location_and_asb_duplicates() {
    let dir = TempDir::new("files");
    let rows = vec![
        row(ID1, "2019-03", "Burglary", "Under investigation"),
        // Quoted fields with embedded commas and quotes.
        format!(
            "{ID2},2019-03,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.5,\"On or near \"\"A, B\"\" Road\",E01002835,Kensington and Chelsea 001A,\"Violence and sexual offences\",Some brand-new outcome,"
        ),
        // No Location row.
        format!(
            "{ID3},2019-03,Metropolitan Police Service,Metropolitan Police Service,,,No Location,,,Drugs,,"
        ),
        // Two identical ASB rows: two incidents.
        row("", "2019-03", "Anti-social behaviour", ""),
        row("", "2019-03", "Anti-social behaviour", ""),
    ];
    let f = write(
        &dir.path()
            .join("in/2019-03/2019-03-metropolitan-street.csv"),
        &street_csv(&rows),
    );
    let store = dir.path().join("store");
    let r = import(std::slice::from_ref(&f), &store).expect("import");
    assert_eq!(
        (
            r.street.read,
            r.street.added,
            r.street.no_location,
            r.street.without_id
        ),
        (5, 5, 1, 2)
    );
    let s = Store::open(&store).expect("open");
    assert_eq!(s.rows(Series::Street), 5);
    assert!(s.dicts().outcomes.get("Some brand-new outcome").is_some());
    assert!(
        s.dicts()
            .categories
            .get("Violence and sexual offences")
            .is_some()
    );

    // The same file again, via its month folder: nothing new.
    let r2 = import(&[dir.path().join("in")], &store).expect("re-import");
    assert_eq!((r2.street.added, r2.street.duplicates), (0, 5));

    // A newer edition of the month with one more ASB row and one more crime: only those are added.
    let mut more = rows.clone();
    more.push(row("", "2019-03", "Anti-social behaviour", ""));
    more.push(row(
        "bbbb000000000000000000000000000000000000000000000000000000000009",
        "2019-03",
        "Robbery",
        "",
    ));
    let archive = zip_file(
        &dir.path().join("archive.zip"),
        &[
            (
                "2019-03/2019-03-metropolitan-street.csv",
                street_csv(&more).as_bytes(),
            ),
            ("README.txt", b"hello"),
        ],
    );
    let r3 = import(&[archive], &store).expect("archive import");
    assert_eq!((r3.street.added, r3.street.duplicates), (2, 5));
    assert_eq!(r3.skipped_files.len(), 1);
    assert_eq!(Store::open(&store).expect("open").rows(Series::Street), 7);
}

#[test]
fn malformed_rows_are_counted_or_abort_in_strict_mode() {
    let dir = TempDir::new("malformed");
    let rows = vec![
        row(ID1, "2019-03", "Burglary", ""),
        "too,few,fields".to_string(),
        row(ID2, "2019-03", "", ""),
        format!(
            "{ID3},2019-03,Metropolitan Police Service,Metropolitan Police Service,west,51.5,On or near X,E01002835,K 001A,Drugs,,"
        ),
    ];
    let f = write(
        &dir.path().join("2019-03-metropolitan-street.csv"),
        &street_csv(&rows),
    );
    let store = dir.path().join("store");
    let r = import(std::slice::from_ref(&f), &store).expect("lenient import");
    assert_eq!(r.malformed, 3, "{:?}", r.problems);
    assert_eq!(r.street.added, 1);
    assert_eq!(r.problems[0].line, 3, "{:?}", r.problems);
    assert!(
        r.problems[0].reason.contains("expected 12 fields"),
        "{:?}",
        r.problems
    );
    assert!(r.problems[1].reason.contains("Crime type is empty"));
    assert!(r.problems[2].reason.contains("Longitude"));

    let strict_store = dir.path().join("strict");
    let opts = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let e = import_paths(&[f], &strict_store, &opts, &mut |_| {}).expect_err("strict fails");
    assert!(matches!(e, InsightError::Malformed { line: 3, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("2019-03-metropolitan-street.csv line 3"),
        "{e}"
    );
    assert_eq!(
        Store::open(&strict_store)
            .expect("open")
            .rows(Series::Street),
        0
    );
}

#[test]
fn outcomes_and_stop_and_search_are_recognised_by_header() {
    let dir = TempDir::new("series");
    let outcomes = format!(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type\n{ID1},2019-04,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.49,On or near X,E01002835,K 001A,Local resolution\n{ID1},2019-04,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.49,On or near X,E01002835,K 001A,Local resolution\n"
    );
    let stop = "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,Outcome linked to object of search,Removal of more than just outer clothing\nPerson search,2019-04-02T10:00:00+00:00,False,,51.49,-0.19,Male,18-24,White - English,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,False,False\nPerson search,2019-04-02T10:00:00+00:00,False,,51.49,-0.19,Male,18-24,White - English,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,A no further action disposal,False,False\n";
    // Names that do not follow the police.uk pattern: series comes from the header alone.
    let a = write(&dir.path().join("mine.csv"), &outcomes);
    let b = write(
        &dir.path().join("2019-04-metropolitan-stop-and-search.csv"),
        stop,
    );
    let store = dir.path().join("store");
    let r = import(&[a.clone(), b.clone()], &store).expect("import");
    assert_eq!((r.outcomes.added, r.outcomes.duplicates), (1, 1));
    assert_eq!(
        r.stop_search.added, 2,
        "identical searches are separate events"
    );
    let r2 = import(&[a, b], &store).expect("again");
    assert_eq!((r2.outcomes.added, r2.stop_search.added), (0, 0));
    let s = Store::open(&store).expect("open");
    let ss = s
        .load(Series::StopSearch, &Filter::default())
        .expect("load");
    let summary = pathways_insight::analysis::stop_search_summary(&ss, s.dicts());
    assert_eq!(summary.total, 2);
    assert_eq!(summary.by_age[0].value, "18-24");
    assert_eq!(summary.by_object[0].value, "Controlled drugs");
    assert_eq!(summary.linked_share, Some(0.0));
}

#[test]
fn pre_2013_categories_are_kept_and_weighted() {
    let dir = TempDir::new("old");
    let rows = vec![
        row(ID1, "2012-01", "Violent crime", ""),
        row(ID2, "2012-01", "Public disorder and weapons", ""),
    ];
    let f = write(
        &dir.path().join("2012-01-metropolitan-street.csv"),
        &street_csv(&rows),
    );
    let store = dir.path().join("store");
    import(&[f], &store).expect("import");
    let s = Store::open(&store).expect("open");
    let harm = pathways_insight::harm::HarmTable::default_table();
    let frame = s.load(Series::Street, &Filter::default()).expect("load");
    let totals = pathways_insight::analysis::by_type(&frame, s.dicts(), &harm);
    assert_eq!(totals.len(), 2);
    assert!(
        totals.iter().all(|t| t.weight.is_some_and(|w| w > 0.0)),
        "{totals:?}"
    );
}

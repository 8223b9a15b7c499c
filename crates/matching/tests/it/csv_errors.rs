//! CSV matching refuses bad input clearly: file, line and column in every message, and an
//! output file is never half-written.

use std::path::Path;

use pathways_matching::cli::{PeopleCommand, run_people};
use pathways_matching::{FieldMap, MatchError, match_csv};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test csv");
    p
}

const GOOD: &str = "id,first,last,dob,postcode\n1,Robert,Okafor,2009-03-04,W10 5AB\n2,Amina,Hassan,12/11/2010,W11 1AA\n";
const MAP: &str = "id=id,first=first_name,last=surname,dob=dob,postcode=postcode";

#[test]
fn impossible_date_names_file_line_and_column() {
    let dir = crate::scratch("bad-date");
    let a = write(&dir, "a.csv", GOOD);
    let b = write(
        &dir,
        "b.csv",
        "id,first,last,dob,postcode\n1,Bob,Okafor,04/03/2009,W10 5AB\n2,Zara,Ali,31/02/2011,E1 6AN\n",
    );
    let map = FieldMap::parse(MAP).expect("map");
    let err = match_csv(&a, &b, &map, 0.5, &mut Vec::new()).expect_err("impossible date");
    let msg = err.to_string();
    assert!(matches!(err, MatchError::Cell { line: 3, .. }), "{err:?}");
    assert!(msg.contains("b.csv, line 3, column 'dob'"), "{msg}");
    assert!(msg.contains("impossible date"), "{msg}");
}

#[test]
fn ragged_row_names_the_line() {
    let dir = crate::scratch("ragged");
    let a = write(
        &dir,
        "a.csv",
        "id,first,last,dob,postcode\n1,Robert,Okafor,2009-03-04,W10 5AB\n2,Amina,Hassan\n",
    );
    let b = write(&dir, "b.csv", GOOD);
    let map = FieldMap::parse(MAP).expect("map");
    let err = match_csv(&a, &b, &map, 0.5, &mut Vec::new()).expect_err("ragged row");
    assert!(matches!(err, MatchError::Csv { line: 3, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("a.csv, line 3: this row has 3 cells but the header has 5"),
        "{err}"
    );
}

#[test]
fn missing_column_lists_the_header() {
    let dir = crate::scratch("missing-col");
    let a = write(&dir, "a.csv", GOOD);
    let b = write(
        &dir,
        "b.csv",
        "id,forename,last,dob,postcode\n1,Bob,Okafor,2009-03-04,W10 5AB\n",
    );
    let map = FieldMap::parse(MAP).expect("map");
    let err = match_csv(&a, &b, &map, 0.5, &mut Vec::new()).expect_err("missing column");
    let msg = err.to_string();
    assert!(msg.contains("b.csv: no column 'first'"), "{msg}");
    assert!(msg.contains("id, forename, last, dob, postcode"), "{msg}");
    // A per-file prefix fixes it.
    let map = FieldMap::parse(
        "id=id,A:first=first_name,B:forename=first_name,last=surname,dob=dob,postcode=postcode",
    )
    .expect("map");
    let mut out = Vec::new();
    let report = match_csv(&a, &b, &map, 0.5, &mut out).expect("prefixed map works");
    assert_eq!(report.pairs_written, 1);
    let text = String::from_utf8(out).expect("utf-8");
    let row = text.lines().nth(1).expect("one pair");
    assert!(row.starts_with("1,1,2,2,"), "{row}");
    assert!(row.contains(",nickname,"), "{row}");
}

#[test]
fn bad_birth_year_and_threshold_are_refused() {
    let dir = crate::scratch("bad-year");
    let a = write(&dir, "a.csv", "id,first,year\n1,Robert,20o9\n");
    let map = FieldMap::parse("first=first_name,year=approx_birth_year").expect("map");
    let err = match_csv(&a, &a, &map, 0.5, &mut Vec::new()).expect_err("bad year");
    assert!(
        err.to_string()
            .contains("line 2, column 'year': '20o9' is not a birth year"),
        "{err}"
    );
    let good = write(&dir, "g.csv", GOOD);
    let map = FieldMap::parse(MAP).expect("map");
    let err = match_csv(&good, &good, &map, 1.5, &mut Vec::new()).expect_err("bad threshold");
    assert!(matches!(err, MatchError::Threshold(_)), "{err:?}");
}

#[test]
fn missing_file_is_named() {
    let dir = crate::scratch("missing-file");
    let a = write(&dir, "a.csv", GOOD);
    let map = FieldMap::parse(MAP).expect("map");
    let err =
        match_csv(&a, &dir.join("nope.csv"), &map, 0.5, &mut Vec::new()).expect_err("missing file");
    assert!(err.to_string().contains("nope.csv"), "{err}");
}

#[test]
fn failed_run_leaves_no_output_file() {
    let dir = crate::scratch("atomic");
    let a = write(&dir, "a.csv", GOOD);
    let b = write(
        &dir,
        "b.csv",
        "id,first,last,dob,postcode\n1,Bob,Okafor,30/02/2009,W10 5AB\n",
    );
    let out = dir.join("pairs.csv");
    let cmd = PeopleCommand::Match {
        a,
        b,
        map: FieldMap::parse(MAP).expect("map"),
        threshold: 0.5,
        out: Some(out.clone()),
        model: None,
        save_model: None,
    };
    assert!(run_people(cmd).is_err());
    assert!(!out.exists(), "no half-written output");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "only the inputs remain: {leftovers:?}");
}

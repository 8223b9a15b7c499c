//! CSV matching refuses bad input clearly: file, line and column in every message, and an
//! output file is never half-written.

use std::path::Path;

use pathways_matching::cli::{CommonArgs, PeopleCommand, run_people};
use pathways_matching::normalize::DateFormat;
use pathways_matching::{
    FieldMap, MatchError, MatchOptions, dedupe_csv, match_csv, match_csv_with,
};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test csv");
    p
}

const GOOD: &str = "id,first,last,dob,postcode\n1,Robert,Okafor,2009-03-04,W10 5AB\n2,Amina,Hassan,12/11/2010,W11 1AA\n";
const MAP: &str = "id=id,first=first_name,last=surname,dob=dob,postcode=postcode";

#[test]
fn impossible_dates_are_counted_and_compared_as_written() {
    let dir = crate::scratch("bad-date");
    // Ten people; one in ten dates in B is no calendar date (day and month typed the wrong
    // way round, as 19751402), and one is not a date at all.
    let mut a = String::from("id,first,last,dob,postcode\n");
    let mut b = a.clone();
    let names = [
        "Robert Okafor",
        "Amina Hassan",
        "Kasia Nowak",
        "Tayo Okoro",
        "Zara Ali",
        "Liam Byrne",
        "Mei Chen",
        "Omar Farah",
        "Ruth Adeyemi",
        "Jan Kowalski",
    ];
    for (i, n) in names.iter().enumerate() {
        let (first, last) = n.split_once(' ').expect("two names");
        a.push_str(&format!(
            "{i},{first},{last},1975-02-{:02},W10 {i}AB\n",
            i + 14
        ));
        let dob = match i {
            0 => "19751402".to_string(),
            1 => "not known".to_string(),
            _ => format!("{:02}/02/1975", i + 14),
        };
        b.push_str(&format!("{i},{first},{last},{dob},W10 {i}AB\n"));
    }
    let (a, b) = (write(&dir, "a.csv", &a), write(&dir, "b.csv", &b));
    let map = FieldMap::parse(MAP).expect("map");
    let mut out = Vec::new();
    let report = match_csv(&a, &b, &map, 0.5, &mut out).expect("kept, not refused");
    assert_eq!(report.b.records, 10);
    assert_eq!(report.b.dob_not_dates, 1, "{:?}", report.b);
    assert_eq!(report.a.dob_not_dates, 0);
    let text = String::from_utf8(out).expect("utf8");
    let row = text
        .lines()
        .find(|l| l.starts_with("0,0,"))
        .expect("the person with 19751402 is still matched");
    assert!(row.contains("day and month swapped"), "{row}");
    // The line numbers count the header: record 0 is on line 2.
    assert!(row.starts_with("0,0,2,2,"), "{row}");
    assert!(text.lines().any(|l| l.starts_with("1,1,")), "{text}");
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
        "id,first,last,dob,postcode\n1,Bob,Okafor,30/02/2009,W10 5AB\n2,Amina\n",
    );
    let out = dir.join("pairs.csv");
    let cmd = PeopleCommand::Match {
        a,
        b,
        common: CommonArgs {
            map: FieldMap::parse(MAP).expect("map"),
            threshold: 0.5,
            dob_format: None,
            model: None,
            save_model: None,
        },
        out: Some(out.clone()),
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

#[test]
fn a_file_without_header_is_refused_with_its_first_line() {
    let dir = crate::scratch("no-header");
    let a = write(&dir, "a.csv", GOOD);
    let b = write(&dir, "b.csv", "1,Bob,Okafor,2009-03-04,W10 5AB\n");
    let map = FieldMap::parse(MAP).expect("map");
    let err = match_csv(&a, &b, &map, 0.5, &mut Vec::new()).expect_err("no header");
    let msg = err.to_string();
    assert!(matches!(err, MatchError::NoHeader { .. }), "{err:?}");
    assert!(msg.contains("b.csv, line 1"), "{msg}");
    assert!(msg.contains("1,Bob,Okafor"), "{msg}");
    assert!(msg.contains("Add a header line"), "{msg}");
    let empty = write(&dir, "empty.csv", "");
    let err = match_csv(&a, &empty, &map, 0.5, &mut Vec::new()).expect_err("empty");
    assert!(matches!(err, MatchError::NoHeader { .. }), "{err:?}");
}

#[test]
fn windows_1252_files_are_converted_and_bad_bytes_named() {
    let dir = crate::scratch("cp1252");
    let a = write(
        &dir,
        "a.csv",
        "id,first,last,dob,postcode\n1,Zoë,Brontë,2009-03-04,W10 5AB\n",
    );
    let b = dir.join("b.csv");
    let mut bytes = b"id,first,last,dob,postcode\n".to_vec();
    bytes.extend_from_slice(b"1,Zo\xeb,Bront\xeb,2009-03-04,W10 5AB\n");
    std::fs::write(&b, &bytes).expect("write");
    let map = FieldMap::parse(MAP).expect("map");
    let mut out = Vec::new();
    let report = match_csv(&a, &b, &map, 0.5, &mut out).expect("converted");
    assert_eq!(report.b.windows_1252_lines, 1);
    assert_eq!(report.a.windows_1252_lines, 0);
    let text = String::from_utf8(out).expect("utf8");
    let row = text.lines().nth(1).expect("a pair");
    assert!(row.starts_with("1,1,"), "{text}");
    assert!(row.contains("exact"), "{row}");
    // 0x81 is undefined in Windows-1252 too: the error names the line.
    bytes.extend_from_slice(b"2,Ab\x81,Ali,2009-03-04,W10 5AB\n");
    std::fs::write(&b, &bytes).expect("write");
    let err = match_csv(&a, &b, &map, 0.5, &mut Vec::new()).expect_err("undefined byte");
    let msg = err.to_string();
    assert!(msg.contains("b.csv, line 3"), "{msg}");
    assert!(msg.contains("0x81"), "{msg}");
}

#[test]
fn address_parts_in_several_columns_and_a_given_date_layout() {
    let dir = crate::scratch("parts");
    let a = write(
        &dir,
        "a.csv",
        "id,first,last,dob,no,street,town\n1,Robert,Okafor,04/03/2009,12,Acre Road,Leeds\n2,Robert,Okafor,03/04/2009,14,Mill Lane,York\n",
    );
    let b = write(
        &dir,
        "b.csv",
        "id,first,last,dob,no,street,town\n1,Robert,Okafor,04/03/2009,12,Acre Rd,Leeds\n",
    );
    let map = FieldMap::parse(
        "id=id,first=first_name,last=surname,dob=dob,no=address_line,street=address_line,town=town",
    )
    .expect("map");
    let opts = MatchOptions {
        threshold: 0.0,
        dob_format: Some(DateFormat::parse("MM/DD/YYYY").expect("layout")),
        ..MatchOptions::default()
    };
    let mut out = Vec::new();
    match_csv_with(&a, &b, &map, &opts, &mut out).expect("match");
    let text = String::from_utf8(out).expect("utf8");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let first = rows
        .iter()
        .find(|r| r[0] == "1")
        .expect("pair with record 1");
    // "12" + "Acre Road" joined and compared with "12" + "Acre Rd".
    assert_eq!(first[col("address_line")], "exact");
    assert_eq!(first[col("town")], "exact");
    assert_eq!(first[col("dob")], "exact");
    // Read as US dates, 03/04/2009 is 4 March: the day and month of record 1 swapped.
    let second = rows
        .iter()
        .find(|r| r[0] == "2")
        .expect("pair with record 2");
    assert_eq!(second[col("dob")], "day and month swapped");
}

#[test]
fn dedupe_writes_one_cluster_per_person_and_refuses_chains() {
    let dir = crate::scratch("dedupe");
    let file = write(
        &dir,
        "people.csv",
        "id,first,last,dob,postcode\n\
         p1,Robert,Okafor,2009-03-04,W10 5AB\n\
         p2,Bob,Okafor,2009-03-04,W10 5AB\n\
         p3,Robert,Okafor,2009-04-03,W10 5AB\n\
         p4,Amina,Hassan,2010-11-12,E1 6AN\n\
         p5,Kasia,Nowak,2008-01-02,N1 9GU\n",
    );
    let map = FieldMap::parse(MAP).expect("map");
    let mut clusters = Vec::new();
    let mut pairs = Vec::new();
    let report = dedupe_csv(
        &file,
        &map,
        &MatchOptions::default(),
        &mut clusters,
        Some(&mut pairs),
    )
    .expect("dedupe");
    let text = String::from_utf8(clusters).expect("utf8");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 5, "every record once: {text}");
    let cluster = |id: &str| rows.iter().find(|r| r[1] == id).expect("record")[0];
    assert_eq!(cluster("p1"), "p1");
    assert_eq!(cluster("p2"), "p1");
    assert_eq!(cluster("p3"), "p1");
    assert_eq!(cluster("p4"), "p4");
    assert_eq!(cluster("p5"), "p5");
    assert_eq!(report.clusters, 1);
    let pairs = String::from_utf8(pairs).expect("utf8");
    assert!(
        pairs.starts_with("x_id,y_id,x_line,y_line,probability"),
        "{pairs}"
    );
}

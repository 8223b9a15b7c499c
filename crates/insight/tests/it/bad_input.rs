//! Bad input: zip bombs, other formats, truncated archives, wrong headers, mixed forces.
//! Each fails with an error naming the file, and leaves the store exactly as it was.

use crate::common::*;
use pathways_insight::InsightError;
use pathways_insight::import::{ImportOptions, import_paths};
use pathways_insight::model::Series;
use pathways_insight::store::Store;

fn good_file(dir: &std::path::Path) -> std::path::PathBuf {
    write(
        &dir.join("2019-03-metropolitan-street.csv"),
        &format!(
            "{STREET_HEADER}\n,2019-03,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.49,On or near X,E01002835,K 001A,Anti-social behaviour,,\n"
        ),
    )
}

/// Imports `good` then `bad` in one run and checks the error and that nothing was stored.
fn assert_rejected(bad: std::path::PathBuf, check: impl Fn(&InsightError)) {
    let dir = bad.parent().expect("parent").to_path_buf();
    let good = good_file(&dir.join("good"));
    let store = dir.join("store");
    let e = import(&[good, bad], &store).expect_err("must fail");
    check(&e);
    let s = Store::open(&store).expect("open");
    assert_eq!(s.rows(Series::Street), 0, "nothing half-imported");
    let leftovers: Vec<_> = std::fs::read_dir(&store)
        .expect("store dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seg-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn zip_bomb_is_refused() {
    let dir = TempDir::new("bomb");
    let mut big = STREET_HEADER.as_bytes().to_vec();
    big.push(b'\n');
    big.resize(64 << 20, b'0');
    let bomb = zip_file(
        &dir.path().join("bomb.zip"),
        &[("2019-03-metropolitan-street.csv", &big)],
    );
    assert_rejected(bomb, |e| {
        assert!(matches!(e, InsightError::ZipBomb { .. }), "{e}");
        assert!(e.to_string().contains("bomb.zip"), "{e}");
    });
}

#[test]
fn zip_bomb_by_absolute_size_is_refused() {
    let dir = TempDir::new("bomb2");
    let body = format!("{STREET_HEADER}\n").repeat(2000);
    let z = zip_file(
        &dir.path().join("big.zip"),
        &[("2019-03-metropolitan-street.csv", body.as_bytes())],
    );
    let store = dir.path().join("store");
    let opts = ImportOptions {
        max_entry_bytes: 1000,
        ..ImportOptions::default()
    };
    let e = import_paths(&[z], &store, &opts, &mut |_| {}).expect_err("too big");
    assert!(matches!(e, InsightError::ZipBomb { .. }), "{e}");
}

#[test]
fn a_file_of_another_format_is_refused() {
    let dir = TempDir::new("png");
    let png = dir.path().join("picture.csv");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").expect("write");
    assert_rejected(png, |e| {
        assert!(matches!(e, InsightError::NotPoliceCsv { .. }), "{e}");
        assert!(e.to_string().contains("picture.csv"), "{e}");
    });
}

#[test]
fn a_truncated_archive_is_refused() {
    let dir = TempDir::new("trunc");
    let body = format!("{STREET_HEADER}\n");
    let z = zip_file(
        &dir.path().join("whole.zip"),
        &[("2019-03-metropolitan-street.csv", body.as_bytes())],
    );
    let bytes = std::fs::read(&z).expect("read");
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    assert_rejected(cut, |e| {
        assert!(matches!(e, InsightError::BadArchive { .. }), "{e}");
        assert!(e.to_string().contains("cut.zip"), "{e}");
    });
}

#[test]
fn a_wrong_header_is_refused() {
    let dir = TempDir::new("header");
    let f = write(&dir.path().join("people.csv"), "name,age\nAda,36\n");
    assert_rejected(f, |e| {
        assert!(matches!(e, InsightError::WrongHeader { .. }), "{e}");
        assert!(e.to_string().contains("people.csv line 1"), "{e}");
    });
}

#[test]
fn a_file_mixing_forces_is_refused_but_a_folder_of_forces_is_fine() {
    let dir = TempDir::new("mixed");
    let text = format!(
        "{STREET_HEADER}\n,2019-03,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.49,On or near X,E01002835,K 001A,Anti-social behaviour,,\n,2019-03,Kent Police,Kent Police,0.5,51.2,On or near Y,E01024000,Maidstone 001A,Anti-social behaviour,,\n"
    );
    let f = write(
        &dir.path().join("2019-03/2019-03-metropolitan-street.csv"),
        &text,
    );
    assert_rejected(f, |e| {
        assert!(
            matches!(e, InsightError::FileMismatch { line: 3, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("Kent Police"), "{e}");
    });
    // A month folder holding one file per force is how police.uk ships archives.
    let ok = TempDir::new("folder");
    write(
        &ok.path().join("2019-03/2019-03-kent-street.csv"),
        &format!(
            "{STREET_HEADER}\n,2019-03,Kent Police,Kent Police,0.5,51.2,On or near Y,E01024000,Maidstone 001A,Anti-social behaviour,,\n"
        ),
    );
    good_file(&ok.path().join("2019-03"));
    let r = import(&[ok.path().join("2019-03")], &ok.path().join("store")).expect("folder imports");
    assert_eq!(r.street.added, 2);
}

#[test]
fn a_row_from_another_month_is_refused() {
    let dir = TempDir::new("month");
    let text = format!(
        "{STREET_HEADER}\n,2019-04,Metropolitan Police Service,Metropolitan Police Service,-0.19,51.49,On or near X,E01002835,K 001A,Anti-social behaviour,,\n"
    );
    let f = write(&dir.path().join("2019-03-metropolitan-street.csv"), &text);
    assert_rejected(f, |e| {
        assert!(
            matches!(e, InsightError::FileMismatch { line: 2, .. }),
            "{e}"
        )
    });
}

//! Generated data end to end: generate, import, stats and profile, each checked against an
//! independent computation over the same CSV files with the csv crate.

use crate::common::*;
use pathways_insight::generate::{GenOptions, generate};
use pathways_insight::geo::import_geo;
use pathways_insight::harm::HarmTable;
use pathways_insight::model::{Month, Series};
use pathways_insight::profile;
use pathways_insight::stats::{Cell, Measure, StatsBy, StatsQuery, stats};
use pathways_insight::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

struct Fixture {
    _dir: TempDir,
    csv: std::path::PathBuf,
    store: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = TempDir::new("e2e");
    let csv = dir.path().join("csv");
    let store = dir.path().join("store");
    let opts = GenOptions {
        months: 14,
        street_rows_per_month: 6000,
        synthetic_areas: 3,
        ..GenOptions::default()
    };
    let r = generate(&csv, &opts).expect("generate");
    assert!(r.street_rows > 70_000);
    let g = csv.join("geo");
    import_geo(
        &store,
        &g.join("lsoa-lookup.csv"),
        Some(&g.join("lsoa-population.csv")),
        Some(&g.join("lsoa-boundaries.geojson")),
    )
    .expect("geo import");
    import(std::slice::from_ref(&csv), &store).expect("import");
    Fixture {
        _dir: dir,
        csv,
        store,
    }
}

/// Street rows read independently: (month, category, lsoa, no_location).
fn independent_rows(csv: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(csv)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && e.file_name() != "geo")
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .expect("month dir")
                .filter_map(|e| e.ok())
                .map(|e| e.path())
        })
        .filter(|p| p.to_string_lossy().ends_with("-street.csv"))
        .collect();
    files.sort();
    for f in files {
        let mut rdr = csv::Reader::from_path(&f).expect("open");
        for rec in rdr.records() {
            let rec = rec.expect("record");
            out.push((rec[1].to_string(), rec[9].to_string(), rec[7].to_string()));
        }
    }
    out
}

fn as_map(t: &pathways_insight::stats::StatsTable, value_col: usize) -> BTreeMap<String, u64> {
    t.rows
        .iter()
        .map(|r| match (&r[0], &r[value_col]) {
            (Cell::Text(k), Cell::Int(v)) => (k.clone(), *v),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn stats_and_profile_equal_an_independent_computation() {
    let fx = fixture();
    let rows = independent_rows(&fx.csv);
    let s = Store::open(&fx.store).expect("open");
    assert_eq!(s.rows(Series::Street), rows.len() as u64);
    let geo = pathways_insight::geo::Geo::require(&fx.store).expect("geo");
    let harm = HarmTable::default_table();
    let q = |by, area: Option<&str>, from: Option<&str>| StatsQuery {
        by,
        area: area.map(String::from),
        from: from.map(|m| Month::parse(m).expect("month")),
        to: None,
        measure: Measure::Count,
    };

    // By month, whole store.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        *want.entry(r.0.clone()).or_default() += 1;
    }
    let got = as_map(
        &stats(&s, Some(&geo), &harm, &q(StatsBy::Month, None, None)).expect("stats"),
        1,
    );
    assert_eq!(got, want);

    // By LSOA for one borough from a month on.
    let lookup: HashMap<String, String> = {
        let mut rdr = csv::Reader::from_path(fx.csv.join("geo/lsoa-lookup.csv")).expect("lookup");
        rdr.records()
            .map(|r| r.expect("rec"))
            .map(|r| (r[6].to_string(), r[2].to_string()))
            .collect()
    };
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        r.0.as_str() >= "2019-06" && lookup.get(&r.2).is_some_and(|la| la == "E09900002")
    }) {
        *want.entry(r.2.clone()).or_default() += 1;
    }
    let got = as_map(
        &stats(
            &s,
            Some(&geo),
            &harm,
            &q(StatsBy::Lsoa, Some("E09900002"), Some("2019-06")),
        )
        .expect("stats"),
        2,
    );
    assert_eq!(got, want);

    // By local authority, with rows without a location counted apart.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        let k = if r.2.is_empty() {
            "(no location)".to_string()
        } else {
            lookup[&r.2].clone()
        };
        *want.entry(k).or_default() += 1;
    }
    let got = as_map(
        &stats(&s, Some(&geo), &harm, &q(StatsBy::La, None, None)).expect("stats"),
        2,
    );
    assert_eq!(got, want);

    // Harm by type equals count × shipped weight.
    let mut hq = q(StatsBy::Type, None, None);
    hq.measure = Measure::Harm;
    let t = stats(&s, Some(&geo), &harm, &hq).expect("harm");
    let burglary = rows.iter().filter(|r| r.1 == "Burglary").count() as f64;
    let got = t
        .rows
        .iter()
        .find(|r| r[0] == Cell::Text("Burglary".into()))
        .map(|r| r[1].clone());
    match got {
        Some(Cell::Num(v)) => {
            assert!((v - burglary * harm.weight("Burglary").expect("w")).abs() < 1e-6)
        }
        other => panic!("{other:?}"),
    }

    // The profile of the borough over its last 12 months.
    let p = profile::build(
        &fx.store,
        "Synthetic Borough 2",
        Month::parse("2019-03").ok(),
        Month::parse("2020-02").ok(),
    )
    .expect("profile");
    let in_area: Vec<&(String, String, String)> = rows
        .iter()
        .filter(|r| r.0.as_str() >= "2019-03" && r.0.as_str() <= "2020-02")
        .filter(|r| lookup.get(&r.2).is_some_and(|la| la == "E09900002"))
        .collect();
    let asb = in_area
        .iter()
        .filter(|r| r.1 == "Anti-social behaviour")
        .count() as u64;
    assert_eq!(p.headline.asb, asb);
    assert_eq!(p.headline.crimes, in_area.len() as u64 - asb);
    assert_eq!(p.trend.len(), 12);
    assert_eq!(p.lsoa_count, 144);
    assert_eq!(
        p.lsoas.iter().map(|l| l.crimes + l.asb).sum::<u64>(),
        in_area.len() as u64
    );
    assert!(p.hotspots.cells_analysed > 0);
    assert!(
        p.stop_search.total > 0,
        "stop and search located by point-in-polygon at import"
    );
    for svg in [
        p.trend_svg(),
        p.harm_svg(),
        p.types_svg(),
        p.choropleth_svg(),
        p.hotspots_svg(),
    ] {
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title") && svg.contains("<desc"));
        assert!(!svg.contains("<script") && !svg.contains("href="));
    }
    assert!(p.choropleth_svg().matches("<path").count() >= 144);
    for t in profile::TABLES {
        let csv = p.to_csv(t).expect("table");
        let mut rdr = csv::Reader::from_reader(csv.as_bytes());
        assert!(rdr.headers().expect("header").len() >= 2, "{t}");
    }
    let trend_csv = p.to_csv("trend").expect("trend");
    assert_eq!(trend_csv.lines().count(), 13);
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(json["area_code"], "E09900002");

    // Importing everything again changes nothing.
    let again = import(std::slice::from_ref(&fx.csv), &fx.store).expect("again");
    assert_eq!(
        again.street.added + again.outcomes.added + again.stop_search.added,
        0
    );
    assert_eq!(
        Store::open(&fx.store).expect("open").rows(Series::Street),
        rows.len() as u64
    );
}

#[test]
fn generation_is_deterministic() {
    let a = TempDir::new("gen-a");
    let b = TempDir::new("gen-b");
    let opts = GenOptions {
        months: 1,
        street_rows_per_month: 500,
        synthetic_areas: 1,
        ..GenOptions::default()
    };
    generate(a.path(), &opts).expect("a");
    generate(b.path(), &opts).expect("b");
    let name = "2019-01/2019-01-synthetic-north-street.csv";
    let fa = std::fs::read(a.path().join(name)).expect("a file");
    assert_eq!(fa, std::fs::read(b.path().join(name)).expect("b file"));
    let text = String::from_utf8(fa).expect("utf8");
    assert!(text.contains("\r\n"));
    assert!(text.contains(",No Location,"));
    assert!(
        text.lines().any(|l| l.starts_with(",2019-01,")),
        "ASB rows have no Crime ID"
    );
}

#[test]
fn parallel_and_sequential_imports_store_the_same_data() {
    use pathways_insight::import::{ImportOptions, import_paths};
    let dir = TempDir::new("par");
    let csv = dir.path().join("csv");
    let opts = GenOptions {
        months: 5,
        street_rows_per_month: 3000,
        synthetic_areas: 2,
        ..GenOptions::default()
    };
    generate(&csv, &opts).expect("generate");
    let mut tables = Vec::new();
    for threads in [1, 3] {
        let store = dir.path().join(format!("store-{threads}"));
        let o = ImportOptions {
            threads,
            chunk_rows: 7000,
            ..ImportOptions::default()
        };
        let r = import_paths(std::slice::from_ref(&csv), &store, &o, &mut |_| {}).expect("import");
        assert_eq!(r.malformed, 0);
        let s = Store::open(&store).expect("open");
        let harm = HarmTable::default_table();
        let mut out = Vec::new();
        for by in [StatsBy::Type, StatsBy::Month, StatsBy::Lsoa] {
            let q = StatsQuery {
                by,
                area: None,
                from: None,
                to: None,
                measure: Measure::Harm,
            };
            out.push(stats(&s, None, &harm, &q).expect("stats").to_csv());
        }
        let ss = s
            .load(
                Series::StopSearch,
                &pathways_insight::store::Filter::default(),
            )
            .expect("load");
        out.push(format!(
            "{:?}",
            pathways_insight::analysis::stop_search_summary(&ss, s.dicts())
        ));
        out.push(format!("{:?}", s.dicts().categories.values()));
        out.push(format!(
            "{} {} {}",
            s.rows(Series::Street),
            s.rows(Series::Outcomes),
            s.rows(Series::StopSearch)
        ));
        tables.push(out);
        // Re-import in parallel: nothing new.
        let again =
            import_paths(std::slice::from_ref(&csv), &store, &o, &mut |_| {}).expect("again");
        assert_eq!(
            again.street.added + again.outcomes.added + again.stop_search.added,
            0
        );
    }
    assert_eq!(tables[0], tables[1]);
}

#[test]
fn an_error_in_a_parser_thread_leaves_the_store_untouched() {
    let dir = TempDir::new("par-err");
    let csv = dir.path().join("csv");
    let opts = GenOptions {
        months: 3,
        street_rows_per_month: 500,
        synthetic_areas: 1,
        ..GenOptions::default()
    };
    generate(&csv, &opts).expect("generate");
    let store = dir.path().join("store");
    import(&[csv.join("2019-01")], &store).expect("first month");
    let before = std::fs::read(store.join("manifest.json")).expect("manifest");
    // A row of another force inside the second month's file.
    let f = csv.join("2019-02/2019-02-synthetic-north-street.csv");
    let mut text = std::fs::read_to_string(&f).expect("read");
    text.push_str(",2019-02,Kent Police,Kent Police,,,No Location,,,Anti-social behaviour,,\r\n");
    std::fs::write(&f, text).expect("write");
    let e = import(std::slice::from_ref(&csv), &store).expect_err("mismatch");
    assert!(
        e.to_string().contains("2019-02-synthetic-north-street.csv"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(store.join("manifest.json")).expect("manifest"),
        before
    );
    let segs = std::fs::read_dir(&store)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bin"))
        })
        .count();
    assert_eq!(
        segs,
        Store::open(&store).expect("open").manifest.segments.len()
    );
}

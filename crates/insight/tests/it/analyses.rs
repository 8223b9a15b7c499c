//! Analyses against references: Gi* against PySAL esda's numbers (fixture computed by
//! bench/insight/gi_reference.py) and BNG against the ONS centroids of London's LSOAs.

use crate::common::*;
use pathways_insight::analysis::gi_star;
use pathways_insight::bng::wgs84_to_bng;

#[test]
fn gi_star_matches_pysal_esda_within_1e_6() {
    let text = include_str!("../fixtures/gi_star_esda.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("fixture is JSON");
    let rows = v["rows"].as_i64().expect("rows");
    let cols = v["cols"].as_i64().expect("cols");
    let values: Vec<f64> = v["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|x| x.as_f64().expect("num"))
        .collect();
    let want: Vec<f64> = v["z"]
        .as_array()
        .expect("z")
        .iter()
        .map(|x| x.as_f64().expect("num"))
        .collect();
    let cells: Vec<(i64, i64)> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c, r)))
        .collect();
    let got = gi_star(&cells, &values);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-6, "cell {i}: ours {g}, esda {w}");
    }
}

#[test]
fn bng_matches_ons_centroids_within_5_metres() {
    let Some(data) = shared_data() else {
        eprintln!("skipping: ../shared/data not present");
        return;
    };
    let bytes = std::fs::read(data.join("geo/london-lsoa-2011.geojson")).expect("geojson");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let mut worst: f64 = 0.0;
    let mut n = 0;
    for f in v["features"].as_array().expect("features") {
        let p = &f["properties"];
        let (Some(lon), Some(lat), Some(e), Some(nn)) = (
            p["LONG"].as_f64(),
            p["LAT"].as_f64(),
            p["BNG_E"].as_f64(),
            p["BNG_N"].as_f64(),
        ) else {
            continue;
        };
        let (x, y) = wgs84_to_bng(lon, lat);
        // Centroid degrees are published to 5 decimals (≈1 m); the tolerance is 5 m.
        let d = ((x - e).powi(2) + (y - nn).powi(2)).sqrt();
        worst = worst.max(d);
        n += 1;
    }
    assert!(n > 4000, "only {n} centroids");
    eprintln!("BNG: {n} centroids, worst distance {worst:.2} m");
    assert!(worst < 5.0, "worst distance {worst:.2} m");
}

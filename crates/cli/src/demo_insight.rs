//! Crime data for the demo borough: police.uk-format files for three years generated from the
//! seed over a synthetic geography, then imported into the demo's crime store exactly as real
//! downloads would be.

use std::path::Path;

use anyhow::Context;
use pathways_insight::generate::{GenOptions, generate};
use pathways_insight::geo::import_geo;
use pathways_insight::import::{ImportOptions, import_paths};
use pathways_insight::model::Month;

/// Generates and imports the demo's crime data; returns the code of the first local authority.
pub fn seed_crime(data_dir: &Path, seed: u64) -> anyhow::Result<String> {
    let source = data_dir.join("crime-source");
    let store = data_dir.join("crime");
    let opts = GenOptions {
        seed,
        start: Month::from_ym(2023, 10).context("valid month")?,
        months: 36,
        street_rows_per_month: 4_000,
        outcomes: true,
        stop_search: true,
        geo_dir: None,
        synthetic_areas: 3,
    };
    generate(&source, &opts)?;
    let geo = source.join("geo");
    import_geo(
        &store,
        &geo.join("lsoa-lookup.csv"),
        Some(&geo.join("lsoa-population.csv")),
        Some(&geo.join("lsoa-boundaries.geojson")),
    )?;
    let mut months: Vec<_> = std::fs::read_dir(&source)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| Month::parse(n).is_ok())
        })
        .collect();
    months.sort();
    import_paths(&months, &store, &ImportOptions::default(), &mut |_| {})?;
    std::fs::remove_dir_all(&source).ok();
    Ok("E09900001".to_string())
}

//! Command-line definitions (`pathways crime ...`, `pathways geo ...`) and their runners.
//! The binary embeds these enums as subcommands and calls `run_crime` / `run_geo`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::InsightError;
use crate::generate::{GenOptions, generate};
use crate::geo::{Geo, import_geo};
use crate::harm::HarmTable;
use crate::import::{ImportOptions, ImportProgress, ImportReport, import_paths};
use crate::model::Month;
use crate::profile::{ProfileOptions, TABLES, build_with};
use crate::stats::{Measure, StatsBy, StatsQuery, stats};
use crate::store::Store;

/// Output format of `crime stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `pathways crime ...`: police.uk crime data.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CrimeCommand {
    /// Import police.uk archives (.zip), month folders (YYYY-MM/) or CSV files of street crime,
    /// outcomes and stop and search. The series is recognised from each file's header.
    /// Re-importing overlapping archives never stores a crime twice. Nothing is visible until
    /// the whole import has succeeded.
    Import {
        /// Zip archives, folders or CSV files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Abort on the first malformed row (default: skip it, count it and report it).
        #[arg(long)]
        strict: bool,
        /// Largest uncompressed size accepted for one archive entry, in MiB.
        #[arg(long, default_value_t = 8192, value_name = "MIB")]
        max_uncompressed_mb: u64,
        /// Largest compression ratio accepted for one archive entry (zip-bomb guard).
        #[arg(long, default_value_t = 200.0, value_name = "RATIO")]
        max_ratio: f64,
        /// Rows held in memory per series before a sorted segment is written.
        #[arg(long, default_value_t = 4_000_000, value_name = "ROWS")]
        chunk_rows: usize,
        /// Parser threads for police.uk-named CSV files (0: one per core, at most 4).
        #[arg(long, default_value_t = 0, value_name = "N")]
        threads: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Print the import report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print an aggregate of street-level crime for scripts and checks: counts (or harm) by
    /// crime type, month, LSOA or local authority, optionally for one area and period.
    Stats {
        /// Grouping.
        #[arg(long, value_enum)]
        by: StatsBy,
        /// Local authority code (E09000020) or name; needs `pathways geo import`.
        #[arg(long, value_name = "CODE")]
        area: Option<String>,
        /// First month, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        from: Option<Month>,
        /// Last month, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        to: Option<Month>,
        /// Count rows or sum harm (days of custody; ASB weighs 0).
        #[arg(long, value_enum, default_value = "count")]
        measure: Measure,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Harm weights CSV (category,weight) replacing the shipped table.
        #[arg(long, value_name = "FILE")]
        harm_table: Option<PathBuf>,
    },
    /// Write a problem profile for an area and period into a folder: profile.json, one CSV per
    /// table and SVG charts and maps (trend, harm, types, LSOA choropleth, hotspots).
    Profile {
        /// Local authority code (E09000020) or name.
        #[arg(long, value_name = "CODE")]
        area: String,
        /// First month, YYYY-MM (default: 35 months before --to).
        #[arg(long, value_name = "YYYY-MM")]
        from: Option<Month>,
        /// Last month, YYYY-MM (default: the latest month imported).
        #[arg(long, value_name = "YYYY-MM")]
        to: Option<Month>,
        /// Output folder (created).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Hotspot grid cell size in metres (cells under ~150 m mostly map snap points).
        #[arg(long, default_value_t = 250, value_name = "METRES")]
        cell_size: u32,
        /// False discovery rate for hotspot cells (Benjamini–Hochberg).
        #[arg(long, default_value_t = 0.05)]
        fdr: f64,
        /// Harm weights CSV (category,weight) replacing the shipped table.
        #[arg(long, value_name = "FILE")]
        harm_table: Option<PathBuf>,
    },
    /// Generate deterministic synthetic police.uk files (street, outcomes, stop and search) in
    /// month folders, at any size. Without --geo-dir a synthetic geography is written to
    /// DIR/geo/ (lookup, population, boundaries) for `pathways geo import`.
    Generate {
        /// Output folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Random seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First month, YYYY-MM.
        #[arg(long, default_value = "2019-01", value_name = "YYYY-MM")]
        start: Month,
        /// Number of months.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Street rows per month over all forces (England and Wales ≈ 540000).
        #[arg(long, default_value_t = 20_000)]
        rows_per_month: u64,
        /// Folder holding the ONS lsoa-lookup-2011.csv (and london-lsoa-2011.geojson) for real
        /// LSOA codes and London coordinates.
        #[arg(long, value_name = "DIR")]
        geo_dir: Option<PathBuf>,
        /// Synthetic local authorities when no --geo-dir.
        #[arg(long, default_value_t = 6)]
        areas: usize,
        /// Skip outcomes files.
        #[arg(long)]
        no_outcomes: bool,
        /// Skip stop-and-search files.
        #[arg(long)]
        no_stop_search: bool,
    },
    /// Re-read every segment of the crime store and check its checksums.
    Verify,
}

/// `pathways geo ...`: ONS geography.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum GeoCommand {
    /// Load the ONS LSOA → MSOA → local authority lookup, and optionally LSOA population
    /// (census CSV) and LSOA boundaries (GeoJSON, WGS84) so areas can be chosen by local
    /// authority code or name, rates computed and maps drawn. Replaces earlier geography.
    Import {
        /// LSOA lookup CSV (columns LSOA Code, LSOA Name, MSOA Code, MSOA Name, Local authority
        /// code, Local authority name; Region name and Police_force optional).
        #[arg(long, value_name = "FILE")]
        lookup: PathBuf,
        /// LSOA population CSV (LSOA Code and Persons columns; "1,563" style numbers accepted).
        #[arg(long, value_name = "FILE")]
        population: Option<PathBuf>,
        /// LSOA boundaries GeoJSON (LSOA11CD property, Polygon or MultiPolygon).
        #[arg(long, value_name = "FILE")]
        boundaries: Option<PathBuf>,
    },
}

fn out_err(e: std::io::Error) -> InsightError {
    InsightError::io("<output>", e)
}

/// A one-line progress display on stderr (redrawn in place on a terminal).
struct ProgressLine {
    tty: bool,
    last_print: Option<std::time::Instant>,
}

impl ProgressLine {
    fn show(&mut self, p: &ImportProgress) {
        let mut err = std::io::stderr();
        let width = 30usize;
        // No total is known while streaming archives: the bar cycles to show activity.
        let pos = ((p.rows / 100_000) as usize) % width;
        let bar: String = (0..width)
            .map(|i| if i <= pos { '#' } else { '-' })
            .collect();
        let name = p.file.rsplit(['/', '!']).next().unwrap_or(&p.file);
        if self.tty {
            let _ = write!(
                err,
                "\r[{bar}] {:>12} rows  {:>10.0} rows/s  {:<40.40}",
                p.rows, p.rows_per_second, name
            );
        } else if self.last_print.is_none_or(|t| t.elapsed().as_secs() >= 5) {
            // Not a terminal (logs, CI): one line every five seconds.
            let _ = writeln!(
                err,
                "{} rows, {:.0} rows/s: {}",
                p.rows, p.rows_per_second, name
            );
            self.last_print = Some(std::time::Instant::now());
        }
    }
}

fn print_report(out: &mut dyn Write, r: &ImportReport) -> std::io::Result<()> {
    writeln!(out, "Imported {} files in {:.1} s.", r.files, r.seconds)?;
    for (name, c) in [
        ("street", &r.street),
        ("outcomes", &r.outcomes),
        ("stop and search", &r.stop_search),
    ] {
        if c.read > 0 {
            writeln!(
                out,
                "  {name}: {} rows read, {} added, {} already stored, {} without location, {} without Crime ID",
                c.read, c.added, c.duplicates, c.no_location, c.without_id
            )?;
        }
    }
    if r.malformed > 0 {
        writeln!(out, "  {} malformed rows skipped:", r.malformed)?;
        for p in &r.problems {
            writeln!(out, "    {} line {}: {}", p.file, p.line, p.reason)?;
        }
        if (r.problems.len() as u64) < r.malformed {
            writeln!(
                out,
                "    ... and {} more",
                r.malformed - r.problems.len() as u64
            )?;
        }
    }
    for s in &r.skipped_files {
        writeln!(out, "  skipped (not a police.uk data file): {s}")?;
    }
    if let Some(holder) = &r.stale_lock_cleared {
        writeln!(
            out,
            "  an earlier import (process {holder}) had stopped without finishing; its lock was cleared and nothing of it was kept"
        )?;
    }
    Ok(())
}

/// Runs a `crime` subcommand against the store in `store_dir`, writing results to `out`.
pub fn run_crime(
    cmd: CrimeCommand,
    store_dir: &Path,
    out: &mut dyn Write,
) -> Result<(), InsightError> {
    match cmd {
        CrimeCommand::Import {
            paths,
            strict,
            max_uncompressed_mb,
            max_ratio,
            chunk_rows,
            threads,
            quiet,
            json,
        } => {
            let opts = ImportOptions {
                strict,
                max_entry_bytes: max_uncompressed_mb.saturating_mul(1 << 20),
                max_ratio,
                chunk_rows,
                threads,
                ..ImportOptions::default()
            };
            let mut bar = ProgressLine {
                tty: std::io::stderr().is_terminal(),
                last_print: None,
            };
            let mut cb = |p: ImportProgress| {
                if !quiet {
                    bar.show(&p);
                }
            };
            let report = import_paths(&paths, store_dir, &opts, &mut cb);
            if !quiet && bar.tty {
                let _ = writeln!(std::io::stderr());
            }
            let report = report?;
            if json {
                let s = serde_json::to_string_pretty(&report).unwrap_or_default();
                writeln!(out, "{s}").map_err(out_err)
            } else {
                print_report(out, &report).map_err(out_err)
            }
        }
        CrimeCommand::Stats {
            by,
            area,
            from,
            to,
            measure,
            format,
            harm_table,
        } => {
            let store = Store::open(store_dir)?;
            let geo = Geo::load(store_dir)?;
            let harm = HarmTable::load(harm_table.as_deref(), Some(store_dir))?;
            let q = StatsQuery {
                by,
                area,
                from,
                to,
                measure,
            };
            let t = stats(&store, geo.as_ref(), &harm, &q)?;
            let text = match format {
                Format::Csv => t.to_csv(),
                Format::Json => t.to_json() + "\n",
            };
            out.write_all(text.as_bytes()).map_err(out_err)
        }
        CrimeCommand::Profile {
            area,
            from,
            to,
            out: dir,
            cell_size,
            fdr,
            harm_table,
        } => {
            let store = Store::open(store_dir)?;
            let geo = Geo::require(store_dir)?;
            let harm = HarmTable::load(harm_table.as_deref(), Some(store_dir))?;
            let mut opts = ProfileOptions::new(&area, from, to);
            opts.cell_size = cell_size;
            opts.fdr = fdr;
            let p = build_with(&store, &geo, &harm, &opts)?;
            std::fs::create_dir_all(&dir).map_err(|e| InsightError::io(&dir, e))?;
            let mut files: Vec<(String, String)> = vec![(
                "profile.json".into(),
                serde_json::to_string_pretty(&p).unwrap_or_default(),
            )];
            for t in TABLES {
                if let Some(csv) = p.to_csv(t) {
                    files.push((format!("{t}.csv"), csv));
                }
            }
            files.push(("trend.svg".into(), p.trend_svg()));
            files.push(("harm.svg".into(), p.harm_svg()));
            files.push(("types.svg".into(), p.types_svg()));
            files.push(("lsoa-choropleth.svg".into(), p.choropleth_svg()));
            files.push(("hotspots.svg".into(), p.hotspots_svg()));
            for (name, text) in &files {
                let path = dir.join(name);
                std::fs::write(&path, text).map_err(|e| InsightError::io(&path, e))?;
            }
            let h = &p.headline;
            writeln!(
                out,
                "{} ({}), {} to {}: {} crimes, {} ASB, harm {:.0} days, {} stop and searches, {} hot cells.\nWrote {} files to {}.\n{}",
                p.area_name, p.area_code, p.from, p.to, h.crimes, h.asb, h.harm, h.stop_searches, h.hot_cells,
                files.len(), dir.display(), p.attribution.join(" ")
            )
            .map_err(out_err)
        }
        CrimeCommand::Generate {
            dir,
            seed,
            start,
            months,
            rows_per_month,
            geo_dir,
            areas,
            no_outcomes,
            no_stop_search,
        } => {
            let opts = GenOptions {
                seed,
                start,
                months,
                street_rows_per_month: rows_per_month,
                outcomes: !no_outcomes,
                stop_search: !no_stop_search,
                geo_dir,
                synthetic_areas: areas,
            };
            let r = generate(&dir, &opts)?;
            writeln!(
                out,
                "Wrote {} files ({} street, {} outcome, {} stop-and-search rows, {:.1} MB) to {}.",
                r.files,
                r.street_rows,
                r.outcome_rows,
                r.stop_rows,
                r.bytes as f64 / 1e6,
                dir.display()
            )
            .map_err(out_err)?;
            if !r.geo_files.is_empty() {
                let g = &r.geo_files;
                writeln!(
                    out,
                    "Synthetic geography: pathways geo import --lookup {} --population {} --boundaries {}",
                    g[0].display(), g[1].display(), g[2].display()
                )
                .map_err(out_err)?;
            }
            Ok(())
        }
        CrimeCommand::Verify => {
            let store = Store::open(store_dir)?;
            let rows = store.verify()?;
            writeln!(
                out,
                "{} segments, {rows} rows: all checksums match.",
                store.manifest.segments.len()
            )
            .map_err(out_err)
        }
    }
}

/// Runs a `geo` subcommand against the store in `store_dir`.
pub fn run_geo(cmd: GeoCommand, store_dir: &Path, out: &mut dyn Write) -> Result<(), InsightError> {
    match cmd {
        GeoCommand::Import {
            lookup,
            population,
            boundaries,
        } => {
            let r = import_geo(
                store_dir,
                &lookup,
                population.as_deref(),
                boundaries.as_deref(),
            )?;
            writeln!(
                out,
                "Loaded {} LSOAs in {} local authorities ({} with population, {} with boundaries).",
                r.lsoas, r.local_authorities, r.with_population, r.with_boundary
            )
            .map_err(out_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        crime: CrimeCommand,
    }

    #[test]
    fn commands_parse_and_have_help() {
        Top::command().debug_assert();
        let t = Top::try_parse_from([
            "x",
            "stats",
            "--by",
            "lsoa",
            "--area",
            "E09000020",
            "--from",
            "2019-01",
            "--measure",
            "harm",
            "--format",
            "json",
        ])
        .expect("parses");
        match t.crime {
            CrimeCommand::Stats {
                by,
                from,
                measure,
                format,
                ..
            } => {
                assert_eq!(by, StatsBy::Lsoa);
                assert_eq!(from.map(|m| m.to_string()), Some("2019-01".to_string()));
                assert_eq!((measure, format), (Measure::Harm, Format::Json));
            }
            other => panic!("{other:?}"),
        }
        assert!(Top::try_parse_from(["x", "stats", "--by", "lsoa", "--from", "2019-13"]).is_err());
    }
}

//! The problem profile of an area and period: headline figures, trend and harm, types, change
//! flags, seasonality, LSOA rates, hotspots, outcomes and stop and search, plus SVG and CSV.

use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

use crate::analysis::{
    self, AreaRate, ChangeFlag, ChangeWindows, Hotspots, MonthPoint, MonthTypeCount, SeasonPoint,
    Share, StopSearchSummary, TypeTotal,
};
use crate::error::InsightError;
use crate::geo::{Geo, Ring};
use crate::harm::HarmTable;
use crate::model::{Month, Series};
use crate::stats::area_filter;
use crate::store::Store;
use crate::svg;

/// Attribution lines to print wherever the profile is shown.
pub const ATTRIBUTION: [&str; 2] = [
    "Contains public sector information licensed under the Open Government Licence v3.0.",
    "Source: data.police.uk",
];

/// What to profile.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// Local authority code or name.
    pub area: String,
    /// First month (default: 35 months before `to`).
    pub from: Option<Month>,
    /// Last month (default: the latest month in the store).
    pub to: Option<Month>,
    /// Hotspot grid cell size in metres.
    pub cell_size: u32,
    /// False discovery rate for hotspots.
    pub fdr: f64,
    /// Change-flag windows.
    pub change: ChangeWindows,
}

impl ProfileOptions {
    /// Defaults: 250 m cells, FDR 0.05, 3-month current vs 12-month baseline.
    pub fn new(area: &str, from: Option<Month>, to: Option<Month>) -> ProfileOptions {
        ProfileOptions {
            area: area.to_string(),
            from,
            to,
            cell_size: 250,
            fdr: 0.05,
            change: ChangeWindows::default(),
        }
    }
}

/// Headline figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headline {
    /// Crimes (ASB excluded).
    pub crimes: u64,
    /// ASB incidents.
    pub asb: u64,
    /// Harm, days of custody.
    pub harm: f64,
    /// Crimes per 1,000 residents per year.
    pub crimes_per_1000_per_year: Option<f64>,
    /// Harm per 1,000 residents per year.
    pub harm_per_1000_per_year: Option<f64>,
    /// Most frequent crime type.
    pub top_type_by_count: Option<String>,
    /// Most harmful crime type.
    pub top_type_by_harm: Option<String>,
    /// Change flag of all crime.
    pub all_crime_change: Option<ChangeFlag>,
    /// Stop and searches in the area.
    pub stop_searches: u64,
    /// Significant hotspot cells.
    pub hot_cells: usize,
}

/// The problem profile data (serialisable; shapes are kept for rendering only).
#[derive(Debug, Clone, Serialize)]
pub struct ProblemProfile {
    /// Local authority code.
    pub area_code: String,
    /// Local authority name.
    pub area_name: String,
    /// LSOAs in the area.
    pub lsoa_count: usize,
    /// Residents (sum of LSOA populations), when loaded.
    pub population: Option<u64>,
    /// First month.
    pub from: String,
    /// Last month.
    pub to: String,
    /// Months covered.
    pub months: u32,
    /// Headline figures.
    pub headline: Headline,
    /// Crimes, ASB and harm per month.
    pub trend: Vec<MonthPoint>,
    /// Totals per crime type.
    pub by_type: Vec<TypeTotal>,
    /// Counts per month and type.
    pub monthly_by_type: Vec<MonthTypeCount>,
    /// Change flags (Poisson z).
    pub change_flags: Vec<ChangeFlag>,
    /// Month-of-year profile.
    pub seasonality: Vec<SeasonPoint>,
    /// LSOA counts and rates.
    pub lsoas: Vec<AreaRate>,
    /// MSOA counts and rates (the ONS lookup has MSOAs, not wards).
    pub msoas: Vec<AreaRate>,
    /// Gi* hotspots.
    pub hotspots: Hotspots,
    /// Last-outcome shares.
    pub outcomes: Vec<Share>,
    /// Stop and search.
    pub stop_search: StopSearchSummary,
    /// Harm table used.
    pub harm_source: String,
    /// Crime types without a harm weight (counted, weighing 0).
    pub unweighted_types: Vec<String>,
    /// Attribution lines.
    pub attribution: Vec<String>,
    /// LSOA boundaries in BNG for the maps.
    #[serde(skip)]
    pub shapes: Vec<(String, Vec<Ring>)>,
}

/// Builds a profile from a store directory (opens store, geography and harm table).
pub fn build(
    store_dir: &Path,
    area: &str,
    from: Option<Month>,
    to: Option<Month>,
) -> Result<ProblemProfile, InsightError> {
    let store = Store::open(store_dir)?;
    let geo = Geo::require(store_dir)?;
    let harm = HarmTable::load(None, Some(store_dir))?;
    build_with(&store, &geo, &harm, &ProfileOptions::new(area, from, to))
}

/// Builds a profile from an already opened store and geography (for servers).
pub fn build_with(
    store: &Store,
    geo: &Geo,
    harm: &HarmTable,
    opts: &ProfileOptions,
) -> Result<ProblemProfile, InsightError> {
    let latest = store.month_range(Series::Street).map(|r| r.1);
    let to = opts.to.or(latest).unwrap_or(Month(0));
    let from = opts.from.unwrap_or(Month(to.0.saturating_sub(35)));
    if from > to {
        return Err(InsightError::Invalid(format!(
            "--from {from} is after --to {to}"
        )));
    }
    let months = (to.0 - from.0) as u32 + 1;
    let (mut filter, area) = area_filter(store, Some(geo), Some(&opts.area), Some(from), Some(to))?;
    let area = area.ok_or_else(|| InsightError::UnknownArea(opts.area.clone()))?;
    let stop_filter = filter.clone();
    {
        use crate::analysis::street::*;
        filter.columns = Some(vec![CATEGORY, OUTCOME, LSOA, X, Y]);
    }
    let frame = store.load(Series::Street, &filter)?;
    let filter = stop_filter;
    let stops = store.load(Series::StopSearch, &filter)?;
    let dicts = store.dicts();

    let trend = analysis::monthly_series(&frame, dicts, harm, Some(from), Some(to));
    let by_type = analysis::by_type(&frame, dicts, harm);
    let lsoas = analysis::lsoa_rates(&frame, dicts, harm, Some(geo), Some(&area.lsoas), months);
    let msoas = analysis::msoa_rates(&lsoas, geo, months);
    let shapes: Vec<(String, Vec<Ring>)> = area
        .lsoas
        .iter()
        .filter_map(|c| {
            geo.lsoa(c)
                .filter(|l| !l.rings.is_empty())
                .map(|l| (c.clone(), l.rings.clone()))
        })
        .collect();
    let ring_refs: Vec<&[Ring]> = shapes.iter().map(|s| s.1.as_slice()).collect();
    let hotspots = analysis::hotspots(&frame, dicts, opts.cell_size, opts.fdr, &ring_refs);
    let change_flags = analysis::change_flags(&frame, dicts, to, opts.change);
    let population: Option<u64> = {
        let pops: Vec<Option<u32>> = lsoas.iter().map(|l| l.population).collect();
        (!pops.is_empty() && pops.iter().all(|p| p.is_some()))
            .then(|| pops.iter().map(|p| p.unwrap_or(0) as u64).sum())
    };
    let crimes: u64 = trend.iter().map(|p| p.crimes).sum();
    let asb: u64 = trend.iter().map(|p| p.asb).sum();
    let harm_total: f64 = trend.iter().map(|p| p.harm).sum::<f64>() + 0.0;
    let per_year = |v: f64| {
        population
            .filter(|&p| p > 0)
            .map(|p| v / p as f64 * 1000.0 * 12.0 / months as f64)
    };
    let crime_types: Vec<&TypeTotal> = by_type
        .iter()
        .filter(|t| !analysis::is_asb(&t.category))
        .collect();
    let top_harm = crime_types
        .iter()
        .max_by(|a, b| a.harm.total_cmp(&b.harm))
        .filter(|t| t.harm > 0.0)
        .map(|t| t.category.clone());
    let headline = Headline {
        crimes,
        asb,
        harm: harm_total,
        crimes_per_1000_per_year: per_year(crimes as f64),
        harm_per_1000_per_year: per_year(harm_total),
        top_type_by_count: crime_types.first().map(|t| t.category.clone()),
        top_type_by_harm: top_harm,
        all_crime_change: change_flags
            .iter()
            .find(|c| c.category == "All crime")
            .cloned(),
        stop_searches: stops.len() as u64,
        hot_cells: hotspots.cells.iter().filter(|c| c.kind == "hot").count(),
    };
    Ok(ProblemProfile {
        area_code: area.code.clone(),
        area_name: area.name.clone(),
        lsoa_count: area.lsoas.len(),
        population,
        from: from.to_string(),
        to: to.to_string(),
        months,
        headline,
        seasonality: analysis::seasonality(&trend),
        monthly_by_type: analysis::monthly_by_type(&frame, dicts),
        unweighted_types: by_type
            .iter()
            .filter(|t| t.weight.is_none())
            .map(|t| t.category.clone())
            .collect(),
        outcomes: analysis::outcome_shares(&frame, dicts),
        stop_search: analysis::stop_search_summary(&stops, dicts),
        harm_source: harm.source.clone(),
        attribution: ATTRIBUTION.iter().map(|s| s.to_string()).collect(),
        trend,
        by_type,
        change_flags,
        lsoas,
        msoas,
        hotspots,
        shapes,
    })
}

/// Serialises rows as CSV with a header from the struct's field names.
pub fn rows_to_csv<T: Serialize>(rows: &[T]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        if w.serialize(r).is_err() {
            break;
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Names of the tables `ProblemProfile::to_csv` can export.
pub const TABLES: [&str; 13] = [
    "trend",
    "by-type",
    "monthly-by-type",
    "change-flags",
    "seasonality",
    "lsoas",
    "msoas",
    "hotspots",
    "outcomes",
    "stop-search-age",
    "stop-search-object",
    "stop-search-outcome",
    "headline",
];

impl ProblemProfile {
    /// One table as CSV, by name (see [`TABLES`]).
    pub fn to_csv(&self, table: &str) -> Option<String> {
        Some(match table {
            "trend" => rows_to_csv(&self.trend),
            "by-type" => rows_to_csv(&self.by_type),
            "monthly-by-type" => rows_to_csv(&self.monthly_by_type),
            "change-flags" => rows_to_csv(&self.change_flags),
            "seasonality" => rows_to_csv(&self.seasonality),
            "lsoas" => rows_to_csv(&self.lsoas),
            "msoas" => rows_to_csv(&self.msoas),
            "hotspots" => rows_to_csv(&self.hotspots.cells),
            "outcomes" => rows_to_csv(&self.outcomes),
            "stop-search-age" => rows_to_csv(&self.stop_search.by_age),
            "stop-search-object" => rows_to_csv(&self.stop_search.by_object),
            "stop-search-outcome" => rows_to_csv(&self.stop_search.by_outcome),
            "headline" => {
                let h = &self.headline;
                let opt = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
                let mut w = csv::Writer::from_writer(Vec::new());
                let rows: Vec<[String; 2]> = vec![
                    [
                        "area".into(),
                        format!("{} {}", self.area_code, self.area_name),
                    ],
                    ["period".into(), format!("{} to {}", self.from, self.to)],
                    ["crimes".into(), h.crimes.to_string()],
                    ["asb".into(), h.asb.to_string()],
                    ["harm_days".into(), format!("{:.1}", h.harm)],
                    [
                        "crimes_per_1000_per_year".into(),
                        opt(h.crimes_per_1000_per_year),
                    ],
                    [
                        "harm_per_1000_per_year".into(),
                        opt(h.harm_per_1000_per_year),
                    ],
                    ["stop_searches".into(), h.stop_searches.to_string()],
                    ["hot_cells".into(), h.hot_cells.to_string()],
                ];
                let _ = w.write_record(["figure", "value"]);
                for r in rows {
                    let _ = w.write_record(r);
                }
                String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
            }
            _ => return None,
        })
    }

    fn labels(&self) -> Vec<String> {
        self.trend.iter().map(|p| p.month.clone()).collect()
    }

    /// Line chart of monthly crimes and ASB.
    pub fn trend_svg(&self) -> String {
        let crimes: Vec<f64> = self.trend.iter().map(|p| p.crimes as f64).collect();
        let asb: Vec<f64> = self.trend.iter().map(|p| p.asb as f64).collect();
        let (lo, hi) = (
            crimes.iter().copied().fold(f64::MAX, f64::min),
            crimes.iter().copied().fold(0.0, f64::max),
        );
        svg::line_chart(
            &format!("Crimes and ASB per month, {}", self.area_name),
            &format!(
                "Monthly counts from {} to {}: crimes ranged from {:.0} to {:.0} a month; {} crimes and {} ASB incidents in total.",
                self.from,
                self.to,
                if lo == f64::MAX { 0.0 } else { lo },
                hi,
                self.headline.crimes,
                self.headline.asb
            ),
            &self.labels(),
            &[
                ("Crimes", crimes, "#1d70b8"),
                ("Anti-social behaviour", asb, "#f47738"),
            ],
            "per month",
        )
    }

    /// Line chart of monthly harm (days of custody).
    pub fn harm_svg(&self) -> String {
        let harm: Vec<f64> = self.trend.iter().map(|p| p.harm).collect();
        svg::line_chart(
            &format!("Crime harm per month, {}", self.area_name),
            &format!(
                "Harm-weighted crime (days of custody, Cambridge Crime Harm Index derived weights) from {} to {}; total {:.0} days.",
                self.from, self.to, self.headline.harm
            ),
            &self.labels(),
            &[("Harm (days)", harm, "#d4351c")],
            "days of custody",
        )
    }

    /// Bar chart of crime types by count.
    pub fn types_svg(&self) -> String {
        let items: Vec<(String, f64)> = self
            .by_type
            .iter()
            .map(|t| (t.category.clone(), t.count as f64))
            .collect();
        let desc = items
            .iter()
            .take(3)
            .map(|(c, n)| format!("{c} {n:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        svg::bar_chart(
            &format!("Crime types, {}", self.area_name),
            &format!(
                "Rows by police.uk crime type, {} to {}. Largest: {desc}.",
                self.from, self.to
            ),
            &items,
            "rows in period",
        )
    }

    fn shape_refs(&self) -> Vec<(String, &[Ring])> {
        self.shapes
            .iter()
            .map(|(c, r)| (c.clone(), r.as_slice()))
            .collect()
    }

    /// Choropleth of crimes per 1,000 residents per year by LSOA (counts when no population).
    pub fn choropleth_svg(&self) -> String {
        let with_pop = self
            .lsoas
            .iter()
            .any(|l| l.crimes_per_1000_per_year.is_some());
        let values: HashMap<String, f64> = self
            .lsoas
            .iter()
            .filter_map(|l| {
                let v = if with_pop {
                    l.crimes_per_1000_per_year
                } else {
                    Some(l.crimes as f64)
                };
                v.map(|v| (l.code.clone(), v))
            })
            .collect();
        let top = self
            .lsoas
            .iter()
            .max_by(|a, b| a.crimes.cmp(&b.crimes))
            .map(|l| format!("{} {} ({} crimes)", l.code, l.name, l.crimes))
            .unwrap_or_default();
        svg::choropleth(
            &format!("Crime by LSOA, {}", self.area_name),
            &format!(
                "{} LSOAs shaded in five quantile classes of {}. Highest count: {top}.",
                self.lsoa_count,
                if with_pop {
                    "crimes per 1,000 residents per year"
                } else {
                    "crimes"
                }
            ),
            &self.shape_refs(),
            &values,
            if with_pop {
                "Crimes per 1,000/yr"
            } else {
                "Crimes"
            },
        )
    }

    /// Map of Gi* hotspot cells over LSOA outlines.
    pub fn hotspots_svg(&self) -> String {
        let hot = self
            .hotspots
            .cells
            .iter()
            .filter(|c| c.kind == "hot")
            .count();
        let cold = self
            .hotspots
            .cells
            .iter()
            .filter(|c| c.kind == "cold")
            .count();
        svg::hotspot_map(
            &format!("Crime hotspots, {}", self.area_name),
            &format!(
                "Getis-Ord Gi* on {} m cells ({} analysed) with Benjamini–Hochberg FDR {}: {hot} hot and {cold} cold cells.",
                self.hotspots.cell_size, self.hotspots.cells_analysed, self.hotspots.fdr
            ),
            &self.shape_refs(),
            &self.hotspots,
        )
    }
}

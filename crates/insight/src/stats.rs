//! Aggregates for `pathways crime stats`: counts or harm by type, month, LSOA or local authority.
//! Output as CSV or JSON for scripts and cross-checks.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::error::InsightError;
use crate::geo::Geo;
use crate::harm::HarmTable;
use crate::model::{Month, NONE32, Series};
use crate::store::{Filter, Store};

/// Grouping of `crime stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsBy {
    /// Crime type (police.uk category).
    Type,
    /// Month (YYYY-MM).
    Month,
    /// LSOA (2011 code).
    Lsoa,
    /// Local authority (needs `pathways geo import`).
    La,
}

/// What is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Number of rows (crimes and ASB incidents).
    Count,
    /// Harm in days of custody (ASB weighs 0).
    Harm,
}

/// A stats request.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Grouping.
    pub by: StatsBy,
    /// Local authority code or name; None for everything in the store.
    pub area: Option<String>,
    /// First month included.
    pub from: Option<Month>,
    /// Last month included.
    pub to: Option<Month>,
    /// Count or harm.
    pub measure: Measure,
}

/// A value in a stats table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// Text.
    Text(String),
    /// Whole number.
    Int(u64),
    /// Real number.
    Num(f64),
    /// Missing.
    Null,
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x) => format!("{:.4}", x)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            Cell::Null => String::new(),
        }
    }
}

/// A table of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsTable {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

impl StatsTable {
    /// CSV with a header line.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(Cell::csv));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// JSON array of objects keyed by column name.
    pub fn to_json(&self) -> String {
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| {
                        let v = match v {
                            Cell::Num(x) => Cell::Num((x * 1e4).round() / 1e4),
                            other => other.clone(),
                        };
                        (c.clone(), serde_json::to_value(v).unwrap_or_default())
                    })
                    .collect()
            })
            .collect();
        serde_json::to_string_pretty(&rows).unwrap_or_default()
    }
}

/// The store filter for an area and period (LSOA ids of the area's LSOAs).
pub fn area_filter(
    store: &Store,
    geo: Option<&Geo>,
    area: Option<&str>,
    from: Option<Month>,
    to: Option<Month>,
) -> Result<(Filter, Option<crate::geo::Area>), InsightError> {
    let area = match area {
        None => None,
        Some(a) => {
            let geo = geo.ok_or_else(|| InsightError::NoGeo {
                path: store.dir().to_path_buf(),
            })?;
            Some(geo.area(a)?)
        }
    };
    let lsoas = area.as_ref().map(|a| {
        a.lsoas
            .iter()
            .filter_map(|c| store.dicts().lsoas.get(c))
            .collect::<crate::model::FastSet<u32>>()
    });
    Ok((
        Filter {
            lsoas,
            from,
            to,
            columns: None,
        },
        area,
    ))
}

/// Computes a stats table.
pub fn stats(
    store: &Store,
    geo: Option<&Geo>,
    harm: &HarmTable,
    q: &StatsQuery,
) -> Result<StatsTable, InsightError> {
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(InsightError::Invalid(format!(
            "--from {f} is after --to {t}"
        )));
    }
    if q.by == StatsBy::La && geo.is_none() {
        return Err(InsightError::NoGeo {
            path: store.dir().to_path_buf(),
        });
    }
    let (mut filter, _) = area_filter(store, geo, q.area.as_deref(), q.from, q.to)?;
    filter.columns = Some(vec![
        crate::analysis::street::CATEGORY,
        crate::analysis::street::LSOA,
    ]);
    let frame = store.load(Series::Street, &filter)?;
    let dicts = store.dicts();
    let weights = harm.weights_for(dicts.categories.values());
    let cats = frame.u16(crate::analysis::street::CATEGORY);
    let value = |i: usize| -> f64 {
        match q.measure {
            Measure::Count => 1.0,
            Measure::Harm => weights[cats[i] as usize],
        }
    };
    // Aggregate by integer id first (no per-row allocation), then name the groups.
    let mut acc: BTreeMap<String, f64> = BTreeMap::new();
    let key_col: Vec<String>;
    match q.by {
        StatsBy::Type => {
            key_col = vec!["category".into()];
            let mut by_id = vec![0f64; dicts.categories.len()];
            for (i, &c) in cats.iter().enumerate() {
                by_id[c as usize] += value(i);
            }
            let mut n = vec![0u64; dicts.categories.len()];
            cats.iter().for_each(|&c| n[c as usize] += 1);
            for (c, v) in by_id.into_iter().enumerate().filter(|(c, _)| n[*c] > 0) {
                *acc.entry(dicts.categories.value(c as u32).to_string())
                    .or_default() += v;
            }
        }
        StatsBy::Month => {
            key_col = vec!["month".into()];
            let mut by_month = vec![(0u64, 0f64); u16::MAX as usize + 1];
            for (i, &m) in frame.u16(0).iter().enumerate() {
                let e = &mut by_month[m as usize];
                e.0 += 1;
                e.1 += value(i);
            }
            for (m, (n, v)) in by_month.into_iter().enumerate() {
                if n > 0 {
                    acc.insert(Month(m as u16).to_string(), v);
                }
            }
        }
        StatsBy::Lsoa | StatsBy::La => {
            key_col = if q.by == StatsBy::Lsoa {
                vec!["lsoa_code".into()]
            } else {
                vec!["la_code".into()]
            };
            // Index len() is "no LSOA".
            let none = dicts.lsoas.len();
            let mut by_id = vec![(0u64, 0f64); none + 1];
            for (i, &l) in frame.u32(crate::analysis::street::LSOA).iter().enumerate() {
                let e = &mut by_id[if l == NONE32 { none } else { l as usize }];
                e.0 += 1;
                e.1 += value(i);
            }
            for (l, (n, v)) in by_id.into_iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let key = if l == none {
                    "(no location)".to_string()
                } else if q.by == StatsBy::Lsoa {
                    dicts.lsoas.value(l as u32).to_string()
                } else {
                    geo.and_then(|g| g.lsoa(dicts.lsoas.value(l as u32)))
                        .map(|x| x.la_code.clone())
                        .unwrap_or_else(|| "(unknown)".to_string())
                };
                *acc.entry(key).or_default() += v;
            }
        }
    }
    let measure = match q.measure {
        Measure::Count => "count",
        Measure::Harm => "harm",
    };
    let cell = |v: f64| match q.measure {
        Measure::Count => Cell::Int(v as u64),
        Measure::Harm => Cell::Num(v),
    };
    let mut columns = key_col;
    let mut rows = Vec::new();
    match q.by {
        StatsBy::Type | StatsBy::Month => {
            columns.push(measure.into());
            for (k, v) in acc {
                rows.push(vec![Cell::Text(k), cell(v)]);
            }
        }
        StatsBy::Lsoa | StatsBy::La => {
            let name_col = if q.by == StatsBy::Lsoa {
                "lsoa_name"
            } else {
                "la_name"
            };
            columns.extend([
                name_col.into(),
                measure.into(),
                "population".into(),
                "per_1000".into(),
            ]);
            // Local authority name and population (None when any LSOA lacks a population).
            let mut las: BTreeMap<&str, (&str, Option<u64>)> = BTreeMap::new();
            if q.by == StatsBy::La {
                for l in geo.map(|g| g.lsoas.as_slice()).unwrap_or(&[]) {
                    let e = las
                        .entry(l.la_code.as_str())
                        .or_insert((l.la_name.as_str(), Some(0)));
                    e.1 = match (e.1, l.population) {
                        (Some(a), Some(b)) => Some(a + b as u64),
                        _ => None,
                    };
                }
            }
            let la_pop = |code: &str| -> Option<(String, u64)> {
                las.get(code).map(|(n, p)| (n.to_string(), p.unwrap_or(0)))
            };
            for (k, v) in acc {
                let (name, pop) = if q.by == StatsBy::Lsoa {
                    let info = geo.and_then(|g| g.lsoa(&k));
                    let name = info.map(|l| l.name.clone()).or_else(|| {
                        dicts
                            .lsoas
                            .get(&k)
                            .and_then(|id| dicts.lsoa_names.get(id as usize).cloned())
                    });
                    (
                        name.unwrap_or_default(),
                        info.and_then(|l| l.population).map(u64::from),
                    )
                } else {
                    match la_pop(&k) {
                        Some((n, p)) => (n, (p > 0).then_some(p)),
                        None => (String::new(), None),
                    }
                };
                let per = pop.filter(|&p| p > 0).map(|p| v / p as f64 * 1000.0);
                rows.push(vec![
                    Cell::Text(k),
                    Cell::Text(name),
                    cell(v),
                    pop.map(Cell::Int).unwrap_or(Cell::Null),
                    per.map(Cell::Num).unwrap_or(Cell::Null),
                ]);
            }
        }
    }
    Ok(StatsTable { columns, rows })
}

//! Severity (harm) weights per police.uk crime type, in days of custody (Cambridge Crime Harm Index).
//! The shipped table is derived by volume-weighting subgroup weights through the Home Office offence map.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::InsightError;

/// The shipped default table (`data/harm-weights.csv`).
pub const DEFAULT_TABLE: &str = include_str!("../data/harm-weights.csv");
/// The shipped subgroup weights and volumes the default table is derived from.
pub const SUBGROUPS: &str = include_str!("../data/harm-subgroups.csv");

/// police.uk crime type names in their published spelling, current and pre-2013.
pub const POLICE_UK_CATEGORIES: [&str; 16] = [
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Violent crime",
    "Public disorder and weapons",
];

/// Normalises a category name for matching ("Criminal Damage & Arson" = "criminal damage and arson").
pub fn normalise(name: &str) -> String {
    name.to_lowercase()
        .replace('&', " and ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One row of a harm table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HarmWeight {
    /// police.uk crime type.
    pub category: String,
    /// Weight in days of custody per crime.
    pub weight: f64,
}

/// Harm weights by crime type; unknown types weigh nothing and are reported as unweighted.
#[derive(Debug, Clone)]
pub struct HarmTable {
    rows: Vec<HarmWeight>,
    by_name: HashMap<String, f64>,
    /// Where the table came from ("default" or a file path).
    pub source: String,
}

impl HarmTable {
    /// The shipped default table.
    pub fn default_table() -> HarmTable {
        HarmTable::parse(DEFAULT_TABLE, "default").expect("the shipped harm table is valid")
    }

    /// Loads a user table (CSV `category,weight`), or the default when `path` is None.
    /// A file `harm-weights.csv` in the store directory overrides the default.
    pub fn load(path: Option<&Path>, store_dir: Option<&Path>) -> Result<HarmTable, InsightError> {
        let path = path.map(Path::to_path_buf).or_else(|| {
            store_dir
                .map(|d| d.join("harm-weights.csv"))
                .filter(|p| p.exists())
        });
        match path {
            None => Ok(HarmTable::default_table()),
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| InsightError::io(&p, e))?;
                HarmTable::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses a `category,weight[,...]` CSV.
    pub fn parse(text: &str, source: &str) -> Result<HarmTable, InsightError> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i as u64 + 2;
            let err = |reason: String| InsightError::HarmTable {
                path: source.to_string(),
                line,
                reason,
            };
            let rec = rec.map_err(|e| err(e.to_string()))?;
            let category = rec.get(0).unwrap_or("").trim().to_string();
            let raw = rec.get(1).unwrap_or("").trim();
            let weight: f64 = raw
                .parse()
                .map_err(|_| err(format!("weight {raw:?} is not a number")))?;
            if category.is_empty() || !weight.is_finite() || weight < 0.0 {
                return Err(err(
                    "category must be named and weight a non-negative number".into(),
                ));
            }
            rows.push(HarmWeight { category, weight });
        }
        let by_name = rows
            .iter()
            .map(|r| (normalise(&r.category), r.weight))
            .collect();
        Ok(HarmTable {
            rows,
            by_name,
            source: source.to_string(),
        })
    }

    /// The weight of a crime type, if the table has it.
    pub fn weight(&self, category: &str) -> Option<f64> {
        self.by_name.get(&normalise(category)).copied()
    }

    /// All rows.
    pub fn rows(&self) -> &[HarmWeight] {
        &self.rows
    }

    /// Weights for a dictionary of categories, by id (0 for unknown types).
    pub fn weights_for(&self, categories: &[String]) -> Vec<f64> {
        categories
            .iter()
            .map(|c| self.weight(c).unwrap_or(0.0))
            .collect()
    }

    /// The table as CSV.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("category,weight\n");
        for r in &self.rows {
            s.push_str(&format!("{},{}\n", csv_field(&r.category), r.weight));
        }
        s
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A subgroup weight and volume used by the derivation.
#[derive(Debug, Clone, PartialEq)]
pub struct Subgroup {
    /// Home Office offence subgroup.
    pub name: String,
    /// Cambridge Crime Harm Index weight (days).
    pub chi_days: f64,
    /// Recorded volume used to weight the subgroup within its category.
    pub volume: f64,
}

/// Parses `subgroup,chi_days,volume[,source]`.
pub fn parse_subgroups(text: &str) -> Result<Vec<Subgroup>, InsightError> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let err = |reason: String| InsightError::HarmTable {
            path: "subgroups".into(),
            line: i as u64 + 2,
            reason,
        };
        let rec = rec.map_err(|e| err(e.to_string()))?;
        let num = |j: usize| -> Result<f64, InsightError> {
            rec.get(j)
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| err(format!("column {} is not a number", j + 1)))
        };
        out.push(Subgroup {
            name: rec.get(0).unwrap_or("").trim().to_string(),
            chi_days: num(1)?,
            volume: num(2)?,
        });
    }
    Ok(out)
}

/// Derives category weights: for each police.uk category, Σ volume·weight / Σ volume over the
/// subgroups the Home Office map (`Offence_Subgroup`, `Police.uk_Cat` columns) sends to it.
/// Pre-2013 categories take the union of their successors; ASB (not a crime) weighs 0.
pub fn derive(map_csv: &str, subgroups: &[Subgroup]) -> Result<Vec<HarmWeight>, InsightError> {
    let mut rdr = csv::Reader::from_reader(map_csv.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| InsightError::Invalid(format!("offence map: {e}")))?
        .clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h.trim() == n)
            .ok_or_else(|| InsightError::Invalid(format!("offence map has no {n} column")))
    };
    let (sg_col, cat_col) = (col("Offence_Subgroup")?, col("Police.uk_Cat")?);
    let mut cat_subgroups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| InsightError::Invalid(format!("offence map: {e}")))?;
        let sg = rec.get(sg_col).unwrap_or("").trim().to_string();
        let cat = normalise(rec.get(cat_col).unwrap_or(""));
        let list = cat_subgroups.entry(cat).or_default();
        if !list.contains(&sg) {
            list.push(sg);
        }
    }
    let by_name: HashMap<&str, &Subgroup> =
        subgroups.iter().map(|s| (s.name.as_str(), s)).collect();
    let weigh = |sgs: &[String]| -> Result<f64, InsightError> {
        let (mut num, mut den) = (0.0, 0.0);
        for s in sgs {
            let g = by_name.get(s.as_str()).ok_or_else(|| {
                InsightError::Invalid(format!(
                    "subgroup {s:?} has no weight in the subgroup table"
                ))
            })?;
            num += g.volume * g.chi_days;
            den += g.volume;
        }
        Ok(if den > 0.0 { num / den } else { 0.0 })
    };
    let mut out = Vec::new();
    for display in POLICE_UK_CATEGORIES {
        let key = normalise(display);
        let sgs: Vec<String> = match key.as_str() {
            "anti-social behaviour" => Vec::new(),
            "violent crime" => cat_subgroups
                .get("violence and sexual offences")
                .cloned()
                .unwrap_or_default(),
            "public disorder and weapons" => {
                let mut v = cat_subgroups
                    .get("public order")
                    .cloned()
                    .unwrap_or_default();
                v.extend(
                    cat_subgroups
                        .get("possession of weapons")
                        .cloned()
                        .unwrap_or_default(),
                );
                v
            }
            k => cat_subgroups.get(k).cloned().ok_or_else(|| {
                InsightError::Invalid(format!("offence map sends no offence to {display:?}"))
            })?,
        };
        let w = weigh(&sgs)?;
        out.push(HarmWeight {
            category: display.to_string(),
            weight: (w * 100.0).round() / 100.0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_map() -> Option<String> {
        let dir = std::env::var("PATHWAYS_SHARED_DIR").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into()
        });
        let p = Path::new(&dir).join("police-uk/home-office-offence-to-policeuk-category.csv");
        std::fs::read_to_string(&p).ok()
    }

    #[test]
    fn shipped_table_equals_derivation_through_the_home_office_map() {
        let Some(map) = shared_map() else {
            eprintln!("skipping: shared police-uk offence map not present");
            return;
        };
        let derived =
            derive(&map, &parse_subgroups(SUBGROUPS).expect("subgroups parse")).expect("derives");
        let shipped = HarmTable::default_table();
        assert_eq!(derived.len(), shipped.rows().len());
        for d in &derived {
            let w = shipped.weight(&d.category).expect("shipped has category");
            assert!(
                (w - d.weight).abs() < 1e-9,
                "{}: shipped {w}, derived {}",
                d.category,
                d.weight
            );
        }
    }

    #[test]
    fn derivation_is_a_volume_weighted_mean() {
        let map = "Offence_Subgroup,Police.uk_Cat\nA,Robbery\nB,Robbery\nC,Burglary\n";
        let mut sgs = vec![
            Subgroup {
                name: "A".into(),
                chi_days: 100.0,
                volume: 1.0,
            },
            Subgroup {
                name: "B".into(),
                chi_days: 10.0,
                volume: 9.0,
            },
            Subgroup {
                name: "C".into(),
                chi_days: 5.0,
                volume: 3.0,
            },
        ];
        // Every current category must be mapped; give the rest a subgroup each.
        let mut map = map.to_string();
        for c in POLICE_UK_CATEGORIES {
            let k = normalise(c);
            if !matches!(
                k.as_str(),
                "robbery"
                    | "burglary"
                    | "anti-social behaviour"
                    | "violent crime"
                    | "public disorder and weapons"
            ) {
                map.push_str(&format!("Z{k},{c}\n"));
                sgs.push(Subgroup {
                    name: format!("Z{k}"),
                    chi_days: 1.0,
                    volume: 1.0,
                });
            }
        }
        let t = derive(&map, &sgs).expect("derives");
        let get = |c: &str| t.iter().find(|w| w.category == c).map(|w| w.weight);
        assert_eq!(get("Robbery"), Some(19.0)); // (100 + 90) / 10
        assert_eq!(get("Burglary"), Some(5.0));
        assert_eq!(get("Anti-social behaviour"), Some(0.0));
    }

    #[test]
    fn user_tables_are_validated() {
        let t = HarmTable::parse("category,weight\nBurglary,10\n", "x").expect("valid");
        assert_eq!(t.weight("BURGLARY"), Some(10.0));
        assert_eq!(t.weight("Robbery"), None);
        let e = HarmTable::parse("category,weight\nBurglary,lots\n", "mine.csv").expect_err("bad");
        assert!(e.to_string().contains("mine.csv line 2"), "{e}");
    }
}

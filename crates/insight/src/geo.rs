//! ONS geography: LSOA → MSOA → local authority lookup, LSOA population and LSOA boundaries.
//! Persisted in `<store>/geo/geo.json`; boundaries are kept in British National Grid metres.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::bng::wgs84_to_bng;
use crate::error::InsightError;

/// A polygon ring in BNG metres.
pub type Ring = Vec<[f64; 2]>;

/// One LSOA and what it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lsoa {
    /// LSOA code (E01002835).
    pub code: String,
    /// LSOA name.
    pub name: String,
    /// MSOA code.
    pub msoa_code: String,
    /// MSOA name.
    pub msoa_name: String,
    /// Local authority code (E09000020).
    pub la_code: String,
    /// Local authority name.
    pub la_name: String,
    /// Region name.
    pub region: String,
    /// Police force area.
    pub force: String,
    /// Resident population (census), when loaded.
    pub population: Option<u32>,
    /// Boundary rings in BNG metres (outer and holes, even-odd rule), when loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rings: Vec<Ring>,
}

/// A local authority chosen as an analysis area.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Area {
    /// Local authority code.
    pub code: String,
    /// Local authority name.
    pub name: String,
    /// Its LSOA codes.
    pub lsoas: Vec<String>,
}

/// The loaded geography.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Geo {
    /// All LSOAs.
    pub lsoas: Vec<Lsoa>,
    #[serde(skip)]
    by_code: HashMap<String, usize>,
    #[serde(skip)]
    grid: PipGrid,
    #[serde(skip)]
    by_la: HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, Default)]
struct PipGrid {
    x0: f64,
    y0: f64,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
    bbox: Vec<[f64; 4]>,
}

const PIP_CELL: f64 = 1000.0;

/// Counts of a geography import.
#[derive(Debug, Clone, Serialize)]
pub struct GeoReport {
    /// LSOAs in the lookup.
    pub lsoas: usize,
    /// Local authorities.
    pub local_authorities: usize,
    /// LSOAs given a population.
    pub with_population: usize,
    /// LSOAs given a boundary.
    pub with_boundary: usize,
}

fn geo_path(store_dir: &Path) -> PathBuf {
    store_dir.join("geo").join("geo.json")
}

impl Geo {
    /// Loads the geography persisted in a store directory, if any.
    pub fn load(store_dir: &Path) -> Result<Option<Geo>, InsightError> {
        let path = geo_path(store_dir);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(InsightError::io(path, e)),
        };
        let mut g: Geo =
            serde_json::from_slice(&bytes).map_err(|e| InsightError::CorruptStore {
                path: path.clone(),
                reason: format!("geography file is not valid JSON ({e})"),
            })?;
        g.build_indexes();
        Ok(Some(g))
    }

    /// Loads the geography or explains how to import it.
    pub fn require(store_dir: &Path) -> Result<Geo, InsightError> {
        Geo::load(store_dir)?.ok_or_else(|| InsightError::NoGeo {
            path: store_dir.to_path_buf(),
        })
    }

    fn build_indexes(&mut self) {
        self.by_code = self
            .lsoas
            .iter()
            .enumerate()
            .map(|(i, l)| (l.code.clone(), i))
            .collect();
        self.by_la = HashMap::new();
        for (i, l) in self.lsoas.iter().enumerate() {
            self.by_la.entry(l.la_code.clone()).or_default().push(i);
        }
        let mut grid = PipGrid::default();
        let mut all = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for l in &self.lsoas {
            let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for p in l.rings.iter().flatten() {
                b = [
                    b[0].min(p[0]),
                    b[1].min(p[1]),
                    b[2].max(p[0]),
                    b[3].max(p[1]),
                ];
            }
            if !l.rings.is_empty() {
                all = [
                    all[0].min(b[0]),
                    all[1].min(b[1]),
                    all[2].max(b[2]),
                    all[3].max(b[3]),
                ];
            }
            grid.bbox.push(b);
        }
        if all[0] <= all[2] {
            grid.x0 = all[0];
            grid.y0 = all[1];
            grid.cols = ((all[2] - all[0]) / PIP_CELL) as usize + 1;
            grid.rows = ((all[3] - all[1]) / PIP_CELL) as usize + 1;
            grid.cells = vec![Vec::new(); grid.cols * grid.rows];
            for (i, b) in grid.bbox.iter().enumerate() {
                if self.lsoas[i].rings.is_empty() {
                    continue;
                }
                let (c0, r0) = grid.cell(b[0], b[1]);
                let (c1, r1) = grid.cell(b[2], b[3]);
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        grid.cells[r * grid.cols + c].push(i as u32);
                    }
                }
            }
        }
        self.grid = grid;
    }

    /// The LSOA with this code.
    pub fn lsoa(&self, code: &str) -> Option<&Lsoa> {
        self.by_code.get(code).map(|&i| &self.lsoas[i])
    }

    /// True when any boundary is loaded.
    pub fn has_boundaries(&self) -> bool {
        !self.grid.cells.is_empty()
    }

    /// The LSOA (code, name) containing a BNG point, when boundaries are loaded.
    pub fn locate(&self, x: f64, y: f64) -> Option<(&str, &str)> {
        let g = &self.grid;
        if g.cells.is_empty() || x < g.x0 || y < g.y0 {
            return None;
        }
        let (c, r) = ((x - g.x0) / PIP_CELL, (y - g.y0) / PIP_CELL);
        if c as usize >= g.cols || r as usize >= g.rows {
            return None;
        }
        for &i in &g.cells[r as usize * g.cols + c as usize] {
            let b = g.bbox[i as usize];
            if x < b[0] || x > b[2] || y < b[1] || y > b[3] {
                continue;
            }
            let l = &self.lsoas[i as usize];
            if point_in_rings(x, y, &l.rings) {
                return Some((&l.code, &l.name));
            }
        }
        None
    }

    /// Finds a local authority by code (E09000020) or name (case-insensitive).
    pub fn area(&self, query: &str) -> Result<Area, InsightError> {
        let q = query.trim();
        let norm = |s: &str| {
            s.to_lowercase()
                .replace(['&', ','], " and ")
                .split_whitespace()
                .filter(|w| !matches!(*w, "ua" | "and" | "the" | "london" | "borough" | "of"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // Exact code, then exact name (no allocation per LSOA), then a loose name match
        // over the distinct local authorities ("Kensington & Chelsea", "Hull UA").
        let hit = self
            .by_la
            .get(&q.to_ascii_uppercase())
            .and_then(|v| v.first())
            .map(|&i| &self.lsoas[i])
            .or_else(|| {
                self.lsoas
                    .iter()
                    .find(|l| l.la_name.eq_ignore_ascii_case(q))
            })
            .map(|l| (l.la_code.clone(), l.la_name.clone()))
            .or_else(|| {
                let qn = norm(q);
                (!qn.is_empty())
                    .then(|| {
                        self.local_authorities()
                            .into_iter()
                            .find(|(_, n)| norm(n) == qn)
                    })
                    .flatten()
            })
            .ok_or_else(|| InsightError::UnknownArea(query.to_string()))?;
        let (code, name) = hit;
        let lsoas = self
            .by_la
            .get(&code)
            .map(|v| v.iter().map(|&i| self.lsoas[i].code.clone()).collect())
            .unwrap_or_default();
        Ok(Area { code, name, lsoas })
    }

    /// Local authorities (code, name) in code order.
    pub fn local_authorities(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .lsoas
            .iter()
            .map(|l| (l.la_code.clone(), l.la_name.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

impl PipGrid {
    fn cell(&self, x: f64, y: f64) -> (usize, usize) {
        let c = (((x - self.x0) / PIP_CELL) as usize).min(self.cols - 1);
        let r = (((y - self.y0) / PIP_CELL) as usize).min(self.rows - 1);
        (c, r)
    }
}

/// Even-odd point-in-polygon test over all rings (outer rings and holes).
pub fn point_in_rings(x: f64, y: f64, rings: &[Ring]) -> bool {
    let mut inside = false;
    for ring in rings {
        let n = ring.len();
        if n < 3 {
            continue;
        }
        let mut j = n - 1;
        for i in 0..n {
            let (xi, yi) = (ring[i][0], ring[i][1]);
            let (xj, yj) = (ring[j][0], ring[j][1]);
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
    }
    inside
}

fn geo_err(path: &Path, line: u64, reason: impl Into<String>) -> InsightError {
    InsightError::GeoFile {
        path: path.display().to_string(),
        line,
        reason: reason.into(),
    }
}

fn find_col(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.as_str()))
}

fn read_header(path: &Path) -> Result<(csv::Reader<fs::File>, Vec<String>), InsightError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| geo_err(path, 0, e.to_string()))?;
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| geo_err(path, 1, e.to_string()))?
    {
        return Err(geo_err(path, 1, "the file is empty"));
    }
    let header = rec
        .iter()
        .map(crate::model::normalise_header_field)
        .collect();
    Ok((rdr, header))
}

/// Parses the ONS LSOA lookup (LSOA → MSOA → local authority → region → force).
pub fn read_lookup(path: &Path) -> Result<Vec<Lsoa>, InsightError> {
    let (mut rdr, h) = read_header(path)?;
    let col = |names: &[&str], what: &str| {
        find_col(&h, names).ok_or_else(|| {
            geo_err(
                path,
                1,
                format!("no {what} column in header {:?}", h.join(",")),
            )
        })
    };
    let lsoa = col(&["lsoa code", "lsoa11cd", "lsoa21cd"], "LSOA code")?;
    let lsoa_nm = col(&["lsoa name", "lsoa11nm", "lsoa21nm"], "LSOA name")?;
    let msoa = col(&["msoa code", "msoa11cd", "msoa21cd"], "MSOA code")?;
    let msoa_nm = col(&["msoa name", "msoa11nm", "msoa21nm"], "MSOA name")?;
    let la = col(
        &[
            "local authority code",
            "lad11cd",
            "lad17cd",
            "lad21cd",
            "ladcd",
        ],
        "local authority code",
    )?;
    let la_nm = col(
        &[
            "local authority name",
            "lad11nm",
            "lad17nm",
            "lad21nm",
            "ladnm",
        ],
        "local authority name",
    )?;
    let region = find_col(&h, &["region name", "rgn11nm"]);
    let force = find_col(&h, &["police_force", "police force", "pfa11nm", "pfa17nm"]);
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .map_err(|e| geo_err(path, out.len() as u64 + 2, e.to_string()))?
    {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let code = get(lsoa);
        if code.is_empty() {
            return Err(geo_err(path, line, "LSOA code is empty"));
        }
        out.push(Lsoa {
            code,
            name: get(lsoa_nm),
            msoa_code: get(msoa),
            msoa_name: get(msoa_nm),
            la_code: get(la),
            la_name: get(la_nm),
            region: region.map(get).unwrap_or_default(),
            force: force.map(get).unwrap_or_default(),
            population: None,
            rings: Vec::new(),
        });
    }
    Ok(out)
}

/// Parses a census population count such as "1,563".
pub fn parse_count(s: &str) -> Option<u32> {
    let digits: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ')
        .collect();
    digits.parse().ok()
}

/// Parses the LSOA population CSV (first "Persons" column), returning code → persons.
pub fn read_population(path: &Path) -> Result<HashMap<String, u32>, InsightError> {
    let (mut rdr, h) = read_header(path)?;
    let code = find_col(&h, &["lsoa code", "lsoa11cd", "lsoa21cd"])
        .ok_or_else(|| geo_err(path, 1, "no LSOA Code column"))?;
    // The ONS file repeats "Persons" (all, in households, in communal establishments): the
    // first is the total resident population.
    let persons = find_col(
        &h,
        &["persons", "all ages", "population", "all usual residents"],
    )
    .ok_or_else(|| geo_err(path, 1, "no Persons column"))?;
    let mut out = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .map_err(|e| geo_err(path, out.len() as u64 + 2, e.to_string()))?
    {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let c = rec.get(code).unwrap_or("").trim();
        if c.is_empty() {
            continue;
        }
        let raw = rec.get(persons).unwrap_or("");
        let n = parse_count(raw)
            .ok_or_else(|| geo_err(path, line, format!("Persons {raw:?} is not a number")))?;
        out.insert(c.to_string(), n);
    }
    Ok(out)
}

/// Parses LSOA boundaries from GeoJSON (WGS84), returning code → rings in BNG metres.
pub fn read_boundaries(path: &Path) -> Result<HashMap<String, Vec<Ring>>, InsightError> {
    let bytes = fs::read(path).map_err(|e| InsightError::io(path, e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| geo_err(path, e.line() as u64, e.to_string()))?;
    let features = v
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| geo_err(path, 0, "not a GeoJSON FeatureCollection"))?;
    let mut out = HashMap::new();
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties");
        let code = ["LSOA11CD", "LSOA21CD", "lsoa11cd", "code"]
            .iter()
            .find_map(|k| props.and_then(|p| p.get(*k)).and_then(|c| c.as_str()))
            .ok_or_else(|| geo_err(path, 0, format!("feature {i} has no LSOA11CD property")))?;
        let geom = f
            .get("geometry")
            .ok_or_else(|| geo_err(path, 0, format!("feature {i} ({code}) has no geometry")))?;
        let kind = geom.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let coords = geom.get("coordinates");
        let polys: Vec<&serde_json::Value> = match (kind, coords) {
            ("Polygon", Some(c)) => vec![c],
            ("MultiPolygon", Some(serde_json::Value::Array(ps))) => ps.iter().collect(),
            _ => {
                return Err(geo_err(
                    path,
                    0,
                    format!(
                        "feature {i} ({code}) geometry {kind:?} is not a Polygon or MultiPolygon"
                    ),
                ));
            }
        };
        let mut rings = Vec::new();
        for poly in polys {
            for ring in poly.as_array().into_iter().flatten() {
                let pts: Ring = ring
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let lon = p.get(0)?.as_f64()?;
                        let lat = p.get(1)?.as_f64()?;
                        let (e, n) = wgs84_to_bng(lon, lat);
                        Some([(e * 10.0).round() / 10.0, (n * 10.0).round() / 10.0])
                    })
                    .collect();
                if pts.len() >= 3 {
                    rings.push(pts);
                }
            }
        }
        out.insert(code.to_string(), rings);
    }
    Ok(out)
}

/// Imports the ONS lookup (required), population and boundaries into `<store>/geo/geo.json`.
pub fn import_geo(
    store_dir: &Path,
    lookup: &Path,
    population: Option<&Path>,
    boundaries: Option<&Path>,
) -> Result<GeoReport, InsightError> {
    let mut lsoas = read_lookup(lookup)?;
    let pop = population.map(read_population).transpose()?;
    let bounds = boundaries.map(read_boundaries).transpose()?;
    let (mut with_pop, mut with_bound) = (0, 0);
    for l in &mut lsoas {
        if let Some(p) = pop.as_ref().and_then(|p| p.get(&l.code)) {
            l.population = Some(*p);
            with_pop += 1;
        }
        if let Some(r) = bounds.as_ref().and_then(|b| b.get(&l.code)) {
            l.rings = r.clone();
            with_bound += 1;
        }
    }
    let mut geo = Geo {
        lsoas,
        ..Geo::default()
    };
    geo.build_indexes();
    let report = GeoReport {
        lsoas: geo.lsoas.len(),
        local_authorities: geo.local_authorities().len(),
        with_population: with_pop,
        with_boundary: with_bound,
    };
    let dir = store_dir.join("geo");
    fs::create_dir_all(&dir).map_err(|e| InsightError::io(&dir, e))?;
    let bytes = serde_json::to_vec(&geo)
        .map_err(|e| InsightError::Invalid(format!("cannot encode geography: {e}")))?;
    let tmp = dir.join("geo.json.tmp");
    fs::write(&tmp, bytes).map_err(|e| InsightError::io(&tmp, e))?;
    let path = geo_path(store_dir);
    fs::rename(&tmp, &path).map_err(|e| InsightError::io(&path, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_thousands_separators() {
        assert_eq!(parse_count("1,563"), Some(1563));
        assert_eq!(parse_count(" 46 "), Some(46));
        assert_eq!(parse_count("12,345,678"), Some(12_345_678));
        assert_eq!(parse_count("n/a"), None);
    }

    #[test]
    fn point_in_square_with_hole() {
        let outer = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let hole = vec![[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0]];
        let rings = vec![outer, hole];
        assert!(point_in_rings(1.0, 1.0, &rings));
        assert!(!point_in_rings(5.0, 5.0, &rings));
        assert!(!point_in_rings(11.0, 5.0, &rings));
    }
}

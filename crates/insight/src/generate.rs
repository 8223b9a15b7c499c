//! Deterministic synthetic police.uk data (street, outcomes, stop and search) in month folders.
//! Uses real LSOA codes from an ONS lookup when given, else a synthetic geography it also writes.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::bng::bng_to_wgs84;
use crate::error::InsightError;
use crate::geo::read_lookup;
use crate::model::Month;

/// Generator settings.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seed: the same seed and options give byte-identical files.
    pub seed: u64,
    /// First month.
    pub start: Month,
    /// Number of months.
    pub months: u32,
    /// Street rows per month over all forces (England and Wales: about 540,000).
    pub street_rows_per_month: u64,
    /// Write outcomes files.
    pub outcomes: bool,
    /// Write stop-and-search files.
    pub stop_search: bool,
    /// Folder with `lsoa-lookup-2011.csv` (and optionally `london-lsoa-2011.geojson`) for
    /// real LSOA codes; None writes a synthetic geography under `<dir>/geo/`.
    pub geo_dir: Option<PathBuf>,
    /// Local authorities of the synthetic geography.
    pub synthetic_areas: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            start: Month::from_ym(2019, 1).expect("valid month"),
            months: 12,
            street_rows_per_month: 20_000,
            outcomes: true,
            stop_search: true,
            geo_dir: None,
            synthetic_areas: 6,
        }
    }
}

/// What the generator wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenReport {
    /// CSV files written.
    pub files: u64,
    /// Street rows.
    pub street_rows: u64,
    /// Outcome rows.
    pub outcome_rows: u64,
    /// Stop-and-search rows.
    pub stop_rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Synthetic geography files written (lookup, population, boundaries), if any.
    pub geo_files: Vec<PathBuf>,
}

/// SplitMix64: small, fast and stable across versions (unlike library RNGs' seeding).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n.max(1) as u128) >> 64) as u64
    }
    /// Index drawn from cumulative weights.
    pub fn pick(&mut self, cum: &[f64]) -> usize {
        let total = cum.last().copied().unwrap_or(0.0);
        let x = self.f64() * total;
        cum.partition_point(|&c| c <= x)
            .min(cum.len().saturating_sub(1))
    }
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

const CATEGORIES: [(&str, f64); 14] = [
    ("Anti-social behaviour", 0.28),
    ("Violence and sexual offences", 0.26),
    ("Criminal damage and arson", 0.08),
    ("Other theft", 0.07),
    ("Burglary", 0.06),
    ("Vehicle crime", 0.06),
    ("Shoplifting", 0.055),
    ("Public order", 0.05),
    ("Drugs", 0.025),
    ("Other crime", 0.015),
    ("Theft from the person", 0.013),
    ("Bicycle theft", 0.013),
    ("Robbery", 0.012),
    ("Possession of weapons", 0.007),
];

const LAST_OUTCOMES: [(&str, f64); 12] = [
    ("Investigation complete; no suspect identified", 0.35),
    ("Unable to prosecute suspect", 0.25),
    ("Under investigation", 0.12),
    ("Status update unavailable", 0.05),
    ("Awaiting court outcome", 0.05),
    ("Offender given a caution", 0.02),
    ("Local resolution", 0.03),
    ("Court result unavailable", 0.04),
    ("Formal action is not in the public interest", 0.02),
    ("Further investigation is not in the public interest", 0.02),
    ("Offender given a drugs possession warning", 0.01),
    ("Action to be taken by another organisation", 0.04),
];

const OUTCOME_TYPES: [(&str, f64); 8] = [
    ("Investigation complete; no suspect identified", 0.4),
    ("Unable to prosecute suspect", 0.25),
    ("Suspect charged", 0.08),
    ("Offender given a caution", 0.05),
    ("Local resolution", 0.07),
    ("Offender sent to prison", 0.03),
    ("Offender fined", 0.04),
    ("Defendant found not guilty", 0.08),
];

const STREETS: [&str; 24] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Road",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Kings Road",
    "Queens Road",
    "Mill Lane",
    "School Lane",
    "The Avenue",
    "Grove Road",
    "London Road",
    "Albert Road",
    "Market Place",
    "Parking Area",
    "Supermarket",
    "Shopping Area",
    "Petrol Station",
    "Nightclub",
    "Sports/Recreation Area",
    "Hospital",
    "Further/Higher Educational Building",
];

type Choice = (&'static str, f64);
const SS_TYPE: [Choice; 3] = [
    ("Person search", 0.8),
    ("Person and Vehicle search", 0.15),
    ("Vehicle search", 0.05),
];
const SS_GENDER: [Choice; 3] = [("Male", 0.88), ("Female", 0.11), ("Other", 0.01)];
const SS_AGE: [Choice; 6] = [
    ("10-17", 0.15),
    ("18-24", 0.4),
    ("25-34", 0.23),
    ("over 34", 0.18),
    ("under 10", 0.01),
    ("", 0.03),
];
const SS_ETH: [Choice; 5] = [
    (
        "White - English/Welsh/Scottish/Northern Irish/British",
        0.55,
    ),
    (
        "Black/African/Caribbean/Black British - Any other Black/African/Caribbean background",
        0.15,
    ),
    ("Asian/Asian British - Any other Asian background", 0.12),
    (
        "Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background",
        0.05,
    ),
    ("", 0.13),
];
const SS_OFFICER_ETH: [Choice; 5] = [
    ("White", 0.6),
    ("Black", 0.18),
    ("Asian", 0.13),
    ("Other", 0.03),
    ("", 0.06),
];
const SS_LEG: [Choice; 4] = [
    ("Misuse of Drugs Act 1971 (section 23)", 0.6),
    ("Police and Criminal Evidence Act 1984 (section 1)", 0.3),
    (
        "Criminal Justice and Public Order Act 1994 (section 60)",
        0.05,
    ),
    ("Firearms Act 1968 (section 47)", 0.05),
];
const SS_OBJECT: [Choice; 6] = [
    ("Controlled drugs", 0.6),
    ("Offensive weapons", 0.15),
    ("Stolen goods", 0.12),
    ("Article for use in theft", 0.08),
    ("Firearms", 0.02),
    ("Anything to threaten or harm anyone", 0.03),
];
const SS_OUTCOME: [Choice; 6] = [
    ("A no further action disposal", 0.7),
    ("Arrest", 0.13),
    ("Community resolution", 0.07),
    ("Khat or Cannabis warning", 0.06),
    ("Penalty Notice for Disorder", 0.02),
    ("Summons / charged by post", 0.02),
];

fn choose(rng: &mut Rng, table: &[Choice]) -> &'static str {
    let x = rng.f64() * table.iter().map(|c| c.1).sum::<f64>();
    let mut acc = 0.0;
    for (v, w) in table {
        acc += w;
        if x < acc {
            return v;
        }
    }
    table[table.len() - 1].0
}

/// A place crimes are generated in.
#[derive(Debug, Clone)]
struct Place {
    code: String,
    name: String,
    /// Anonymous snap points (lon, lat) of the LSOA.
    points: Vec<(f64, f64, usize)>,
    weight: f64,
}

#[derive(Debug, Clone)]
struct Force {
    slug: String,
    name: String,
    places: Vec<Place>,
    cum: Vec<f64>,
    share: f64,
}

fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn lognormal_weight(rng: &mut Rng) -> f64 {
    // Sum of uniforms ≈ normal; exp gives the skew of real crime concentration.
    let n: f64 = (0..4).map(|_| rng.f64()).sum::<f64>() - 2.0;
    (1.6 * n).exp()
}

fn snap_points(rng: &mut Rng, lon: f64, lat: f64, spread: f64) -> Vec<(f64, f64, usize)> {
    let k = 6 + rng.below(14) as usize;
    (0..k)
        .map(|_| {
            (
                lon + (rng.f64() - 0.5) * spread * 1.6,
                lat + (rng.f64() - 0.5) * spread,
                rng.below(STREETS.len() as u64) as usize,
            )
        })
        .collect()
}

fn centroids_from_geojson(path: &Path) -> BTreeMap<String, (f64, f64)> {
    let Ok(bytes) = fs::read(path) else {
        return BTreeMap::new();
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for f in v
        .get("features")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
    {
        let p = f.get("properties");
        let code = p.and_then(|p| p.get("LSOA11CD")).and_then(|c| c.as_str());
        let lon = p.and_then(|p| p.get("LONG")).and_then(|c| c.as_f64());
        let lat = p.and_then(|p| p.get("LAT")).and_then(|c| c.as_f64());
        if let (Some(c), Some(lon), Some(lat)) = (code, lon, lat) {
            out.insert(c.to_string(), (lon, lat));
        }
    }
    out
}

fn real_forces(geo_dir: &Path, rng: &mut Rng) -> Result<Vec<Force>, InsightError> {
    let lsoas = read_lookup(&geo_dir.join("lsoa-lookup-2011.csv"))?;
    let centroids = centroids_from_geojson(&geo_dir.join("london-lsoa-2011.geojson"));
    let mut by_force: BTreeMap<String, Vec<Place>> = BTreeMap::new();
    let mut la_centre: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for l in &lsoas {
        let (lon, lat) = match centroids.get(&l.code) {
            Some(c) => *c,
            None => {
                let c = *la_centre
                    .entry(l.la_code.clone())
                    .or_insert_with(|| (-4.3 + rng.f64() * 5.6, 50.7 + rng.f64() * 4.0));
                (
                    c.0 + (rng.f64() - 0.5) * 0.12,
                    c.1 + (rng.f64() - 0.5) * 0.08,
                )
            }
        };
        // LSOAs without a force in the lookup are grouped by region (a region can share its
        // name with a force, hence the suffix).
        let force = if l.force.is_empty() {
            format!("{} region", l.region)
        } else {
            l.force.clone()
        };
        let weight = lognormal_weight(rng);
        let points = snap_points(rng, lon, lat, 0.004);
        by_force.entry(force).or_default().push(Place {
            code: l.code.clone(),
            name: l.name.clone(),
            points,
            weight,
        });
    }
    Ok(make_forces(by_force))
}

fn make_forces(by_force: BTreeMap<String, Vec<Place>>) -> Vec<Force> {
    let total: f64 = by_force.values().map(|v| v.len() as f64).sum();
    by_force
        .into_iter()
        .map(|(name, places)| {
            let cum = cumulative(&places.iter().map(|p| p.weight).collect::<Vec<_>>());
            Force {
                slug: slugify(&name),
                name: format!("{name} Police"),
                share: places.len() as f64 / total,
                places,
                cum,
            }
        })
        .collect()
}

/// Writes the synthetic geography (lookup, population, square LSOA boundaries) and returns forces.
fn synthetic_forces(
    dir: &Path,
    opts: &GenOptions,
    rng: &mut Rng,
    report: &mut GenReport,
) -> Result<Vec<Force>, InsightError> {
    let geo = dir.join("geo");
    fs::create_dir_all(&geo).map_err(|e| InsightError::io(&geo, e))?;
    let mut lookup = String::from(
        "Region code,Region name,Local authority code,Local authority name,MSOA Code,MSOA Name,LSOA Code,LSOA Name,Police_force\n",
    );
    let mut pop = String::from("LSOA Code,LSOA Name,Persons\n");
    let mut features = Vec::new();
    let mut by_force: BTreeMap<String, Vec<Place>> = BTreeMap::new();
    let side = 12; // 12 × 12 LSOAs of 400 m per synthetic borough
    let cell = 400.0;
    for a in 0..opts.synthetic_areas.max(1) {
        let la_code = format!("E09{:06}", 900_001 + a);
        let la_name = format!("Synthetic Borough {}", a + 1);
        let force = format!("Synthetic {}", ["North", "South", "East", "West"][a % 4]);
        let (x0, y0) = (
            520_000.0 + (a % 4) as f64 * 6_000.0,
            170_000.0 + (a / 4) as f64 * 6_000.0,
        );
        for i in 0..side * side {
            let n = a * side * side + i;
            let code = format!("E01{:06}", 900_001 + n);
            let msoa = format!("E02{:06}", 900_001 + n / 6);
            let name = format!(
                "{la_name} {:03}{}",
                i / 6 + 1,
                (b'A' + (i % 6) as u8) as char
            );
            let (cx, cy) = (x0 + (i % side) as f64 * cell, y0 + (i / side) as f64 * cell);
            lookup.push_str(&format!(
                "E12000007,LONDON,{la_code},{la_name},{msoa},{la_name} {:03},{code},{name},{force}\n",
                i / 6 + 1
            ));
            let persons = 1_200 + rng.below(900);
            pop.push_str(&format!(
                "{code},{name},\"{},{:03}\"\n",
                persons / 1000,
                persons % 1000
            ));
            let ring: Vec<String> = [
                (0.0, 0.0),
                (cell, 0.0),
                (cell, cell),
                (0.0, cell),
                (0.0, 0.0),
            ]
            .iter()
            .map(|(dx, dy)| {
                let (lon, lat) = bng_to_wgs84(cx + dx, cy + dy);
                format!("[{lon:.7},{lat:.7}]")
            })
            .collect();
            features.push(format!(
                "{{\"type\":\"Feature\",\"properties\":{{\"LSOA11CD\":\"{code}\",\"LSOA11NM\":\"{name}\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}}}",
                ring.join(",")
            ));
            let (lon, lat) = bng_to_wgs84(cx + cell / 2.0, cy + cell / 2.0);
            let weight = lognormal_weight(rng);
            let points = snap_points(rng, lon, lat, 0.003);
            by_force.entry(force.clone()).or_default().push(Place {
                code,
                name,
                points,
                weight,
            });
        }
    }
    let files = [
        ("lsoa-lookup.csv", lookup),
        ("lsoa-population.csv", pop),
        (
            "lsoa-boundaries.geojson",
            format!(
                "{{\"type\":\"FeatureCollection\",\"features\":[{}]}}",
                features.join(",")
            ),
        ),
    ];
    for (name, text) in files {
        let p = geo.join(name);
        fs::write(&p, text).map_err(|e| InsightError::io(&p, e))?;
        report.geo_files.push(p);
    }
    Ok(make_forces(by_force))
}

fn csv_quote(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn hex_id(rng: &mut Rng) -> String {
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64()
    )
}

/// Generates police.uk-format files into `dir` (month folders `YYYY-MM/`).
pub fn generate(dir: &Path, opts: &GenOptions) -> Result<GenReport, InsightError> {
    let mut report = GenReport::default();
    let mut rng = Rng::new(opts.seed);
    let mut forces = match &opts.geo_dir {
        Some(g) => real_forces(g, &mut rng)?,
        None => synthetic_forces(dir, opts, &mut rng, &mut report)?,
    };
    if opts.geo_dir.is_some() {
        // British Transport Police: a thin layer of rail crime over every force area.
        let places: Vec<Place> = forces
            .iter()
            .flat_map(|f| f.places.iter().step_by(40).cloned())
            .collect();
        let cum = cumulative(&places.iter().map(|p| p.weight).collect::<Vec<_>>());
        forces.iter_mut().for_each(|f| f.share *= 0.99);
        forces.push(Force {
            slug: "btp".into(),
            name: "British Transport Police".into(),
            places,
            cum,
            share: 0.01,
        });
    }
    let cat_cum = cumulative(&CATEGORIES.iter().map(|c| c.1).collect::<Vec<_>>());
    let out_cum = cumulative(&LAST_OUTCOMES.iter().map(|c| c.1).collect::<Vec<_>>());
    let otype_cum = cumulative(&OUTCOME_TYPES.iter().map(|c| c.1).collect::<Vec<_>>());
    for k in 0..opts.months {
        let month = opts.start.plus(k as i32);
        let mdir = dir.join(month.to_string());
        fs::create_dir_all(&mdir).map_err(|e| InsightError::io(&mdir, e))?;
        // Seasonality (summer peak) and a gentle downward trend over time.
        let season = 1.0
            + 0.08 * ((month.month_of_year() as f64 - 4.0) / 12.0 * std::f64::consts::TAU).sin();
        let trend = 1.0 - 0.002 * k as f64;
        for force in &forces {
            let n =
                (opts.street_rows_per_month as f64 * force.share * season * trend).round() as u64;
            if n == 0 {
                continue;
            }
            let mut frng = Rng::new(
                opts.seed
                    ^ ((month.0 as u64) << 32)
                    ^ crate::import::fnv1a(&[force.slug.as_bytes()]),
            );
            let street_path = mdir.join(format!("{month}-{}-street.csv", force.slug));
            let mut w = Writer::create(&street_path)?;
            w.line("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context")?;
            let mut outcomes: Vec<String> = Vec::new();
            for _ in 0..n {
                let cat = CATEGORIES[frng.pick(&cat_cum)].0;
                let asb = cat == "Anti-social behaviour";
                let id = if asb {
                    String::new()
                } else {
                    hex_id(&mut frng)
                };
                let outcome = if asb {
                    ""
                } else {
                    LAST_OUTCOMES[frng.pick(&out_cum)].0
                };
                let place = &force.places[frng.pick(&force.cum)];
                let prefix = if frng.f64() < 0.04 {
                    format!("{id},{month},{0},{0},,,No Location,,", force.name)
                } else {
                    let (lon, lat, street) =
                        place.points[frng.below(place.points.len() as u64) as usize];
                    format!(
                        "{id},{month},{0},{0},{lon:.6},{lat:.6},On or near {1},{2},{3}",
                        force.name,
                        STREETS[street],
                        place.code,
                        csv_quote(&place.name)
                    )
                };
                w.line(&format!("{prefix},{cat},{outcome},"))?;
                if opts.outcomes && !asb && frng.f64() < 0.3 {
                    outcomes.push(format!(
                        "{prefix},{}",
                        OUTCOME_TYPES[frng.pick(&otype_cum)].0
                    ));
                }
            }
            report.street_rows += n;
            report.bytes += w.finish()?;
            report.files += 1;
            if opts.outcomes {
                let p = mdir.join(format!("{month}-{}-outcomes.csv", force.slug));
                let mut w = Writer::create(&p)?;
                w.line("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type")?;
                for o in &outcomes {
                    w.line(o)?;
                }
                report.outcome_rows += outcomes.len() as u64;
                report.bytes += w.finish()?;
                report.files += 1;
            }
            if opts.stop_search {
                let p = mdir.join(format!("{month}-{}-stop-and-search.csv", force.slug));
                let mut w = Writer::create(&p)?;
                w.line("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,Outcome linked to object of search,Removal of more than just outer clothing")?;
                let m = (n as f64 * 0.08).round() as u64;
                for _ in 0..m {
                    let place = &force.places[frng.pick(&force.cum)];
                    let (lat, lon) = if frng.f64() < 0.05 {
                        (String::new(), String::new())
                    } else {
                        let (lon, lat, _) =
                            place.points[frng.below(place.points.len() as u64) as usize];
                        (format!("{lat:.6}"), format!("{lon:.6}"))
                    };
                    let day = 1 + frng.below(28);
                    let (hh, mm) = (frng.below(24), frng.below(60));
                    let linked = if frng.f64() < 0.2 { "True" } else { "False" };
                    let removal = if frng.f64() < 0.03 { "True" } else { "False" };
                    w.line(&format!(
                        "{},{month}-{day:02}T{hh:02}:{mm:02}:00+00:00,False,,{lat},{lon},{},{},{},{},{},{},{},{linked},{removal}",
                        choose(&mut frng, &SS_TYPE),
                        choose(&mut frng, &SS_GENDER),
                        choose(&mut frng, &SS_AGE),
                        choose(&mut frng, &SS_ETH),
                        choose(&mut frng, &SS_OFFICER_ETH),
                        choose(&mut frng, &SS_LEG),
                        choose(&mut frng, &SS_OBJECT),
                        choose(&mut frng, &SS_OUTCOME),
                    ))?;
                }
                report.stop_rows += m;
                report.bytes += w.finish()?;
                report.files += 1;
            }
        }
    }
    Ok(report)
}

/// A CRLF line writer (police.uk files use CRLF).
struct Writer {
    path: PathBuf,
    w: BufWriter<File>,
    bytes: u64,
}

impl Writer {
    fn create(path: &Path) -> Result<Writer, InsightError> {
        let f = File::create(path).map_err(|e| InsightError::io(path, e))?;
        Ok(Writer {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 20, f),
            bytes: 0,
        })
    }
    fn line(&mut self, s: &str) -> Result<(), InsightError> {
        self.bytes += s.len() as u64 + 2;
        self.w
            .write_all(s.as_bytes())
            .and_then(|_| self.w.write_all(b"\r\n"))
            .map_err(|e| InsightError::io(&self.path, e))
    }
    fn finish(mut self) -> Result<u64, InsightError> {
        self.w
            .flush()
            .map_err(|e| InsightError::io(&self.path, e))?;
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_stable() {
        let mut r = Rng::new(42);
        let a: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut r2 = Rng::new(42);
        let b: Vec<u64> = (0..3).map(|_| r2.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        let mut r3 = Rng::new(7);
        assert!((0..1000).all(|_| r3.below(10) < 10));
    }

    #[test]
    fn slugs_match_police_uk_style() {
        assert_eq!(slugify("Devon and Cornwall"), "devon-and-cornwall");
        assert_eq!(slugify("Metropolitan Police"), "metropolitan-police");
    }
}

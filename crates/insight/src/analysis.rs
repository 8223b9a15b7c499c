//! Analyses over rows loaded from the store: counts, harm, rates, change flags, seasonality,
//! Getis-Ord Gi* hotspots with Benjamini–Hochberg FDR, outcome shares and stop-and-search summaries.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::model::FastMap as HashMap;

use crate::geo::Geo;
use crate::harm::HarmTable;
use crate::model::{Month, NO_COORD, NONE16, NONE32};
use crate::store::{Dicts, Frame};

/// Street frame column indices.
pub mod street {
    /// Month.
    pub const MONTH: usize = 0;
    /// Crime type id.
    pub const CATEGORY: usize = 1;
    /// Last outcome id.
    pub const OUTCOME: usize = 2;
    /// LSOA id.
    pub const LSOA: usize = 5;
    /// BNG easting.
    pub const X: usize = 6;
    /// BNG northing.
    pub const Y: usize = 7;
}

/// Stop-and-search frame column indices.
pub mod stop {
    /// Month.
    pub const MONTH: usize = 0;
    /// Search type.
    pub const KIND: usize = 1;
    /// Gender.
    pub const GENDER: usize = 2;
    /// Age range.
    pub const AGE: usize = 3;
    /// Self-defined ethnicity.
    pub const SELF_ETHNICITY: usize = 4;
    /// Officer-defined ethnicity.
    pub const OFFICER_ETHNICITY: usize = 5;
    /// Legislation.
    pub const LEGISLATION: usize = 6;
    /// Object of search.
    pub const OBJECT: usize = 7;
    /// Outcome.
    pub const OUTCOME: usize = 8;
    /// Flags: bits 0-1 part of operation, 2-3 outcome linked to object, 4-5 removal of clothing.
    pub const FLAGS: usize = 10;
}

/// The category name police.uk uses for anti-social behaviour.
pub const ASB: &str = "Anti-social behaviour";

/// True for the ASB category (not a crime: excluded from crime totals, weight 0).
pub fn is_asb(name: &str) -> bool {
    name.eq_ignore_ascii_case(ASB)
}

/// Count and harm for one month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthPoint {
    /// `YYYY-MM`.
    pub month: String,
    /// Crimes (ASB excluded).
    pub crimes: u64,
    /// ASB incidents.
    pub asb: u64,
    /// Harm in days of custody.
    pub harm: f64,
}

/// Count of one crime type in one month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthTypeCount {
    /// `YYYY-MM`.
    pub month: String,
    /// Crime type.
    pub category: String,
    /// Rows.
    pub count: u64,
}

/// Totals of one crime type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeTotal {
    /// Crime type.
    pub category: String,
    /// Rows.
    pub count: u64,
    /// Weight used (days), None when the harm table has no weight for this type.
    pub weight: Option<f64>,
    /// count × weight.
    pub harm: f64,
}

/// Counts, harm and rates for one LSOA or MSOA.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaRate {
    /// ONS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Crimes (ASB excluded).
    pub crimes: u64,
    /// ASB incidents.
    pub asb: u64,
    /// Harm (days).
    pub harm: f64,
    /// Residents (census), when loaded.
    pub population: Option<u32>,
    /// Crimes per 1,000 residents over the period.
    pub crimes_per_1000: Option<f64>,
    /// Crimes per 1,000 residents per year.
    pub crimes_per_1000_per_year: Option<f64>,
    /// Harm per 1,000 residents over the period.
    pub harm_per_1000: Option<f64>,
}

/// A change flag (standards §5): z = 2(√current − √expected), flagged when |z| > 2.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeFlag {
    /// Crime type, or "All crime".
    pub category: String,
    /// Count in the current window.
    pub current: u64,
    /// Expected count: baseline monthly mean × current window length.
    pub expected: f64,
    /// Poisson z.
    pub z: f64,
    /// |z| > 2.
    pub flagged: bool,
    /// "up", "down" or "steady".
    pub direction: String,
}

/// Windows of the change flags.
#[derive(Debug, Clone, Copy)]
pub struct ChangeWindows {
    /// Months in the current window (ending at the last month).
    pub current_months: u16,
    /// Months in the baseline window (just before the current window).
    pub baseline_months: u16,
}

impl Default for ChangeWindows {
    fn default() -> Self {
        ChangeWindows {
            current_months: 3,
            baseline_months: 12,
        }
    }
}

/// Month-of-year profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeasonPoint {
    /// 1 = January.
    pub month_of_year: u32,
    /// Mean crimes in this calendar month over the years covered.
    pub mean: f64,
    /// mean / mean over all months (1.0 = average).
    pub index: f64,
    /// Years contributing.
    pub years: u32,
}

/// A category's count and share.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Share {
    /// Value ("Under investigation", "18-24", ...).
    pub value: String,
    /// Rows.
    pub count: u64,
    /// count / total.
    pub share: f64,
}

/// One grid cell of the hotspot analysis.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HotCell {
    /// BNG easting of the cell's south-west corner.
    pub x: i64,
    /// BNG northing of the cell's south-west corner.
    pub y: i64,
    /// Crimes in the cell.
    pub count: u64,
    /// Gi* z-score.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Benjamini–Hochberg adjusted p-value.
    pub q: f64,
    /// "hot", "cold" or "" (not significant at the FDR level).
    pub kind: String,
}

/// Result of the hotspot analysis.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hotspots {
    /// Cell size (metres).
    pub cell_size: u32,
    /// False discovery rate used.
    pub fdr: f64,
    /// Cells analysed (including empty ones inside the area).
    pub cells_analysed: usize,
    /// Cells with crimes or significant, in row-major order.
    pub cells: Vec<HotCell>,
}

fn month_range(frame: &Frame) -> Option<(Month, Month)> {
    let m = frame.u16(street::MONTH);
    Some((Month(*m.iter().min()?), Month(*m.iter().max()?)))
}

fn months_between(from: Month, to: Month) -> Vec<Month> {
    (from.0..=to.0).map(Month).collect()
}

/// Crimes, ASB and harm for every month from `from` to `to` (zeros included).
pub fn monthly_series(
    frame: &Frame,
    dicts: &Dicts,
    harm: &HarmTable,
    from: Option<Month>,
    to: Option<Month>,
) -> Vec<MonthPoint> {
    let Some((lo, hi)) = month_range(frame) else {
        return Vec::new();
    };
    let (from, to) = (from.unwrap_or(lo), to.unwrap_or(hi));
    let weights = harm.weights_for(dicts.categories.values());
    let asb: Vec<bool> = dicts
        .categories
        .values()
        .iter()
        .map(|c| is_asb(c))
        .collect();
    let n = (to.0.saturating_sub(from.0) + 1) as usize;
    let mut crimes = vec![0u64; n];
    let mut asbs = vec![0u64; n];
    let mut h = vec![0f64; n];
    for (&m, &c) in frame
        .u16(street::MONTH)
        .iter()
        .zip(frame.u16(street::CATEGORY))
    {
        if m < from.0 || m > to.0 {
            continue;
        }
        let i = (m - from.0) as usize;
        if asb[c as usize] {
            asbs[i] += 1;
        } else {
            crimes[i] += 1;
            h[i] += weights[c as usize];
        }
    }
    months_between(from, to)
        .into_iter()
        .enumerate()
        .map(|(i, m)| MonthPoint {
            month: m.to_string(),
            crimes: crimes[i],
            asb: asbs[i],
            harm: h[i],
        })
        .collect()
}

/// Counts per month and crime type (only non-zero combinations), month then type order.
pub fn monthly_by_type(frame: &Frame, dicts: &Dicts) -> Vec<MonthTypeCount> {
    let Some((lo, hi)) = month_range(frame) else {
        return Vec::new();
    };
    let k = dicts.categories.len().max(1);
    let mut counts = vec![0u64; (hi.0 - lo.0 + 1) as usize * k];
    for (&m, &c) in frame
        .u16(street::MONTH)
        .iter()
        .zip(frame.u16(street::CATEGORY))
    {
        counts[(m - lo.0) as usize * k + c as usize] += 1;
    }
    let mut names: Vec<(usize, &str)> = (0..k)
        .map(|c| (c, dicts.categories.value(c as u32)))
        .collect();
    names.sort_by(|a, b| a.1.cmp(b.1));
    let mut out = Vec::new();
    for m in lo.0..=hi.0 {
        let month = Month(m).to_string();
        for &(c, name) in &names {
            let n = counts[(m - lo.0) as usize * k + c];
            if n > 0 {
                out.push(MonthTypeCount {
                    month: month.clone(),
                    category: name.to_string(),
                    count: n,
                });
            }
        }
    }
    out
}

/// Totals per crime type, most frequent first.
pub fn by_type(frame: &Frame, dicts: &Dicts, harm: &HarmTable) -> Vec<TypeTotal> {
    let mut counts = vec![0u64; dicts.categories.len()];
    for &c in frame.u16(street::CATEGORY) {
        counts[c as usize] += 1;
    }
    let mut out: Vec<TypeTotal> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(c, &count)| {
            let category = dicts.categories.value(c as u32).to_string();
            let weight = harm.weight(&category);
            TypeTotal {
                harm: count as f64 * weight.unwrap_or(0.0),
                category,
                count,
                weight,
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.category.cmp(&b.category)));
    out
}

/// Crimes, ASB and harm per LSOA id.
fn per_lsoa(frame: &Frame, dicts: &Dicts, harm: &HarmTable) -> HashMap<u32, (u64, u64, f64)> {
    let weights = harm.weights_for(dicts.categories.values());
    let asb: Vec<bool> = dicts
        .categories
        .values()
        .iter()
        .map(|c| is_asb(c))
        .collect();
    let mut out: HashMap<u32, (u64, u64, f64)> = HashMap::default();
    for (&l, &c) in frame
        .u32(street::LSOA)
        .iter()
        .zip(frame.u16(street::CATEGORY))
    {
        if l == NONE32 {
            continue;
        }
        let e = out.entry(l).or_default();
        if asb[c as usize] {
            e.1 += 1;
        } else {
            e.0 += 1;
            e.2 += weights[c as usize];
        }
    }
    out
}

fn rate(n: f64, pop: Option<u32>, scale: f64) -> Option<f64> {
    pop.filter(|&p| p > 0)
        .map(|p| n / p as f64 * 1000.0 * scale)
}

/// Counts, harm and rates per 1,000 residents for each LSOA in `lsoa_codes` (all LSOAs with
/// rows when None), over `months` months.
pub fn lsoa_rates(
    frame: &Frame,
    dicts: &Dicts,
    harm: &HarmTable,
    geo: Option<&Geo>,
    lsoa_codes: Option<&[String]>,
    months: u32,
) -> Vec<AreaRate> {
    let counts = per_lsoa(frame, dicts, harm);
    let codes: Vec<String> = match lsoa_codes {
        Some(c) => c.to_vec(),
        None => {
            let mut v: Vec<String> = counts
                .keys()
                .map(|&l| dicts.lsoas.value(l).to_string())
                .collect();
            v.sort();
            v
        }
    };
    let per_year = 12.0 / months.max(1) as f64;
    codes
        .into_iter()
        .map(|code| {
            let (crimes, asb, h) = dicts
                .lsoas
                .get(&code)
                .and_then(|id| counts.get(&id).copied())
                .unwrap_or_default();
            let info = geo.and_then(|g| g.lsoa(&code));
            let population = info.and_then(|l| l.population);
            let name = info
                .map(|l| l.name.clone())
                .or_else(|| {
                    dicts
                        .lsoas
                        .get(&code)
                        .and_then(|id| dicts.lsoa_names.get(id as usize).cloned())
                })
                .unwrap_or_default();
            AreaRate {
                crimes_per_1000: rate(crimes as f64, population, 1.0),
                crimes_per_1000_per_year: rate(crimes as f64, population, per_year),
                harm_per_1000: rate(h, population, 1.0),
                code,
                name,
                crimes,
                asb,
                harm: h,
                population,
            }
        })
        .collect()
}

/// Aggregates LSOA figures to MSOAs through the ONS lookup (the lookup has no wards).
pub fn msoa_rates(lsoas: &[AreaRate], geo: &Geo, months: u32) -> Vec<AreaRate> {
    let mut acc: BTreeMap<String, AreaRate> = BTreeMap::new();
    for l in lsoas {
        let Some(info) = geo.lsoa(&l.code) else {
            continue;
        };
        let e = acc
            .entry(info.msoa_code.clone())
            .or_insert_with(|| AreaRate {
                code: info.msoa_code.clone(),
                name: info.msoa_name.clone(),
                crimes: 0,
                asb: 0,
                harm: 0.0,
                population: Some(0),
                crimes_per_1000: None,
                crimes_per_1000_per_year: None,
                harm_per_1000: None,
            });
        e.crimes += l.crimes;
        e.asb += l.asb;
        e.harm += l.harm;
        e.population = match (e.population, l.population) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    let per_year = 12.0 / months.max(1) as f64;
    acc.into_values()
        .map(|mut a| {
            a.crimes_per_1000 = rate(a.crimes as f64, a.population, 1.0);
            a.crimes_per_1000_per_year = rate(a.crimes as f64, a.population, per_year);
            a.harm_per_1000 = rate(a.harm, a.population, 1.0);
            a
        })
        .collect()
}

/// Poisson change z-score of standards §5: 2(√current − √expected).
pub fn poisson_z(current: f64, expected: f64) -> f64 {
    2.0 * (current.max(0.0).sqrt() - expected.max(0.0).sqrt())
}

/// Change flags per crime type (and "All crime") for the current window ending at `last`
/// against the mean of the baseline window just before it.
pub fn change_flags(
    frame: &Frame,
    dicts: &Dicts,
    last: Month,
    windows: ChangeWindows,
) -> Vec<ChangeFlag> {
    let cur_from = last
        .0
        .saturating_sub(windows.current_months.saturating_sub(1));
    let base_to = cur_from.saturating_sub(1);
    let base_from = cur_from.saturating_sub(windows.baseline_months);
    let base_len = (cur_from - base_from) as f64;
    if base_len == 0.0 {
        return Vec::new();
    }
    let k = dicts.categories.len() + 1;
    let mut cur = vec![0u64; k];
    let mut base = vec![0u64; k];
    let all = k - 1;
    for (&m, &c) in frame
        .u16(street::MONTH)
        .iter()
        .zip(frame.u16(street::CATEGORY))
    {
        let asb = is_asb(dicts.categories.value(c as u32));
        let target = if m >= cur_from && m <= last.0 {
            &mut cur
        } else if m >= base_from && m <= base_to {
            &mut base
        } else {
            continue;
        };
        target[c as usize] += 1;
        if !asb {
            target[all] += 1;
        }
    }
    let cur_len = (last.0 - cur_from + 1) as f64;
    let mut out: Vec<ChangeFlag> = (0..k)
        .filter(|&i| cur[i] + base[i] > 0)
        .map(|i| {
            let expected = base[i] as f64 / base_len * cur_len;
            let z = poisson_z(cur[i] as f64, expected);
            ChangeFlag {
                category: if i == all {
                    "All crime".to_string()
                } else {
                    dicts.categories.value(i as u32).to_string()
                },
                current: cur[i],
                expected,
                z,
                flagged: z.abs() > 2.0,
                direction: if z > 2.0 {
                    "up"
                } else if z < -2.0 {
                    "down"
                } else {
                    "steady"
                }
                .to_string(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
    out
}

/// Month-of-year profile of crimes (ASB excluded) from the monthly series.
pub fn seasonality(series: &[MonthPoint]) -> Vec<SeasonPoint> {
    let mut sum = [0f64; 12];
    let mut years = [0u32; 12];
    for p in series {
        if let Ok(m) = Month::parse(&p.month) {
            let i = m.month_of_year() as usize - 1;
            sum[i] += p.crimes as f64;
            years[i] += 1;
        }
    }
    let means: Vec<f64> = (0..12)
        .map(|i| {
            if years[i] > 0 {
                sum[i] / years[i] as f64
            } else {
                0.0
            }
        })
        .collect();
    let present: Vec<f64> = (0..12)
        .filter(|&i| years[i] > 0)
        .map(|i| means[i])
        .collect();
    let overall = present.iter().sum::<f64>() / present.len().max(1) as f64;
    (0..12)
        .map(|i| SeasonPoint {
            month_of_year: i as u32 + 1,
            mean: means[i],
            index: if overall > 0.0 && years[i] > 0 {
                means[i] / overall
            } else {
                0.0
            },
            years: years[i],
        })
        .collect()
}

/// Shares of values in a u16 column (NONE16 shown as `none_label`), largest first.
pub fn shares(
    ids: impl Iterator<Item = u16>,
    dict: &crate::model::Dict,
    none_label: &str,
) -> Vec<Share> {
    let mut counts: HashMap<u16, u64> = HashMap::default();
    let mut total = 0u64;
    for id in ids {
        *counts.entry(id).or_default() += 1;
        total += 1;
    }
    let mut out: Vec<Share> = counts
        .into_iter()
        .map(|(id, count)| Share {
            value: if id == NONE16 {
                none_label.to_string()
            } else {
                dict.value(id as u32).to_string()
            },
            count,
            share: count as f64 / total.max(1) as f64,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
    out
}

/// Last-outcome shares of crimes (ASB has no outcomes and is excluded).
pub fn outcome_shares(frame: &Frame, dicts: &Dicts) -> Vec<Share> {
    let asb: Vec<bool> = dicts
        .categories
        .values()
        .iter()
        .map(|c| is_asb(c))
        .collect();
    let ids = frame
        .u16(street::CATEGORY)
        .iter()
        .zip(frame.u16(street::OUTCOME))
        .filter(|(c, _)| !asb[**c as usize])
        .map(|(_, &o)| o);
    shares(ids, &dicts.outcomes, "(no outcome recorded)")
}

/// Stop-and-search breakdowns.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StopSearchSummary {
    /// Searches.
    pub total: u64,
    /// By age range.
    pub by_age: Vec<Share>,
    /// By object of search.
    pub by_object: Vec<Share>,
    /// By outcome.
    pub by_outcome: Vec<Share>,
    /// By type (person, vehicle, ...).
    pub by_type: Vec<Share>,
    /// By self-defined ethnicity.
    pub by_ethnicity: Vec<Share>,
    /// Share of searches whose outcome was linked to the object of search (of those recorded).
    pub linked_share: Option<f64>,
}

/// Summarises stop-and-search rows.
pub fn stop_search_summary(frame: &Frame, dicts: &Dicts) -> StopSearchSummary {
    let col = |i: usize| frame.u16(i).iter().copied();
    let flags = frame.u16(stop::FLAGS);
    let linked_known = flags.iter().filter(|f| (*f >> 2) & 3 != 0).count();
    let linked_yes = flags.iter().filter(|f| (*f >> 2) & 3 == 1).count();
    StopSearchSummary {
        total: frame.len() as u64,
        by_age: shares(col(stop::AGE), &dicts.terms, "(not recorded)"),
        by_object: shares(col(stop::OBJECT), &dicts.terms, "(not recorded)"),
        by_outcome: shares(col(stop::OUTCOME), &dicts.outcomes, "(not recorded)"),
        by_type: shares(col(stop::KIND), &dicts.terms, "(not recorded)"),
        by_ethnicity: shares(col(stop::SELF_ETHNICITY), &dicts.terms, "(not recorded)"),
        linked_share: (linked_known > 0).then(|| linked_yes as f64 / linked_known as f64),
    }
}

/// Getis-Ord Gi* z-scores on grid cells with binary queen contiguity including the cell itself.
///
/// Matches PySAL esda `G_Local(y, w, transform="B", star=True)` analytic z-scores: with n cells,
/// S = Σy, Gᵢ = Σⱼ∈N(i) yⱼ / S, E = kᵢ/n, V = kᵢ(n−kᵢ)/(n−1) · s²/(n²·ȳ²), z = (G−E)/√V.
pub fn gi_star(cells: &[(i64, i64)], values: &[f64]) -> Vec<f64> {
    let n = cells.len();
    let pos: HashMap<(i64, i64), usize> = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let nf = n as f64;
    let sum: f64 = values.iter().sum();
    let mean = sum / nf;
    let var = values.iter().map(|v| v * v).sum::<f64>() / nf - mean * mean;
    if n < 2 || sum == 0.0 || var <= 0.0 {
        return vec![0.0; n];
    }
    cells
        .iter()
        .map(|&(c, r)| {
            let mut k = 0.0;
            let mut local = 0.0;
            for dr in -1..=1 {
                for dc in -1..=1 {
                    if let Some(&j) = pos.get(&(c + dc, r + dr)) {
                        k += 1.0;
                        local += values[j];
                    }
                }
            }
            let g = local / sum;
            let e = k / nf;
            let v = k * (nf - k) / (nf - 1.0) / (nf * nf) * (var / (mean * mean));
            if v > 0.0 { (g - e) / v.sqrt() } else { 0.0 }
        })
        .collect()
}

/// Complementary error function (Numerical Recipes `erfcc`, fractional error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided normal p-value of a z-score.
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Benjamini–Hochberg adjusted p-values (q-values), in input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; n];
    let mut running = 1.0f64;
    for rank in (0..n).rev() {
        let i = order[rank];
        running = running.min(p[i] * n as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// Hotspot analysis: crimes (ASB excluded) counted on a BNG grid of `cell_size` metres, Gi* per
/// cell, significant where the BH-adjusted p-value ≤ `fdr`. With boundaries, the grid is the
/// cells whose centre lies in the area (plus any cell holding a crime); otherwise the bounding box.
pub fn hotspots(
    frame: &Frame,
    dicts: &Dicts,
    cell_size: u32,
    fdr: f64,
    area_rings: &[&[crate::geo::Ring]],
) -> Hotspots {
    let cs = cell_size.max(1) as i64;
    let asb: Vec<bool> = dicts
        .categories
        .values()
        .iter()
        .map(|c| is_asb(c))
        .collect();
    let mut counts: HashMap<(i64, i64), u64> = HashMap::default();
    let (xs, ys, cats) = (
        frame.i32(street::X),
        frame.i32(street::Y),
        frame.u16(street::CATEGORY),
    );
    for i in 0..frame.len() {
        if xs[i] == NO_COORD || asb[cats[i] as usize] {
            continue;
        }
        *counts
            .entry(((xs[i] as i64).div_euclid(cs), (ys[i] as i64).div_euclid(cs)))
            .or_default() += 1;
    }
    let mut cells: Vec<(i64, i64)> = counts.keys().copied().collect();
    let ring_points = area_rings.iter().flat_map(|r| r.iter()).flatten();
    let mut bb = [i64::MAX, i64::MAX, i64::MIN, i64::MIN];
    for p in ring_points {
        let (c, r) = ((p[0] as i64).div_euclid(cs), (p[1] as i64).div_euclid(cs));
        bb = [bb[0].min(c), bb[1].min(r), bb[2].max(c), bb[3].max(r)];
    }
    if bb[0] <= bb[2] {
        for r in bb[1]..=bb[3] {
            for c in bb[0]..=bb[2] {
                if counts.contains_key(&(c, r)) {
                    continue;
                }
                let (cx, cy) = (((c * cs) + cs / 2) as f64, ((r * cs) + cs / 2) as f64);
                if area_rings
                    .iter()
                    .any(|rings| crate::geo::point_in_rings(cx, cy, rings))
                {
                    cells.push((c, r));
                }
            }
        }
    } else if !cells.is_empty() {
        let (c0, c1) = (
            cells.iter().map(|c| c.0).min(),
            cells.iter().map(|c| c.0).max(),
        );
        let (r0, r1) = (
            cells.iter().map(|c| c.1).min(),
            cells.iter().map(|c| c.1).max(),
        );
        if let (Some(c0), Some(c1), Some(r0), Some(r1)) = (c0, c1, r0, r1) {
            cells = (r0..=r1)
                .flat_map(|r| (c0..=c1).map(move |c| (c, r)))
                .collect();
        }
    }
    cells.sort_by_key(|&(c, r)| (r, c));
    let values: Vec<f64> = cells
        .iter()
        .map(|c| counts.get(c).copied().unwrap_or(0) as f64)
        .collect();
    let z = gi_star(&cells, &values);
    let p: Vec<f64> = z.iter().map(|&z| two_sided_p(z)).collect();
    let q = benjamini_hochberg(&p);
    let out = cells
        .iter()
        .enumerate()
        .filter_map(|(i, &(c, r))| {
            let sig = q[i] <= fdr;
            let kind = match (sig, z[i] > 0.0) {
                (true, true) => "hot",
                (true, false) => "cold",
                _ => "",
            };
            (values[i] > 0.0 || sig).then(|| HotCell {
                x: c * cs,
                y: r * cs,
                count: values[i] as u64,
                z: z[i],
                p: p[i],
                q: q[i],
                kind: kind.to_string(),
            })
        })
        .collect();
    Hotspots {
        cell_size,
        fdr,
        cells_analysed: cells.len(),
        cells: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_z_matches_the_formula() {
        assert!((poisson_z(100.0, 64.0) - 4.0).abs() < 1e-12);
        assert!((poisson_z(49.0, 64.0) + 2.0).abs() < 1e-12);
    }

    #[test]
    fn normal_p_values() {
        assert!((two_sided_p(1.959_963_985) - 0.05).abs() < 1e-6);
        assert!((two_sided_p(0.0) - 1.0).abs() < 1e-6);
        assert!((two_sided_p(-2.575_829) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn bh_adjustment_matches_hand_computation() {
        // p sorted: .01 .02 .03 .5 → .04 .04 .04 .5
        let q = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.02]);
        let want = [0.04, 0.5, 0.04, 0.04];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn gi_star_flags_a_central_cluster() {
        let cells: Vec<(i64, i64)> = (0..5).flat_map(|r| (0..5).map(move |c| (c, r))).collect();
        let values: Vec<f64> = cells
            .iter()
            .map(|&(c, r)| {
                if (1..=3).contains(&c) && (1..=3).contains(&r) {
                    10.0
                } else {
                    1.0
                }
            })
            .collect();
        let z = gi_star(&cells, &values);
        assert!(z[12] > 2.0, "centre z {}", z[12]);
        assert!(z[0] < z[12]);
    }
}

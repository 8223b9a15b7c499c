//! Small value types shared by the importer, the store and the analyses.
//! Months are integers, series are an enum, strings are interned in open dictionaries.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::InsightError;

/// A calendar month stored as months since 2000-01 (2000-01 is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Month(pub u16);

impl Month {
    /// The month for a year and a month of year (1–12), if within 2000-01..2199-12.
    pub fn from_ym(year: i32, month: u32) -> Option<Month> {
        if !(2000..=2199).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        Some(Month(((year - 2000) * 12 + month as i32 - 1) as u16))
    }

    /// Parses the `YYYY-MM` prefix of a byte string (also accepts `YYYY-MM-DD...`).
    pub fn parse_bytes(s: &[u8]) -> Option<Month> {
        if s.len() < 7 || s[4] != b'-' {
            return None;
        }
        if s.len() > 7 && s[7] != b'-' && s[7] != b'T' {
            return None;
        }
        let digit = |b: u8| {
            if b.is_ascii_digit() {
                Some((b - b'0') as i32)
            } else {
                None
            }
        };
        let year = digit(s[0])? * 1000 + digit(s[1])? * 100 + digit(s[2])? * 10 + digit(s[3])?;
        let month = digit(s[5])? * 10 + digit(s[6])?;
        Month::from_ym(year, month as u32)
    }

    /// Parses a user-supplied `YYYY-MM` argument.
    pub fn parse(s: &str) -> Result<Month, InsightError> {
        let t = s.trim();
        if t.len() != 7 {
            return Err(InsightError::BadMonth(s.to_string()));
        }
        Month::parse_bytes(t.as_bytes()).ok_or_else(|| InsightError::BadMonth(s.to_string()))
    }

    /// Calendar year.
    pub fn year(self) -> i32 {
        2000 + (self.0 / 12) as i32
    }

    /// Month of year, 1–12.
    pub fn month_of_year(self) -> u32 {
        (self.0 % 12) as u32 + 1
    }

    /// The month `n` months later (saturating at the end of the range).
    pub fn plus(self, n: i32) -> Month {
        Month((self.0 as i32 + n).clamp(0, u16::MAX as i32) as u16)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month_of_year())
    }
}

impl std::str::FromStr for Month {
    type Err = InsightError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Month::parse(s)
    }
}

/// The three police.uk data series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Series {
    /// Street-level crime and ASB (`-street.csv`).
    Street,
    /// Outcomes (`-outcomes.csv`).
    Outcomes,
    /// Stop and search (`-stop-and-search.csv`).
    StopSearch,
}

impl Series {
    /// The suffix police.uk uses in file names.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Series::Street => "street",
            Series::Outcomes => "outcomes",
            Series::StopSearch => "stop-and-search",
        }
    }

    /// Recognises the series from a header record (BOM, case and spaces tolerated).
    pub fn from_header(fields: &[String]) -> Option<Series> {
        let f: Vec<&str> = fields.iter().map(|s| s.as_str()).collect();
        if f.len() == STREET_HEADER.len() && f == STREET_HEADER {
            return Some(Series::Street);
        }
        if f.len() == OUTCOMES_HEADER.len() && f == OUTCOMES_HEADER {
            return Some(Series::Outcomes);
        }
        // Older stop-and-search files lack the final "removal of clothing" column.
        if (f.len() == STOP_HEADER.len() || f.len() == STOP_HEADER.len() - 1)
            && f[..] == STOP_HEADER[..f.len()]
        {
            return Some(Series::StopSearch);
        }
        None
    }
}

/// Normalised street header.
pub const STREET_HEADER: [&str; 12] = [
    "crime id",
    "month",
    "reported by",
    "falls within",
    "longitude",
    "latitude",
    "location",
    "lsoa code",
    "lsoa name",
    "crime type",
    "last outcome category",
    "context",
];

/// Normalised outcomes header.
pub const OUTCOMES_HEADER: [&str; 10] = [
    "crime id",
    "month",
    "reported by",
    "falls within",
    "longitude",
    "latitude",
    "location",
    "lsoa code",
    "lsoa name",
    "outcome type",
];

/// Normalised stop-and-search header.
pub const STOP_HEADER: [&str; 15] = [
    "type",
    "date",
    "part of a policing operation",
    "policing operation",
    "latitude",
    "longitude",
    "gender",
    "age range",
    "self-defined ethnicity",
    "officer-defined ethnicity",
    "legislation",
    "object of search",
    "outcome",
    "outcome linked to object of search",
    "removal of more than just outer clothing",
];

/// Normalises one header field: strips a UTF-8 BOM, trims, lower-cases.
pub fn normalise_header_field(raw: &[u8]) -> String {
    let raw = raw.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(raw);
    String::from_utf8_lossy(raw).trim().to_ascii_lowercase()
}

/// Canonical force key used to compare a file name's force with a row's "Reported by".
///
/// "West Yorkshire Police", "west-yorkshire" and "Police Service of Northern Ireland" /
/// "northern-ireland" compare equal; British Transport Police files are named `btp`.
pub fn force_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace('&', " and ");
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| {
            !matches!(
                *w,
                "police" | "service" | "constabulary" | "of" | "and" | "the"
            )
        })
        .collect();
    let key = words.concat();
    if key == "britishtransport" {
        "btp".to_string()
    } else {
        key
    }
}

/// A fast non-cryptographic hasher (the FxHash mixing step) for short in-process keys;
/// the inputs are files the user chose to import, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.add(u64::from_le_bytes(a));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_u32(&mut self, n: u32) {
        self.add(n as u64);
    }
    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

impl FastHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Hash set with [`FastHasher`].
pub type FastSet<T> = std::collections::HashSet<T, BuildHasherDefault<FastHasher>>;

/// Hash map with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// An append-only dictionary of strings; ids stay stable as values are added.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dict {
    values: Vec<String>,
    #[serde(skip)]
    index: FastMap<Vec<u8>, u32>,
}

impl Dict {
    /// Rebuilds the lookup index after deserialising.
    pub fn reindex(&mut self) {
        self.index = self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_bytes().to_vec(), i as u32))
            .collect();
    }

    /// The id of `value`, adding it when new.
    pub fn intern(&mut self, value: &[u8]) -> u32 {
        if let Some(&id) = self.index.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values
            .push(String::from_utf8_lossy(value).into_owned());
        self.index.insert(value.to_vec(), id);
        id
    }

    /// The id of `value` if present.
    pub fn get(&self, value: &str) -> Option<u32> {
        self.index.get(value.as_bytes()).copied()
    }

    /// The value for an id, or "" for an unknown id.
    pub fn value(&self, id: u32) -> &str {
        self.values
            .get(id as usize)
            .map(|s| s.as_str())
            .unwrap_or("")
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// All values in id order.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

/// Sentinel for "no value" in u16 dictionary columns.
pub const NONE16: u16 = u16::MAX;
/// Sentinel for "no LSOA" in the u32 LSOA column.
pub const NONE32: u32 = u32::MAX;
/// Sentinel for "no location" in coordinate columns.
pub const NO_COORD: i32 = i32::MIN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_round_trip() {
        let m = Month::parse("2016-07").expect("valid");
        assert_eq!(m.0, 16 * 12 + 6);
        assert_eq!(m.to_string(), "2016-07");
        assert_eq!(m.month_of_year(), 7);
        assert!(Month::parse("2016-13").is_err());
        assert!(Month::parse("16-07").is_err());
        assert_eq!(
            Month::parse_bytes(b"2016-07-01T00:05:00+00:00"),
            Month::parse("2016-07").ok()
        );
    }

    #[test]
    fn force_keys_match_file_names() {
        assert_eq!(
            force_key("West Yorkshire Police"),
            force_key("west-yorkshire")
        );
        assert_eq!(
            force_key("Metropolitan Police Service"),
            force_key("metropolitan")
        );
        assert_eq!(
            force_key("Police Service of Northern Ireland"),
            force_key("northern-ireland")
        );
        assert_eq!(force_key("British Transport Police"), "btp");
        assert_eq!(
            force_key("Devon & Cornwall Police"),
            force_key("devon-and-cornwall")
        );
        assert_ne!(
            force_key("West Yorkshire Police"),
            force_key("north-yorkshire")
        );
    }
}

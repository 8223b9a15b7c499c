//! The columnar crime store: dictionary-encoded, LSOA-sorted binary segments plus a JSON manifest.
//! New data becomes visible only when the manifest is atomically replaced (write temp, then rename).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::InsightError;
use crate::model::{Dict, FastSet, Month, Series};

/// Version of the manifest and segment formats this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"PWCRIME1";
const MANIFEST: &str = "manifest.json";
const HEADER_LEN: usize = 32;

/// All dictionaries of the store; ids are stable once assigned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dicts {
    /// Crime types ("Burglary", "Violent crime", ...).
    pub categories: Dict,
    /// Outcome strings (street last outcome, outcomes series, stop-and-search outcome).
    pub outcomes: Dict,
    /// Force names ("West Yorkshire Police"; stop and search uses the file's force slug).
    pub forces: Dict,
    /// LSOA codes.
    pub lsoas: Dict,
    /// LSOA names, parallel to `lsoas` (first name seen).
    pub lsoa_names: Vec<String>,
    /// Stop-and-search free-text fields (type, gender, age, ethnicity, legislation, object).
    pub terms: Dict,
}

impl Dicts {
    fn reindex(&mut self) {
        for d in [
            &mut self.categories,
            &mut self.outcomes,
            &mut self.forces,
            &mut self.lsoas,
            &mut self.terms,
        ] {
            d.reindex();
        }
    }

    /// Interns an LSOA code, remembering its name the first time.
    pub fn intern_lsoa(&mut self, code: &[u8], name: &[u8]) -> u32 {
        let id = self.lsoas.intern(code);
        if id as usize == self.lsoa_names.len() {
            self.lsoa_names
                .push(String::from_utf8_lossy(name).into_owned());
        }
        id
    }
}

/// One segment file listed in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// File name inside the store directory.
    pub file: String,
    /// Series held.
    pub series: Series,
    /// Number of rows.
    pub rows: u64,
    /// Earliest month held.
    pub min_month: Month,
    /// Latest month held.
    pub max_month: Month,
    /// Companion file of crime-ID fingerprints by month (street and outcomes).
    pub ids_file: Option<String>,
}

/// What the store remembers about each imported source file (month + force + series).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileMark {
    /// Rows without a Crime ID already stored from this file identity (ASB, stop and search).
    pub rows_without_id: u64,
}

/// The manifest: the single source of truth of what the store holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub format: u32,
    /// Incremented by every committed import.
    pub generation: u64,
    /// Next free segment number.
    pub next_segment: u64,
    /// Live segments.
    pub segments: Vec<SegmentMeta>,
    /// Dictionaries.
    pub dicts: Dicts,
    /// File identities imported ("street|2016-07|westyorkshire").
    pub files: BTreeMap<String, FileMark>,
}

/// A typed column of a segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// 16-bit dictionary ids, months, flags.
    U16(Vec<u16>),
    /// LSOA ids.
    U32(Vec<u32>),
    /// BNG coordinates in metres.
    I32(Vec<i32>),
    /// Crime-ID fingerprints.
    U64(Vec<u64>),
}

impl Column {
    fn empty_like(width: usize, signed: bool) -> Column {
        match (width, signed) {
            (2, _) => Column::U16(Vec::new()),
            (4, true) => Column::I32(Vec::new()),
            (4, false) => Column::U32(Vec::new()),
            _ => Column::U64(Vec::new()),
        }
    }
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::U16(v) => v.len(),
            Column::U32(v) => v.len(),
            Column::I32(v) => v.len(),
            Column::U64(v) => v.len(),
        }
    }
    /// Appends another column of the same type (mismatched types are ignored).
    pub fn append(&mut self, other: Column) {
        match (self, other) {
            (Column::U16(a), Column::U16(b)) => a.extend(b),
            (Column::U32(a), Column::U32(b)) => a.extend(b),
            (Column::I32(a), Column::I32(b)) => a.extend(b),
            (Column::U64(a), Column::U64(b)) => a.extend(b),
            _ => {}
        }
    }

    /// Maps dictionary ids through `map` (sentinels u16::MAX / u32::MAX are kept).
    pub fn remap(&mut self, map: &[u32]) {
        match self {
            Column::U16(v) => v
                .iter_mut()
                .filter(|x| **x != u16::MAX)
                .for_each(|x| *x = map[*x as usize] as u16),
            Column::U32(v) => v
                .iter_mut()
                .filter(|x| **x != u32::MAX)
                .for_each(|x| *x = map[*x as usize]),
            _ => {}
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn write_le(&self, out: &mut Vec<u8>) {
        match self {
            Column::U16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Column::U32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Column::I32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Column::U64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
    fn extend_le(&mut self, bytes: &[u8]) {
        match self {
            Column::U16(v) => v.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]])),
            ),
            Column::U32(v) => v.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            Column::I32(v) => v.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            Column::U64(v) => v.extend(bytes.chunks_exact(8).map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })),
        }
    }
    fn permute(&mut self, order: &[u32]) {
        fn p<T: Copy>(v: &mut Vec<T>, order: &[u32]) {
            *v = order.iter().map(|&i| v[i as usize]).collect();
        }
        match self {
            Column::U16(v) => p(v, order),
            Column::U32(v) => p(v, order),
            Column::I32(v) => p(v, order),
            Column::U64(v) => p(v, order),
        }
    }
}

/// Column layout (width, signed) of each series; column 0 is always the month, and
/// `lsoa_column` gives the LSOA id column used for sorting and the per-LSOA index.
pub fn schema(series: Series) -> &'static [(usize, bool)] {
    match series {
        // month, category, outcome, reported_by, falls_within, lsoa, x, y
        Series::Street => &[
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (4, false),
            (4, true),
            (4, true),
        ],
        // month, outcome, reported_by, falls_within, lsoa, x, y, crime fingerprint
        Series::Outcomes => &[
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (4, false),
            (4, true),
            (4, true),
            (8, false),
        ],
        // month, type, gender, age, self eth, officer eth, legislation, object, outcome, force,
        // flags, lsoa, x, y
        Series::StopSearch => &[
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (2, false),
            (4, false),
            (4, true),
            (4, true),
        ],
    }
}

/// Index of the LSOA column in each series' schema.
pub fn lsoa_column(series: Series) -> usize {
    match series {
        Series::Street => 5,
        Series::Outcomes => 4,
        Series::StopSearch => 11,
    }
}

fn series_code(s: Series) -> u16 {
    match s {
        Series::Street => 1,
        Series::Outcomes => 2,
        Series::StopSearch => 3,
    }
}

/// Empty columns for a series.
pub fn empty_columns(series: Series) -> Vec<Column> {
    schema(series)
        .iter()
        .map(|&(w, s)| Column::empty_like(w, s))
        .collect()
}

/// Rows selected from one series: the columns of `schema(series)`, all of equal length.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The series.
    pub series: Series,
    /// Columns in schema order.
    pub columns: Vec<Column>,
}

impl Frame {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.columns.first().map(|c| c.len()).unwrap_or(0)
    }
    /// True when no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A u16 column.
    pub fn u16(&self, i: usize) -> &[u16] {
        match &self.columns[i] {
            Column::U16(v) => v,
            _ => &[],
        }
    }
    /// A u32 column.
    pub fn u32(&self, i: usize) -> &[u32] {
        match &self.columns[i] {
            Column::U32(v) => v,
            _ => &[],
        }
    }
    /// An i32 column.
    pub fn i32(&self, i: usize) -> &[i32] {
        match &self.columns[i] {
            Column::I32(v) => v,
            _ => &[],
        }
    }
    /// A u64 column.
    pub fn u64(&self, i: usize) -> &[u64] {
        match &self.columns[i] {
            Column::U64(v) => v,
            _ => &[],
        }
    }
}

/// Which rows a query wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these LSOA ids (None: every row, including rows without an LSOA).
    pub lsoas: Option<FastSet<u32>>,
    /// First month included.
    pub from: Option<Month>,
    /// Last month included.
    pub to: Option<Month>,
    /// Only these columns are read (the month column always is); None reads all. Columns not
    /// read stay empty. A projected full scan checks the header checksum, not the whole file's.
    pub columns: Option<Vec<usize>>,
}

impl Filter {
    fn wants(&self, column: usize) -> bool {
        column == 0 || self.columns.as_ref().is_none_or(|c| c.contains(&column))
    }

    fn month_ok(&self, m: u16) -> bool {
        self.from.is_none_or(|f| m >= f.0) && self.to.is_none_or(|t| m <= t.0)
    }
}

/// An opened store: the manifest, loaded once; segments are read per query.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// The committed manifest.
    pub manifest: Manifest,
    /// Per-segment LSOA indexes, read on first use and kept (aligned with `manifest.segments`).
    indexes: Vec<std::sync::OnceLock<SegIndex>>,
}

/// A segment's row count, data offset and LSOA → (first row, rows) index.
#[derive(Debug, Clone, Default)]
struct SegIndex {
    rows: usize,
    data_start: u64,
    by_lsoa: crate::model::FastMap<u32, (u32, u32)>,
}

impl Store {
    /// Opens the store in `dir`; a missing directory or manifest is an empty store.
    pub fn open(dir: &Path) -> Result<Store, InsightError> {
        let path = dir.join(MANIFEST);
        let manifest = match fs::read(&path) {
            Ok(bytes) => {
                let mut m: Manifest =
                    serde_json::from_slice(&bytes).map_err(|e| InsightError::CorruptStore {
                        path: path.clone(),
                        reason: format!("manifest is not valid JSON ({e})"),
                    })?;
                if m.format != FORMAT_VERSION {
                    return Err(InsightError::CorruptStore {
                        path,
                        reason: format!(
                            "format version {} but this build reads version {FORMAT_VERSION}",
                            m.format
                        ),
                    });
                }
                m.dicts.reindex();
                m
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest {
                format: FORMAT_VERSION,
                ..Manifest::default()
            },
            Err(e) => return Err(InsightError::io(path, e)),
        };
        let indexes = manifest
            .segments
            .iter()
            .map(|_| std::sync::OnceLock::new())
            .collect();
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest,
            indexes,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The dictionaries.
    pub fn dicts(&self) -> &Dicts {
        &self.manifest.dicts
    }

    /// Total rows of a series.
    pub fn rows(&self, series: Series) -> u64 {
        self.manifest
            .segments
            .iter()
            .filter(|s| s.series == series)
            .map(|s| s.rows)
            .sum()
    }

    /// Months covered by a series (earliest, latest), if any rows.
    pub fn month_range(&self, series: Series) -> Option<(Month, Month)> {
        let segs = self.manifest.segments.iter().filter(|s| s.series == series);
        let min = segs.clone().map(|s| s.min_month).min()?;
        let max = segs.map(|s| s.max_month).max()?;
        Some((min, max))
    }

    /// Reads the rows of `series` matching `filter` from every segment.
    pub fn load(&self, series: Series, filter: &Filter) -> Result<Frame, InsightError> {
        let mut out = Frame {
            series,
            columns: empty_columns(series),
        };
        for (i, seg) in self.manifest.segments.iter().enumerate() {
            if seg.series != series
                || filter.from.is_some_and(|f| seg.max_month < f)
                || filter.to.is_some_and(|t| seg.min_month > t)
            {
                continue;
            }
            let path = self.dir.join(&seg.file);
            let Some(set) = &filter.lsoas else {
                read_segment(&path, series, filter, &mut out)?;
                continue;
            };
            // Borough queries: the cached index turns the area's LSOAs into row ranges.
            let cell = self
                .indexes
                .get(i)
                .filter(|_| self.indexes.len() == self.manifest.segments.len());
            let owned;
            let ix = match cell.and_then(|c| c.get()) {
                Some(ix) => ix,
                None => {
                    let fresh = read_index(&path, series)?;
                    match cell {
                        Some(c) => c.get_or_init(|| fresh),
                        None => {
                            owned = fresh;
                            &owned
                        }
                    }
                }
            };
            let mut ranges: Vec<(usize, usize)> = set
                .iter()
                .filter_map(|l| ix.by_lsoa.get(l))
                .map(|&(s, n)| (s as usize, n as usize))
                .collect();
            ranges.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
            for (s, n) in ranges {
                match merged.last_mut() {
                    Some(last) if last.0 + last.1 == s => last.1 += n,
                    _ => merged.push((s, n)),
                }
            }
            read_ranges(
                &path,
                series,
                ix.rows,
                ix.data_start,
                &merged,
                filter,
                &mut out,
            )?;
        }
        Ok(out)
    }

    /// Reads every segment in full and checks its checksums.
    pub fn verify(&self) -> Result<u64, InsightError> {
        let mut rows = 0;
        for seg in &self.manifest.segments {
            let mut f = Frame {
                series: seg.series,
                columns: empty_columns(seg.series),
            };
            read_segment(
                &self.dir.join(&seg.file),
                seg.series,
                &Filter::default(),
                &mut f,
            )?;
            if f.len() as u64 != seg.rows {
                return Err(InsightError::CorruptStore {
                    path: self.dir.join(&seg.file),
                    reason: format!("holds {} rows, manifest says {}", f.len(), seg.rows),
                });
            }
            rows += seg.rows;
        }
        Ok(rows)
    }
}

/// Sorts columns by (LSOA code order, month) and writes them as a segment file at `path`.
/// Returns (min month, max month).
pub fn write_segment(
    path: &Path,
    series: Series,
    columns: &mut [Column],
    lsoa_rank: &[u32],
) -> Result<(Month, Month), InsightError> {
    let li = lsoa_column(series);
    let rows = columns[0].len();
    let (months, lsoas) = match (&columns[0], &columns[li]) {
        (Column::U16(m), Column::U32(l)) => (m.clone(), l.clone()),
        _ => return Err(InsightError::Invalid("segment schema mismatch".into())),
    };
    let rank = |id: u32| -> u64 {
        lsoa_rank
            .get(id as usize)
            .map(|&r| r as u64)
            .unwrap_or(u32::MAX as u64)
    };
    // One packed key per row (rank, month, row) sorts fast and keeps the sort stable.
    let mut keys: Vec<u64> = (0..rows)
        .map(|i| (rank(lsoas[i]) << 40) | ((months[i] as u64) << 24) | i as u64)
        .collect();
    if rows < (1 << 24) {
        keys.sort_unstable();
    } else {
        keys.sort_by_key(|k| k >> 24);
    }
    let order: Vec<u32> = if rows < (1 << 24) {
        keys.iter().map(|k| (k & 0xff_ffff) as u32).collect()
    } else {
        let mut o: Vec<u32> = (0..rows as u32).collect();
        o.sort_by_key(|&i| (rank(lsoas[i as usize]), months[i as usize]));
        o
    };
    for c in columns.iter_mut() {
        c.permute(&order);
    }
    let Column::U32(lsoas) = &columns[li] else {
        return Err(InsightError::Invalid("segment schema mismatch".into()));
    };
    let mut index: Vec<(u32, u32, u32)> = Vec::new();
    for (i, &l) in lsoas.iter().enumerate() {
        match index.last_mut() {
            Some(last) if last.0 == l => last.2 += 1,
            _ => index.push((l, i as u32, 1)),
        }
    }
    let mut buf = Vec::with_capacity(HEADER_LEN + index.len() * 12 + rows * 32);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    buf.extend_from_slice(&series_code(series).to_le_bytes());
    buf.extend_from_slice(&(columns.len() as u16).to_le_bytes());
    buf.extend_from_slice(&(rows as u64).to_le_bytes());
    buf.extend_from_slice(&(index.len() as u32).to_le_bytes());
    let mut idx_bytes = Vec::with_capacity(index.len() * 12);
    for (l, s, n) in &index {
        idx_bytes.extend_from_slice(&l.to_le_bytes());
        idx_bytes.extend_from_slice(&s.to_le_bytes());
        idx_bytes.extend_from_slice(&n.to_le_bytes());
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&buf);
    h.update(&idx_bytes);
    buf.extend_from_slice(&h.finalize().to_le_bytes());
    buf.extend_from_slice(&idx_bytes);
    for c in columns.iter() {
        c.write_le(&mut buf);
    }
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    write_file(path, &buf)?;
    let min = months.iter().copied().min().unwrap_or(0);
    let max = months.iter().copied().max().unwrap_or(0);
    Ok((Month(min), Month(max)))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InsightError> {
    let mut f = File::create(path).map_err(|e| InsightError::io(path, e))?;
    f.write_all(bytes).map_err(|e| InsightError::io(path, e))?;
    f.sync_all().map_err(|e| InsightError::io(path, e))
}

fn corrupt(path: &Path, reason: impl Into<String>) -> InsightError {
    InsightError::CorruptStore {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Opens a segment and checks its header and index checksum; returns (file, rows, index bytes).
fn open_segment(
    path: &Path,
    series: Series,
) -> Result<(File, [u8; HEADER_LEN], usize, Vec<u8>), InsightError> {
    let mut f = File::open(path).map_err(|e| InsightError::io(path, e))?;
    let mut head = [0u8; HEADER_LEN];
    f.read_exact(&mut head)
        .map_err(|_| corrupt(path, "segment header is truncated"))?;
    if &head[0..8] != MAGIC {
        return Err(corrupt(path, "not a crime-store segment"));
    }
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if le32(&head[8..12]) != FORMAT_VERSION
        || u16::from_le_bytes([head[12], head[13]]) != series_code(series)
    {
        return Err(corrupt(path, "segment version or series does not match"));
    }
    let mut rows_b = [0u8; 8];
    rows_b.copy_from_slice(&head[16..24]);
    let rows = u64::from_le_bytes(rows_b) as usize;
    let n_index = le32(&head[24..28]) as usize;
    let mut idx = vec![0u8; n_index * 12];
    f.read_exact(&mut idx)
        .map_err(|_| corrupt(path, "segment index is truncated"))?;
    let mut h = crc32fast::Hasher::new();
    h.update(&head[..28]);
    h.update(&idx);
    if h.finalize() != le32(&head[28..32]) {
        return Err(corrupt(path, "segment header checksum mismatch"));
    }
    Ok((f, head, rows, idx))
}

fn read_index(path: &Path, series: Series) -> Result<SegIndex, InsightError> {
    let (_, _, rows, idx) = open_segment(path, series)?;
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut by_lsoa = crate::model::FastMap::default();
    for e in idx.chunks_exact(12) {
        let (s, n) = (le32(&e[4..8]), le32(&e[8..12]));
        if s as usize + n as usize > rows {
            return Err(corrupt(path, "segment index points past the end"));
        }
        by_lsoa.insert(le32(&e[0..4]), (s, n));
    }
    Ok(SegIndex {
        rows,
        data_start: (HEADER_LEN + idx.len()) as u64,
        by_lsoa,
    })
}

/// Reads whole segments (checking the file checksum), or a column projection of them.
fn read_segment(
    path: &Path,
    series: Series,
    filter: &Filter,
    out: &mut Frame,
) -> Result<(), InsightError> {
    let (mut f, head, rows, idx) = open_segment(path, series)?;
    let schema = schema(series);
    let data_start = (HEADER_LEN + idx.len()) as u64;
    if filter.columns.is_some() {
        drop(f);
        return read_ranges(path, series, rows, data_start, &[(0, rows)], filter, out);
    }
    let first_new = out.len();
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut rest = Vec::new();
    f.read_to_end(&mut rest)
        .map_err(|e| InsightError::io(path, e))?;
    let body: usize = schema.iter().map(|(w, _)| w * rows).sum();
    if rest.len() != body + 4 {
        return Err(corrupt(path, "segment is truncated"));
    }
    let mut hh = crc32fast::Hasher::new();
    hh.update(&head);
    hh.update(&idx);
    hh.update(&rest[..body]);
    if hh.finalize() != le32(&rest[body..]) {
        return Err(corrupt(path, "segment checksum mismatch"));
    }
    let mut off = 0;
    for (c, (w, _)) in out.columns.iter_mut().zip(schema) {
        c.extend_le(&rest[off..off + w * rows]);
        off += w * rows;
    }
    filter_months(out, first_new, filter);
    Ok(())
}

/// Reads row ranges of the wanted columns (seek + read per column and range).
fn read_ranges(
    path: &Path,
    series: Series,
    rows: usize,
    data_start: u64,
    ranges: &[(usize, usize)],
    filter: &Filter,
    out: &mut Frame,
) -> Result<(), InsightError> {
    if ranges.is_empty() {
        return Ok(());
    }
    let mut f = File::open(path).map_err(|e| InsightError::io(path, e))?;
    let schema = schema(series);
    let first_new = out.len();
    let mut col_off = data_start;
    let mut buf = Vec::new();
    for (ci, (c, (w, _))) in out.columns.iter_mut().zip(schema).enumerate() {
        if !filter.wants(ci) {
            col_off += (rows * w) as u64;
            continue;
        }
        for &(s, n) in ranges {
            f.seek(SeekFrom::Start(col_off + (s * w) as u64))
                .map_err(|e| InsightError::io(path, e))?;
            buf.resize(n * w, 0);
            f.read_exact(&mut buf)
                .map_err(|_| corrupt(path, "segment is truncated"))?;
            c.extend_le(&buf);
        }
        col_off += (rows * w) as u64;
    }
    filter_months(out, first_new, filter);
    Ok(())
}

fn filter_months(out: &mut Frame, first_new: usize, filter: &Filter) {
    if filter.from.is_none() && filter.to.is_none() {
        return;
    }
    let months = out.u16(0);
    let keep: Vec<bool> = months[first_new..]
        .iter()
        .map(|&m| filter.month_ok(m))
        .collect();
    if keep.iter().all(|&k| k) {
        return;
    }
    fn retain<T: Copy>(v: &mut Vec<T>, first: usize, keep: &[bool]) {
        let mut j = first;
        for i in first..v.len() {
            if keep[i - first] {
                v[j] = v[i];
                j += 1;
            }
        }
        v.truncate(j);
    }
    let rows = out.columns[0].len();
    for c in out.columns.iter_mut().filter(|c| c.len() == rows) {
        match c {
            Column::U16(v) => retain(v, first_new, &keep),
            Column::U32(v) => retain(v, first_new, &keep),
            Column::I32(v) => retain(v, first_new, &keep),
            Column::U64(v) => retain(v, first_new, &keep),
        }
    }
}

/// Writes crime-ID fingerprints grouped by month: `[months u32][(month u16, count u32)...][fps]`.
pub fn write_ids(path: &Path, by_month: &BTreeMap<u16, Vec<u64>>) -> Result<(), InsightError> {
    let mut buf = Vec::new();
    buf.extend_from_slice(b"PWIDS001");
    buf.extend_from_slice(&(by_month.len() as u32).to_le_bytes());
    for (m, v) in by_month {
        buf.extend_from_slice(&m.to_le_bytes());
        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for v in by_month.values() {
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    write_file(path, &buf)
}

/// Reads the fingerprints stored for one month from an ids file.
pub fn read_ids(path: &Path, month: u16) -> Result<Vec<u64>, InsightError> {
    let bytes = fs::read(path).map_err(|e| InsightError::io(path, e))?;
    if bytes.len() < 16 || &bytes[0..8] != b"PWIDS001" {
        return Err(corrupt(path, "not a crime-id file"));
    }
    let body = bytes.len() - 4;
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if crc32fast::hash(&bytes[..body]) != le32(&bytes[body..]) {
        return Err(corrupt(path, "crime-id file checksum mismatch"));
    }
    let n = le32(&bytes[8..12]) as usize;
    let dir_end = 12 + n * 6;
    if dir_end > body {
        return Err(corrupt(path, "crime-id file is truncated"));
    }
    let mut off = dir_end;
    for e in bytes[12..dir_end].chunks_exact(6) {
        let m = u16::from_le_bytes([e[0], e[1]]);
        let count = le32(&e[2..6]) as usize;
        if off + count * 8 > body {
            return Err(corrupt(path, "crime-id file is truncated"));
        }
        if m == month {
            let mut col = Column::U64(Vec::with_capacity(count));
            col.extend_le(&bytes[off..off + count * 8]);
            if let Column::U64(v) = col {
                return Ok(v);
            }
        }
        off += count * 8;
    }
    Ok(Vec::new())
}

/// Atomically replaces the manifest (write a temp file, fsync, rename).
pub fn commit_manifest(dir: &Path, manifest: &Manifest) -> Result<(), InsightError> {
    let tmp = dir.join("manifest.json.tmp");
    let bytes = serde_json::to_vec(manifest)
        .map_err(|e| InsightError::Invalid(format!("cannot encode manifest: {e}")))?;
    write_file(&tmp, &bytes)?;
    let path = dir.join(MANIFEST);
    fs::rename(&tmp, &path).map_err(|e| InsightError::io(&path, e))
}

/// Ranks every LSOA id by its code's sort order so that a borough's LSOAs cluster together.
pub fn lsoa_ranks(dicts: &Dicts) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..dicts.lsoas.len() as u32).collect();
    ids.sort_by(|&a, &b| dicts.lsoas.value(a).cmp(dicts.lsoas.value(b)));
    let mut rank = vec![0u32; ids.len()];
    for (r, &id) in ids.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    rank
}

/// Holds the store's import lock for its lifetime: an operating-system lock on
/// `import.lock` (flock; on NFSv4 a lock the server keeps), which the kernel releases when
/// the holder exits however it ends, killed included. A lock file left by a process that
/// died is therefore never in the way, and a live import's lock is never taken over.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    /// What the previous holder's lock file said, when it died without clearing it.
    pub stale: Option<String>,
}

impl LockGuard {
    /// Takes the lock, failing at once if a running import holds it.
    pub fn acquire(dir: &Path) -> Result<LockGuard, InsightError> {
        fs::create_dir_all(dir).map_err(|e| InsightError::io(dir, e))?;
        let path = dir.join("import.lock");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| InsightError::io(&path, e))?;
        let mut said = String::new();
        if let Err(e) =
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        {
            if e == rustix::io::Errno::WOULDBLOCK {
                let _ = file.read_to_string(&mut said);
                return Err(InsightError::Locked {
                    path: dir.to_path_buf(),
                    lock: path,
                    holder: holder_of(&said),
                });
            }
            return Err(InsightError::io(&path, e.into()));
        }
        file.read_to_string(&mut said)
            .map_err(|e| InsightError::io(&path, e))?;
        let stale = (!said.trim().is_empty()).then(|| holder_of(&said));
        let me = format!("{} on {}\n", std::process::id(), host_name());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(me.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| InsightError::io(&path, e))?;
        Ok(LockGuard { file, stale })
    }
}

fn holder_of(said: &str) -> String {
    match said.trim() {
        "" => "(unknown)".into(),
        s => s.to_string(),
    }
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this host".into())
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // The file stays (removing it would race another process opening it); emptied, it
        // says no one holds it, and closing the file releases the lock.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn a_live_import_holds_the_lock_and_a_dead_ones_file_is_cleared() {
        let dir = tempfile::tempdir().expect("temp dir");
        let held = LockGuard::acquire(dir.path()).expect("first");
        assert!(held.stale.is_none());
        // A second opening of the file is a second holder as far as the kernel is concerned,
        // as another process would be.
        match LockGuard::acquire(dir.path()) {
            Err(InsightError::Locked { holder, .. }) => {
                assert!(
                    holder.starts_with(&std::process::id().to_string()),
                    "{holder}"
                );
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(held);
        LockGuard::acquire(dir.path()).expect("free once released");
        // A process killed mid-import leaves its file behind, with no lock on it.
        std::fs::write(dir.path().join("import.lock"), "4242 on elsewhere\n").expect("write");
        let taken = LockGuard::acquire(dir.path()).expect("a dead holder does not block");
        assert_eq!(taken.stale.as_deref(), Some("4242 on elsewhere"));
    }

    #[test]
    fn a_killed_process_leaves_no_lock() {
        // flock(1) stands in for an import killed with SIGKILL while holding the lock.
        let dir = tempfile::tempdir().expect("temp dir");
        let lock = dir.path().join("import.lock");
        std::fs::write(&lock, "").expect("write");
        // --no-fork: the lock holder is the process killed, not a child that outlives it.
        let Ok(mut holder) = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(&lock)
            .args(["sleep", "600"])
            .spawn()
        else {
            eprintln!("skipped: flock(1) is not installed");
            return;
        };
        // Wait until the holder really holds it (bounded), then it must block us.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match LockGuard::acquire(dir.path()) {
                Err(InsightError::Locked { .. }) => break,
                Ok(g) => {
                    drop(g);
                    assert!(
                        std::time::Instant::now() < until,
                        "flock never took the lock"
                    );
                    std::thread::yield_now();
                }
                Err(e) => panic!("{e}"),
            }
        }
        holder.kill().expect("kill -9");
        holder.wait().expect("reaped");
        LockGuard::acquire(dir.path()).expect("the dead holder's lock is gone");
    }
}

//! Streaming import of police.uk archives, month folders and CSV files into the crime store.
//! Rows are deduplicated across overlapping archives; nothing is visible until the manifest commits.

use serde::Serialize;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use crate::bng::wgs84_to_bng;
use crate::error::InsightError;
use crate::geo::Geo;
use crate::model::{Month, NO_COORD, NONE16, NONE32, Series, force_key, normalise_header_field};
use crate::store::{
    Column, LockGuard, Manifest, SegmentMeta, Store, commit_manifest, empty_columns, lsoa_ranks,
    read_ids, write_ids, write_segment,
};

/// Options of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Abort on the first malformed row instead of skipping and counting it.
    pub strict: bool,
    /// Largest uncompressed size accepted for one archive entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest uncompressed/compressed ratio accepted for one archive entry.
    pub max_ratio: f64,
    /// Rows buffered per series before a sorted segment is written (bounds memory).
    pub chunk_rows: usize,
    /// How many malformed rows are described in the report (all are counted).
    pub max_reported_problems: usize,
    /// Parser threads for plain police.uk-named CSV files (0: one per core, at most 4).
    /// Files are shared out by month, so each month's crime IDs are checked in one thread.
    pub threads: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            strict: false,
            max_entry_bytes: 8 << 30,
            max_ratio: 200.0,
            chunk_rows: 4_000_000,
            max_reported_problems: 100,
            threads: 0,
        }
    }
}

/// Progress of a running import, reported every 100,000 rows and at the end of each file.
#[derive(Debug, Clone, Serialize)]
pub struct ImportProgress {
    /// File being read.
    pub file: String,
    /// Rows read so far, all files.
    pub rows: u64,
    /// Average rows per second since the start.
    pub rows_per_second: f64,
}

/// A malformed row that was skipped.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowProblem {
    /// File (or `archive.zip!entry`).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// Per-series counts of an import.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SeriesCounts {
    /// Rows read from files.
    pub read: u64,
    /// Rows newly stored.
    pub added: u64,
    /// Rows already in the store (or seen earlier in this import) and not stored again.
    pub duplicates: u64,
    /// Rows without a location ("No Location").
    pub no_location: u64,
    /// Rows without a Crime ID (ASB in the street series).
    pub without_id: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// CSV files (including archive entries) read.
    pub files: u64,
    /// Street-level crime.
    pub street: SeriesCounts,
    /// Outcomes.
    pub outcomes: SeriesCounts,
    /// Stop and search.
    pub stop_search: SeriesCounts,
    /// Malformed rows skipped.
    pub malformed: u64,
    /// The first malformed rows, with file, line and reason.
    pub problems: Vec<RowProblem>,
    /// Files ignored inside folders and archives (not CSV).
    pub skipped_files: Vec<String>,
    /// Segment files written.
    pub segments_written: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The lock file left by an import that died (its process as the file named it),
    /// cleared by this one.
    pub stale_lock_cleared: Option<String>,
}

/// Identity hasher for fingerprints that are already uniformly distributed.
#[derive(Default)]
struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// FNV-1a 64-bit hash, used for non-hex crime IDs and outcome keys.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// 64-bit fingerprint of a Crime ID: FNV-1a over the whole ID, then a splitmix64 finaliser
/// (IDs are SHA-256 hex in practice, but hand-made or test IDs may share long prefixes).
pub fn crime_fingerprint(id: &[u8]) -> u64 {
    let mut z = fnv1a(&[id]);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A police.uk file name `YYYY-MM-<force>-<series>.csv`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct FileName {
    /// Month in the name.
    pub month: Month,
    /// Force slug in the name.
    pub force: String,
    /// Series in the name.
    pub series: Series,
}

/// Parses a police.uk file name; None for any other name.
pub fn parse_file_name(name: &str) -> Option<FileName> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    let stem = lower.strip_suffix(".csv")?;
    let month = Month::parse_bytes(stem.as_bytes())?;
    let rest = stem.get(8..)?;
    for series in [Series::StopSearch, Series::Outcomes, Series::Street] {
        if let Some(force) = rest.strip_suffix(&format!("-{}", series.file_suffix()))
            && !force.is_empty()
        {
            return Some(FileName {
                month,
                force: force.to_string(),
                series,
            });
        }
    }
    None
}

/// Imports police.uk files into the store in `store_dir`; see the crate README for guarantees.
pub fn import_paths(
    paths: &[PathBuf],
    store_dir: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport, InsightError> {
    if opts.chunk_rows == 0 || opts.max_ratio <= 1.0 {
        return Err(InsightError::Invalid(
            "chunk rows must be positive and the zip ratio limit above 1".into(),
        ));
    }
    let lock = LockGuard::acquire(store_dir)?;
    let store = Store::open(store_dir)?;
    let geo = Geo::load(store_dir).ok().flatten().map(Arc::new);
    let mut imp = Importer {
        dir: store_dir.to_path_buf(),
        opts: opts.clone(),
        manifest: store.manifest.clone(),
        bufs: HashMap::new(),
        new_ids: HashMap::new(),
        seen: HashMap::new(),
        written: Vec::new(),
        bng_cache: HashMap::default(),
        geo,
        report: ImportReport::default(),
        started: Instant::now(),
        rows_total: 0,
        last_force: None,
    };
    let result = imp.run(paths, progress);
    match result {
        Ok(()) => {
            let mut report = imp.commit()?;
            report.stale_lock_cleared = lock.stale.clone();
            Ok(report)
        }
        Err(e) => {
            imp.discard();
            Err(e)
        }
    }
}

struct Importer {
    dir: PathBuf,
    opts: ImportOptions,
    manifest: Manifest,
    bufs: HashMap<Series, Vec<Column>>,
    new_ids: HashMap<Series, BTreeMap<u16, Vec<u64>>>,
    seen: HashMap<(Series, u16), IdSet>,
    written: Vec<SegmentMeta>,
    bng_cache: crate::model::FastMap<(i32, i32), (i32, i32)>,
    geo: Option<Arc<Geo>>,
    report: ImportReport,
    started: Instant,
    rows_total: u64,
    /// The last force name and its id: every row of a file repeats it (twice).
    last_force: Option<(Vec<u8>, u16)>,
}

/// State of one CSV file while it is read.
struct FileCtx {
    display: String,
    series: Series,
    identity: String,
    expect_month: Option<Month>,
    expect_force: Option<String>,
    force_slug: String,
    idless: u64,
    already_idless: u64,
    line: u64,
}

enum RowError {
    Malformed(String),
    Fatal(InsightError),
}

impl Importer {
    fn run(
        &mut self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<(), InsightError> {
        let mut sources = Vec::new();
        for p in paths {
            let meta = fs::metadata(p).map_err(|e| InsightError::io(p, e))?;
            if meta.is_dir() {
                let mut files = Vec::new();
                walk(p, &mut files)?;
                for f in files {
                    let lower = f.to_string_lossy().to_ascii_lowercase();
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // Inside folders only police.uk-named CSVs and zips are data; other files
                    // (notes, lookups) are listed as skipped. Files named explicitly are always read.
                    if lower.ends_with(".zip") || parse_file_name(&name).is_some() {
                        sources.push(f);
                    } else {
                        self.report.skipped_files.push(f.display().to_string());
                    }
                }
            } else {
                sources.push(p.clone());
            }
        }
        // Plain CSV files with police.uk names are grouped by month for the parser threads;
        // archives and other names are read in order on this thread afterwards.
        let mut by_month: BTreeMap<Month, Vec<PathBuf>> = BTreeMap::new();
        let mut sequential = Vec::new();
        for f in sources {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match parse_file_name(&name) {
                Some(n) if !is_zip(&f)? => by_month.entry(n.month).or_default().push(f),
                _ => sequential.push(f),
            }
        }
        let threads = match self.opts.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(4),
            n => n,
        };
        if threads > 1 && by_month.len() > 1 {
            self.run_parallel(by_month.into_values().collect(), threads, progress)?;
        } else {
            sequential = by_month.into_values().flatten().chain(sequential).collect();
        }
        for f in sequential {
            self.import_file(&f, progress)?;
        }
        Ok(())
    }

    /// A worker importer for one month's files: same store view, its own dictionaries copy,
    /// no segment writing.
    fn worker(&self) -> Importer {
        Importer {
            dir: self.dir.clone(),
            opts: ImportOptions {
                chunk_rows: usize::MAX,
                ..self.opts.clone()
            },
            manifest: self.manifest.clone(),
            bufs: HashMap::new(),
            new_ids: HashMap::new(),
            seen: HashMap::new(),
            written: Vec::new(),
            bng_cache: Default::default(),
            geo: self.geo.clone(),
            report: ImportReport::default(),
            started: self.started,
            rows_total: 0,
            last_force: None,
        }
    }

    fn run_parallel(
        &mut self,
        groups: Vec<Vec<PathBuf>>,
        threads: usize,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<(), InsightError> {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let rows = AtomicU64::new(0);
        let base = self.worker();
        let (tx, rx) = mpsc::channel::<(usize, Result<Importer, InsightError>)>();
        std::thread::scope(|scope| -> Result<(), InsightError> {
            for _ in 0..threads.min(groups.len()) {
                let tx = tx.clone();
                let (next, stop, rows, groups, base) = (&next, &stop, &rows, &groups, &base);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= groups.len() || stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let mut w = base.worker();
                        let mut result = Ok(());
                        for f in &groups[i] {
                            let before = w.rows_total;
                            result = w.import_file(f, &mut |_| {});
                            rows.fetch_add(w.rows_total - before, Ordering::Relaxed);
                            if result.is_err() || stop.load(Ordering::SeqCst) {
                                break;
                            }
                        }
                        if tx.send((i, result.map(|()| w))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Merge in month order so dictionary ids and segments do not depend on timing.
            let mut pending: BTreeMap<usize, Importer> = BTreeMap::new();
            let mut merged = 0;
            let mut last_file = String::new();
            while merged < groups.len() {
                let (i, r) = match rx.recv_timeout(std::time::Duration::from_millis(500)) {
                    Ok(msg) => msg,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                        let n = self.rows_total + rows.load(Ordering::Relaxed);
                        progress(ImportProgress {
                            file: last_file.clone(),
                            rows: n,
                            rows_per_second: n as f64 / secs,
                        });
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                match r {
                    Ok(w) => {
                        pending.insert(i, w);
                    }
                    Err(e) => {
                        stop.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                }
                while let Some(w) = pending.remove(&merged) {
                    last_file = groups[merged]
                        .last()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    rows.fetch_sub(w.rows_total, Ordering::Relaxed);
                    if let Err(e) = self.merge(w) {
                        stop.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                    merged += 1;
                    progress(self.progress(&last_file));
                }
            }
            Ok(())
        })
    }

    /// Folds a worker's rows, dictionaries, IDs, file marks and counts into this import.
    fn merge(&mut self, w: Importer) -> Result<(), InsightError> {
        let g = &mut self.manifest.dicts;
        let l = &w.manifest.dicts;
        let map = |global: &mut crate::model::Dict, local: &crate::model::Dict| -> Vec<u32> {
            local
                .values()
                .iter()
                .map(|v| global.intern(v.as_bytes()))
                .collect()
        };
        let cats = map(&mut g.categories, &l.categories);
        let outs = map(&mut g.outcomes, &l.outcomes);
        let forces = map(&mut g.forces, &l.forces);
        let terms = map(&mut g.terms, &l.terms);
        let lsoas: Vec<u32> = (0..l.lsoas.len())
            .map(|i| {
                let name = l.lsoa_names.get(i).map(|s| s.as_bytes()).unwrap_or(b"");
                g.intern_lsoa(l.lsoas.value(i as u32).as_bytes(), name)
            })
            .collect();
        let Importer {
            bufs,
            new_ids,
            seen,
            manifest,
            report,
            rows_total,
            ..
        } = w;
        for (series, mut cols) in bufs {
            let maps: Vec<(usize, &[u32])> = match series {
                Series::Street => vec![
                    (1, &cats),
                    (2, &outs),
                    (3, &forces),
                    (4, &forces),
                    (5, &lsoas),
                ],
                Series::Outcomes => vec![(1, &outs), (2, &forces), (3, &forces), (4, &lsoas)],
                Series::StopSearch => {
                    let mut v: Vec<(usize, &[u32])> =
                        (1..=7).map(|c| (c, terms.as_slice())).collect();
                    v.extend([
                        (8, outs.as_slice()),
                        (9, forces.as_slice()),
                        (11, lsoas.as_slice()),
                    ]);
                    v
                }
            };
            for (c, m) in maps {
                cols[c].remap(m);
            }
            let buf = self
                .bufs
                .entry(series)
                .or_insert_with(|| empty_columns(series));
            for (dst, src) in buf.iter_mut().zip(cols) {
                dst.append(src);
            }
        }
        for (series, months) in new_ids {
            let dst = self.new_ids.entry(series).or_default();
            for (m, fps) in months {
                dst.entry(m).or_default().extend(fps);
            }
        }
        self.seen.extend(seen);
        for (k, mark) in manifest.files {
            let e = self.manifest.files.entry(k).or_default();
            e.rows_without_id = e.rows_without_id.max(mark.rows_without_id);
        }
        self.rows_total += rows_total;
        let r = &mut self.report;
        r.files += report.files;
        r.malformed += report.malformed;
        let room = self
            .opts
            .max_reported_problems
            .saturating_sub(r.problems.len());
        r.problems.extend(report.problems.into_iter().take(room));
        r.skipped_files.extend(report.skipped_files);
        for (dst, src) in [
            (&mut r.street, report.street),
            (&mut r.outcomes, report.outcomes),
            (&mut r.stop_search, report.stop_search),
        ] {
            dst.read += src.read;
            dst.added += src.added;
            dst.duplicates += src.duplicates;
            dst.no_location += src.no_location;
            dst.without_id += src.without_id;
        }
        for s in [Series::Street, Series::Outcomes, Series::StopSearch] {
            if self
                .bufs
                .get(&s)
                .is_some_and(|b| b[0].len() >= self.opts.chunk_rows)
            {
                self.flush(s)?;
            }
        }
        Ok(())
    }

    fn import_file(
        &mut self,
        path: &Path,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<(), InsightError> {
        let mut f = File::open(path).map_err(|e| InsightError::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = f.read(&mut magic).map_err(|e| InsightError::io(path, e))?;
        if n >= 2 && &magic[..2] == b"PK" {
            return self.import_zip(path, progress);
        }
        let f = File::open(path).map_err(|e| InsightError::io(path, e))?;
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.import_csv(
            BufReader::with_capacity(1 << 20, f),
            &path.display().to_string(),
            &name,
            false,
            progress,
        )
    }

    fn import_zip(
        &mut self,
        path: &Path,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<(), InsightError> {
        let shown = path.display().to_string();
        let f = File::open(path).map_err(|e| InsightError::io(path, e))?;
        let mut archive =
            zip::ZipArchive::new(BufReader::new(f)).map_err(|e| InsightError::BadArchive {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        for i in 0..archive.len() {
            let entry = archive.by_index(i).map_err(|e| InsightError::BadArchive {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let name = entry.name().to_string();
            if entry.is_dir() {
                continue;
            }
            if !name.to_ascii_lowercase().ends_with(".csv") {
                self.report.skipped_files.push(format!("{shown}!{name}"));
                continue;
            }
            let size = entry.size();
            let compressed = entry.compressed_size().max(1);
            let ratio = size as f64 / compressed as f64;
            if size > self.opts.max_entry_bytes {
                return Err(InsightError::ZipBomb {
                    path: shown,
                    entry: name,
                    reason: format!(
                        "declares {size} bytes uncompressed, limit {}",
                        self.opts.max_entry_bytes
                    ),
                });
            }
            if ratio > self.opts.max_ratio && size > 1 << 20 {
                return Err(InsightError::ZipBomb {
                    path: shown,
                    entry: name,
                    reason: format!(
                        "compression ratio {ratio:.0}:1, limit {:.0}:1",
                        self.opts.max_ratio
                    ),
                });
            }
            let tripped = Rc::new(Cell::new(false));
            let limited = LimitReader {
                inner: entry,
                remaining: size.min(self.opts.max_entry_bytes),
                tripped: tripped.clone(),
            };
            let display = format!("{shown}!{name}");
            let r = self.import_csv(
                BufReader::with_capacity(1 << 20, limited),
                &display,
                &name,
                true,
                progress,
            );
            if tripped.get() {
                return Err(InsightError::ZipBomb {
                    path: shown,
                    entry: name,
                    reason: "expands beyond the size it declares".into(),
                });
            }
            r?;
        }
        Ok(())
    }

    fn import_csv<R: BufRead>(
        &mut self,
        mut reader: R,
        display: &str,
        name: &str,
        in_archive: bool,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<(), InsightError> {
        let read_err = |e: csv::Error| -> InsightError {
            let reason = e.to_string();
            if in_archive {
                InsightError::BadArchive {
                    path: display.to_string(),
                    reason,
                }
            } else {
                match e.into_kind() {
                    csv::ErrorKind::Io(io) => InsightError::io(display, io),
                    other => InsightError::NotPoliceCsv {
                        path: display.to_string(),
                        reason: format!("{other:?}"),
                    },
                }
            }
        };
        // The csv reader counts lines one short after a CRLF terminator; correct for it.
        let crlf = {
            let head = reader
                .fill_buf()
                .map_err(|e| read_err(csv::Error::from(e)))?;
            let nl = head.iter().position(|&b| b == b'\n');
            nl.is_some_and(|i| i > 0 && head[i - 1] == b'\r')
        };
        let line_fix = u64::from(crlf);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut rec = csv::ByteRecord::new();
        let got = rdr.read_byte_record(&mut rec).map_err(read_err)?;
        if !got {
            return Err(InsightError::NotPoliceCsv {
                path: display.to_string(),
                reason: "the file is empty".into(),
            });
        }
        if rec
            .iter()
            .any(|f| f.contains(&0) || std::str::from_utf8(f).is_err())
        {
            return Err(InsightError::NotPoliceCsv {
                path: display.to_string(),
                reason: "the first line is binary data, not a CSV header".into(),
            });
        }
        let header: Vec<String> = rec.iter().map(normalise_header_field).collect();
        let Some(series) = Series::from_header(&header) else {
            return Err(InsightError::WrongHeader {
                path: display.to_string(),
                found: header.join(","),
            });
        };
        let parsed = parse_file_name(name);
        if let Some(p) = &parsed
            && p.series != series
        {
            return Err(InsightError::FileMismatch {
                path: display.to_string(),
                line: 1,
                reason: format!(
                    "the name says {} but the header is a {} header",
                    p.series.file_suffix(),
                    series.file_suffix()
                ),
            });
        }
        let mut ctx = FileCtx {
            display: display.to_string(),
            series,
            identity: String::new(),
            expect_month: parsed.as_ref().map(|p| p.month),
            expect_force: parsed.as_ref().map(|p| force_key(&p.force)),
            force_slug: parsed.as_ref().map(|p| p.force.clone()).unwrap_or_else(|| {
                name.rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(name)
                    .trim_end_matches(".csv")
                    .to_string()
            }),
            idless: 0,
            already_idless: 0,
            line: 1,
        };
        if let Some(p) = &parsed {
            ctx.identity = format!(
                "{}|{}|{}",
                series.file_suffix(),
                p.month,
                force_key(&p.force)
            );
            ctx.already_idless = self.mark(&ctx.identity);
        }
        self.report.files += 1;
        let mut since_progress = 0u64;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(read_err(e)),
            }
            let line = rec.position().map(|p| p.line()).unwrap_or(0) + line_fix;
            ctx.line = line;
            if rec.len() == 1 && rec[0].is_empty() {
                continue; // blank line
            }
            self.rows_total += 1;
            self.counts(series).read += 1;
            let r = match series {
                Series::Street => self.street_row(&rec, &mut ctx),
                Series::Outcomes => self.outcome_row(&rec, &mut ctx),
                Series::StopSearch => self.stop_row(&rec, &mut ctx),
            };
            match r {
                Ok(()) => {}
                Err(RowError::Fatal(e)) => return Err(e),
                Err(RowError::Malformed(reason)) => {
                    if self.opts.strict {
                        return Err(InsightError::Malformed {
                            path: display.to_string(),
                            line,
                            reason,
                        });
                    }
                    self.report.malformed += 1;
                    if self.report.problems.len() < self.opts.max_reported_problems {
                        self.report.problems.push(RowProblem {
                            file: display.to_string(),
                            line,
                            reason,
                        });
                    }
                }
            }
            if ctx.identity.is_empty() {
                // The first row names the file's identity when its name does not.
                continue;
            }
            since_progress += 1;
            if since_progress >= 100_000 {
                since_progress = 0;
                progress(self.progress(display));
            }
            if self
                .bufs
                .get(&series)
                .is_some_and(|b| b[0].len() >= self.opts.chunk_rows)
            {
                self.flush(series)?;
            }
        }
        if !ctx.identity.is_empty() {
            let mark = self.manifest.files.entry(ctx.identity.clone()).or_default();
            mark.rows_without_id = mark.rows_without_id.max(ctx.idless);
        }
        progress(self.progress(display));
        Ok(())
    }

    fn progress(&self, file: &str) -> ImportProgress {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        ImportProgress {
            file: file.to_string(),
            rows: self.rows_total,
            rows_per_second: self.rows_total as f64 / secs,
        }
    }

    fn mark(&self, identity: &str) -> u64 {
        self.manifest
            .files
            .get(identity)
            .map(|m| m.rows_without_id)
            .unwrap_or(0)
    }

    fn counts(&mut self, s: Series) -> &mut SeriesCounts {
        match s {
            Series::Street => &mut self.report.street,
            Series::Outcomes => &mut self.report.outcomes,
            Series::StopSearch => &mut self.report.stop_search,
        }
    }

    /// Checks a row's month and force against the file's name (or its first row).
    fn check_identity(
        &mut self,
        ctx: &mut FileCtx,
        month: Month,
        force: Option<&[u8]>,
        line: u64,
    ) -> Result<(), RowError> {
        let fatal = |reason: String| {
            RowError::Fatal(InsightError::FileMismatch {
                path: ctx.display.clone(),
                line,
                reason,
            })
        };
        match ctx.expect_month {
            Some(m) if m != month => {
                return Err(fatal(format!(
                    "row month {month} differs from the file's month {m}"
                )));
            }
            None => ctx.expect_month = Some(month),
            _ => {}
        }
        if let Some(force) = force {
            let name = String::from_utf8_lossy(force);
            let key = force_key(&name);
            match &ctx.expect_force {
                Some(k) if *k != key => {
                    return Err(fatal(format!(
                        "row reported by {name:?} but the file belongs to force {:?}",
                        ctx.force_slug
                    )));
                }
                None => {
                    ctx.expect_force = Some(key.clone());
                    ctx.force_slug = key;
                }
                _ => {}
            }
        }
        if ctx.identity.is_empty() {
            ctx.identity = format!(
                "{}|{}|{}",
                ctx.series.file_suffix(),
                month,
                ctx.expect_force
                    .clone()
                    .unwrap_or_else(|| ctx.force_slug.clone())
            );
            ctx.already_idless = self.mark(&ctx.identity);
        }
        Ok(())
    }

    fn coords(&mut self, lon: &[u8], lat: &[u8]) -> Result<Option<(i32, i32)>, RowError> {
        let (lon, lat) = (trim(lon), trim(lat));
        if lon.is_empty() && lat.is_empty() {
            return Ok(None);
        }
        let parse = |b: &[u8], what: &str| -> Result<i32, RowError> {
            parse_micro(b).ok_or_else(|| {
                RowError::Malformed(format!(
                    "{what} {:?} is not a number",
                    String::from_utf8_lossy(b)
                ))
            })
        };
        let key = (parse(lon, "Longitude")?, parse(lat, "Latitude")?);
        if !(-180_000_000..=180_000_000).contains(&key.0)
            || !(-90_000_000..=90_000_000).contains(&key.1)
        {
            return Err(RowError::Malformed(format!(
                "coordinates {},{} out of range",
                String::from_utf8_lossy(lon),
                String::from_utf8_lossy(lat)
            )));
        }
        let (x, y) = (key.0 as f64 / 1e6, key.1 as f64 / 1e6);
        if let Some(&v) = self.bng_cache.get(&key) {
            return Ok(Some(v));
        }
        let (e, n) = wgs84_to_bng(x, y);
        let v = (e.round() as i32, n.round() as i32);
        if self.bng_cache.len() < 4_000_000 {
            self.bng_cache.insert(key, v);
        }
        Ok(Some(v))
    }

    fn is_new_id(&mut self, series: Series, month: u16, fp: u64) -> Result<bool, InsightError> {
        if !self.seen.contains_key(&(series, month)) {
            let mut set = IdSet::default();
            for seg in self.manifest.segments.iter().chain(self.written.iter()) {
                if seg.series != series || month < seg.min_month.0 || month > seg.max_month.0 {
                    continue;
                }
                if let Some(ids) = &seg.ids_file {
                    set.extend(read_ids(&self.dir.join(ids), month)?);
                }
            }
            self.seen.insert((series, month), set);
        }
        let set = self.seen.get_mut(&(series, month)).expect("inserted above");
        Ok(set.insert(fp))
    }

    /// Applies the ID / occurrence-index rule; true when the row is new and must be stored.
    fn dedupe(
        &mut self,
        ctx: &mut FileCtx,
        month: Month,
        fp: Option<u64>,
    ) -> Result<bool, RowError> {
        let series = ctx.series;
        let new = match fp {
            Some(fp) => {
                let new = self
                    .is_new_id(series, month.0, fp)
                    .map_err(RowError::Fatal)?;
                if new {
                    self.new_ids
                        .entry(series)
                        .or_default()
                        .entry(month.0)
                        .or_default()
                        .push(fp);
                }
                new
            }
            None => {
                self.counts(series).without_id += 1;
                let idx = ctx.idless;
                ctx.idless += 1;
                idx >= ctx.already_idless
            }
        };
        if new {
            self.counts(series).added += 1;
        } else {
            self.counts(series).duplicates += 1;
        }
        Ok(new)
    }

    fn street_row(&mut self, rec: &csv::ByteRecord, ctx: &mut FileCtx) -> Result<(), RowError> {
        if rec.len() != 12 {
            return Err(RowError::Malformed(format!(
                "expected 12 fields, found {}",
                rec.len()
            )));
        }
        let line = ctx.line;
        let month = parse_month(&rec[1])?;
        let reported = trim(&rec[2]);
        if reported.is_empty() {
            return Err(RowError::Malformed("Reported by is empty".into()));
        }
        self.check_identity(ctx, month, Some(reported), line)?;
        let category = trim(&rec[9]);
        if category.is_empty() {
            return Err(RowError::Malformed("Crime type is empty".into()));
        }
        let no_location = trim(&rec[6]).eq_ignore_ascii_case(b"No Location");
        let xy = if no_location {
            None
        } else {
            self.coords(&rec[4], &rec[5])?
        };
        let id = trim(&rec[0]);
        let fp = (!id.is_empty()).then(|| crime_fingerprint(id));
        if !self.dedupe(ctx, month, fp)? {
            return Ok(());
        }
        if xy.is_none() {
            self.report.street.no_location += 1;
        }
        let d = &mut self.manifest.dicts;
        let cat = d.categories.intern(category) as u16;
        let outcome = intern16(&mut d.outcomes, trim(&rec[10]));
        let rep = force_id(&mut self.last_force, &mut d.forces, reported);
        let falls = force_id(&mut self.last_force, &mut d.forces, trim(&rec[3]));
        let lsoa = intern_lsoa(d, trim(&rec[7]), trim(&rec[8]));
        let (x, y) = xy.unwrap_or((NO_COORD, NO_COORD));
        let b = self
            .bufs
            .entry(Series::Street)
            .or_insert_with(|| empty_columns(Series::Street));
        push_u16(&mut b[0], month.0);
        push_u16(&mut b[1], cat);
        push_u16(&mut b[2], outcome);
        push_u16(&mut b[3], rep);
        push_u16(&mut b[4], falls);
        push_u32(&mut b[5], lsoa);
        push_i32(&mut b[6], x);
        push_i32(&mut b[7], y);
        Ok(())
    }

    fn outcome_row(&mut self, rec: &csv::ByteRecord, ctx: &mut FileCtx) -> Result<(), RowError> {
        if rec.len() != 10 {
            return Err(RowError::Malformed(format!(
                "expected 10 fields, found {}",
                rec.len()
            )));
        }
        let line = ctx.line;
        let month = parse_month(&rec[1])?;
        let reported = trim(&rec[2]);
        if reported.is_empty() {
            return Err(RowError::Malformed("Reported by is empty".into()));
        }
        self.check_identity(ctx, month, Some(reported), line)?;
        let outcome = trim(&rec[9]);
        if outcome.is_empty() {
            return Err(RowError::Malformed("Outcome type is empty".into()));
        }
        let no_location = trim(&rec[6]).eq_ignore_ascii_case(b"No Location");
        let xy = if no_location {
            None
        } else {
            self.coords(&rec[4], &rec[5])?
        };
        let id = trim(&rec[0]);
        let crime_fp = if id.is_empty() {
            0
        } else {
            crime_fingerprint(id)
        };
        let fp = (!id.is_empty()).then(|| fnv1a(&[id, outcome]));
        if !self.dedupe(ctx, month, fp)? {
            return Ok(());
        }
        if xy.is_none() {
            self.report.outcomes.no_location += 1;
        }
        let d = &mut self.manifest.dicts;
        let out = d.outcomes.intern(outcome) as u16;
        let rep = d.forces.intern(reported) as u16;
        let falls = intern16(&mut d.forces, trim(&rec[3]));
        let lsoa = intern_lsoa(d, trim(&rec[7]), trim(&rec[8]));
        let (x, y) = xy.unwrap_or((NO_COORD, NO_COORD));
        let b = self
            .bufs
            .entry(Series::Outcomes)
            .or_insert_with(|| empty_columns(Series::Outcomes));
        push_u16(&mut b[0], month.0);
        push_u16(&mut b[1], out);
        push_u16(&mut b[2], rep);
        push_u16(&mut b[3], falls);
        push_u32(&mut b[4], lsoa);
        push_i32(&mut b[5], x);
        push_i32(&mut b[6], y);
        if let Column::U64(v) = &mut b[7] {
            v.push(crime_fp);
        }
        Ok(())
    }

    fn stop_row(&mut self, rec: &csv::ByteRecord, ctx: &mut FileCtx) -> Result<(), RowError> {
        if rec.len() != 15 && rec.len() != 14 {
            return Err(RowError::Malformed(format!(
                "expected 15 fields, found {}",
                rec.len()
            )));
        }
        let line = ctx.line;
        let month = Month::parse_bytes(trim(&rec[1])).ok_or_else(|| {
            RowError::Malformed(format!(
                "Date {:?} is not an ISO date",
                String::from_utf8_lossy(&rec[1])
            ))
        })?;
        self.check_identity(ctx, month, None, line)?;
        // Stop-and-search files put latitude before longitude.
        let xy = self.coords(&rec[5], &rec[4])?;
        if !self.dedupe(ctx, month, None)? {
            return Ok(());
        }
        if xy.is_none() {
            self.report.stop_search.no_location += 1;
        }
        let lsoa = match (&self.geo, xy) {
            (Some(g), Some((x, y))) => g
                .locate(x as f64, y as f64)
                .map(|(code, name)| (code.to_string(), name.to_string())),
            _ => None,
        };
        let d = &mut self.manifest.dicts;
        let lsoa = lsoa
            .map(|(c, n)| d.intern_lsoa(c.as_bytes(), n.as_bytes()))
            .unwrap_or(NONE32);
        let mut t = |i: usize| intern16(&mut d.terms, trim(&rec[i]));
        let fields = [t(0), t(6), t(7), t(8), t(9), t(10), t(11)];
        let outcome = intern16(&mut d.outcomes, trim(&rec[12]));
        let force = d.forces.intern(ctx.force_slug.as_bytes()) as u16;
        let flag = |b: &[u8]| -> u16 {
            match trim(b).to_ascii_lowercase().as_slice() {
                b"true" | b"yes" => 1,
                b"false" | b"no" => 2,
                _ => 0,
            }
        };
        let removal = if rec.len() == 15 { flag(&rec[14]) } else { 0 };
        let flags = flag(&rec[2]) | (flag(&rec[13]) << 2) | (removal << 4);
        let (x, y) = xy.unwrap_or((NO_COORD, NO_COORD));
        let b = self
            .bufs
            .entry(Series::StopSearch)
            .or_insert_with(|| empty_columns(Series::StopSearch));
        push_u16(&mut b[0], month.0);
        for (i, v) in fields.iter().enumerate() {
            push_u16(&mut b[1 + i], *v);
        }
        push_u16(&mut b[8], outcome);
        push_u16(&mut b[9], force);
        push_u16(&mut b[10], flags);
        push_u32(&mut b[11], lsoa);
        push_i32(&mut b[12], x);
        push_i32(&mut b[13], y);
        Ok(())
    }

    fn flush(&mut self, series: Series) -> Result<(), InsightError> {
        let Some(mut cols) = self.bufs.remove(&series) else {
            return Ok(());
        };
        if cols[0].is_empty() {
            return Ok(());
        }
        let rows = cols[0].len() as u64;
        let n = self.manifest.next_segment;
        self.manifest.next_segment += 1;
        let file = format!("seg-{n:08}-{}.bin", series.file_suffix());
        let ranks = lsoa_ranks(&self.manifest.dicts);
        let (min_month, max_month) =
            write_segment(&self.dir.join(&file), series, &mut cols, &ranks)?;
        let mut ids_file = None;
        if let Some(mut ids) = self.new_ids.remove(&series) {
            ids.values_mut().for_each(|v| v.sort_unstable());
            let name = format!("seg-{n:08}-{}.ids", series.file_suffix());
            write_ids(&self.dir.join(&name), &ids)?;
            ids_file = Some(name);
        }
        self.written.push(SegmentMeta {
            file,
            series,
            rows,
            min_month,
            max_month,
            ids_file,
        });
        self.report.segments_written += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<ImportReport, InsightError> {
        for s in [Series::Street, Series::Outcomes, Series::StopSearch] {
            if let Err(e) = self.flush(s) {
                self.discard();
                return Err(e);
            }
        }
        let mut m = self.manifest.clone();
        m.format = crate::store::FORMAT_VERSION;
        m.generation += 1;
        m.segments.extend(self.written.iter().cloned());
        if let Err(e) = commit_manifest(&self.dir, &m) {
            self.discard();
            return Err(e);
        }
        self.report.seconds = self.started.elapsed().as_secs_f64();
        Ok(std::mem::take(&mut self.report))
    }

    fn discard(&mut self) {
        for seg in self.written.drain(..) {
            let _ = fs::remove_file(self.dir.join(&seg.file));
            if let Some(ids) = seg.ids_file {
                let _ = fs::remove_file(self.dir.join(ids));
            }
        }
    }
}

fn is_zip(path: &Path) -> Result<bool, InsightError> {
    let mut f = File::open(path).map_err(|e| InsightError::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| InsightError::io(path, e))?;
    Ok(n == 2 && &magic == b"PK")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InsightError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| InsightError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Parses a decimal degree string into micro-degrees (rounded), without going through f64
/// for the common police.uk form ("-1.550626"); other forms fall back to the float parser.
pub fn parse_micro(b: &[u8]) -> Option<i32> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mut int: i64 = 0;
    let mut frac: i64 = 0;
    let mut frac_digits = 0;
    let mut seen_dot = false;
    let mut any = false;
    for &c in digits {
        match c {
            b'0'..=b'9' if !seen_dot => {
                int = int * 10 + (c - b'0') as i64;
                any = true;
                if int > 1000 {
                    return None;
                }
            }
            b'0'..=b'9' => {
                any = true;
                if frac_digits < 7 {
                    frac = frac * 10 + (c - b'0') as i64;
                    frac_digits += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => {
                // Exponents and other spellings: use the general parser.
                let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
                return v
                    .is_finite()
                    .then(|| (v * 1e6).round())
                    .filter(|v| v.abs() < 2e9)
                    .map(|v| v as i32);
            }
        }
    }
    if !any {
        return None;
    }
    // Scale to 7 digits, then round to 6.
    for _ in frac_digits..7 {
        frac *= 10;
    }
    let v = int * 1_000_000 + (frac + 5) / 10;
    Some(if neg { -v } else { v } as i32)
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn parse_month(b: &[u8]) -> Result<Month, RowError> {
    let t = trim(b);
    if t.len() != 7 {
        return Err(RowError::Malformed(format!(
            "Month {:?} is not YYYY-MM",
            String::from_utf8_lossy(b)
        )));
    }
    Month::parse_bytes(t).ok_or_else(|| {
        RowError::Malformed(format!(
            "Month {:?} is not YYYY-MM",
            String::from_utf8_lossy(b)
        ))
    })
}

/// Interns a force name, skipping the hash when it repeats the previous one.
fn force_id(last: &mut Option<(Vec<u8>, u16)>, d: &mut crate::model::Dict, v: &[u8]) -> u16 {
    if let Some((prev, id)) = last
        && prev.as_slice() == v
    {
        return *id;
    }
    let id = intern16(d, v);
    *last = Some((v.to_vec(), id));
    id
}

fn intern16(d: &mut crate::model::Dict, v: &[u8]) -> u16 {
    if v.is_empty() {
        NONE16
    } else {
        d.intern(v).min(NONE16 as u32 - 1) as u16
    }
}

fn intern_lsoa(d: &mut crate::store::Dicts, code: &[u8], name: &[u8]) -> u32 {
    if code.is_empty() {
        NONE32
    } else {
        d.intern_lsoa(code, name)
    }
}

fn push_u16(c: &mut Column, v: u16) {
    if let Column::U16(x) = c {
        x.push(v);
    }
}
fn push_u32(c: &mut Column, v: u32) {
    if let Column::U32(x) = c {
        x.push(v);
    }
}
fn push_i32(c: &mut Column, v: i32) {
    if let Column::I32(x) = c {
        x.push(v);
    }
}

/// Reads at most the declared size of an archive entry; trips when the data keeps coming.
struct LimitReader<R> {
    inner: R,
    remaining: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.set(true);
                    Err(std::io::Error::other("archive entry larger than declared"))
                }
            };
        }
        let max = buf.len().min(self.remaining as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_parse() {
        let f = parse_file_name("2016-07/2016-07-west-yorkshire-street.csv").expect("parses");
        assert_eq!(f.force, "west-yorkshire");
        assert_eq!(f.series, Series::Street);
        assert_eq!(f.month.to_string(), "2016-07");
        let s = parse_file_name("2019-01-btp-stop-and-search.csv").expect("parses");
        assert_eq!((s.force.as_str(), s.series), ("btp", Series::StopSearch));
        assert!(parse_file_name("crimes.csv").is_none());
        assert!(parse_file_name("2016-07--street.csv").is_none());
    }

    #[test]
    fn fingerprints_cover_the_whole_id() {
        let a = b"aaaa000000000000000000000000000000000000000000000000000000000001";
        let b = b"aaaa000000000000000000000000000000000000000000000000000000000002";
        assert_ne!(crime_fingerprint(a), crime_fingerprint(b));
        assert_eq!(crime_fingerprint(a), crime_fingerprint(a));
    }
}

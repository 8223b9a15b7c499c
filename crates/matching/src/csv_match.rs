//! Matching two CSV lists of people with the same engine as the person index: column mapping,
//! strict reading with file/line/column errors, training, scoring and CSV output.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::blocking::BlockingPlan;
use crate::compare::{Field, Pattern};
use crate::error::MatchError;
use crate::frequency::Frequencies;
use crate::link::{PairRow, blocked_pairs, list_prior, prepare_all, train_on};
use crate::model::{Model, TrainOptions, TrainingReport, probability_from_weight};
use crate::normalize::{DateFormat, Dob};
use crate::record::{PersonRecord, Prepared};

/// A person field a CSV column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Record identifier (default: "line N").
    Id,
    /// A whole name in one cell: first word, middle words, last word.
    FullName,
    /// Given name.
    FirstName,
    /// Middle names.
    MiddleNames,
    /// Family name.
    Surname,
    /// Other names, separated by ";" or "|".
    Aliases,
    /// Date of birth, ISO, UK or compact form (or the `--dob-format` layout).
    Dob,
    /// Approximate birth year.
    ApproxBirthYear,
    /// Gender.
    Gender,
    /// Postcode.
    Postcode,
    /// First address line.
    AddressLine,
    /// Phone.
    Phone,
    /// School.
    School,
    /// E-mail.
    Email,
    /// Town, city, suburb or locality.
    Town,
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        Ok(
            match s
                .trim()
                .to_ascii_lowercase()
                .replace(['-', ' '], "_")
                .as_str()
            {
                "id" => Target::Id,
                "full_name" | "name" => Target::FullName,
                "first_name" | "forename" | "given_name" => Target::FirstName,
                "middle_names" | "middle_name" => Target::MiddleNames,
                "surname" | "last_name" | "family_name" => Target::Surname,
                "aliases" | "alias" => Target::Aliases,
                "dob" | "date_of_birth" => Target::Dob,
                "approx_birth_year" | "birth_year" => Target::ApproxBirthYear,
                "gender" | "sex" => Target::Gender,
                "postcode" => Target::Postcode,
                "address_line" | "address" => Target::AddressLine,
                "phone" | "telephone" | "mobile" => Target::Phone,
                "school" => Target::School,
                "email" | "e_mail" => Target::Email,
                "town" | "city" | "suburb" | "locality" => Target::Town,
                _ => return Err(format!("unknown field '{s}'; use one of {FIELD_NAMES}")),
            },
        )
    }
}

/// The fields accepted on the right of `COLUMN=FIELD`, for help and error text.
pub const FIELD_NAMES: &str = "id, full_name, first_name, middle_names, surname, aliases, dob, approx_birth_year, gender, postcode, address_line, town, phone, school, email";

/// Which columns of each file feed which person fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    a: Vec<(String, Target)>,
    b: Vec<(String, Target)>,
}

impl FieldMap {
    /// Parses `COLUMN=FIELD,...`; an entry applies to both files unless its column starts
    /// with `A:` or `B:`. Example: `Forename=first_name,A:DOB=dob,B:Birth date=dob`. Several
    /// columns may feed one field (`No=address_line,Street=address_line,Town=address_line`):
    /// their values are joined with spaces in the order given.
    pub fn parse(text: &str) -> Result<FieldMap, MatchError> {
        let mut map = FieldMap::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let err = |message: String| MatchError::Map {
                entry: entry.to_string(),
                message,
            };
            let (column, field) = entry.rsplit_once('=').ok_or_else(|| {
                err("write it as COLUMN=FIELD, for example Forename=first_name".into())
            })?;
            let target: Target = field.parse().map_err(err)?;
            let (sides, column) = match column.split_once(':') {
                Some((side, col)) if side.trim().eq_ignore_ascii_case("a") => ((true, false), col),
                Some((side, col)) if side.trim().eq_ignore_ascii_case("b") => ((false, true), col),
                _ => ((true, true), column),
            };
            let column = column.trim();
            if column.is_empty() {
                return Err(err("the column name is empty".into()));
            }
            for (on, list) in [(sides.0, &mut map.a), (sides.1, &mut map.b)] {
                if !on {
                    continue;
                }
                if list.iter().any(|(c, t)| *t == target && c == column) {
                    return Err(err(format!(
                        "column '{column}' is mapped to '{field}' twice for the same file"
                    )));
                }
                if target == Target::Id && list.iter().any(|(_, t)| *t == Target::Id) {
                    return Err(err("only one column can be the id".into()));
                }
                // Several columns may feed one field (address parts): their values are
                // joined with spaces in the order given.
                list.push((column.to_string(), target));
            }
        }
        for list in [&map.a, &map.b] {
            let named = list
                .iter()
                .any(|(_, t)| matches!(t, Target::FirstName | Target::Surname | Target::FullName));
            if !named {
                return Err(MatchError::Map {
                    entry: text.to_string(),
                    message: "map at least a name column (first_name, surname or full_name) for each file".into(),
                });
            }
        }
        Ok(map)
    }
}

impl FromStr for FieldMap {
    type Err = MatchError;
    fn from_str(s: &str) -> Result<FieldMap, MatchError> {
        FieldMap::parse(s)
    }
}

/// Options for [`match_csv_with`] and [`dedupe_csv`].
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Pairs with a probability below this are not written (and not clustered).
    pub threshold: f64,
    /// Fixed trained parameters; `None` trains a model on the files.
    pub model: Option<Model>,
    /// Training settings when `model` is `None`.
    pub train: TrainOptions,
    /// Layout of dates of birth that are in none of the common forms.
    pub dob_format: Option<DateFormat>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            threshold: 0.5,
            model: None,
            train: TrainOptions::default(),
            dob_format: None,
        }
    }
}

/// What reading one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReadReport {
    /// Records read.
    pub records: usize,
    /// Dates of birth that are no calendar date (kept and compared as written).
    pub dob_not_dates: usize,
    /// Lines holding text that was not UTF-8 and was read as Windows-1252.
    pub windows_1252_lines: usize,
}

/// What a CSV match or deduplication did.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// What reading file A (or the one file) found.
    pub a: ReadReport,
    /// What reading file B found (empty when deduplicating).
    pub b: ReadReport,
    /// The blocking rules chosen for these files.
    pub blocking_rules: Vec<String>,
    /// Candidate pairs produced by blocking and scored.
    pub candidate_pairs: usize,
    /// Pairs at or above the threshold, written to the output.
    pub pairs_written: usize,
    /// Clusters of more than one record (deduplication only).
    pub clusters: usize,
    /// Merges the chain guard refused (deduplication only).
    pub merges_refused: usize,
    /// The model used (trained on the files unless one was given).
    pub model: Model,
    /// How the model was trained, when it was.
    pub training: Option<TrainingReport>,
    /// Wall time of each phase in seconds (read, block, train, score, write), cumulative.
    pub timings: Vec<(&'static str, f64)>,
}

/// Matches two CSV files and writes candidate pairs at or above `threshold` as CSV, training
/// the model on the two files. See [`match_csv_with`] for more options.
pub fn match_csv(
    a: &Path,
    b: &Path,
    map: &FieldMap,
    threshold: f64,
    out: &mut dyn Write,
) -> Result<MatchReport, MatchError> {
    let opts = MatchOptions {
        threshold,
        ..MatchOptions::default()
    };
    match_csv_with(a, b, map, &opts, out)
}

/// Records of one file, prepared for comparison, with their line numbers.
struct List {
    prepared: Vec<Prepared>,
    lines: Vec<u64>,
    report: ReadReport,
}

/// The scoring side shared by linking and deduplication.
struct Scorer {
    model: Model,
    table: crate::model::WeightTable,
    prior: f64,
    freq: Frequencies,
}

impl Scorer {
    fn new(model: Model, other: usize, records: &[&[Prepared]]) -> Scorer {
        let freq = Frequencies::of(records.iter().flat_map(|l| l.iter().map(|p| &p.hot)));
        Scorer {
            table: model.table(),
            prior: list_prior(&model, other),
            model,
            freq,
        }
    }

    /// Probability and weight of a pair of counted records.
    fn score(&self, pattern: &Pattern, a: &Prepared, b: &Prepared) -> (f64, f64) {
        let adj = self
            .freq
            .adjust(self.table.u_exact(), pattern, &a.hot, &b.hot, 0);
        let w = self.prior + self.table.weight(pattern, &adj);
        (probability_from_weight(w), w)
    }
}

fn check_threshold(t: f64) -> Result<(), MatchError> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(MatchError::Threshold(t))
    }
}

/// Matches two CSV files with explicit options. Output columns: `a_id, b_id, a_line, b_line,
/// probability, match_weight`, then `<field>` (level name) and `<field>_weight` per field.
pub fn match_csv_with(
    a: &Path,
    b: &Path,
    map: &FieldMap,
    opts: &MatchOptions,
    out: &mut dyn Write,
) -> Result<MatchReport, MatchError> {
    check_threshold(opts.threshold)?;
    let clock = std::time::Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &'static str| timings.push((name, clock.elapsed().as_secs_f64()));
    let la = read_list(a, &map.a, opts.dob_format.as_ref())?;
    let lb = read_list(b, &map.b, opts.dob_format.as_ref())?;
    let (pa, pb) = (&la.prepared, &lb.prepared);
    lap("read");
    let plan = BlockingPlan::choose(pa, pb, false, opts.train.comparisons_per_record);
    let pairs = blocked_pairs(&plan, pa, pb, false);
    lap("block");
    let (model, training) = match &opts.model {
        Some(m) => (m.clone(), None),
        None => {
            let (m, report) = train_on(&plan, pa, pb, false, &pairs, &opts.train);
            (m, Some(report))
        }
    };
    lap("train");
    let scorer = Scorer::new(model, pb.len(), &[pa, pb]);
    let kept = scored_pairs(&scorer, &pairs, pa, pb, opts.threshold);
    lap("score");
    write_pairs(out, &scorer, &kept, &pairs, (&la, &lb), ("a", "b"))?;
    lap("write");
    Ok(MatchReport {
        a: la.report,
        b: lb.report,
        blocking_rules: plan.rules.iter().map(|r| r.describe()).collect(),
        candidate_pairs: pairs.len(),
        pairs_written: kept.len(),
        clusters: 0,
        merges_refused: 0,
        model: scorer.model,
        training,
        timings,
    })
}

/// A scored pair kept for output: positions, probability, weight and its row in the pairs.
type Kept = (u32, u32, f64, f64, usize);

fn scored_pairs(
    scorer: &Scorer,
    pairs: &[PairRow],
    pa: &[Prepared],
    pb: &[Prepared],
    threshold: f64,
) -> Vec<Kept> {
    let mut kept: Vec<Kept> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let (prob, w) = scorer.score(&p.pattern, &pa[p.a as usize], &pb[p.b as usize]);
            (prob >= threshold).then_some((p.a, p.b, prob, w, i))
        })
        .collect();
    kept.sort_by(|x, y| x.0.cmp(&y.0).then(y.2.total_cmp(&x.2)).then(x.1.cmp(&y.1)));
    kept
}

fn write_err(e: csv::Error) -> MatchError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => MatchError::Write(io),
        other => MatchError::Write(std::io::Error::other(format!("{other:?}"))),
    }
}

fn write_pairs(
    out: &mut dyn Write,
    scorer: &Scorer,
    kept: &[Kept],
    pairs: &[PairRow],
    (la, lb): (&List, &List),
    (x, y): (&str, &str),
) -> Result<(), MatchError> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        format!("{x}_id"),
        format!("{y}_id"),
        format!("{x}_line"),
        format!("{y}_line"),
        "probability".into(),
        "match_weight".into(),
    ];
    for f in Field::ALL {
        header.push(f.name().to_string());
        header.push(format!("{}_weight", f.name()));
    }
    w.write_record(&header).map_err(write_err)?;
    for &(ai, bi, prob, weight, i) in kept {
        let (pa, pb) = (&la.prepared[ai as usize], &lb.prepared[bi as usize]);
        let mut row = vec![
            pa.id.clone(),
            pb.id.clone(),
            la.lines[ai as usize].to_string(),
            lb.lines[bi as usize].to_string(),
            format!("{prob:.6}"),
            format!("{weight:.3}"),
        ];
        let pattern = &pairs[i].pattern;
        let adj = scorer
            .freq
            .adjust(scorer.table.u_exact(), pattern, &pa.hot, &pb.hot, 0);
        for e in scorer.model.evidence(pattern, &adj) {
            row.push(e.level);
            row.push(format!("{:.3}", e.match_weight));
        }
        w.write_record(&row).map_err(write_err)?;
    }
    w.flush().map_err(MatchError::Write)
}

/// Clusters bigger than this are never merged further: no one is recorded that many times.
pub const MAX_CLUSTER: usize = 200;

/// Finds the people recorded more than once in one CSV file: scores blocked pairs within the
/// file, then joins pairs at or above the threshold into clusters, strongest pairs first.
/// The chain guard: two clusters join only when the average probability over every pair
/// across them (each scored directly) reaches the threshold, so A~B and B~C do not make
/// A, B, C one person when A and C are plainly different, and a long chain never forms.
/// Writes `cluster,id,line,cluster_size` for every record (one cluster per person) to
/// `clusters`, and the pairs as [`match_csv_with`] does (columns `x_*`, `y_*`) to `pairs`.
pub fn dedupe_csv(
    file: &Path,
    map: &FieldMap,
    opts: &MatchOptions,
    clusters: &mut dyn Write,
    pairs_out: Option<&mut dyn Write>,
) -> Result<MatchReport, MatchError> {
    check_threshold(opts.threshold)?;
    let clock = std::time::Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &'static str| timings.push((name, clock.elapsed().as_secs_f64()));
    let list = read_list(file, &map.a, opts.dob_format.as_ref())?;
    let p = &list.prepared;
    lap("read");
    let plan = BlockingPlan::choose(p, p, true, opts.train.comparisons_per_record);
    let pairs = blocked_pairs(&plan, p, p, true);
    lap("block");
    let (model, training) = match &opts.model {
        Some(m) => (m.clone(), None),
        None => {
            let (m, report) = train_on(&plan, p, p, true, &pairs, &opts.train);
            (m, Some(report))
        }
    };
    lap("train");
    let scorer = Scorer::new(model, p.len().saturating_sub(1), &[p]);
    let kept = scored_pairs(&scorer, &pairs, p, p, opts.threshold);
    lap("score");
    let (cluster_of, refused) = cluster(&scorer, p, &kept, opts.threshold);
    lap("cluster");
    let mut size = vec![0usize; p.len()];
    for &c in &cluster_of {
        size[c] += 1;
    }
    let mut w = csv::Writer::from_writer(clusters);
    w.write_record(["cluster", "id", "line", "cluster_size"])
        .map_err(write_err)?;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by_key(|&i| (cluster_of[i], i));
    for i in order {
        let c = cluster_of[i];
        w.write_record([
            p[c].id.as_str(),
            p[i].id.as_str(),
            &list.lines[i].to_string(),
            &size[c].to_string(),
        ])
        .map_err(write_err)?;
    }
    w.flush().map_err(MatchError::Write)?;
    drop(w);
    if let Some(out) = pairs_out {
        write_pairs(out, &scorer, &kept, &pairs, (&list, &list), ("x", "y"))?;
    }
    lap("write");
    Ok(MatchReport {
        a: list.report,
        b: ReadReport::default(),
        blocking_rules: plan.rules.iter().map(|r| r.describe()).collect(),
        candidate_pairs: pairs.len(),
        pairs_written: kept.len(),
        clusters: size.iter().filter(|&&n| n > 1).count(),
        merges_refused: refused,
        model: scorer.model,
        training,
        timings,
    })
}

/// Joins records into clusters (each named by its smallest member) from the kept pairs,
/// strongest first, under the chain guard; returns the cluster of each record and how many
/// merges were refused.
fn cluster(scorer: &Scorer, p: &[Prepared], kept: &[Kept], threshold: f64) -> (Vec<usize>, usize) {
    let mut parent: Vec<usize> = (0..p.len()).collect();
    let mut members: Vec<Vec<usize>> = (0..p.len()).map(|i| vec![i]).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut edges: Vec<&Kept> = kept.iter().collect();
    edges.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let mut refused = 0;
    for &&(a, b, _, _, _) in &edges {
        let (ra, rb) = (root(&mut parent, a as usize), root(&mut parent, b as usize));
        if ra == rb {
            continue;
        }
        let (ma, mb) = (&members[ra], &members[rb]);
        if ma.len() + mb.len() > MAX_CLUSTER {
            refused += 1;
            continue;
        }
        if ma.len() > 1 || mb.len() > 1 {
            let mut total = 0.0;
            for &x in ma {
                for &y in mb {
                    let pattern = crate::compare::compare(&p[x], &p[y]);
                    total += scorer.score(&pattern, &p[x], &p[y]).0;
                }
            }
            if total / ((ma.len() * mb.len()) as f64) < threshold {
                refused += 1;
                continue;
            }
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let moved = std::mem::take(&mut members[gone]);
        members[keep].extend(moved);
        parent[gone] = keep;
    }
    let cluster_of = (0..p.len()).map(|i| root(&mut parent, i)).collect();
    (cluster_of, refused)
}

/// Records prepared per batch while streaming a file: bounds the raw text held at once.
const BATCH: usize = 16_384;

/// Reads one CSV file into prepared records, streaming: raw rows are prepared in batches and
/// dropped, so memory follows the number of records, not the size of the file. Text that is
/// not UTF-8 is read as Windows-1252 (the usual export of spreadsheet programs on Windows);
/// bytes that are neither stop the read with the line.
fn read_list(
    path: &Path,
    map: &[(String, Target)],
    dob_format: Option<&DateFormat>,
) -> Result<List, MatchError> {
    let file = File::open(path).map_err(|source| MatchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .has_headers(false)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let csv_err = |e: csv::Error| csv_error(path, e);
    let cell_text = |bytes: &[u8], line: u64| {
        decode(bytes, line).map_err(|message| MatchError::Csv {
            path: path.to_path_buf(),
            line,
            message,
        })
    };
    let mut row = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut row).map_err(csv_err)? {
        return Err(MatchError::NoHeader {
            path: path.to_path_buf(),
            first_line: String::new(),
            columns: map_columns(map),
        });
    }
    let mut report = ReadReport::default();
    let mut headers = Vec::with_capacity(row.len());
    let mut converted = false;
    for cell in row.iter() {
        let (text, c) = cell_text(cell, 1)?;
        converted |= c;
        headers.push(text.trim().trim_start_matches('\u{feff}').to_string());
    }
    report.windows_1252_lines += usize::from(converted);
    let find = |column: &str| {
        headers
            .iter()
            .position(|h| h == column)
            .or_else(|| headers.iter().position(|h| h.eq_ignore_ascii_case(column)))
    };
    if map.iter().all(|(c, _)| find(c).is_none()) {
        return Err(MatchError::NoHeader {
            path: path.to_path_buf(),
            first_line: headers.join(","),
            columns: map_columns(map),
        });
    }
    let mut columns: Vec<(usize, Target, String)> = Vec::with_capacity(map.len());
    for (column, target) in map {
        let pos = find(column).ok_or_else(|| MatchError::MissingColumn {
            path: path.to_path_buf(),
            column: column.clone(),
            available: headers.join(", "),
        })?;
        columns.push((pos, *target, headers[pos].clone()));
    }
    let mut list = List {
        prepared: Vec::new(),
        lines: Vec::new(),
        report,
    };
    let mut batch: Vec<PersonRecord> = Vec::with_capacity(BATCH);
    while reader.read_byte_record(&mut row).map_err(csv_err)? {
        let line = row.position().map_or(0, |p| p.line());
        let mut person = PersonRecord {
            id: format!("line {line}"),
            ..Default::default()
        };
        let mut converted = false;
        for (pos, target, column) in &columns {
            let (value, c) = cell_text(row.get(*pos).unwrap_or(b""), line)?;
            converted |= c;
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            set_field(&mut person, *target, value, dob_format).map_err(|message| {
                MatchError::Cell {
                    path: path.to_path_buf(),
                    line,
                    column: column.clone(),
                    message,
                }
            })?;
        }
        list.report.windows_1252_lines += usize::from(converted);
        if person
            .dob
            .as_deref()
            .and_then(Dob::read)
            .is_some_and(|d| d.date().is_none())
        {
            list.report.dob_not_dates += 1;
        }
        batch.push(person);
        list.lines.push(line);
        if batch.len() == BATCH {
            list.prepared.extend(prepare_all(&batch));
            batch.clear();
        }
    }
    list.prepared.extend(prepare_all(&batch));
    list.report.records = list.prepared.len();
    Ok(list)
}

fn map_columns(map: &[(String, Target)]) -> String {
    map.iter()
        .map(|(c, _)| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Windows-1252 characters for bytes 0x80 to 0x9F (0 where the code page defines none);
/// bytes from 0xA0 up are the same code points as Latin-1.
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// Decodes one cell: UTF-8 as it is, otherwise Windows-1252; the flag says it was converted.
fn decode(bytes: &[u8], line: u64) -> Result<(String, bool), String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), false));
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        let c = match b {
            0x00..=0x7f => char::from(b),
            0x80..=0x9f => {
                let code = CP1252_HIGH[usize::from(b - 0x80)];
                char::from_u32(u32::from(code)).filter(|_| code != 0).ok_or_else(|| {
                    format!(
                        "byte 0x{b:02X} on line {line} is neither UTF-8 nor Windows-1252 text; save the file as UTF-8 CSV"
                    )
                })?
            }
            _ => char::from(b),
        };
        out.push(c);
    }
    Ok((out, true))
}

fn set_field(
    p: &mut PersonRecord,
    target: Target,
    value: &str,
    dob_format: Option<&DateFormat>,
) -> Result<(), String> {
    // A second column mapped to the same field adds its words to the first's.
    let join = |slot: &mut Option<String>| match slot {
        Some(existing) => {
            existing.push(' ');
            existing.push_str(value);
        }
        None => *slot = Some(value.to_string()),
    };
    match target {
        Target::Id => p.id = value.to_string(),
        Target::FullName => {
            let words: Vec<&str> = value.split_whitespace().collect();
            if let Some((last, rest)) = words.split_last() {
                if let Some((first, middle)) = rest.split_first() {
                    p.first_name = Some(first.to_string());
                    p.middle_names = (!middle.is_empty()).then(|| middle.join(" "));
                    p.surname = Some(last.to_string());
                } else {
                    p.surname = Some(last.to_string());
                }
            }
        }
        Target::FirstName => join(&mut p.first_name),
        Target::MiddleNames => join(&mut p.middle_names),
        Target::Surname => join(&mut p.surname),
        Target::Aliases => {
            p.aliases.extend(
                value
                    .split([';', '|'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        Target::Dob => {
            join(&mut p.dob);
            if let (Some(format), Some(raw)) = (dob_format, p.dob.as_deref()) {
                if let Some(iso) = format.to_iso(raw) {
                    p.dob = Some(iso);
                }
            }
        }
        Target::ApproxBirthYear => {
            let y: i32 = value
                .parse()
                .ok()
                .filter(|y| (1800..=2200).contains(y))
                .ok_or_else(|| {
                    format!("'{value}' is not a birth year; write four digits such as 2009")
                })?;
            p.approx_birth_year = Some(y);
        }
        Target::Gender => join(&mut p.gender),
        Target::Postcode => join(&mut p.postcode),
        Target::AddressLine => join(&mut p.address_line),
        Target::Phone => join(&mut p.phone),
        Target::School => join(&mut p.school),
        Target::Email => join(&mut p.email),
        Target::Town => join(&mut p.town),
    }
    Ok(())
}

fn csv_error(path: &Path, e: csv::Error) -> MatchError {
    let line = e.position().map_or(0, |p| p.line());
    let path: PathBuf = path.to_path_buf();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => MatchError::Io { path, source },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => MatchError::Csv {
            path,
            line,
            message: format!(
                "this row has {len} cells but the header has {expected_len}; quote cells that contain commas"
            ),
        },
        other => MatchError::Csv {
            path,
            line,
            message: format!("unreadable CSV ({other:?})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_parses_shared_and_prefixed_columns() {
        let m = FieldMap::parse(
            "Forename=first_name, Surname=surname, A:DOB=dob, B:Birth date=date_of_birth",
        )
        .expect("valid map");
        assert_eq!(
            m.a,
            vec![
                ("Forename".into(), Target::FirstName),
                ("Surname".into(), Target::Surname),
                ("DOB".into(), Target::Dob)
            ]
        );
        assert_eq!(m.b[2], ("Birth date".into(), Target::Dob));
    }

    #[test]
    fn several_columns_feed_one_field_in_order() {
        let m = FieldMap::parse("no=address_line,street=address_line,town=address_line,s=surname")
            .expect("valid map");
        let cols: Vec<&str> =
            m.a.iter()
                .filter(|(_, t)| *t == Target::AddressLine)
                .map(|(c, _)| c.as_str())
                .collect();
        assert_eq!(cols, ["no", "street", "town"]);
    }

    #[test]
    fn windows_1252_bytes_are_converted() {
        assert_eq!(decode(b"Zo\xeb", 2), Ok(("Zo\u{eb}".to_string(), true)));
        assert_eq!(
            decode(b"\x93Jo\x94", 2),
            Ok(("\u{201c}Jo\u{201d}".to_string(), true))
        );
        assert_eq!(decode("Zoë".as_bytes(), 2), Ok(("Zoë".to_string(), false)));
        let e = decode(b"a\x81b", 7).expect_err("undefined byte");
        assert!(e.contains("0x81") && e.contains("line 7"), "{e}");
    }

    #[test]
    fn map_errors_name_the_entry() {
        let e = FieldMap::parse("first=first_name,nonsense").expect_err("no =");
        assert!(e.to_string().contains("'nonsense'"), "{e}");
        let e = FieldMap::parse("first=shoe_size").expect_err("unknown field");
        assert!(e.to_string().contains("unknown field 'shoe_size'"), "{e}");
        let e = FieldMap::parse("a=first_name,a=first_name").expect_err("twice");
        assert!(e.to_string().contains("twice"), "{e}");
        let e = FieldMap::parse("a=id,b=id,c=surname").expect_err("two ids");
        assert!(e.to_string().contains("only one column"), "{e}");
        let e = FieldMap::parse("x=dob").expect_err("no name");
        assert!(e.to_string().contains("name column"), "{e}");
        let e = FieldMap::parse("A:f=first_name").expect_err("B has no name");
        assert!(e.to_string().contains("name column"), "{e}");
    }
}

//! Matching two CSV lists of people with the same engine as the person index: column mapping,
//! strict reading with file/line/column errors, training, scoring and CSV output.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::compare::Field;
use crate::error::MatchError;
use crate::link::{blocked_pairs, list_prior, prepare_all, score, train_on};
use crate::model::{Model, TrainOptions, TrainingReport};
use crate::normalize::parse_date;
use crate::record::PersonRecord;

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
    /// Date of birth, ISO or UK form.
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
                _ => return Err(format!("unknown field '{s}'; use one of {FIELD_NAMES}")),
            },
        )
    }
}

/// The fields accepted on the right of `COLUMN=FIELD`, for help and error text.
pub const FIELD_NAMES: &str = "id, full_name, first_name, middle_names, surname, aliases, dob, approx_birth_year, gender, postcode, address_line, phone, school, email";

/// Which columns of each file feed which person fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    a: Vec<(String, Target)>,
    b: Vec<(String, Target)>,
}

impl FieldMap {
    /// Parses `COLUMN=FIELD,...`; an entry applies to both files unless its column starts
    /// with `A:` or `B:`. Example: `Forename=first_name,A:DOB=dob,B:Birth date=dob`.
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
                if list.iter().any(|(_, t)| *t == target) {
                    return Err(err(format!(
                        "field '{field}' is mapped twice for the same file"
                    )));
                }
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

/// Options for [`match_csv_with`].
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Pairs with a probability below this are not written.
    pub threshold: f64,
    /// Fixed trained parameters; `None` trains a model on the two files.
    pub model: Option<Model>,
    /// Training settings when `model` is `None`.
    pub train: TrainOptions,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            threshold: 0.5,
            model: None,
            train: TrainOptions::default(),
        }
    }
}

/// What a CSV match did.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// Records read from file A.
    pub a_records: usize,
    /// Records read from file B.
    pub b_records: usize,
    /// Candidate pairs produced by blocking and scored.
    pub candidate_pairs: usize,
    /// Pairs at or above the threshold, written to the output.
    pub pairs_written: usize,
    /// The model used (trained on the files unless one was given).
    pub model: Model,
    /// How the model was trained, when it was.
    pub training: Option<TrainingReport>,
    /// Wall time of each phase in seconds (read, block, train, score, write).
    pub timings: Vec<(&'static str, f64)>,
}

/// Matches two CSV files and writes candidate pairs at or above `threshold` as CSV, training
/// the model on the two files. See [`match_csv_with`] for fixed parameters.
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

/// Matches two CSV files with explicit options. Output columns: `a_id, b_id, a_line, b_line,
/// probability, match_weight`, then `<field>` (level name) and `<field>_weight` per field.
pub fn match_csv_with(
    a: &Path,
    b: &Path,
    map: &FieldMap,
    opts: &MatchOptions,
    out: &mut dyn Write,
) -> Result<MatchReport, MatchError> {
    if !(0.0..=1.0).contains(&opts.threshold) {
        return Err(MatchError::Threshold(opts.threshold));
    }
    let clock = std::time::Instant::now();
    let mut timings = Vec::new();
    let mut lap = |name: &'static str| timings.push((name, clock.elapsed().as_secs_f64()));
    let (ra, lines_a) = read_people(a, &map.a)?;
    let (rb, lines_b) = read_people(b, &map.b)?;
    let (pa, pb) = (prepare_all(&ra), prepare_all(&rb));
    lap("read");
    let pairs = blocked_pairs(&pa, &pb, false);
    lap("block");
    let (model, training) = match &opts.model {
        Some(m) => (m.clone(), None),
        None => {
            let (m, report) = train_on(&pa, &pb, false, &pairs, &opts.train);
            (m, Some(report))
        }
    };
    lap("train");
    let table = model.table();
    let prior = list_prior(&model, pb.len());
    let mut kept: Vec<(u32, u32, f64, f64, usize)> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let (prob, w) = score(&table, prior, &p.pattern);
            (prob >= opts.threshold).then_some((p.a, p.b, prob, w, i))
        })
        .collect();
    kept.sort_by(|x, y| x.0.cmp(&y.0).then(y.2.total_cmp(&x.2)).then(x.1.cmp(&y.1)));

    lap("score");
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "a_id".to_string(),
        "b_id".into(),
        "a_line".into(),
        "b_line".into(),
        "probability".into(),
        "match_weight".into(),
    ];
    for f in Field::ALL {
        header.push(f.name().to_string());
        header.push(format!("{}_weight", f.name()));
    }
    let write_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => MatchError::Write(io),
        other => MatchError::Write(std::io::Error::other(format!("{other:?}"))),
    };
    w.write_record(&header).map_err(write_err)?;
    for &(ai, bi, prob, weight, i) in &kept {
        let mut row = vec![
            ra[ai as usize].id.clone(),
            rb[bi as usize].id.clone(),
            lines_a[ai as usize].to_string(),
            lines_b[bi as usize].to_string(),
            format!("{prob:.6}"),
            format!("{weight:.3}"),
        ];
        for e in model.evidence(&pairs[i].pattern) {
            row.push(e.level);
            row.push(format!("{:.3}", e.match_weight));
        }
        w.write_record(&row).map_err(write_err)?;
    }
    w.flush().map_err(MatchError::Write)?;
    drop(w);
    lap("write");
    Ok(MatchReport {
        a_records: ra.len(),
        b_records: rb.len(),
        candidate_pairs: pairs.len(),
        pairs_written: kept.len(),
        model,
        training,
        timings,
    })
}

/// Reads one CSV file into person records, with the 1-based line of each record.
pub fn read_people(
    path: &Path,
    map: &[(String, Target)],
) -> Result<(Vec<PersonRecord>, Vec<u64>), MatchError> {
    let file = File::open(path).map_err(|source| MatchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let csv_err = |e: csv::Error| csv_error(path, e);
    let headers = reader.headers().map_err(csv_err)?.clone();
    let mut columns: Vec<(usize, Target, String)> = Vec::with_capacity(map.len());
    for (column, target) in map {
        let pos = headers
            .iter()
            .position(|h| h.trim() == column)
            .or_else(|| {
                headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(column))
            })
            .ok_or_else(|| MatchError::MissingColumn {
                path: path.to_path_buf(),
                column: column.clone(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })?;
        columns.push((pos, *target, headers[pos].to_string()));
    }
    let mut people = Vec::new();
    let mut lines = Vec::new();
    let mut row = csv::StringRecord::new();
    while reader.read_record(&mut row).map_err(csv_err)? {
        let line = row.position().map_or(0, |p| p.line());
        let mut person = PersonRecord {
            id: format!("line {line}"),
            ..Default::default()
        };
        for (pos, target, column) in &columns {
            let value = row.get(*pos).unwrap_or("").trim();
            if value.is_empty() {
                continue;
            }
            let cell_err = |message: String| MatchError::Cell {
                path: path.to_path_buf(),
                line,
                column: column.clone(),
                message,
            };
            set_field(&mut person, *target, value).map_err(cell_err)?;
        }
        people.push(person);
        lines.push(line);
    }
    Ok((people, lines))
}

fn set_field(p: &mut PersonRecord, target: Target, value: &str) -> Result<(), String> {
    let v = Some(value.to_string());
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
        Target::FirstName => p.first_name = v,
        Target::MiddleNames => p.middle_names = v,
        Target::Surname => p.surname = v,
        Target::Aliases => {
            p.aliases = value
                .split([';', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        Target::Dob => {
            let d = parse_date(value).map_err(|e| e.to_string())?;
            p.dob = Some(d);
        }
        Target::ApproxBirthYear => {
            let y: i32 = value
                .parse()
                .ok()
                .filter(|y| (1900..=2200).contains(y))
                .ok_or_else(|| {
                    format!("'{value}' is not a birth year; write four digits such as 2009")
                })?;
            p.approx_birth_year = Some(y);
        }
        Target::Gender => p.gender = v,
        Target::Postcode => p.postcode = v,
        Target::AddressLine => p.address_line = v,
        Target::Phone => p.phone = v,
        Target::School => p.school = v,
        Target::Email => p.email = v,
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
        csv::ErrorKind::Utf8 { .. } => MatchError::Csv {
            path,
            line,
            message: "the text is not UTF-8; save the file as UTF-8 CSV".into(),
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
    fn map_errors_name_the_entry() {
        let e = FieldMap::parse("first=first_name,nonsense").expect_err("no =");
        assert!(e.to_string().contains("'nonsense'"), "{e}");
        let e = FieldMap::parse("first=shoe_size").expect_err("unknown field");
        assert!(e.to_string().contains("unknown field 'shoe_size'"), "{e}");
        let e = FieldMap::parse("a=first_name,b=first_name").expect_err("twice");
        assert!(e.to_string().contains("mapped twice"), "{e}");
        let e = FieldMap::parse("x=dob").expect_err("no name");
        assert!(e.to_string().contains("name column"), "{e}");
        let e = FieldMap::parse("A:f=first_name").expect_err("B has no name");
        assert!(e.to_string().contains("name column"), "{e}");
    }
}

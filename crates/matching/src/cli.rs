//! The `pathways people` command line: `match` links two CSV lists of people and writes the
//! candidate pairs with probabilities and per-field evidence; `dedupe` finds the people
//! recorded more than once in one list and writes one cluster per person.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::csv_match::{FieldMap, MatchOptions, MatchReport, dedupe_csv, match_csv_with};
use crate::error::MatchError;
use crate::model::Model;
use crate::normalize::DateFormat;

/// Options shared by `match` and `dedupe`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Column mapping as COLUMN=FIELD pairs separated by commas. Several columns may feed one
    /// field (address parts: No=address_line,Street=address_line,Town=address_line).
    #[arg(long, value_name = "COLUMN=FIELD,...", value_parser = parse_map)]
    pub map: FieldMap,
    /// Pairs with at least this match probability (0 to 1) are written (and clustered).
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub threshold: f64,
    /// Layout of dates of birth in none of the common forms, with Y, M and D for the parts:
    /// MM/DD/YYYY for US dates, YYYYDDMM, DD.MM.YY.
    #[arg(long, value_name = "LAYOUT", value_parser = parse_dob_format)]
    pub dob_format: Option<DateFormat>,
    /// Use these trained parameters (JSON from --save-model) instead of training on the files.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Save the model used (trained or given) as JSON, to reuse with --model.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
}

/// People commands: matching lists of people.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PeopleCommand {
    /// Match two CSV lists of people (for example a school roll against the person index
    /// export) and write candidate pairs with a match probability and the evidence per field.
    #[command(after_long_help = MATCH_HELP)]
    Match {
        /// First CSV file (with a header line).
        a: PathBuf,
        /// Second CSV file (with a header line).
        b: PathBuf,
        /// Shared options; in --map, A:COLUMN=FIELD or B:COLUMN=FIELD applies to one file
        /// only when headers differ.
        #[command(flatten)]
        common: CommonArgs,
        /// Write the pairs to this file (written whole, then moved into place) instead of
        /// standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Find the people recorded more than once in one CSV list (for example exports of
    /// several systems put together for a person index) and write one cluster per person.
    #[command(after_long_help = DEDUPE_HELP)]
    Dedupe {
        /// The CSV file (with a header line).
        file: PathBuf,
        /// Shared options.
        #[command(flatten)]
        common: CommonArgs,
        /// Write the clusters (cluster,id,line,cluster_size; every record once) to this file
        /// instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write the scored pairs at or above the threshold, with their evidence.
        #[arg(long, value_name = "FILE")]
        pairs: Option<PathBuf>,
    },
}

macro_rules! fields_help {
    () => {
        "\
Fields: id, full_name, first_name, middle_names, surname, aliases (separated by ; or |), dob,
approx_birth_year, gender, postcode, address_line, town, phone, school, email. Map at least one name
field. Column names are matched exactly, then ignoring case. Several columns mapped to one
field are joined with spaces in the order given.

Dates of birth may be YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY (or the
--dob-format layout). A value that is no calendar date (19751402) is kept and compared as
written (day and month swapped, one digit wrong); the summary counts them.
Text that is not UTF-8 is read as Windows-1252.\n\n"
    };
}

const MATCH_HELP: &str = concat!(
    fields_help!(),
    "\
In --map, A:COLUMN=FIELD or B:COLUMN=FIELD applies to one file only, when headers differ.

Output columns: a_id, b_id, a_line, b_line, probability, match_weight, then for each field its
comparison level (for example 'nickname', 'day and month swapped', 'same sector') and
<field>_weight, the log2 Bayes factor it contributed (positive supports a match).

Example:
  pathways people match roll.csv index.csv --threshold 0.8 --out pairs.csv \\
    --map 'First=first_name,Last=surname,DOB=dob,Postcode=postcode,A:Mobile=phone,B:Tel=phone'"
);

const DEDUPE_HELP: &str = concat!(
    fields_help!(),
    "\
Output columns: cluster (the id of the cluster's first record), id, line, cluster_size; one
row per record, so a record found nowhere else is a cluster of one. Records join a cluster
through pairs at or above --threshold, strongest first; two clusters join only when the
average probability over all pairs across them reaches the threshold, so chains of
look-alikes do not run together.

Example:
  pathways people dedupe index-export.csv --out clusters.csv --pairs pairs.csv \\
    --map 'Ref=id,Forename=first_name,Surname=surname,DOB=dob,No=address_line,Street=address_line,Postcode=postcode'"
);

fn parse_map(s: &str) -> Result<FieldMap, String> {
    FieldMap::parse(s).map_err(|e| e.to_string())
}

fn parse_dob_format(s: &str) -> Result<DateFormat, String> {
    DateFormat::parse(s)
}

impl CommonArgs {
    fn options(&self) -> Result<MatchOptions, MatchError> {
        let model = match &self.model {
            Some(path) => Some(read_model(path)?),
            None => None,
        };
        Ok(MatchOptions {
            threshold: self.threshold,
            model,
            dob_format: self.dob_format.clone(),
            ..MatchOptions::default()
        })
    }

    fn finish(&self, report: &MatchReport) -> Result<(), MatchError> {
        if std::env::var_os("PATHWAYS_MATCH_TIMINGS").is_some() {
            let phases: Vec<String> = report
                .timings
                .iter()
                .map(|(n, t)| format!("{n} {t:.3}s"))
                .collect();
            eprintln!("cumulative time: {}", phases.join(", "));
            eprintln!("blocking rules: {}", report.blocking_rules.join("; "));
        }
        if let Some(path) = &self.save_model {
            write_atomically(path.as_path(), |w| {
                w.write_all(report.model.to_json().as_bytes())
                    .map_err(MatchError::Write)
            })?;
        }
        Ok(())
    }
}

/// One line on what reading a file found, for the summary.
fn read_note(name: &str, r: &crate::csv_match::ReadReport) -> String {
    let mut notes = Vec::new();
    if r.dob_not_dates > 0 {
        notes.push(format!(
            "{} dates of birth are no calendar date (kept and compared as written)",
            r.dob_not_dates
        ));
    }
    if r.windows_1252_lines > 0 {
        notes.push(format!(
            "{} lines read as Windows-1252",
            r.windows_1252_lines
        ));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("\n{name}: {}", notes.join("; "))
    }
}

/// Runs a people command, printing a short summary to standard error.
pub fn run_people(cmd: PeopleCommand) -> Result<(), MatchError> {
    match cmd {
        PeopleCommand::Match { a, b, common, out } => {
            let opts = common.options()?;
            let report = match &out {
                Some(path) => {
                    write_atomically(path, |w| match_csv_with(&a, &b, &common.map, &opts, w))?
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    match_csv_with(&a, &b, &common.map, &opts, &mut lock)?
                }
            };
            common.finish(&report)?;
            eprintln!(
                "matched {} records against {}: {} candidate pairs scored, {} at or above {}{}{}",
                report.a.records,
                report.b.records,
                report.candidate_pairs,
                report.pairs_written,
                common.threshold,
                read_note(&a.display().to_string(), &report.a),
                read_note(&b.display().to_string(), &report.b),
            );
            Ok(())
        }
        PeopleCommand::Dedupe {
            file,
            common,
            out,
            pairs,
        } => {
            let opts = common.options()?;
            let run = |clusters: &mut dyn Write| -> Result<MatchReport, MatchError> {
                match &pairs {
                    Some(path) => write_atomically(path, |p| {
                        dedupe_csv(&file, &common.map, &opts, clusters, Some(p))
                    }),
                    None => dedupe_csv(&file, &common.map, &opts, clusters, None),
                }
            };
            let report = match &out {
                Some(path) => write_atomically(path, run)?,
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    run(&mut lock)?
                }
            };
            common.finish(&report)?;
            eprintln!(
                "{} records: {} candidate pairs scored, {} at or above {}; {} people recorded more than once{}{}",
                report.a.records,
                report.candidate_pairs,
                report.pairs_written,
                common.threshold,
                report.clusters,
                if report.merges_refused > 0 {
                    format!(
                        " ({} joins refused as chains of look-alikes)",
                        report.merges_refused
                    )
                } else {
                    String::new()
                },
                read_note(&file.display().to_string(), &report.a),
            );
            Ok(())
        }
    }
}

fn read_model(path: &Path) -> Result<Model, MatchError> {
    let text = fs::read_to_string(path).map_err(|source| MatchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Model::from_json(&text).map_err(|source| MatchError::Model {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes to a temporary file beside `path` and renames it into place only on success, so a
/// failed run never leaves a half-written output.
fn write_atomically<T>(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> Result<T, MatchError>,
) -> Result<T, MatchError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let io_err = |source| MatchError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(&tmp).map_err(io_err)?;
    let mut w = BufWriter::new(file);
    let result = f(&mut w).and_then(|v| {
        w.flush().map_err(MatchError::Write)?;
        Ok(v)
    });
    drop(w);
    match result {
        Ok(v) => {
            fs::rename(&tmp, path).map_err(io_err)?;
            Ok(v)
        }
        Err(e) => {
            // Best effort: the partial file is ours and useless.
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

//! The `pathways people` command line: `match` links two CSV lists of people and writes the
//! candidate pairs with probabilities and per-field evidence.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::csv_match::{FieldMap, MatchOptions, match_csv_with};
use crate::error::MatchError;
use crate::model::Model;

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
        /// Column mapping as COLUMN=FIELD pairs separated by commas; one map serves both files,
        /// and A:COLUMN=FIELD or B:COLUMN=FIELD applies to one file only when headers differ.
        #[arg(long, value_name = "COLUMN=FIELD,...", value_parser = parse_map)]
        map: FieldMap,
        /// Write only pairs with at least this match probability (0 to 1).
        #[arg(long, default_value_t = 0.5, value_name = "P")]
        threshold: f64,
        /// Write the pairs to this file (written whole, then moved into place) instead of
        /// standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Use these trained parameters (JSON from --save-model) instead of training on the files.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Save the model used (trained or given) as JSON, to reuse with --model.
        #[arg(long, value_name = "FILE")]
        save_model: Option<PathBuf>,
    },
}

const MATCH_HELP: &str = "\
Fields: id, full_name, first_name, middle_names, surname, aliases (separated by ; or |), dob
(YYYY-MM-DD or DD/MM/YYYY), approx_birth_year, gender, postcode, address_line, phone, school,
email. Map at least one name field. Column names are matched exactly, then ignoring case.

Output columns: a_id, b_id, a_line, b_line, probability, match_weight, then for each field its
comparison level (for example 'nickname', 'day and month swapped', 'same sector') and
<field>_weight, the log2 Bayes factor it contributed (positive supports a match).

Example:
  pathways people match roll.csv index.csv --threshold 0.8 --out pairs.csv \\
    --map 'First=first_name,Last=surname,DOB=dob,Postcode=postcode,A:Mobile=phone,B:Tel=phone'";

fn parse_map(s: &str) -> Result<FieldMap, String> {
    FieldMap::parse(s).map_err(|e| e.to_string())
}

/// Runs a people command, printing a one-line summary to standard error.
pub fn run_people(cmd: PeopleCommand) -> Result<(), MatchError> {
    match cmd {
        PeopleCommand::Match {
            a,
            b,
            map,
            threshold,
            out,
            model,
            save_model,
        } => {
            let model = match model {
                Some(path) => Some(read_model(&path)?),
                None => None,
            };
            let opts = MatchOptions {
                threshold,
                model,
                ..MatchOptions::default()
            };
            let report = match &out {
                Some(path) => write_atomically(path, |w| match_csv_with(&a, &b, &map, &opts, w))?,
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    match_csv_with(&a, &b, &map, &opts, &mut lock)?
                }
            };
            if std::env::var_os("PATHWAYS_MATCH_TIMINGS").is_some() {
                let phases: Vec<String> = report
                    .timings
                    .iter()
                    .map(|(n, t)| format!("{n} {t:.3}s"))
                    .collect();
                eprintln!("cumulative time: {}", phases.join(", "));
            }
            if let Some(path) = save_model {
                write_atomically(path.as_path(), |w| {
                    w.write_all(report.model.to_json().as_bytes())
                        .map_err(MatchError::Write)
                })?;
            }
            eprintln!(
                "matched {} records against {}: {} candidate pairs scored, {} at or above {}",
                report.a_records,
                report.b_records,
                report.candidate_pairs,
                report.pairs_written,
                threshold
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

//! Errors of the matching crate; every message says what was wrong, where (file, line,
//! column) and what to do about it.

use std::path::PathBuf;

/// A model file or JSON text that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The text is not valid model JSON.
    #[error(
        "the model is not valid JSON for a matching model: {0}; write it with --save-model or Model::to_json"
    )]
    Json(String),
    /// The JSON parsed but its numbers or levels do not fit.
    #[error("the model does not fit this version: {0}; retrain it without --model")]
    Invalid(String),
}

/// Why matching two lists failed.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}; check the path exists and is readable (or writable)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The CSV structure is broken (for example a row with the wrong number of cells).
    #[error("{path}, line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// One cell holds a value that cannot be used (an impossible date, say).
    #[error("{path}, line {line}, column '{column}': {message}")]
    Cell {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Header of the column.
        column: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The first line is not a header: none of the mapped columns is in it.
    #[error(
        "{path}, line 1: the first line must name the columns, but it holds none of the mapped columns ({columns}); it reads '{first_line}'. Add a header line, or fix --map"
    )]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// The first line as read (empty for an empty file).
        first_line: String,
        /// The columns named in --map.
        columns: String,
    },
    /// A mapped column is not in the file's header.
    #[error(
        "{path}: no column '{column}' in the header line (columns are: {available}); fix --map"
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column named in --map.
        column: String,
        /// The header's columns.
        available: String,
    },
    /// The --map text is malformed.
    #[error("--map entry '{entry}': {message}")]
    Map {
        /// The offending entry.
        entry: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The threshold is not a probability.
    #[error("--threshold {0} must be a probability between 0 and 1, for example 0.5")]
    Threshold(f64),
    /// Writing the result failed.
    #[error("writing the matches failed: {0}; check there is space and the output is writable")]
    Write(std::io::Error),
    /// A model file could not be used.
    #[error("{path}: {source}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why it cannot be used.
        source: ModelError,
    },
}

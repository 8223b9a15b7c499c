//! The one error type of the insight crate.
//! Every variant names the file, line or value at fault and says what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong while importing, storing or analysing crime data.
#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a police.uk CSV at all (binary, another format, empty).
    #[error(
        "{path}: not a police.uk CSV file ({reason}); pass police.uk archive zips, month folders or their -street, -outcomes or -stop-and-search CSV files"
    )]
    NotPoliceCsv {
        /// File (or `archive.zip!entry`) concerned.
        path: String,
        /// What was found instead.
        reason: String,
    },
    /// A CSV whose header is none of the three police.uk series.
    #[error(
        "{path} line 1: unrecognised header {found:?}; expected the police.uk street (Crime ID, Month, ... Context), outcomes (... Outcome type) or stop-and-search (Type, Date, ...) header"
    )]
    WrongHeader {
        /// File concerned.
        path: String,
        /// The header fields found.
        found: String,
    },
    /// A zip archive that cannot be read (truncated, corrupt, failed checksum).
    #[error("{path}: the archive is damaged or truncated ({reason}); download it again")]
    BadArchive {
        /// Archive (and entry) concerned.
        path: String,
        /// What the zip reader reported.
        reason: String,
    },
    /// An archive entry that would expand past the safety limits.
    #[error(
        "{path}: entry {entry} exceeds the safety limit ({reason}); refusing a possible zip bomb. Raise --max-uncompressed-mb or --max-ratio only for a file you trust"
    )]
    ZipBomb {
        /// Archive concerned.
        path: String,
        /// Entry name inside the archive.
        entry: String,
        /// Which limit was exceeded.
        reason: String,
    },
    /// A row that disagrees with its file's name (another force or month).
    #[error(
        "{path} line {line}: {reason}; a police.uk file holds one force and one month (files of several forces may share a month folder, but not one file)"
    )]
    FileMismatch {
        /// File concerned.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What disagreed.
        reason: String,
    },
    /// A malformed row when importing with `strict`.
    #[error(
        "{path} line {line}: {reason} (strict import stops at the first malformed row; import without --strict to skip and count such rows)"
    )]
    Malformed {
        /// File concerned.
        path: String,
        /// 1-based line number.
        line: u64,
        /// Why the row was rejected.
        reason: String,
    },
    /// The store directory holds damaged or unreadable files.
    #[error("crime store {path}: {reason}; re-import the data into a fresh directory")]
    CorruptStore {
        /// File of the store concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another import holds the store's lock.
    #[error(
        "crime store {path} is being imported into by process {holder} (lock file {lock}); wait for that import to finish"
    )]
    Locked {
        /// Store directory.
        path: PathBuf,
        /// Lock file.
        lock: PathBuf,
        /// The importing process as its lock file names it (`pid on host`).
        holder: String,
    },
    /// A geography input file is malformed.
    #[error("{path} line {line}: {reason}")]
    GeoFile {
        /// File concerned.
        path: String,
        /// 1-based line (0 when not line-based, e.g. GeoJSON).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// No geography has been imported into the store.
    #[error(
        "no geography in {path}; run `pathways geo import --lookup FILE [--population FILE] [--boundaries FILE]` first"
    )]
    NoGeo {
        /// Store directory.
        path: PathBuf,
    },
    /// An area name or code that matches no local authority.
    #[error(
        "unknown area {0:?}: give a local authority code such as E09000020 or its name (e.g. \"Kensington and Chelsea\") from the imported ONS lookup"
    )]
    UnknownArea(String),
    /// A month argument that is not `YYYY-MM`.
    #[error("invalid month {0:?}: expected YYYY-MM between 2000-01 and 2199-12")]
    BadMonth(String),
    /// A harm-weight table that cannot be used.
    #[error("harm table {path} line {line}: {reason}; expected CSV columns category,weight")]
    HarmTable {
        /// File concerned.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// An option value that makes no sense.
    #[error("{0}")]
    Invalid(String),
}

impl InsightError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InsightError::Io {
            path: path.into(),
            source,
        }
    }
}

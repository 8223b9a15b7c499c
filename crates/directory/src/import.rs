//! Reading an ORUK 3.0 feed: a `/services` page, a JSON array of services, or ndjson.
//! Bad records are reported by position, id and field; good ones are returned for one transaction.

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;

use crate::taxonomy::TermSet;
use crate::validate::{FieldError, RecordError, ValidService, parse_service_value};

/// Default largest feed accepted: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Options for [`parse_feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Largest input accepted, in bytes; larger input is refused before parsing.
    pub max_bytes: usize,
    /// Fail the whole import if any record is bad.
    pub strict: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            strict: false,
        }
    }
}

/// The shape the feed arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// A `/services` list page (`{"total_items": ..., "contents": [...]}`).
    Page,
    /// A JSON array of services.
    Array,
    /// One service per line.
    Ndjson,
}

/// The result of parsing a feed: good services in feed order, and every rejected record.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    /// Detected format.
    pub format: FeedFormat,
    /// Records that passed every check, in feed order.
    pub services: Vec<ValidService>,
    /// Records that failed, in feed order.
    pub rejected: Vec<RecordError>,
}

/// Why a feed could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    /// Input larger than the configured limit.
    #[error(
        "the feed is {size} bytes, larger than the limit of {limit} bytes; split it into smaller files or raise the limit"
    )]
    TooLarge {
        /// Size seen (at least this many bytes).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Input is not UTF-8.
    #[error(
        "the feed is not valid UTF-8 at byte {offset} (line {line}, column {column}); save it as UTF-8 and try again"
    )]
    InvalidUtf8 {
        /// Byte offset of the first bad byte.
        offset: usize,
        /// 1-based line.
        line: usize,
        /// 1-based column in bytes.
        column: usize,
    },
    /// The document is not valid JSON.
    #[error("the feed is not valid JSON at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// Valid JSON but not a feed.
    #[error(
        "the feed is {found}; expected a /services page (an object with `contents`), an array of services, or one service per line (ndjson)"
    )]
    NotAFeed {
        /// What was found instead.
        found: String,
    },
    /// Strict mode and at least one record failed; nothing is imported.
    #[error("{} of {total} records failed, so nothing was imported (strict mode); first: {}", rejected.len(), rejected.first().map(ToString::to_string).unwrap_or_default())]
    Strict {
        /// Records in the feed.
        total: usize,
        /// Every failed record.
        rejected: Vec<RecordError>,
    },
    /// Reading the input failed.
    #[error("could not read the feed: {0}")]
    Io(String),
}

/// Reads at most `max_bytes` from `reader`, refusing larger input without reading it all.
pub fn read_limited<R: Read>(reader: R, max_bytes: usize) -> Result<Vec<u8>, ImportError> {
    let mut buf = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ImportError::Io(e.to_string()))?;
    if buf.len() > max_bytes {
        return Err(ImportError::TooLarge {
            size: u64::try_from(buf.len()).unwrap_or(u64::MAX),
            limit,
        });
    }
    Ok(buf)
}

fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => offset - nl,
        None => offset + 1,
    };
    (line, col)
}

/// Parses a feed. Records are validated one by one; see [`ParsedFeed`] and [`ImportError`].
/// Duplicate ids within one feed are rejected (the later record names the earlier position).
pub fn parse_feed(
    bytes: &[u8],
    known_terms: &TermSet,
    opts: ImportOptions,
) -> Result<ParsedFeed, ImportError> {
    if bytes.len() > opts.max_bytes {
        return Err(ImportError::TooLarge {
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            limit: u64::try_from(opts.max_bytes).unwrap_or(u64::MAX),
        });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.valid_up_to();
            let (line, column) = line_col(bytes, offset);
            return Err(ImportError::InvalidUtf8 {
                offset,
                line,
                column,
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (format, records) = split_records(text)?;
    let total = records.len();
    let mut services = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, rec) in records.into_iter().enumerate() {
        let position = i + 1;
        match rec {
            RawRecord::Bad { line, message } => rejected.push(RecordError {
                position,
                line: Some(line),
                id: None,
                errors: vec![FieldError {
                    path: String::new(),
                    message,
                }],
            }),
            RawRecord::Value { line, value } => {
                let id = value.get("id").and_then(Value::as_str).map(str::to_string);
                match parse_service_value(value, known_terms) {
                    Ok(s) => {
                        if let Some(first) = seen.get(s.id()) {
                            rejected.push(RecordError {
                                position,
                                line,
                                id,
                                errors: vec![FieldError {
                                    path: "id".into(),
                                    message: format!("duplicates the id of record {first}; each service needs its own id"),
                                }],
                            });
                        } else {
                            seen.insert(s.id().to_string(), position);
                            services.push(s);
                        }
                    }
                    Err(errors) => rejected.push(RecordError {
                        position,
                        line,
                        id,
                        errors,
                    }),
                }
            }
        }
    }
    if opts.strict && !rejected.is_empty() {
        return Err(ImportError::Strict { total, rejected });
    }
    Ok(ParsedFeed {
        format,
        services,
        rejected,
    })
}

enum RawRecord {
    Value { line: Option<usize>, value: Value },
    Bad { line: usize, message: String },
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object without `contents`".into(),
    }
}

/// ndjson when the first non-blank line is a complete JSON object on its own and more
/// non-blank lines follow; otherwise one JSON document (page, array or a single service).
fn looks_like_ndjson(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return false;
    };
    let first = first.trim();
    first.starts_with('{')
        && lines.next().is_some()
        && serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok()
}

fn split_records(text: &str) -> Result<(FeedFormat, Vec<RawRecord>), ImportError> {
    if looks_like_ndjson(text) {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(value) => out.push(RawRecord::Value {
                    line: Some(i + 1),
                    value,
                }),
                Err(e) => out.push(RawRecord::Bad {
                    line: i + 1,
                    message: format!(
                        "not valid JSON at line {}, column {}: {e}",
                        i + 1,
                        e.column()
                    ),
                }),
            }
        }
        return Ok((FeedFormat::Ndjson, out));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| ImportError::Malformed {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let records = |items: Vec<Value>| {
        items
            .into_iter()
            .map(|value| RawRecord::Value { line: None, value })
            .collect::<Vec<_>>()
    };
    match value {
        Value::Array(items) => Ok((FeedFormat::Array, records(items))),
        Value::Object(mut map) => match map.remove("contents") {
            Some(Value::Array(items)) => Ok((FeedFormat::Page, records(items))),
            Some(other) => Err(ImportError::NotAFeed {
                found: format!("a page whose `contents` is {}", describe(&other)),
            }),
            None if map.contains_key("id") => Ok((
                FeedFormat::Ndjson,
                vec![RawRecord::Value {
                    line: Some(1),
                    value: Value::Object(map),
                }],
            )),
            None => Err(ImportError::NotAFeed {
                found: "an object without `contents` or `id`".into(),
            }),
        },
        other => Err(ImportError::NotAFeed {
            found: describe(&other),
        }),
    }
}

//! Writing services as an ORUK feed: one `/services` page, a JSON array, or ndjson.
//! The public feed drops confidential locations; re-importing an export and exporting again is byte-identical.

use std::io::{self, Write};

use crate::oruk::public_service;
use crate::validate::ValidService;

/// Shape of an exported feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One `/services` page holding every service (fully nested).
    Page,
    /// A JSON array of services.
    Array,
    /// One service per line.
    Ndjson,
}

impl ExportFormat {
    /// Parses `page`, `array`/`json` or `ndjson`.
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "page" => Some(ExportFormat::Page),
            "array" | "json" => Some(ExportFormat::Array),
            "ndjson" | "jsonl" => Some(ExportFormat::Ndjson),
            _ => None,
        }
    }
}

/// Who the export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The open feed: confidential locations (and schedules tied to them) are removed.
    Public,
    /// A staff backup: the canonical documents including confidential locations. Never publish.
    Internal,
}

fn service_json(s: &ValidService, audience: Audience) -> String {
    match audience {
        Audience::Public => serde_json::to_string(&public_service(s.service()))
            .expect("a service always serialises"),
        Audience::Internal => s.to_canonical_json(),
    }
}

/// Writes the public feed (confidential locations removed).
pub fn write_feed<'a, W: Write>(
    services: impl IntoIterator<Item = &'a ValidService>,
    format: ExportFormat,
    out: &mut W,
) -> io::Result<()> {
    write_feed_for(services, format, Audience::Public, out)
}

/// Writes a feed for the given audience. Compact JSON; ndjson lines end with `\n`.
pub fn write_feed_for<'a, W: Write>(
    services: impl IntoIterator<Item = &'a ValidService>,
    format: ExportFormat,
    audience: Audience,
    out: &mut W,
) -> io::Result<()> {
    match format {
        ExportFormat::Ndjson => {
            for s in services {
                out.write_all(service_json(s, audience).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        ExportFormat::Array => {
            out.write_all(b"[")?;
            for (i, s) in services.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(service_json(s, audience).as_bytes())?;
            }
            out.write_all(b"]\n")?;
        }
        ExportFormat::Page => {
            let items: Vec<String> = services
                .into_iter()
                .map(|s| service_json(s, audience))
                .collect();
            let n = items.len();
            write!(
                out,
                "{{\"total_items\":{n},\"total_pages\":1,\"page_number\":1,\"size\":{n},\"first_page\":true,\"last_page\":true,\"empty\":{},\"contents\":[",
                n == 0
            )?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(item.as_bytes())?;
            }
            out.write_all(b"]}\n")?;
        }
    }
    Ok(())
}

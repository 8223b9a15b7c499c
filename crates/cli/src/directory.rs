//! `pathways directory`: import and export Open Referral UK 3.0 feeds, load the ONS postcode
//! directory for distance search, and seed the demo directory.
//!
//! Every import is one database transaction: a failure part-way leaves the database as it was.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pathways_directory::export::{Audience, ExportFormat, write_feed_for};
use pathways_directory::import::DEFAULT_MAX_BYTES;
use pathways_directory::{ImportOptions, ParsedFeed, parse_feed, read_limited};
use pathways_store::Store;
use pathways_store::directory::PostcodeWriter;

use crate::config::ServeArgs;

/// Arguments of `pathways directory`.
#[derive(Debug, clap::Args)]
pub struct DirectoryArgs {
    #[command(subcommand)]
    command: DirectoryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DirectoryCommand {
    /// Import an ORUK 3.0 feed: a /services page, a JSON array of services, or ndjson (one
    /// service per line). Records are upserted by id in one transaction; every bad record is
    /// reported with its position, id and field.
    Import {
        /// The feed file, or - for standard input.
        file: PathBuf,
        /// Import nothing if any record fails.
        #[arg(long)]
        strict: bool,
        /// Largest feed accepted, in MiB.
        #[arg(long, default_value_t = DEFAULT_MAX_BYTES / (1024 * 1024))]
        max_mib: usize,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Export every live service as an ORUK 3.0 feed (confidential locations removed unless
    /// --internal).
    Export {
        /// page (one /services page), array or ndjson.
        #[arg(long, default_value = "page")]
        format: String,
        /// Write here (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A staff backup including confidential locations. Never publish it.
        #[arg(long)]
        internal: bool,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Write a generated fictional directory as a feed (for demos, tests and benchmarks); the
    /// same seed, size and date always give the same feed.
    Generate {
        /// Number of services.
        #[arg(long, default_value_t = 180)]
        services: usize,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// page, array or ndjson.
        #[arg(long, default_value = "ndjson")]
        format: String,
    },
    /// Load the ONS Postcode Directory (ONSPD) CSV for postcode distance search.
    ///
    /// Columns used, by header name: `pcds` (the postcode, any spacing; `pcd` or `pcd7` are
    /// accepted when `pcds` is absent), `lat` and `long` (WGS84 centroid), and optionally
    /// `doterm` (date terminated: rows with a value are skipped). Rows without a grid reference
    /// (lat 99.999999) are skipped. Other columns are ignored. The file is streamed and loaded
    /// in one transaction; any bad row stops the load with its line number and nothing is
    /// written. A later load updates postcodes already present.
    ImportPostcodes {
        /// The ONSPD CSV file.
        file: PathBuf,
        #[command(flatten)]
        db: ServeArgs,
    },
}

/// Runs a directory command.
pub async fn run(args: DirectoryArgs) -> anyhow::Result<()> {
    match args.command {
        DirectoryCommand::Import {
            file,
            strict,
            max_mib,
            db,
        } => {
            let store = open(&db).await?;
            let report =
                import_file(&store, &file, strict, max_mib.saturating_mul(1024 * 1024)).await?;
            for r in &report.rejected {
                eprintln!("rejected {r}");
            }
            println!(
                "imported {} services from {}",
                report.imported,
                file.display()
            );
            if !report.rejected.is_empty() {
                bail!(
                    "{} records were rejected (listed above) and not imported; the other {} were imported. Fix them and import the file again, or use --strict to import all or nothing",
                    report.rejected.len(),
                    report.imported
                );
            }
            Ok(())
        }
        DirectoryCommand::Export {
            format,
            out,
            internal,
            db,
        } => {
            let format = ExportFormat::parse(&format).with_context(|| {
                format!("--format {format} is not a feed format: use page, array or ndjson")
            })?;
            let audience = if internal {
                Audience::Internal
            } else {
                Audience::Public
            };
            let store = open(&db).await?;
            let n = match &out {
                Some(path) => export_to_file(&store, format, audience, path).await?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    let n = export(&store, format, audience, &mut stdout).await?;
                    stdout.flush()?;
                    n
                }
            };
            eprintln!("exported {n} services");
            Ok(())
        }
        DirectoryCommand::Generate {
            services,
            seed,
            format,
        } => {
            let format = ExportFormat::parse(&format).with_context(|| {
                format!("--format {format} is not a feed format: use page, array or ndjson")
            })?;
            let terms = pathways_directory::TermSet::needs();
            let opts = pathways_directory::generate::GenerateOptions {
                seed,
                services,
                today: time::OffsetDateTime::now_utc().date(),
            };
            let list = pathways_directory::generate::generate(&terms, &opts);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            // The internal form keeps refuges, so an imported copy behaves like a real directory.
            write_feed_for(list.iter(), format, Audience::Internal, &mut out)?;
            out.flush()?;
            Ok(())
        }
        DirectoryCommand::ImportPostcodes { file, db } => {
            let store = open(&db).await?;
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let report =
                import_postcodes(&store, BufReader::new(f), &file.display().to_string()).await?;
            println!(
                "loaded {} postcodes from {} (skipped {} terminated and {} without a location)",
                report.loaded,
                file.display(),
                report.terminated,
                report.no_location
            );
            Ok(())
        }
    }
}

async fn open(db: &ServeArgs) -> anyhow::Result<Store> {
    db.resolve()?.connect().await
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Services written.
    pub imported: usize,
    /// Records refused, each naming its position, id and field.
    pub rejected: Vec<pathways_directory::RecordError>,
}

/// Imports a feed file (or `-` for standard input). A file larger than `max_bytes` is refused
/// from its size before any of it is read.
pub async fn import_file(
    store: &Store,
    file: &Path,
    strict: bool,
    max_bytes: usize,
) -> anyhow::Result<ImportReport> {
    let bytes = if file.as_os_str() == "-" {
        read_limited(std::io::stdin().lock(), max_bytes)?
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if size > max_bytes as u64 {
            bail!(
                "{} is {size} bytes, larger than the limit of {max_bytes} bytes; split it into smaller files or raise --max-mib",
                file.display()
            );
        }
        read_limited(f, max_bytes).with_context(|| format!("cannot import {}", file.display()))?
    };
    import_bytes(store, &bytes, strict, max_bytes)
        .await
        .with_context(|| format!("cannot import {}", file.display()))
}

/// Parses and validates a feed, then upserts the good records in one transaction with its
/// audit entry; running servers on the same database pick the change up within a second.
pub async fn import_bytes(
    store: &Store,
    bytes: &[u8],
    strict: bool,
    max_bytes: usize,
) -> anyhow::Result<ImportReport> {
    let terms = pathways_web::directory::load_terms(store).await?;
    let ParsedFeed {
        services, rejected, ..
    } = parse_feed(bytes, &terms, ImportOptions { max_bytes, strict })?;
    // The services, their `directory_import` audit entry and the change version every
    // running instance follows commit together.
    let imported = pathways_web::directory::save_services(store, &services, "import").await?;
    Ok(ImportReport { imported, rejected })
}

/// Writes every live service as a feed; returns how many.
pub async fn export<W: Write>(
    store: &Store,
    format: ExportFormat,
    audience: Audience,
    out: &mut W,
) -> anyhow::Result<usize> {
    let terms = pathways_web::directory::load_terms(store).await?;
    let (services, broken) = pathways_web::directory::load_services(store, &terms).await?;
    if let Some((id, errors)) = broken.first() {
        bail!(
            "stored service {id} no longer validates ({}); fix it in the editor, then export again",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    write_feed_for(services.iter(), format, audience, out)?;
    Ok(services.len())
}

async fn export_to_file(
    store: &Store,
    format: ExportFormat,
    audience: Audience,
    path: &Path,
) -> anyhow::Result<usize> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let result = async {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?,
        );
        let n = export(store, format, audience, &mut f).await?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move the export into place at {}", path.display()))?;
        Ok::<_, anyhow::Error>(n)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What a postcode load did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PostcodeReport {
    /// Postcodes written.
    pub loaded: u64,
    /// Rows skipped because the postcode is terminated.
    pub terminated: u64,
    /// Rows skipped because the postcode has no grid reference.
    pub no_location: u64,
}

/// Streams an ONSPD CSV into the postcodes table in one transaction (see the command help
/// for the columns). `name` is used in error messages.
pub async fn import_postcodes<R: Read>(
    store: &Store,
    reader: R,
    name: &str,
) -> anyhow::Result<PostcodeReport> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(reader));
    let headers = csv
        .byte_headers()
        .with_context(|| format!("{name}: cannot read the header row"))?
        .clone();
    let clean: Vec<String> = headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase()
        })
        .collect();
    // The first name found wins, so `pcds` is preferred over the fixed-width `pcd`.
    let col = |names: &[&str]| names.iter().find_map(|n| clean.iter().position(|h| h == n));
    let pc = col(&["pcds", "pcd", "pcd7", "pcd8"]).with_context(|| {
        format!(
            "{name}: no `pcds` column in the header row; is this the ONS Postcode Directory CSV?"
        )
    })?;
    let lat =
        col(&["lat"]).with_context(|| format!("{name}: no `lat` column in the header row"))?;
    let lon =
        col(&["long"]).with_context(|| format!("{name}: no `long` column in the header row"))?;
    let doterm = col(&["doterm"]);
    let mut writer = PostcodeWriter::begin(store).await?;
    let mut report = PostcodeReport::default();
    let mut record = csv::ByteRecord::new();
    loop {
        let more = csv.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            anyhow::anyhow!("{name}, line {line}: {e}; nothing was loaded")
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |i: usize, what: &str| -> anyhow::Result<String> {
            let raw = record.get(i).with_context(|| {
                format!("{name}, line {line}: no `{what}` value; nothing was loaded")
            })?;
            std::str::from_utf8(raw)
                .map(|s| s.trim().to_string())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{name}, line {line}: `{what}` is not valid UTF-8; nothing was loaded"
                    )
                })
        };
        let postcode = field(pc, "pcds")?;
        let postcode = postcode.as_str();
        if postcode.is_empty() {
            bail!("{name}, line {line}: the postcode is empty; nothing was loaded");
        }
        if let Some(d) = doterm
            && !field(d, "doterm")?.is_empty()
        {
            report.terminated += 1;
            continue;
        }
        let number = |i: usize, what: &str, limit: f64| -> anyhow::Result<f64> {
            let v = field(i, what)?;
            v.parse::<f64>().ok().filter(|x| x.is_finite()).filter(|x| x.abs() <= limit || (what == "lat" && (99.99..=100.0).contains(x))).with_context(|| {
                format!("{name}, line {line}: `{what}` is `{v}`, not a number from -{limit} to {limit}; nothing was loaded")
            })
        };
        let la = number(lat, "lat", 90.0)?;
        let lo = number(lon, "long", 180.0)?;
        // ONSPD marks postcodes without a grid reference with latitude 99.999999.
        if la > 90.0 {
            report.no_location += 1;
            continue;
        }
        writer.add(postcode, la, lo).await?;
        report.loaded += 1;
    }
    writer.commit().await?;
    Ok(report)
}

/// Seeds the demo directory unless the store already has services; returns how many.
pub async fn seed_demo(store: &Store) -> anyhow::Result<usize> {
    Ok(pathways_web::directory::seed_demo(store).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathways_directory::generate::{GenerateOptions, generate};
    use pathways_directory::{TermSet, ValidService};
    use pathways_store::testing::TestDatabase;

    fn services(n: usize) -> Vec<ValidService> {
        generate(
            &TermSet::needs(),
            &GenerateOptions {
                seed: 11,
                services: n,
                today: time::macros::date!(2026 - 11 - 29),
            },
        )
    }

    async fn exported(store: &Store, format: ExportFormat) -> Vec<u8> {
        let mut out = Vec::new();
        export(store, format, Audience::Public, &mut out)
            .await
            .expect("export");
        out
    }

    #[tokio::test]
    async fn export_import_export_is_identical_through_the_database() {
        for format in [
            ExportFormat::Page,
            ExportFormat::Array,
            ExportFormat::Ndjson,
        ] {
            let a = TestDatabase::sqlite().await.expect("db");
            let terms = pathways_web::directory::load_terms(&a.store)
                .await
                .expect("terms");
            let list = services(60);
            assert!(
                list.iter().any(|s| s.service().has_confidential_location()),
                "the sample has a refuge"
            );
            pathways_web::directory::save_services(&a.store, &list, "test")
                .await
                .expect("save");
            let first = exported(&a.store, format).await;
            assert!(!String::from_utf8_lossy(&first).contains("pathways_confidential"));
            let b = TestDatabase::sqlite().await.expect("db");
            let report = import_bytes(&b.store, &first, true, DEFAULT_MAX_BYTES)
                .await
                .expect("import");
            assert_eq!(report.imported, 60);
            assert!(report.rejected.is_empty());
            let second = exported(&b.store, format).await;
            assert_eq!(
                String::from_utf8_lossy(&first),
                String::from_utf8_lossy(&second),
                "{format:?}"
            );
            // Importing the same feed again updates by id rather than duplicating.
            import_bytes(&b.store, &first, true, DEFAULT_MAX_BYTES)
                .await
                .expect("again");
            assert_eq!(b.store.directory_service_count().await.expect("count"), 60);
            drop(terms);
        }
    }

    fn feed_with(bad: &str) -> String {
        let good: Vec<String> = services(3).iter().map(|s| s.to_canonical_json()).collect();
        format!("[{},{bad},{}]", good[0], good[1..].join(","))
    }

    #[tokio::test]
    async fn bad_records_are_named_and_strict_imports_nothing() {
        let cases: Vec<(String, &str)> = vec![
            (
                r#"{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a10","name":"Lat","status":"active","service_at_locations":[{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a11","location":{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a12","location_type":"physical","latitude":100,"longitude":0}}]}"#.into(),
                "latitude",
            ),
            (r#"{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a20","name":"Ages","status":"active","minimum_age":"ten"}"#.into(), "minimum_age"),
            (
                r#"{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a30","name":"Term","status":"active","attributes":[{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a31","taxonomy_term_id":"00000000-0000-4000-8000-000000000999"}]}"#.into(),
                "taxonomy_term_id",
            ),
        ];
        for (bad, field) in cases {
            let db = TestDatabase::sqlite().await.expect("db");
            let feed = feed_with(&bad);
            let err = import_bytes(&db.store, feed.as_bytes(), true, DEFAULT_MAX_BYTES)
                .await
                .expect_err("strict refuses");
            let msg = format!("{err:#}");
            assert!(msg.contains("record 2") && msg.contains(field), "{msg}");
            assert_eq!(
                db.store.directory_service_count().await.expect("count"),
                0,
                "nothing half-imported"
            );
            let report = import_bytes(&db.store, feed.as_bytes(), false, DEFAULT_MAX_BYTES)
                .await
                .expect("lenient");
            assert_eq!(report.imported, 3);
            assert_eq!(report.rejected.len(), 1);
            assert_eq!(report.rejected[0].position, 2);
            assert!(
                report.rejected[0]
                    .id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("7a1b8a5e"))
            );
            assert!(
                report.rejected[0]
                    .errors
                    .iter()
                    .any(|e| e.path.contains(field)),
                "{:?}",
                report.rejected[0]
            );
        }
    }

    #[tokio::test]
    async fn unreadable_feeds_write_nothing() {
        let db = TestDatabase::sqlite().await.expect("db");
        let malformed = import_bytes(&db.store, b"[{\"id\": ", false, DEFAULT_MAX_BYTES)
            .await
            .expect_err("malformed");
        assert!(format!("{malformed:#}").contains("line 1"), "{malformed:#}");
        let mut bad_utf8 = feed_with(
            r#"{"id":"7a1b8a5e-8f0e-4c55-9c2b-8f1c0d7b2a40","name":"X","status":"active"}"#,
        )
        .into_bytes();
        let at = bad_utf8.len() - 10;
        bad_utf8[at] = 0xff;
        let err = import_bytes(&db.store, &bad_utf8, false, DEFAULT_MAX_BYTES)
            .await
            .expect_err("invalid UTF-8");
        assert!(format!("{err:#}").contains("UTF-8"), "{err:#}");
        assert_eq!(db.store.directory_service_count().await.expect("count"), 0);
    }

    #[tokio::test]
    async fn a_one_gigabyte_file_is_refused_before_reading() {
        let db = TestDatabase::sqlite().await.expect("db");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.json");
        // A sparse file: 1 GiB long without using the disk; reading it would take seconds.
        std::fs::File::create(&path)
            .expect("create")
            .set_len(1 << 30)
            .expect("set_len");
        let err = import_file(&db.store, &path, false, DEFAULT_MAX_BYTES)
            .await
            .expect_err("too large");
        assert!(
            format!("{err:#}").contains("larger than the limit"),
            "{err:#}"
        );
        // A stream without a known size is cut off after the limit instead.
        let endless = std::io::repeat(b' ').take(1 << 30);
        let err = read_limited(endless, 1024).expect_err("stream too large");
        assert!(err.to_string().contains("larger than the limit"));
        assert_eq!(db.store.directory_service_count().await.expect("count"), 0);
    }

    const ONSPD: &str = "\u{feff}pcd,pcd2,pcds,dointr,doterm,lat,long\n\
        W8 6AB ,W8  6AB,W8 6AB,199801,,51.501234,-0.191234\n\
        W8 7ZZ ,W8  7ZZ,W8 7ZZ,199801,200412,51.5,-0.19\n\
        W8 9XX ,W8  9XX,W8 9XX,199801,,99.999999,0.000000\n\
        SW1A1AA,SW1A 1AA,SW1A 1AA,198001,,51.501009,-0.141588\n";

    #[tokio::test]
    async fn postcodes_load_live_rows_only() {
        let db = TestDatabase::sqlite().await.expect("db");
        let report = import_postcodes(&db.store, ONSPD.as_bytes(), "onspd.csv")
            .await
            .expect("load");
        assert_eq!(
            report,
            PostcodeReport {
                loaded: 2,
                terminated: 1,
                no_location: 1
            }
        );
        let p = db
            .store
            .postcode_point("w86ab")
            .await
            .expect("query")
            .expect("found");
        assert!((p.lat - 51.501234).abs() < 1e-9 && (p.lon - -0.191234).abs() < 1e-9);
        assert!(
            db.store
                .postcode_point("W8 7ZZ")
                .await
                .expect("query")
                .is_none(),
            "terminated"
        );
    }

    #[tokio::test]
    async fn a_bad_postcode_row_names_its_line_and_loads_nothing() {
        let db = TestDatabase::sqlite().await.expect("db");
        let bad = format!("{ONSPD}E1 6AN,E1  6AN,E1 6AN,199801,,north,-0.07\n");
        let err = import_postcodes(&db.store, bad.as_bytes(), "onspd.csv")
            .await
            .expect_err("bad row");
        let msg = format!("{err:#}");
        assert!(msg.contains("line 6") && msg.contains("`lat`"), "{msg}");
        assert_eq!(db.store.postcode_count().await.expect("count"), 0);
        let mut bytes = ONSPD.as_bytes().to_vec();
        bytes.extend_from_slice(b"E1 6AN,E1  6AN,E\xff 6AN,199801,,51.5,-0.07\n");
        let err = import_postcodes(&db.store, bytes.as_slice(), "onspd.csv")
            .await
            .expect_err("bad UTF-8");
        assert!(format!("{err:#}").contains("line 6"), "{err:#}");
        let far = format!("{ONSPD}E1 6AN,E1  6AN,E1 6AN,199801,,100.5,-0.07\n");
        let err = import_postcodes(&db.store, far.as_bytes(), "onspd.csv")
            .await
            .expect_err("latitude 100.5");
        assert!(format!("{err:#}").contains("line 6"), "{err:#}");
        assert_eq!(db.store.postcode_count().await.expect("count"), 0);
        let missing = import_postcodes(&db.store, "postcode,latitude\n".as_bytes(), "x.csv")
            .await
            .expect_err("no columns");
        assert!(format!("{missing:#}").contains("pcds"));
    }
}

//! `pathways backup` and `pathways restore`: online backups of a SQLite database, and their
//! restoration after the backup's schema version and signed audit chain have been checked.
//! PostgreSQL is backed up and restored with `pg_dump` and `pg_restore` (see README).

use std::path::PathBuf;

use anyhow::bail;
use pathways_store::backup::restore_sqlite;

use crate::admin::cli_event;
use crate::config::ServeArgs;

/// Options of `pathways backup`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    db: ServeArgs,
    /// The backup file to write; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Options of `pathways restore`.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The backup file (from `pathways backup`).
    backup: PathBuf,
    #[command(flatten)]
    db: ServeArgs,
    /// Replace the database file if it exists (stop every Pathways process using it first);
    /// the replaced file is kept beside it, renamed.
    #[arg(long)]
    replace: bool,
    /// Trusted public keys (the output of `pathways audit public-key`), when the key file
    /// that signed the backup is not at hand.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

/// Takes the backup and records it in the audit log (a backup is an export of everything).
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let settings = args.db.resolve()?;
    let store = settings.connect().await?;
    let done = store.backup_to(&args.out).await;
    if done.is_ok() {
        store
            .audit(cli_event("backup_written", "database", "", "allowed"))
            .await?;
    }
    store.close().await;
    done?;
    println!("backup written to {}", args.out.display());
    Ok(())
}

/// Checks the backup and puts it in place of the configured SQLite database.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let settings = args.db.resolve()?;
    if settings.database_url.starts_with("postgres") {
        bail!(
            "restore PostgreSQL with pg_restore into a new database, then check it with \
             `pathways audit verify --database URL` before pointing Pathways at it (see README, Backups)"
        );
    }
    let target = PathBuf::from(
        settings
            .database_url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:"),
    );
    let trust = crate::audit::trusted_keys(&settings, args.keys.as_deref())?;
    let restored = restore_sqlite(&args.backup, &target, &trust, args.replace).await?;
    println!(
        "restored {} to {}: schema version {}, audit chain intact ({} entries, {} checkpoints, head signed by {})",
        args.backup.display(),
        target.display(),
        restored.schema_version,
        restored.audit.entries,
        restored.audit.checkpoints,
        restored.audit.head_key
    );
    if let Some(old) = restored.replaced {
        println!("the database it replaced is kept at {}", old.display());
    }
    Ok(())
}

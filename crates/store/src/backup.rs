//! Online backups of a SQLite database and their restoration: a backup is one consistent
//! snapshot written under a temporary name and then linked into place; a restore checks the
//! copy's schema version and its signed audit chain before it replaces anything.

use std::path::{Path, PathBuf};

use pathways_domain::audit::signed::KeyRing;

use crate::{Backend, Store, StoreError, VerifyError, VerifyReport};

/// Why a backup or a restore did not happen. Nothing is left half-written either way.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists and was not to be replaced.
    #[error("{path} already exists; {hint}")]
    Exists { path: String, hint: &'static str },
    /// A file operation failed.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// This backend is backed up with its own tools.
    #[error(
        "online backups through Pathways are for SQLite; back up PostgreSQL with pg_dump and restore with pg_restore (see README, Backups)"
    )]
    Postgres,
    /// The backup's audit chain is not intact.
    #[error("the backup's audit log does not verify: {0}")]
    Audit(#[from] VerifyError),
    /// The backup could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A hidden name beside `path` for a file being made.
fn partial_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes what was written into `dir` durable (the new names, not only the contents).
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))?;
    let _ = dir;
    Ok(())
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl Store {
    /// Writes a consistent copy of the whole SQLite database to `out` while the store keeps
    /// serving (`VACUUM INTO` reads one snapshot: every transaction committed before it
    /// began, none after). The copy is made under a temporary name and linked to `out` only
    /// when complete; an existing `out` is never overwritten.
    pub async fn backup_to(&self, out: &Path) -> Result<(), BackupError> {
        if self.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        if out.exists() {
            return Err(BackupError::Exists {
                path: out.display().to_string(),
                hint: "choose a new name; a backup never overwrites a file",
            });
        }
        let dir = parent(out);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let temp = partial_beside(out);
        let made = async {
            sqlx::query("VACUUM INTO $1")
                .bind(temp.display().to_string())
                .execute(self.pool())
                .await
                .map_err(StoreError::from)?;
            std::fs::File::open(&temp)
                .and_then(|f| f.sync_all())
                .map_err(|e| io(&temp, e))?;
            // A hard link fails when `out` exists, so a file made there meanwhile survives.
            std::fs::hard_link(&temp, out).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    BackupError::Exists {
                        path: out.display().to_string(),
                        hint: "choose a new name; a backup never overwrites a file",
                    }
                } else {
                    io(out, e)
                }
            })
        }
        .await;
        let _ = std::fs::remove_file(&temp);
        made?;
        sync_dir(dir)
    }
}

/// What a restore found in the backup and did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's schema version.
    pub schema_version: i64,
    /// Its audit chain, verified.
    pub audit: VerifyReport,
    /// Where the database that was replaced was moved, if there was one.
    pub replaced: Option<PathBuf>,
}

/// Opens the SQLite file at `path` read-only and checks it: a Pathways schema no newer than
/// this binary, and an audit chain intact with every signature by a key in `trust`.
pub async fn check_backup(
    path: &Path,
    trust: &KeyRing,
) -> Result<(i64, VerifyReport), BackupError> {
    let store = Store::open_read_only(&path.display().to_string()).await?;
    let checked = async {
        let version = store.schema_version().await?;
        let report = store.verify_audit(trust, &[]).await?;
        Ok::<_, BackupError>((version, report))
    }
    .await;
    store.close().await;
    checked
}

/// Restores the SQLite backup `backup` as the database file `target`. The backup is copied
/// beside `target` under a temporary name and the copy is checked ([`check_backup`]) before
/// it takes `target`'s name, so a bad backup changes nothing. An existing `target` is
/// replaced only when `replace` is set, and is then kept, with its write-ahead log, under
/// `TARGET.replaced-UNIXTIME`. Stop every Pathways process using `target` first.
pub async fn restore_sqlite(
    backup: &Path,
    target: &Path,
    trust: &KeyRing,
    replace: bool,
) -> Result<Restored, BackupError> {
    if target.exists() && !replace {
        return Err(BackupError::Exists {
            path: target.display().to_string(),
            hint: "stop every Pathways process using it and give --replace to replace it (it is kept beside, renamed)",
        });
    }
    if !backup.is_file() {
        return Err(io(backup, "there is no such file"));
    }
    let dir = parent(target);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let temp = partial_beside(target);
    let cleanup = |temp: &Path| {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(with_suffix(temp, suffix));
        }
    };
    let checked = async {
        std::fs::copy(backup, &temp).map_err(|e| io(&temp, e))?;
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&temp, e))?;
        check_backup(&temp, trust).await
    }
    .await;
    let (schema_version, audit) = match checked {
        Ok(found) => found,
        Err(e) => {
            cleanup(&temp);
            return Err(e);
        }
    };
    // Reading may have left empty side files beside the copy; they must not follow it.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&temp, suffix));
    }
    let mut replaced = None;
    if target.exists() {
        let aside = with_suffix(target, &format!(".replaced-{}", crate::now_unix()));
        let moved = (|| {
            let wal = with_suffix(target, "-wal");
            if wal.exists() {
                std::fs::rename(&wal, with_suffix(&aside, "-wal"))?;
            }
            std::fs::rename(target, &aside)?;
            let _ = std::fs::remove_file(with_suffix(target, "-shm"));
            Ok::<(), std::io::Error>(())
        })();
        if let Err(e) = moved {
            cleanup(&temp);
            return Err(io(target, e));
        }
        replaced = Some(aside);
    }
    std::fs::rename(&temp, target).map_err(|e| {
        cleanup(&temp);
        io(target, e)
    })?;
    sync_dir(dir)?;
    Ok(Restored {
        schema_version,
        audit,
        replaced,
    })
}

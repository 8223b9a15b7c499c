//! `pathways audit ...`: verifying the signed, hash-chained audit log (read-only), exporting
//! signed checkpoints for witnesses, and showing or rotating the signing key.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pathways_domain::audit::signed::{KeyRing, Signed};
use pathways_store::{AuditKeys, KeyError, Store, VerifyError};

use crate::config::{ServeArgs, Settings, redact};

/// Check the tamper-evident audit log and manage its signing key.
#[derive(Debug, Args)]
pub struct AuditCommand {
    #[command(subcommand)]
    what: AuditWhat,
}

#[derive(Debug, Subcommand)]
enum AuditWhat {
    /// Verify the whole chain, every signature, and that the log still extends each witness
    /// checkpoint given; exits 1 and names the first bad entry when it does not. Reads only:
    /// works on a read-only copy or through a database role without write rights.
    Verify {
        #[command(flatten)]
        db: ServeArgs,
        /// A checkpoint file from `pathways audit checkpoint`; repeat for several.
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
        /// Trusted public keys (the output of `pathways audit public-key`), for checking a
        /// copy where the key file is not at hand; added to the key file's own keys.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
    },
    /// Verify the log, then write a signed statement of its head (entry, hash, time, key) to
    /// FILE, for a witness to keep outside this system.
    Checkpoint {
        #[command(flatten)]
        db: ServeArgs,
        /// Where to write the statement; an existing file is not overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public keys that verify the log: the signing key and any retired ones.
    PublicKey {
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Retire the signing key after the current head and make a new one. Stop every
    /// Pathways process using this database first and start them again afterwards.
    RotateKey {
        #[command(flatten)]
        db: ServeArgs,
    },
}

/// What a verification found.
pub enum Outcome {
    /// The command did what it was asked (for verify: the chain is intact).
    Done,
    /// The chain is broken or damaged (the message has been printed).
    Broken,
}

/// Runs an audit command, printing its result.
pub async fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd.what {
        AuditWhat::Verify {
            db,
            checkpoints,
            keys,
        } => {
            let settings = db.resolve()?;
            let trust = trusted_keys(&settings, keys.as_deref())?;
            let witnesses = checkpoints
                .iter()
                .map(|p| read_witness(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let store = open_read_only(&settings).await?;
            let verdict = store.verify_audit(&trust, &witnesses).await;
            store.close().await;
            match verdict {
                Ok(r) => {
                    println!(
                        "audit chain intact: {} entries, {} checkpoints, head signed by {}{}",
                        r.entries,
                        r.checkpoints,
                        r.head_key,
                        match r.witnesses {
                            0 => String::new(),
                            1 => "; the log extends the witness checkpoint".into(),
                            n => format!("; the log extends all {n} witness checkpoints"),
                        }
                    );
                    Ok(Outcome::Done)
                }
                Err(VerifyError::Store(e)) => Err(e.into()),
                Err(e) => {
                    println!("{e}");
                    Ok(Outcome::Broken)
                }
            }
        }
        AuditWhat::Checkpoint { db, out } => {
            let settings = db.resolve()?;
            if out.exists() {
                bail!("{} already exists; choose a new file name", out.display());
            }
            let keys = existing_keys(&settings)?;
            let store = open_read_only(&settings).await?;
            let verdict = store.verify_audit(&keys.ring(), &[]).await;
            store.close().await;
            let report = match verdict {
                Ok(r) => r,
                Err(VerifyError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    println!("{e}");
                    println!("no checkpoint written: a witness must not vouch for a broken log");
                    return Ok(Outcome::Broken);
                }
            };
            let signed = keys.sign_head(report.head.0, &report.head.1);
            let text = signed.to_witness_text(&[
                format!("The audit log's head on {}.", utc(signed.statement.at)),
                "Keep this outside Pathways; check the log still extends it with".into(),
                "pathways audit verify --checkpoint FILE".into(),
            ]);
            write_new_file(&out, &text)?;
            println!(
                "checkpoint of entry {} written to {}",
                report.head.0,
                out.display()
            );
            Ok(Outcome::Done)
        }
        AuditWhat::PublicKey { db } => {
            let settings = db.resolve()?;
            let keys = existing_keys(&settings)?;
            print!(
                "# Pathways audit public keys ({}); verify a copy with\n# pathways audit verify --keys FILE\n{}",
                settings.audit_key.display(),
                keys.ring().to_text()
            );
            Ok(Outcome::Done)
        }
        AuditWhat::RotateKey { db } => {
            let settings = db.resolve()?;
            let keys = existing_keys(&settings)?;
            let store = open_read_only(&settings).await?;
            let verdict = store.verify_audit(&keys.ring(), &[]).await;
            store.close().await;
            let report = match verdict {
                Ok(r) => r,
                Err(VerifyError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    println!("{e}");
                    println!("the key was not rotated: rotation must start from an intact log");
                    return Ok(Outcome::Broken);
                }
            };
            let new = AuditKeys::rotate(&settings.audit_key, report.head.0)?;
            println!(
                "retired {} after entry {}; new signing key {}",
                keys.public_key(),
                report.head.0,
                new.public_key()
            );
            println!("start Pathways again so that it signs with the new key");
            Ok(Outcome::Done)
        }
    }
}

/// The keys that verify the log: those of the key file, when it exists, and those listed in
/// `extra`. At least one is needed.
pub fn trusted_keys(settings: &Settings, extra: Option<&Path>) -> anyhow::Result<KeyRing> {
    let mut ring = match AuditKeys::load(&settings.audit_key) {
        Ok(keys) => keys.ring(),
        Err(KeyError::Missing { .. }) if extra.is_some() => KeyRing::default(),
        Err(KeyError::Missing { path }) => bail!(
            "no public key to check the audit log's signatures with: there is no key file at \
             {path}; give --keys FILE (the output of `pathways audit public-key`) or --audit-key"
        ),
        Err(e) => return Err(e.into()),
    };
    if let Some(path) = extra {
        ring.extend(&pathways_store::keys::read_key_ring(path)?);
    }
    if ring.is_empty() {
        bail!("no trusted public key is listed");
    }
    Ok(ring)
}

fn existing_keys(settings: &Settings) -> anyhow::Result<AuditKeys> {
    AuditKeys::load(&settings.audit_key).map_err(|e| match e {
        KeyError::Missing { path } => anyhow::anyhow!(
            "there is no audit key file at {path}; it is made when Pathways first starts (give --audit-key if it is elsewhere)"
        ),
        other => other.into(),
    })
}

async fn open_read_only(settings: &Settings) -> anyhow::Result<Store> {
    Store::open_read_only(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot read the database {}",
                redact(&settings.database_url)
            )
        })
}

fn read_witness(path: &Path) -> anyhow::Result<Signed> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoint file {}", path.display()))?;
    Signed::parse_witness(&text).with_context(|| format!("checkpoint file {}", path.display()))
}

/// Writes `text` to a new file; an existing file is left alone.
pub fn write_new_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn utc(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{at} seconds after the epoch"))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        cmd: AuditCommand,
    }

    async fn audit(args: &[&str]) -> anyhow::Result<Outcome> {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        run(Wrapper::try_parse_from(all).expect("arguments parse").cmd).await
    }

    fn intact(outcome: Outcome) -> bool {
        matches!(outcome, Outcome::Done)
    }

    #[tokio::test]
    async fn verify_reports_intact_then_broken_chain_without_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().display().to_string();
        let db = dir.path().join("p.db").display().to_string();
        let flags = ["--database", &db, "--data-dir", &data];
        for name in ["One", "Two"] {
            let args = ["agency", "add", name, "--kind", "school"];
            crate::admin::tests::admin(&db, &args).await.expect("add");
        }
        let mut verify = vec!["verify"];
        verify.extend_from_slice(&flags);
        assert!(intact(audit(&verify).await.expect("runs")));
        let ro = Store::open_read_only(&db).await.expect("opens");
        let entries = ro.recent_audit(10).await.expect("log").len();
        assert_eq!(entries, 2, "two changes; verifying wrote nothing");
        ro.close().await;
        let keys = AuditKeys::load(&dir.path().join("audit-signing-key.pem")).expect("key");
        let store = Store::connect(&db, keys).await.expect("store");
        sqlx::query("UPDATE audit_log SET record_id = 'forged' WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("tamper");
        store.close().await;
        assert!(!intact(audit(&verify).await.expect("runs")));
    }

    #[tokio::test]
    async fn witness_checkpoints_catch_truncation_and_keys_rotate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().display().to_string();
        let db = dir.path().join("p.db").display().to_string();
        let flags = ["--database", &db, "--data-dir", &data];
        for name in ["One", "Two", "Three"] {
            let args = ["agency", "add", name, "--kind", "school"];
            crate::admin::tests::admin(&db, &args).await.expect("add");
        }
        let witness = dir.path().join("witness.txt");
        let witness_arg = witness.display().to_string();
        let mut checkpoint = vec!["checkpoint", "--out", &witness_arg];
        checkpoint.extend_from_slice(&flags);
        assert!(intact(audit(&checkpoint).await.expect("exports")));
        let text = std::fs::read_to_string(&witness).expect("written");
        assert!(text.contains("entry: 3\n"), "{text}");
        assert!(audit(&checkpoint).await.is_err(), "never overwrites");
        let mut verify = vec!["verify", "--checkpoint", &witness_arg];
        verify.extend_from_slice(&flags);
        assert!(intact(audit(&verify).await.expect("runs")));

        // Rotation keeps the old signatures valid, and the witness still holds.
        let mut rotate = vec!["rotate-key"];
        rotate.extend_from_slice(&flags);
        assert!(intact(audit(&rotate).await.expect("rotates")));
        let args = ["agency", "add", "Four", "--kind", "school"];
        crate::admin::tests::admin(&db, &args).await.expect("add");
        assert!(intact(audit(&verify).await.expect("runs")));

        // The public keys alone verify a copy elsewhere.
        let keys = AuditKeys::load(&dir.path().join("audit-signing-key.pem")).expect("key");
        let public = dir.path().join("public.txt");
        std::fs::write(&public, keys.ring().to_text()).expect("write");
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let public_arg = public.display().to_string();
        let other_data = elsewhere.path().display().to_string();
        let copy_check = [
            "verify",
            "--database",
            &db,
            "--data-dir",
            &other_data,
            "--keys",
            &public_arg,
            "--checkpoint",
            &witness_arg,
        ];
        assert!(intact(audit(&copy_check).await.expect("runs")));

        // Truncation below the witnessed entry, with the head moved back.
        let store = Store::connect(&db, keys).await.expect("store");
        let hash2: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 2")
            .fetch_one(store.pool())
            .await
            .expect("hash");
        sqlx::query("DELETE FROM audit_log WHERE seq > 2")
            .execute(store.pool())
            .await
            .expect("truncate");
        sqlx::query("UPDATE audit_head SET seq = 2, hash = $1")
            .bind(&hash2)
            .execute(store.pool())
            .await
            .expect("head");
        store.close().await;
        assert!(!intact(audit(&copy_check).await.expect("runs")));
    }
}

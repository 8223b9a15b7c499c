//! `pathways audit verify`: walks the whole hash-chained audit log and its checkpoints and
//! names the first entry that was edited, deleted, inserted or moved.

use clap::{Args, Subcommand};
use pathways_store::VerifyError;

use crate::admin::{cli_event, open};
use crate::config::ServeArgs;

/// Check the tamper-evident audit log.
#[derive(Debug, Args)]
pub struct AuditCommand {
    #[command(subcommand)]
    what: AuditWhat,
}

#[derive(Debug, Subcommand)]
enum AuditWhat {
    /// Verify the whole chain; exits 1 and names the first bad entry when it is broken.
    Verify {
        #[command(flatten)]
        db: ServeArgs,
    },
}

/// What a verification found.
pub enum Outcome {
    /// The chain is intact.
    Intact,
    /// The chain is broken (the message has been printed).
    Broken,
}

/// Runs an audit command, printing the verdict.
pub async fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd.what {
        AuditWhat::Verify { db } => {
            let (store, _) = open(&db).await?;
            let verdict = store.verify_audit().await;
            let outcome = match verdict {
                Ok(r) => {
                    println!(
                        "audit chain intact: {} entries, {} checkpoints",
                        r.entries, r.checkpoints
                    );
                    Outcome::Intact
                }
                Err(VerifyError::Broken(b)) => {
                    println!("audit chain broken: {b}");
                    Outcome::Broken
                }
                Err(VerifyError::Store(e)) => return Err(e.into()),
            };
            let result = if matches!(outcome, Outcome::Intact) {
                "intact"
            } else {
                "broken"
            };
            // Recorded after reading, so the verdict is about the chain as it was found.
            store
                .audit(cli_event("audit_verified", "audit_log", "", result))
                .await?;
            store.close().await;
            Ok(outcome)
        }
    }
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

    async fn verify(db: &str) -> Outcome {
        let cmd = Wrapper::try_parse_from(["audit", "verify", "--database", db])
            .expect("arguments parse")
            .cmd;
        run(cmd).await.expect("verification runs")
    }

    #[tokio::test]
    async fn verify_reports_intact_then_broken_chain() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("p.db").display().to_string();
        crate::admin::tests::admin(&db, &["agency", "add", "One", "--kind", "school"])
            .await
            .expect("add");
        crate::admin::tests::admin(&db, &["agency", "add", "Two", "--kind", "school"])
            .await
            .expect("add");
        assert!(matches!(verify(&db).await, Outcome::Intact));
        let store = pathways_store::Store::connect(&db).await.expect("store");
        assert_eq!(
            store.verify_audit().await.expect("intact").entries,
            3,
            "two changes and one verification"
        );
        sqlx_update(
            &store,
            "UPDATE audit_log SET record_id = 'forged' WHERE seq = 2",
        )
        .await;
        assert!(matches!(verify(&db).await, Outcome::Broken));
        let err = store.verify_audit().await.expect_err("broken").to_string();
        assert!(err.starts_with("audit chain broken: entry 2:"), "{err}");
    }

    async fn sqlx_update(store: &pathways_store::Store, sql: &str) {
        sqlx::query(sql)
            .execute(store.pool())
            .await
            .expect("tamper");
    }
}

//! `pathways panels ...`: list the panels, compute a panel's quarterly data return as CSV or
//! JSON (small counts withheld, as in every export), and flag overdue panel actions (for a
//! daily scheduled run). Each command is audited as the system.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use pathways_app::{App, Caller};

use crate::config::ServeArgs;

/// MARAC, MACE and other panels.
#[derive(Debug, Args)]
pub struct PanelsCommand {
    #[command(subcommand)]
    what: PanelsWhat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum PanelsWhat {
    /// List the panels by name.
    List {
        #[command(flatten)]
        db: ServeArgs,
    },
    /// A panel's quarterly data return, counts under the panel's threshold withheld.
    DataReturn {
        /// The panel's name, for example "Riverside MARAC".
        #[arg(long)]
        panel: String,
        /// The quarter, for example 2026Q3.
        #[arg(long)]
        quarter: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Flag open actions past their due date to their owners, points of contact and
    /// coordinators (run it daily, for example from cron).
    Chase {
        #[command(flatten)]
        db: ServeArgs,
    },
}

/// Runs a panels command.
pub async fn run(cmd: PanelsCommand) -> anyhow::Result<()> {
    let db = match &cmd.what {
        PanelsWhat::List { db } | PanelsWhat::DataReturn { db, .. } | PanelsWhat::Chase { db } => {
            db
        }
    };
    let settings = db.resolve()?;
    let store = settings.connect().await?;
    let app = App::new(store.clone(), pathways_app::Settings::default());
    let system = Caller::system("cli:panels");
    match cmd.what {
        PanelsWhat::List { .. } => {
            for p in store.panels().await? {
                println!("{}\t{}\t{}", p.name, p.kind.label(), p.area);
            }
        }
        PanelsWhat::DataReturn {
            panel,
            quarter,
            format,
            ..
        } => {
            let v = match pathways_app::panels::data_return(&app, &system, &panel, &quarter, true)
                .await
            {
                Ok(v) => v,
                Err(pathways_app::Error::NotFound) => {
                    bail!("no panel is called {panel:?}; `pathways panels list` names them")
                }
                Err(pathways_app::Error::Invalid(fields)) => {
                    bail!(
                        "{}",
                        fields
                            .iter()
                            .map(|f| f.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
                Err(e) => return Err(e.into()),
            };
            match format {
                Format::Csv => print!("{}", v.csv()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&v.json())?),
            }
        }
        PanelsWhat::Chase { .. } => {
            let n = pathways_app::panels::flag_overdue(&app, &system).await?;
            println!("{n} overdue panel actions flagged");
        }
    }
    Ok(())
}

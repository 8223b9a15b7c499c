//! The `pathways` binary: serves the web application, runs the demo borough, and carries the
//! administration, import and audit commands. Errors print as one line and exit non-zero.

mod admin;
mod analysis;
mod audit;
mod backup;
mod config;
mod demo;
mod demo_cases;
mod demo_insight;
mod demo_panels;
mod demo_referrals;
mod directory;
mod panels;
mod people;
mod serve;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pathways: a council and its partners working together against serious violence.
#[derive(Debug, Parser)]
#[command(name = "pathways", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web application and APIs.
    Serve(config::ServeArgs),
    /// Run a fictional borough on a fresh database and print the demo sign-ins.
    Demo(demo::DemoArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(config::ServeArgs),
    /// Manage agencies, users and API tokens.
    Admin(admin::AdminCommand),
    /// Check the tamper-evident audit log and manage its signing key.
    Audit(audit::AuditCommand),
    /// Write a consistent copy of the SQLite database while Pathways keeps serving.
    Backup(backup::BackupArgs),
    /// Check a SQLite backup (schema version, signed audit chain) and put it in place.
    Restore(backup::RestoreArgs),
    /// Import and analyse police.uk crime data (street crime, outcomes, stop and search).
    Crime(analysis::CrimeArgs),
    /// Import ONS geography: LSOA lookup, population and boundaries.
    Geo(analysis::GeoArgs),
    /// The "find support" directory: import and export ORUK feeds, load postcodes.
    Directory(directory::DirectoryArgs),
    /// MARAC, MACE and other panels: list them, the quarterly data return, chase actions.
    Panels(panels::PanelsCommand),
    /// Match lists of people with the person-index engine.
    #[command(subcommand)]
    People(pathways_matching::cli::PeopleCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let done = match cli.command {
        Command::Serve(args) => serve::serve(args.resolve()?).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Admin(cmd) => admin::run(cmd).await,
        Command::Audit(cmd) => {
            return Ok(match audit::run(cmd).await? {
                audit::Outcome::Done => ExitCode::SUCCESS,
                audit::Outcome::Broken => ExitCode::FAILURE,
            });
        }
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Crime(args) => analysis::crime(args),
        Command::Geo(args) => analysis::geo(args),
        Command::Directory(args) => directory::run(args).await,
        Command::People(cmd) => people::run(cmd),
        Command::Panels(cmd) => panels::run(cmd).await,
        Command::Migrate(args) => {
            let settings = args.resolve()?;
            serve::init_logging(&settings);
            let store = settings.connect().await?;
            println!(
                "database schema is at version {}",
                store.schema_version().await?
            );
            Ok(())
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

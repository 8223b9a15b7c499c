//! `pathways crime` and `pathways geo`: police.uk and ONS data in the crime store, a folder
//! `crime/` inside the data folder, beside the database.

use std::path::PathBuf;

use pathways_insight::cli::{CrimeCommand, GeoCommand};

/// Where the crime store lives.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreDir {
    /// The data folder; the crime store is its `crime/` folder [env: PATHWAYS_DATA_DIR]
    #[arg(
        long,
        env = "PATHWAYS_DATA_DIR",
        hide_env = true,
        default_value = "pathways-data",
        global = true
    )]
    pub data_dir: PathBuf,
}

impl StoreDir {
    fn crime_dir(&self) -> PathBuf {
        self.data_dir.join("crime")
    }
}

/// Arguments of `pathways crime`.
#[derive(Debug, clap::Args)]
pub struct CrimeArgs {
    #[command(flatten)]
    store: StoreDir,
    #[command(subcommand)]
    command: CrimeCommand,
}

/// Arguments of `pathways geo`.
#[derive(Debug, clap::Args)]
pub struct GeoArgs {
    #[command(flatten)]
    store: StoreDir,
    #[command(subcommand)]
    command: GeoCommand,
}

/// Runs a crime command.
pub fn crime(args: CrimeArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    pathways_insight::cli::run_crime(args.command, &args.store.crime_dir(), &mut out)?;
    Ok(())
}

/// Runs a geography command.
pub fn geo(args: GeoArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    pathways_insight::cli::run_geo(args.command, &args.store.crime_dir(), &mut out)?;
    Ok(())
}

//! Stand-alone driver of the insight commands (`crime`, `geo`) for benchmarks and manual runs.
//! The product binary `pathways` embeds the same subcommands.

use clap::{Parser, Subcommand};
use pathways_insight::cli::{CrimeCommand, GeoCommand, run_crime, run_geo};
use std::path::PathBuf;

/// Crime analytics over police.uk data.
#[derive(Debug, Parser)]
struct Args {
    /// Crime store directory.
    #[arg(long, default_value = "data/crime", global = true)]
    store: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// police.uk crime data.
    #[command(subcommand)]
    Crime(CrimeCommand),
    /// ONS geography.
    #[command(subcommand)]
    Geo(GeoCommand),
}

fn main() {
    let args = Args::parse();
    let mut out = std::io::stdout().lock();
    let r = match args.cmd {
        Cmd::Crime(c) => run_crime(c, &args.store, &mut out),
        Cmd::Geo(g) => run_geo(g, &args.store, &mut out),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

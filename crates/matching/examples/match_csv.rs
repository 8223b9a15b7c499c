//! `pathways people` without the rest of the binary: used by the benchmark script so it does
//! not depend on the CLI crate. Usage: `match_csv match A.csv B.csv --map ... [--out FILE]`.

use clap::Parser;
use pathways_matching::cli::{PeopleCommand, run_people};

#[derive(Parser)]
#[command(name = "match_csv", about = "Match two CSV lists of people")]
struct Args {
    #[command(subcommand)]
    command: PeopleCommand,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run_people(args.command) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

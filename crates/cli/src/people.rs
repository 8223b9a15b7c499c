//! `pathways people`: person-matching commands over CSV lists, run with the same engine the
//! person index uses at intake and triage.

use pathways_matching::cli::{PeopleCommand, run_people};

/// Runs a `pathways people` command.
pub fn run(command: PeopleCommand) -> anyhow::Result<()> {
    run_people(command)?;
    Ok(())
}

//! Writes a generated pair of people lists with known truth (`a.csv`, `b.csv`, `truth.csv`).
//! Usage: `generate N SEED DIR`.

use std::path::PathBuf;

use pathways_matching::generate::{GenerateOptions, generate_pair};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let parsed = (args.len() == 4)
        .then(|| {
            Some((
                args[1].parse::<usize>().ok()?,
                args[2].parse::<u64>().ok()?,
                PathBuf::from(&args[3]),
            ))
        })
        .flatten();
    let Some((n, seed, dir)) = parsed else {
        eprintln!(
            "usage: generate N SEED DIR   (N people per list, a numeric seed, an existing folder)"
        );
        std::process::exit(2);
    };
    match generate_pair(n, seed, &GenerateOptions::default(), &dir) {
        Ok(files) => println!(
            "{}\n{}\n{}",
            files.a.display(),
            files.b.display(),
            files.truth.display()
        ),
        Err(e) => {
            eprintln!("error: cannot write into {}: {e}", dir.display());
            std::process::exit(1);
        }
    }
}

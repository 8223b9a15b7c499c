//! The `people match` command as a user runs it: clap parsing, help text, output file and the
//! save-then-reuse model round trip.

use clap::{CommandFactory, Parser};
use pathways_matching::cli::{PeopleCommand, run_people};
use pathways_matching::generate::{GenerateOptions, generate_pair};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    people: PeopleCommand,
}

#[test]
fn help_describes_fields_and_map() {
    let mut cmd = Cli::command();
    let help = cmd
        .find_subcommand_mut("match")
        .expect("match subcommand")
        .render_long_help()
        .to_string();
    for needle in [
        "--map",
        "COLUMN=FIELD",
        "A:COLUMN",
        "--threshold",
        "--out",
        "DD/MM/YYYY",
        "YYYYMMDD",
        "--dob-format",
        "19751402",
        "address_line",
        "town",
        "Output columns",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
}

#[test]
fn bad_map_is_refused_by_the_parser() {
    let err = Cli::try_parse_from(["x", "match", "a.csv", "b.csv", "--map", "first"])
        .err()
        .expect("bad map");
    assert!(err.to_string().contains("COLUMN=FIELD"), "{err}");
}

#[test]
fn match_writes_output_and_model_round_trips() {
    let dir = crate::scratch("cli");
    let files = generate_pair(300, 3, &GenerateOptions::default(), &dir).expect("generate");
    let out = dir.join("pairs.csv");
    let model = dir.join("model.json");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "x",
            "match",
            files.a.to_str().expect("utf-8 path"),
            files.b.to_str().expect("utf-8 path"),
            "--map",
            crate::GENERATED_MAP,
        ];
        v.extend_from_slice(extra);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let first = Cli::try_parse_from(args(&[
        "--out",
        out.to_str().expect("path"),
        "--save-model",
        model.to_str().expect("path"),
    ]))
    .expect("parse");
    run_people(first.people).expect("match runs");
    let trained = std::fs::read_to_string(&out).expect("output written");
    assert!(trained.starts_with(
        "a_id,b_id,a_line,b_line,probability,match_weight,first_name,first_name_weight"
    ));
    assert!(
        trained.lines().count() > 100,
        "{} lines",
        trained.lines().count()
    );
    assert!(
        std::fs::read_to_string(&model)
            .expect("model saved")
            .contains("\"match_rate\"")
    );

    // Reusing the saved model gives the same pairs without training.
    let second = Cli::try_parse_from(args(&[
        "--out",
        out.to_str().expect("path"),
        "--model",
        model.to_str().expect("path"),
    ]))
    .expect("parse");
    run_people(second.people).expect("match with model");
    assert_eq!(std::fs::read_to_string(&out).expect("output"), trained);
    let _ = std::fs::remove_dir_all(&dir);
}

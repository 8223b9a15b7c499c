//! Quality on generated data with known truth: EM converges to sensible m probabilities and
//! the F1 of CSV matching on a 2,000-record pair of lists exceeds 0.9.

use std::collections::{HashMap, HashSet};

use pathways_matching::generate::{GenerateOptions, generate_pair, generate_people_pair};
use pathways_matching::{Field, FieldMap, Model, PersonIndex, TrainOptions, match_csv};

fn m_of(model: &Model, field: Field, level: &str) -> f64 {
    let c = &model.comparisons[field.index()];
    c.levels
        .iter()
        .find(|l| l.name == level)
        .map(|l| l.m)
        .expect("level exists")
}

#[test]
fn em_converges_to_sensible_m_probabilities() {
    let pair = generate_people_pair(2000, 11, &GenerateOptions::default());
    let (model, report) = Model::train_link(&pair.a, &pair.b, &TrainOptions::default());
    assert!((2..=4).contains(&report.rounds.len()), "{report:?}");
    for r in &report.rounds {
        assert!(
            r.converged,
            "round '{}' did not converge in {} iterations",
            r.rule, r.iterations
        );
        assert!(
            r.pairs >= 100,
            "round '{}' saw only {} pairs",
            r.rule,
            r.pairs
        );
    }
    // The generator keeps ~75% of first names exact, ~85% of birth dates exact among those
    // with one, and moves a quarter of people: m must reflect that, not the priors' shape.
    let first_exact = m_of(&model, Field::FirstName, "exact");
    assert!(
        (0.6..0.9).contains(&first_exact),
        "m(first name exact) = {first_exact}"
    );
    let dob_exact = m_of(&model, Field::Dob, "exact");
    assert!(
        (0.65..0.95).contains(&dob_exact),
        "m(dob exact) = {dob_exact}"
    );
    let surname_diff = m_of(&model, Field::Surname, "different");
    assert!(surname_diff < 0.08, "m(surname different) = {surname_diff}");
    let pc_exact = m_of(&model, Field::Postcode, "exact");
    assert!(
        (0.5..0.9).contains(&pc_exact),
        "m(postcode exact) = {pc_exact}"
    );
    // About 60% of the second list are copies, so about 1,200 true matches.
    assert!(
        (900.0..1500.0).contains(&report.expected_matches),
        "expected matches {}",
        report.expected_matches
    );
    // Training is deterministic for a seed.
    let (again, _) = Model::train_link(&pair.a, &pair.b, &TrainOptions::default());
    assert_eq!(again, model);
}

#[test]
fn csv_matching_f1_on_generated_lists_exceeds_0_9() {
    let dir = crate::scratch("quality");
    let files = generate_pair(2000, 5, &GenerateOptions::default(), &dir).expect("generate");
    let map = FieldMap::parse(crate::GENERATED_MAP).expect("map");
    let mut out = Vec::new();
    let report = match_csv(&files.a, &files.b, &map, 0.5, &mut out).expect("match");
    assert_eq!((report.a.records, report.b.records), (2000, 2000));

    let truth = std::fs::read_to_string(&files.truth).expect("truth");
    let cluster: HashMap<&str, &str> = truth
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .collect();
    let true_pairs: HashSet<(String, String)> = {
        let a: HashMap<&str, &str> = cluster
            .iter()
            .filter(|(id, _)| id.starts_with('A'))
            .map(|(id, c)| (*c, *id))
            .collect();
        cluster
            .iter()
            .filter(|(id, _)| id.starts_with('B'))
            .filter_map(|(id, c)| a.get(c).map(|aid| (aid.to_string(), id.to_string())))
            .collect()
    };
    let text = String::from_utf8(out).expect("utf-8 output");
    let found: HashSet<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split(',');
            (
                cells.next().unwrap_or("").to_string(),
                cells.next().unwrap_or("").to_string(),
            )
        })
        .collect();
    let tp = found.intersection(&true_pairs).count() as f64;
    let precision = tp / found.len() as f64;
    let recall = tp / true_pairs.len() as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    println!("2k lists: precision {precision:.4} recall {recall:.4} F1 {f1:.4}");
    assert!(
        f1 > 0.9,
        "F1 {f1:.4} (precision {precision:.4}, recall {recall:.4})"
    );
    assert!(
        precision > 0.9 && recall > 0.9,
        "precision {precision:.4}, recall {recall:.4}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn index_finds_perturbed_copies_among_a_population() {
    let pair = generate_people_pair(3000, 21, &GenerateOptions::default());
    let (model, _) = Model::train_dedupe(&pair.a, &TrainOptions::default());
    let index = PersonIndex::build(model, pair.a.iter());
    assert_eq!(index.len(), 3000);
    let truth = pair.true_pairs();
    let mut top1 = 0;
    for &(i, j) in &truth {
        let c = index.candidates(&pair.b[j], 5, 0.0);
        if c.first().is_some_and(|c| c.id == pair.a[i].id) {
            top1 += 1;
        }
    }
    let share = top1 as f64 / truth.len() as f64;
    println!(
        "index: true match ranked first for {share:.4} of {} copies",
        truth.len()
    );
    assert!(share > 0.95, "true match ranked first for only {share:.4}");
}

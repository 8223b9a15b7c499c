//! Measures how many full DASH scoring requests (parse, score, judgement, MARAC) run per second.
//! Run with `cargo run --release -p pathways-risk --example throughput`.

use std::collections::BTreeMap;
use std::time::Instant;

use pathways_risk::{InstrumentRegistry, JudgementRequest, ScoreRequest, score_request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = InstrumentRegistry::builtin()?;
    let def = registry.latest("dash").ok_or("dash is shipped")?;
    let answers: BTreeMap<String, serde_json::Value> = def
        .core_questions()
        .enumerate()
        .map(|(i, q)| {
            (
                q.id.clone(),
                serde_json::Value::from(if i % 2 == 0 { "yes" } else { "no" }),
            )
        })
        .collect();
    let request = ScoreRequest {
        answers,
        professional_judgement: Some(JudgementRequest {
            level: "high".into(),
            reason: "Recent threats to kill and access to a weapon".into(),
        }),
        incidents: (1..=9).map(|m| format!("2025-{m:02}-15")).collect(),
        assessment_date: Some("2026-03-14".into()),
        last_marac_referral: Some("2025-04-01".into()),
        new_incident: Some("2026-03-01".into()),
        ..ScoreRequest::default()
    };
    let n = 100_000u32;
    let start = Instant::now();
    let mut eligible = 0u32;
    for _ in 0..n {
        let r = score_request(&registry, "dash", request.clone())?;
        eligible += u32::from(r.eligibility.is_some_and(|e| e.eligible));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} DASH score requests in {secs:.3} s: {:.1} µs each, {:.0} per second ({eligible} eligible)",
        secs * 1e6 / f64::from(n),
        f64::from(n) / secs
    );
    Ok(())
}

//! Professional judgement: raising and keeping the level need a reason; lowering is refused.
//! The minimum reason length is tested on both sides.

use pathways_risk::{JudgementError, MIN_REASON_CHARS, RiskLevel, apply_judgement};

const REASON: &str = "Victim disclosed new threats to the children yesterday";

#[test]
fn raising_is_accepted_and_recorded() {
    let f = apply_judgement(RiskLevel::Medium, RiskLevel::High, REASON).expect("raise");
    assert_eq!((f.computed, f.level), (RiskLevel::Medium, RiskLevel::High));
    assert_eq!(f.reason.as_deref(), Some(REASON));
    assert!(f.has_judgement());
}

#[test]
fn equal_level_is_accepted_with_reason() {
    let f = apply_judgement(RiskLevel::High, RiskLevel::High, REASON).expect("equal");
    assert_eq!(f.level, RiskLevel::High);
    assert!(f.has_judgement());
}

#[test]
fn lowering_is_refused_not_clamped() {
    for (computed, requested) in [
        (RiskLevel::High, RiskLevel::Medium),
        (RiskLevel::High, RiskLevel::Standard),
        (RiskLevel::Medium, RiskLevel::Standard),
        (RiskLevel::Medium, RiskLevel::Low),
    ] {
        let e = apply_judgement(computed, requested, REASON).expect_err("lowering");
        assert_eq!(
            e,
            JudgementError::WouldLower {
                computed,
                requested
            }
        );
    }
    let msg = apply_judgement(RiskLevel::High, RiskLevel::Medium, REASON)
        .expect_err("lowering")
        .to_string();
    assert_eq!(
        msg,
        "professional judgement can raise the level but not lower it: the computed level is High and Medium is lower; choose High or higher"
    );
}

#[test]
fn lowering_with_a_short_reason_reports_lowering() {
    let e = apply_judgement(RiskLevel::High, RiskLevel::Standard, "").expect_err("lowering");
    assert!(matches!(e, JudgementError::WouldLower { .. }));
}

#[test]
fn reason_length_boundary() {
    let short = "x".repeat(MIN_REASON_CHARS - 1);
    let exact = "x".repeat(MIN_REASON_CHARS);
    assert_eq!(
        apply_judgement(RiskLevel::Standard, RiskLevel::High, &short),
        Err(JudgementError::ReasonTooShort {
            min: MIN_REASON_CHARS,
            given: MIN_REASON_CHARS - 1
        })
    );
    assert!(apply_judgement(RiskLevel::Standard, RiskLevel::High, &exact).is_ok());
    // Padding does not count towards the length.
    let padded = format!("   {short}   ");
    assert!(apply_judgement(RiskLevel::Standard, RiskLevel::High, &padded).is_err());
    assert_eq!(
        apply_judgement(RiskLevel::Medium, RiskLevel::High, "   "),
        Err(JudgementError::ReasonTooShort {
            min: MIN_REASON_CHARS,
            given: 0
        })
    );
}

#[test]
fn reason_is_stored_trimmed() {
    let f = apply_judgement(RiskLevel::Low, RiskLevel::Medium, &format!("  {REASON}\n"))
        .expect("raise");
    assert_eq!(f.reason.as_deref(), Some(REASON));
}

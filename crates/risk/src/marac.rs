//! MARAC referral eligibility: the four criteria, each computed and explained in plain English.
//! Windows are whole calendar months with both ends included (see `add_months`).

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// Configurable referral rules; the defaults are the SafeLives criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaracRules {
    /// Lowest DASH score that is visible high risk.
    pub high_threshold: u32,
    /// Incidents within the escalation window that make potential escalation.
    pub escalation_incidents: u32,
    /// Length of the escalation window, in calendar months up to the assessment date.
    pub escalation_window_months: u32,
    /// Length of the repeat window, in calendar months after the last MARAC referral.
    pub repeat_window_months: u32,
}

impl Default for MaracRules {
    fn default() -> Self {
        MaracRules {
            high_threshold: 14,
            escalation_incidents: 3,
            escalation_window_months: 12,
            repeat_window_months: 12,
        }
    }
}

impl MaracRules {
    /// Rule problems, given the instrument's highest possible score; empty when usable.
    pub fn problems(&self, max_score: u32) -> Vec<String> {
        let mut p = Vec::new();
        if self.high_threshold == 0 || self.high_threshold > max_score {
            p.push(format!(
                "marac.high_threshold must be between 1 and {max_score}, not {}",
                self.high_threshold
            ));
        }
        if self.escalation_incidents == 0 {
            p.push("marac.escalation_incidents must be 1 or more".to_owned());
        }
        for (name, months) in [
            ("escalation_window_months", self.escalation_window_months),
            ("repeat_window_months", self.repeat_window_months),
        ] {
            if !(1..=120).contains(&months) {
                p.push(format!(
                    "marac.{name} must be between 1 and 120, not {months}"
                ));
            }
        }
        p
    }
}

/// Facts about one DASH assessment needed to decide MARAC eligibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaracInputs {
    /// DASH score (number of "yes" answers).
    pub dash_score: u32,
    /// The recorded reason, when a practitioner used professional judgement.
    pub professional_judgement: Option<String>,
    /// Dates of known incidents (duplicates are separate incidents on the same day).
    pub incident_dates: Vec<Date>,
    /// Date of the assessment; the escalation window ends on it.
    pub assessment_date: Date,
    /// Date of the last MARAC referral, if any.
    pub last_marac_referral: Option<Date>,
    /// Date of the new incident being considered as a repeat, if any.
    pub new_incident_date: Option<Date>,
}

/// The four referral criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Score at or above the high-risk threshold.
    VisibleHighRisk,
    /// A practitioner's recorded professional judgement.
    ProfessionalJudgement,
    /// Enough incidents within the escalation window.
    PotentialEscalation,
    /// A new incident within the repeat window after the last referral.
    Repeat,
}

impl Criterion {
    /// Name shown to practitioners.
    pub fn label(self) -> &'static str {
        match self {
            Criterion::VisibleHighRisk => "Visible high risk",
            Criterion::ProfessionalJudgement => "Professional judgement",
            Criterion::PotentialEscalation => "Potential escalation",
            Criterion::Repeat => "Repeat",
        }
    }
}

/// One criterion, whether it is met, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriterionResult {
    /// Which criterion.
    pub criterion: Criterion,
    /// Whether it is met.
    pub met: bool,
    /// Plain-English reason with the numbers and dates used.
    pub explanation: String,
}

/// The overall decision and every criterion, always in the same order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// True when any criterion is met.
    pub eligible: bool,
    /// One sentence summarising the decision.
    pub summary: String,
    /// Visible high risk, professional judgement, potential escalation, repeat.
    pub criteria: Vec<CriterionResult>,
}

/// Decides MARAC eligibility and explains each criterion.
pub fn marac_eligibility(inputs: &MaracInputs, rules: &MaracRules) -> Eligibility {
    let criteria = vec![
        visible_high_risk(inputs.dash_score, rules),
        professional_judgement(inputs.professional_judgement.as_deref()),
        potential_escalation(inputs, rules),
        repeat(inputs, rules),
    ];
    let met: Vec<&str> = criteria
        .iter()
        .filter(|c| c.met)
        .map(|c| c.criterion.label())
        .collect();
    let summary = if met.is_empty() {
        "Not eligible for MARAC: no referral criterion is met.".to_owned()
    } else {
        format!("Eligible for MARAC: {}.", met.join(", ").to_lowercase())
    };
    Eligibility {
        eligible: !met.is_empty(),
        summary,
        criteria,
    }
}

fn visible_high_risk(score: u32, rules: &MaracRules) -> CriterionResult {
    let met = score >= rules.high_threshold;
    let explanation = if met {
        format!(
            "DASH score {score} is at or above the high-risk threshold of {}.",
            rules.high_threshold
        )
    } else {
        format!(
            "DASH score {score} is below the high-risk threshold of {}.",
            rules.high_threshold
        )
    };
    CriterionResult {
        criterion: Criterion::VisibleHighRisk,
        met,
        explanation,
    }
}

fn professional_judgement(reason: Option<&str>) -> CriterionResult {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let (met, explanation) = match reason {
        Some(r) => (true, format!("Professional judgement recorded: \"{r}\".")),
        None => (false, "No professional judgement recorded.".to_owned()),
    };
    CriterionResult {
        criterion: Criterion::ProfessionalJudgement,
        met,
        explanation,
    }
}

fn potential_escalation(inputs: &MaracInputs, rules: &MaracRules) -> CriterionResult {
    let end = inputs.assessment_date;
    let months = rules.escalation_window_months;
    // A window reaching before year -9999 cannot be represented; it then covers all history.
    let start = add_months(end, -i64::from(months)).unwrap_or(Date::MIN);
    let counted = inputs
        .incident_dates
        .iter()
        .filter(|d| **d >= start && **d <= end)
        .count();
    let later = inputs.incident_dates.iter().filter(|d| **d > end).count();
    let threshold = rules.escalation_incidents;
    let met = u32::try_from(counted).unwrap_or(u32::MAX) >= threshold;
    let mut explanation = format!(
        "{} in the {months} months to {} (threshold {threshold}); the window runs from {} to {}, both days included.",
        plural(counted, "incident"),
        long_date(end),
        long_date(start),
        long_date(end),
    );
    if later > 0 {
        explanation.push_str(&format!(
            " {} after the assessment date not counted.",
            plural(later, "incident")
        ));
    }
    CriterionResult {
        criterion: Criterion::PotentialEscalation,
        met,
        explanation,
    }
}

fn repeat(inputs: &MaracInputs, rules: &MaracRules) -> CriterionResult {
    let months = rules.repeat_window_months;
    let (met, explanation) = match (inputs.last_marac_referral, inputs.new_incident_date) {
        (_, None) => (false, "No new incident given.".to_owned()),
        (None, Some(_)) => (
            false,
            "No previous MARAC referral is recorded, so a new incident cannot be a repeat."
                .to_owned(),
        ),
        (Some(referral), Some(incident)) if incident < referral => (
            false,
            format!(
                "The new incident on {} is before the last MARAC referral on {}, so it is not a repeat.",
                long_date(incident),
                long_date(referral)
            ),
        ),
        (Some(referral), Some(incident)) => {
            // Past the largest representable date every later incident is inside the window.
            let end = add_months(referral, i64::from(months)).unwrap_or(Date::MAX);
            if incident <= end {
                (
                    true,
                    format!(
                        "The new incident on {} is within {months} months of the last MARAC referral on {} (the window ends on {}, included), so it is a repeat and goes back to MARAC whatever the score.",
                        long_date(incident),
                        long_date(referral),
                        long_date(end)
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "The new incident on {} is more than {months} months after the last MARAC referral on {} (the window ended on {}).",
                        long_date(incident),
                        long_date(referral),
                        long_date(end)
                    ),
                )
            }
        }
    };
    CriterionResult {
        criterion: Criterion::Repeat,
        met,
        explanation,
    }
}

/// Moves a date by whole calendar months. When the day does not exist in the target month
/// it becomes that month's last day, so 12 months after 29 February 2024 is 28 February 2025
/// and 12 months before 29 February 2024 is 28 February 2023. `None` if out of range.
pub fn add_months(date: Date, months: i64) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(days_in_month(year, month));
    Date::from_calendar_date(year, month, day).ok()
}

fn days_in_month(year: i32, month: Month) -> u8 {
    match month {
        Month::April | Month::June | Month::September | Month::November => 30,
        Month::February if is_leap(year) => 29,
        Month::February => 28,
        _ => 31,
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Formats a date as people read it: `14 March 2026`.
pub fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

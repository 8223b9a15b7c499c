//! Professional judgement: a practitioner may raise a computed level, with a reason,
//! and may never lower it; lowering is refused, not silently clamped.

use serde::Serialize;
use thiserror::Error;

use crate::instrument::RiskLevel;

/// Shortest reason accepted, in characters after trimming; long enough to say why.
pub const MIN_REASON_CHARS: usize = 20;

/// The level a case carries after judgement, with what it was computed as and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinalLevel {
    /// Level in force.
    pub level: RiskLevel,
    /// Level the instrument computed.
    pub computed: RiskLevel,
    /// The recorded reason, when a judgement was applied.
    pub reason: Option<String>,
}

impl FinalLevel {
    /// A level with no judgement applied.
    pub fn computed(level: RiskLevel) -> FinalLevel {
        FinalLevel {
            level,
            computed: level,
            reason: None,
        }
    }

    /// Whether a professional judgement (with a reason) is recorded.
    pub fn has_judgement(&self) -> bool {
        self.reason.is_some()
    }
}

/// Why a judgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JudgementError {
    /// The requested level is below the computed one.
    #[error(
        "professional judgement can raise the level but not lower it: the computed level is {computed} and {requested} is lower; choose {computed} or higher"
    )]
    WouldLower {
        /// Computed level.
        computed: RiskLevel,
        /// Requested level.
        requested: RiskLevel,
    },
    /// The reason is missing or too short.
    #[error(
        "give the reason for your professional judgement in at least {min} characters (you gave {given})"
    )]
    ReasonTooShort {
        /// Minimum characters.
        min: usize,
        /// Characters given after trimming.
        given: usize,
    },
}

/// Applies a judgement: the same or a higher level with a reason of at least
/// [`MIN_REASON_CHARS`] characters. Both problems are checked; lowering is reported first.
pub fn apply_judgement(
    computed: RiskLevel,
    requested: RiskLevel,
    reason: &str,
) -> Result<FinalLevel, JudgementError> {
    if requested < computed {
        return Err(JudgementError::WouldLower {
            computed,
            requested,
        });
    }
    let reason = reason.trim();
    let given = reason.chars().count();
    if given < MIN_REASON_CHARS {
        return Err(JudgementError::ReasonTooShort {
            min: MIN_REASON_CHARS,
            given,
        });
    }
    Ok(FinalLevel {
        level: requested,
        computed,
        reason: Some(reason.to_owned()),
    })
}

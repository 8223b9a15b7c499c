//! The case vocabulary: where a case stands, what a chronology entry is, plan goals, consent
//! to share, and the service-referral workflow as one pure rule.

use crate::vocabulary;

vocabulary! {
    /// Where a case stands.
    pub enum CaseStatus("case status") {
        /// Being worked.
        Open => "open", "Open",
        /// Paused (the person is away, in custody, in hospital ...).
        OnHold => "on_hold", "On hold",
        /// Closed with a reason and outcome measures.
        Closed => "closed", "Closed",
    }
}

vocabulary! {
    /// What a chronology entry records.
    pub enum EntryKind("entry kind") {
        /// A case note.
        Note => "note", "Note",
        /// A contact with the person (visit, call, meeting).
        Contact => "contact", "Contact",
        /// A street contact by detached outreach, with a place.
        StreetContact => "street_contact", "Street contact",
        /// Something that happened (an incident, a court date).
        Event => "event", "Event",
    }
}

impl Default for EntryKind {
    /// A note, the commonest entry.
    fn default() -> Self {
        EntryKind::Note
    }
}

vocabulary! {
    /// Where a goal of the case plan stands.
    pub enum GoalStatus("goal status") {
        /// Being worked towards.
        Open => "open", "Open",
        /// Reached.
        Achieved => "achieved", "Achieved",
        /// Given up (with the plan reviewed).
        Dropped => "dropped", "Dropped",
    }
}

vocabulary! {
    /// Consent to share information with a service.
    pub enum Consent("consent") {
        /// The person agreed.
        Given => "given", "Consent given",
        /// The person refused; sharing needs a lawful basis and reason.
        Refused => "refused", "Consent refused",
        /// Consent was not sought; sharing needs a lawful basis and reason.
        NotSought => "not_sought", "Consent not sought",
    }
}

vocabulary! {
    /// Status of a referral from a case to a service.
    pub enum ServiceReferralStatus("service referral status") {
        /// Sent, waiting for the service to respond.
        Sent => "sent", "Sent",
        /// The service accepted the referral.
        Accepted => "accepted", "Accepted",
        /// The service declined it (with a reason).
        Declined => "declined", "Declined",
        /// The person started with the service.
        Started => "started", "Started",
        /// The person completed the service.
        Completed => "completed", "Completed",
        /// The person stopped engaging (with a reason).
        Disengaged => "disengaged", "Disengaged",
    }
}

impl ServiceReferralStatus {
    /// The statuses the workflow allows next from this one.
    pub fn next(self) -> &'static [ServiceReferralStatus] {
        use ServiceReferralStatus::*;
        match self {
            Sent => &[Accepted, Declined],
            Accepted => &[Started],
            Started => &[Completed, Disengaged],
            Declined | Completed | Disengaged => &[],
        }
    }

    /// True when a move into this status must say why.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            ServiceReferralStatus::Declined | ServiceReferralStatus::Disengaged
        )
    }
}

/// Why a service-referral status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The move skips or reverses the workflow.
    #[error("a referral cannot move from {} to {}: {}", .from.label().to_lowercase(), .to.label().to_lowercase(), allowed_text(*.from))]
    NotAllowed {
        /// Current status.
        from: ServiceReferralStatus,
        /// Requested status.
        to: ServiceReferralStatus,
    },
    /// Declining and disengagement must give a reason.
    #[error("give a reason for marking the referral {}", .0.label().to_lowercase())]
    ReasonRequired(ServiceReferralStatus),
}

fn allowed_text(from: ServiceReferralStatus) -> String {
    let next = from.next();
    if next.is_empty() {
        return format!("{} is a final status", from.label().to_lowercase());
    }
    let names: Vec<String> = next.iter().map(|s| s.label().to_lowercase()).collect();
    format!(
        "from {} it can only become {}",
        from.label().to_lowercase(),
        names.join(" or ")
    )
}

/// The service-referral workflow as one pure rule: sent → accepted / declined → started →
/// completed / disengaged. Declined and disengaged need a non-blank reason.
pub fn transition(
    from: ServiceReferralStatus,
    to: ServiceReferralStatus,
    reason: &str,
) -> Result<(), TransitionError> {
    if !from.next().contains(&to) {
        return Err(TransitionError::NotAllowed { from, to });
    }
    if to.needs_reason() && reason.trim().is_empty() {
        return Err(TransitionError::ReasonRequired(to));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_workflow_refuses_skips_and_asks_for_reasons() {
        use ServiceReferralStatus::*;
        assert_eq!(transition(Sent, Accepted, ""), Ok(()));
        assert_eq!(
            transition(Sent, Completed, "").unwrap_err().to_string(),
            "a referral cannot move from sent to completed: from sent it can only become accepted or declined"
        );
        assert_eq!(
            transition(Sent, Declined, "  ").unwrap_err(),
            TransitionError::ReasonRequired(Declined)
        );
        assert_eq!(
            transition(Completed, Started, "x").unwrap_err().to_string(),
            "a referral cannot move from completed to started: completed is a final status"
        );
    }

    #[test]
    fn every_pair_of_statuses_is_decided_by_the_workflow() {
        use ServiceReferralStatus::*;
        let allowed = [
            (Sent, Accepted),
            (Sent, Declined),
            (Accepted, Started),
            (Started, Completed),
            (Started, Disengaged),
        ];
        for &from in ServiceReferralStatus::ALL {
            for &to in ServiceReferralStatus::ALL {
                let result = transition(from, to, "a reason given");
                if allowed.contains(&(from, to)) {
                    assert_eq!(result, Ok(()), "{from:?} -> {to:?}");
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::NotAllowed { from, to }),
                        "{from:?} -> {to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn declining_and_disengaging_need_a_reason() {
        use ServiceReferralStatus::*;
        assert_eq!(
            transition(Started, Disengaged, ""),
            Err(TransitionError::ReasonRequired(Disengaged))
        );
        assert_eq!(transition(Accepted, Started, ""), Ok(()));
        assert_eq!(transition(Started, Completed, ""), Ok(()));
    }

    #[test]
    fn keys_round_trip() {
        for &s in ServiceReferralStatus::ALL {
            assert_eq!(ServiceReferralStatus::parse(s.key()), Ok(s));
        }
        for &s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.key()), Ok(s));
        }
        assert_eq!(Consent::parse("not_sought"), Ok(Consent::NotSought));
        assert!(ServiceReferralStatus::parse("done").is_err());
    }

    proptest! {
        #[test]
        fn every_allowed_move_is_forward(from in 0..6usize, to in 0..6usize) {
            let (from, to) = (ServiceReferralStatus::ALL[from], ServiceReferralStatus::ALL[to]);
            if transition(from, to, "because").is_ok() {
                prop_assert!(to > from);
                prop_assert!(from.next().contains(&to));
            }
        }
    }
}

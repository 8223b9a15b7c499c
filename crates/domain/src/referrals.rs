//! The referral vocabulary: where a referral stands, how urgent it is, and what triage
//! decided.

use crate::vocabulary;

vocabulary! {
    /// Where a referral stands.
    pub enum ReferralStatus("referral status") {
        /// Received, waiting for triage.
        Received => "received", "Received: waiting for triage",
        /// Triage has decided.
        Decided => "decided", "Decided",
    }
}

vocabulary! {
    /// How soon triage must decide.
    pub enum Urgency("urgency") {
        /// Within the urgent working-time allowance.
        Urgent => "urgent", "Urgent",
        /// Within the standard allowance.
        Standard => "standard", "Standard",
    }
}

vocabulary! {
    /// What triage decided about a referral.
    pub enum TriageDecision("triage decision") {
        /// Open a case (or add the referral to the person's open case).
        OpenCase => "open_case", "Case opened",
        /// Point the person to a service.
        Signpost => "signpost", "Signposted to a service",
        /// Refer to a multi-agency panel (MARAC, MACE).
        Panel => "panel", "Referred to a panel",
        /// No further action.
        NoFurtherAction => "no_further_action", "No further action",
    }
}

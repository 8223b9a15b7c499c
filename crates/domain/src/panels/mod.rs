//! The panel vocabulary (MARAC, MACE and other multi-agency panels) and its pure rules:
//! the meeting schedule, repeat referrals, the order of the agenda, quarters and the
//! quarterly data return with small-number suppression.

mod data_return;
mod rules;

pub use data_return::{DataReturn, Measure, ReturnCase, Share, compute, suppress};
pub use rules::{
    AgendaCandidate, EMERGENCY_WITHIN_SECS, Quarter, REPEAT_WINDOW_SECS, Schedule, is_repeat,
    order_agenda,
};

use crate::vocabulary;

vocabulary! {
    /// What a panel is for; its kind decides which eligibility a referral carries.
    pub enum PanelKind("panel kind") {
        /// Multi-agency risk assessment conference: high-risk domestic abuse (DASH).
        Marac => "marac", "MARAC",
        /// Multi-agency child exploitation panel (youth violence and exploitation screening).
        Mace => "mace", "MACE",
        /// Another multi-agency panel configured by the council (professional judgement).
        Other => "other", "Other panel",
    }
}

impl PanelKind {
    /// The risk instrument whose eligibility a referral to this kind of panel carries.
    pub fn instrument(self) -> Option<&'static str> {
        match self {
            PanelKind::Marac => Some("dash"),
            PanelKind::Mace => Some("yv-screening"),
            PanelKind::Other => None,
        }
    }
}

vocabulary! {
    /// How a meeting came about.
    pub enum MeetingKind("meeting kind") {
        /// From the panel's schedule.
        Scheduled => "scheduled", "Scheduled",
        /// Called outside the schedule.
        AdHoc => "ad_hoc", "Ad hoc",
        /// Called for one case within 24 hours.
        Emergency => "emergency", "Emergency",
    }
}

vocabulary! {
    /// Where a meeting stands.
    pub enum MeetingStatus("meeting status") {
        /// Being prepared; the agenda is visible to the coordinator and chair only.
        Planned => "planned", "Planned",
        /// The agenda went to member agencies: the panel window is open.
        Published => "published", "Agenda published",
        /// The meeting took place.
        Held => "held", "Held",
    }
}

vocabulary! {
    /// Where a referral to a panel stands.
    pub enum ReferralStatus("panel referral status") {
        /// Waiting for the coordinator.
        Pending => "pending", "Waiting for the coordinator",
        /// Accepted: a panel case, listed on the next agenda.
        Accepted => "accepted", "Accepted",
        /// Declined, with a reason.
        Declined => "declined", "Declined",
        /// Transferred out to another area's panel.
        TransferredOut => "transferred_out", "Transferred to another area",
        /// Every action done or closed with a reason.
        Closed => "closed", "Closed",
    }
}

vocabulary! {
    /// Where a referral to a panel came from.
    pub enum ReferralSource("panel referral source") {
        /// A triage decision to refer to the panel.
        Triage => "triage", "Triage",
        /// A case, with its eligibility explanation.
        Case => "case", "Case",
        /// Another area's panel (a transfer in).
        OtherArea => "other_area", "Another area",
    }
}

vocabulary! {
    /// What an agenda item is about: MACE also discusses places and peer groups.
    pub enum SubjectKind("agenda subject") {
        /// A person (the victim or young person).
        Person => "person", "Person",
        /// A place (contextual safeguarding).
        Place => "place", "Place",
        /// A peer group (contextual safeguarding).
        PeerGroup => "peer_group", "Peer group",
    }
}

vocabulary! {
    /// Whose records an agency's research covers.
    pub enum ResearchSubject("research subject") {
        /// The victim or young person.
        Victim => "victim", "Victim",
        /// The alleged perpetrator.
        Perpetrator => "perpetrator", "Alleged perpetrator",
        /// The children in the household.
        Children => "children", "Children",
    }
}

vocabulary! {
    /// Where a panel action stands.
    pub enum ActionStatus("action status") {
        /// Being worked on.
        Open => "open", "Open",
        /// Done.
        Done => "done", "Done",
        /// Closed without being done, with a reason.
        Closed => "closed", "Closed with a reason",
    }
}

vocabulary! {
    /// A self-described characteristic: "not known" is kept apart from "no".
    pub enum Answer("answer") {
        /// Yes.
        Yes => "yes", "Yes",
        /// No.
        No => "no", "No",
        /// Not known or not asked.
        NotKnown => "not_known", "Not known",
        /// The person preferred not to say.
        PreferNotToSay => "prefer_not_to_say", "Prefers not to say",
    }
}

impl Default for Answer {
    /// Not known until the person says.
    fn default() -> Self {
        Answer::NotKnown
    }
}

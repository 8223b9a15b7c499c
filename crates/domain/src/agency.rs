//! The kinds of organisation that work together in Pathways. Each user belongs to exactly
//! one agency; the kind drives defaults (for example which roles an agency's users get).

use serde::{Deserialize, Serialize};

/// What sort of organisation an agency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A council team (community safety, Early Help, detached outreach, youth offending).
    CouncilTeam,
    /// Children's social care.
    ChildrensSocialCare,
    /// A police force or borough command unit.
    Police,
    /// Probation service.
    Probation,
    /// A school, academy or college.
    School,
    /// A housing provider.
    HousingProvider,
    /// A health organisation: hospital, GP practice, community health, mental health trust.
    Health,
    /// A youth service or youth club.
    YouthService,
    /// A substance misuse service.
    SubstanceMisuse,
    /// The hub of a consortium of specialist services, which allocates to its members.
    ConsortiumHub,
    /// A specialist violence-against-women-and-girls organisation (refuge, IDVA service ...).
    VawgSpecialist,
    /// A voluntary or community sector organisation.
    Voluntary,
}

impl AgencyKind {
    /// Every kind, in display order.
    pub const ALL: [AgencyKind; 12] = [
        AgencyKind::CouncilTeam,
        AgencyKind::ChildrensSocialCare,
        AgencyKind::Police,
        AgencyKind::Probation,
        AgencyKind::School,
        AgencyKind::HousingProvider,
        AgencyKind::Health,
        AgencyKind::YouthService,
        AgencyKind::SubstanceMisuse,
        AgencyKind::ConsortiumHub,
        AgencyKind::VawgSpecialist,
        AgencyKind::Voluntary,
    ];

    /// The stable key stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            AgencyKind::CouncilTeam => "council_team",
            AgencyKind::ChildrensSocialCare => "childrens_social_care",
            AgencyKind::Police => "police",
            AgencyKind::Probation => "probation",
            AgencyKind::School => "school",
            AgencyKind::HousingProvider => "housing_provider",
            AgencyKind::Health => "health",
            AgencyKind::YouthService => "youth_service",
            AgencyKind::SubstanceMisuse => "substance_misuse",
            AgencyKind::ConsortiumHub => "consortium_hub",
            AgencyKind::VawgSpecialist => "vawg_specialist",
            AgencyKind::Voluntary => "voluntary",
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            AgencyKind::CouncilTeam => "Council team",
            AgencyKind::ChildrensSocialCare => "Children's social care",
            AgencyKind::Police => "Police",
            AgencyKind::Probation => "Probation",
            AgencyKind::School => "School or college",
            AgencyKind::HousingProvider => "Housing provider",
            AgencyKind::Health => "Health",
            AgencyKind::YouthService => "Youth service",
            AgencyKind::SubstanceMisuse => "Substance misuse service",
            AgencyKind::ConsortiumHub => "Consortium hub",
            AgencyKind::VawgSpecialist => "Specialist VAWG service",
            AgencyKind::Voluntary => "Voluntary or community organisation",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<AgencyKind> {
        AgencyKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in AgencyKind::ALL {
            assert_eq!(AgencyKind::parse(k.key()), Some(k));
            assert!(seen.insert(k.key()));
        }
        assert_eq!(AgencyKind::parse("nonsense"), None);
    }
}

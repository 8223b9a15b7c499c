//! Typed identifiers: a case id cannot be passed where a person id is meant. Each wraps the
//! stored UUID text and serialises as that text.

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a stored id.
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as stored, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A case.
    CaseId
);
id_type!(
    /// A person in the person index.
    PersonId
);
id_type!(
    /// A referral.
    ReferralId
);
id_type!(
    /// A referral from a case to a service.
    ServiceReferralId
);
id_type!(
    /// A user (a member of staff).
    UserId
);
id_type!(
    /// An agency.
    AgencyId
);
id_type!(
    /// A multi-agency panel (a MARAC, a MACE).
    PanelId
);
id_type!(
    /// A panel meeting.
    MeetingId
);
id_type!(
    /// A referral to a panel (a panel case once accepted).
    PanelReferralId
);
id_type!(
    /// An item on a meeting's agenda.
    AgendaItemId
);
id_type!(
    /// An action agreed at a panel meeting.
    PanelActionId
);

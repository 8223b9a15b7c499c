//! The Open Referral UK 3.0 (HSDS 3.0 profile) data model as serde types.
//! Field names are exactly those of the ORUK schemas; empty optional fields are omitted, never null.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Declares a closed string enumeration whose parse errors name the value and the allowed set.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every allowed value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact ORUK spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the exact ORUK spelling; the error says what is allowed.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "`{}` is not a {} (must be one of {})",
                        other,
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum!(
    /// Whether a service is running.
    Status, "status", {
        /// Running normally.
        Active => "active",
        /// Not currently offered.
        Inactive => "inactive",
        /// Permanently closed.
        Defunct => "defunct",
        /// Paused for a while, expected to return.
        TemporarilyClosed => "temporarily closed",
    }
);

string_enum!(
    /// The kind of a location or address.
    LocationType, "location type", {
        /// A place people can visit.
        Physical => "physical",
        /// A postal address only.
        Postal => "postal",
        /// Online or by telephone.
        Virtual => "virtual",
    }
);

string_enum!(
    /// Recurrence frequency of a schedule (a subset of RFC 5545 RRULE FREQ).
    Freq, "schedule frequency", {
        /// Repeats every `interval` weeks on `byday`.
        Weekly => "WEEKLY",
        /// Repeats every `interval` months on `bymonthday` or ordinal `byday` (e.g. `1MO`).
        Monthly => "MONTHLY",
    }
);

/// A service: the central ORUK record, fully nested as served by `/services/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// UUID of the service.
    pub id: String,
    /// UUID of the organisation that provides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Public name.
    pub name: String,
    /// What the service does, in plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Web page of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Public email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the service is running.
    pub status: Status,
    /// Charges, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    /// Accreditations held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditations: Option<String>,
    /// Youngest age served, in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_age: Option<Number>,
    /// Oldest age served, in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_age: Option<Number>,
    /// Date (YYYY-MM-DD) the record was last checked as accurate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assured_date: Option<String>,
    /// Email of the person who checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurer_email: Option<String>,
    /// A short notice shown prominently (e.g. temporary changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// RFC 3339 date-time of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the service is available.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    /// Areas the service covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_areas: Vec<ServiceArea>,
    /// Where the service is delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_at_locations: Vec<ServiceAtLocation>,
    /// Languages the service is offered in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    /// The provider, nested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    /// Funding sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<Funding>,
    /// Prices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost_options: Vec<CostOption>,
    /// Named contacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// Telephone numbers of the service itself (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// The programme the service belongs to (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Program>,
    /// Links to taxonomy terms (needs, eligibility, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// Change history (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<Metadata>,
}

/// An organisation that provides services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (required by ORUK).
    pub description: String,
    /// Public email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Logo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Persistent URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// UUID of a parent organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_organization_id: Option<String>,
    /// Registration numbers (charity, company, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization_identifiers: Vec<OrganizationIdentifier>,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// A registration number of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationIdentifier {
    /// UUID.
    pub id: String,
    /// UUID of the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// org-id.guide scheme, e.g. `GB-CHC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_scheme: Option<String>,
    /// Kind of identifier, e.g. "Charity number".
    pub identifier_type: String,
    /// The identifier itself.
    pub identifier: String,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// Links a service to a location where it is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAtLocation {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// UUID of the location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// The location, nested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A place (physical, postal or virtual).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// UUID.
    pub id: String,
    /// Physical, postal or virtual.
    pub location_type: LocationType,
    /// Name of the place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description of the place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// WGS84 latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// External id such as a UPRN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_identifier: Option<String>,
    /// Scheme of `external_identifier`, e.g. `UPRN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_identifier_type: Option<String>,
    /// Addresses of the place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Accessibility information.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accessibility: Vec<Accessibility>,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// Local extension: a confidential place (a refuge). Such a location is kept for
    /// staff but never published: open documents drop it, with its address and coordinates.
    #[serde(
        rename = "pathways_confidential",
        default,
        skip_serializing_if = "is_false"
    )]
    pub confidential: bool,
}

/// A postal or physical address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// UUID.
    pub id: String,
    /// UUID of the location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// Person or department to address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
    /// First line.
    pub address_1: String,
    /// Second line (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_2: Option<String>,
    /// Town or city.
    pub city: String,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// County or state (required by ORUK).
    pub state_province: String,
    /// Postcode.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Physical, postal or virtual.
    pub address_type: LocationType,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// Accessibility of a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accessibility {
    /// UUID.
    pub id: String,
    /// UUID of the location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// What is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Further details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Link to more information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// Legacy free-text field kept by ORUK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility: Option<String>,
}

/// When a service is available, after RFC 5545 RRULE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// UUID of the service-at-location this applies to, if specific to one place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_at_location_id: Option<String>,
    /// First date (YYYY-MM-DD) the schedule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Last date (YYYY-MM-DD) the schedule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    /// Date (YYYY-MM-DD) the recurrence starts from (anchors `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    /// Weekly or monthly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq: Option<Freq>,
    /// Every how many weeks or months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Number>,
    /// Comma-separated days (`MO,TU`); for monthly, with ordinals (`1MO`, `-1FR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byday: Option<String>,
    /// Comma-separated days of the month (`1,15`, `-1` for the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bymonthday: Option<String>,
    /// Opening times in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Opening time, `HH:MM` or `HH:MM:SS`, Europe/London.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    /// Closing time, `HH:MM` or `HH:MM:SS`; earlier than `opens_at` means past midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    /// Link to booking or timetable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_link: Option<String>,
    /// How to attend (in person, online, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attending_type: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// An area a service covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceArea {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Name of the area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Extent (e.g. GeoJSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<String>,
    /// Format of `extent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent_type: Option<String>,
    /// URI of the area (e.g. an ONS code URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Legacy free-text field kept by ORUK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_area: Option<String>,
}

/// A language a service or phone line is offered in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Language {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// UUID of the phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<String>,
    /// Name of the language (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ISO 639 code (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Note, e.g. "interpreters on request" (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A funding source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funding {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Who funds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A price option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostOption {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// First date (YYYY-MM-DD) the price applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Last date (YYYY-MM-DD) the price applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    /// Who the option is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// Amount in pounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Number>,
    /// ISO 4217 currency (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// What the amount covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_description: Option<String>,
}

/// A named contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// UUID.
    pub id: String,
    /// UUID of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Name or role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Department (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Email (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Telephone numbers (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// Links to taxonomy terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// A telephone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    /// UUID.
    pub id: String,
    /// UUID of the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The number as dialled.
    pub number: String,
    /// Kind of line: `voice`, `text`, `fax`, ... (HSDS 3.0 `type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    /// When and how to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Languages spoken on the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
}

/// A programme grouping services (HSDS 3.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// UUID.
    pub id: String,
    /// UUID of the organisation running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Name.
    pub name: String,
    /// Other name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A taxonomy (a vocabulary of terms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    /// UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (required by ORUK).
    pub description: String,
    /// URI of the vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A term of a taxonomy; hierarchical through `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxonomyTerm {
    /// UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description (required by ORUK).
    pub description: String,
    /// UUID of the parent term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Name of the taxonomy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    /// UUID of the taxonomy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy_id: Option<String>,
    /// URI of the same concept in a national list (LGA/esd, OpenActive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_uri: Option<String>,
    /// The term's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

/// Links an entity to a taxonomy term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// UUID.
    pub id: String,
    /// UUID of the linked entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<String>,
    /// UUID of the term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy_term_id: Option<String>,
    /// Kind of link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
    /// Table of the linked entity (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_entity: Option<String>,
    /// Value qualifying the link (HSDS 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The term, nested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy_term: Option<TaxonomyTerm>,
}

/// One change to a record (HSDS 3.0 metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// UUID.
    pub id: String,
    /// UUID of the changed record.
    pub resource_id: String,
    /// Table of the changed record.
    pub resource_type: String,
    /// Date of the change.
    pub last_action_date: String,
    /// Kind of change (create, update, delete).
    pub last_action_type: String,
    /// Field changed.
    pub field_name: String,
    /// Value before.
    pub previous_value: String,
    /// Value after.
    pub replacement_value: String,
    /// Who changed it.
    pub updated_by: String,
}

impl Attribute {
    /// The term id this attribute links to: `taxonomy_term_id`, else the nested term's id.
    pub fn term_id(&self) -> Option<&str> {
        self.taxonomy_term_id
            .as_deref()
            .or_else(|| self.taxonomy_term.as_ref().map(|t| t.id.as_str()))
    }
}

impl Service {
    /// Locations that may be published: every nested location not marked confidential.
    pub fn public_locations(&self) -> impl Iterator<Item = &Location> {
        self.service_at_locations
            .iter()
            .filter_map(|sal| sal.location.as_ref())
            .filter(|l| !l.confidential)
    }

    /// Whether any nested location is confidential.
    pub fn has_confidential_location(&self) -> bool {
        self.service_at_locations
            .iter()
            .filter_map(|sal| sal.location.as_ref())
            .any(|l| l.confidential)
    }

    /// Taxonomy term ids linked through the service's own attributes, in order.
    pub fn term_ids(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().filter_map(|a| a.term_id())
    }
}

/// Number as `f64`, for ages and amounts stored as JSON numbers.
pub fn number_f64(n: &Number) -> f64 {
    // Every serde_json number converts to f64 (possibly rounded), so this cannot fail.
    n.as_f64().unwrap_or(f64::NAN)
}

//! What a referrer submits, from the HTML form or the JSON API, and its validation on the
//! server: every field checked, every problem named with its field, nothing stored until all pass.

use pathways_store::people::{CONTACT_CHANNELS, PersonDetails, SafeContact};
use pathways_store::referrals::NewReferral;
use serde::{Deserialize, Serialize};
use time::Date;

use super::taxonomy;
use crate::FieldError;

/// Longest name, alias, school or address line accepted.
pub const MAX_SHORT: usize = 100;
/// Longest address line or free-text detail accepted.
pub const MAX_MEDIUM: usize = 200;
/// Longest reason for the referral accepted.
pub const MAX_REASON: usize = 5000;
/// Longest consent or decision reason accepted.
pub const MAX_NOTE: usize = 2000;
/// Most aliases accepted.
pub const MAX_ALIASES: usize = 10;
/// Oldest approximate age accepted.
pub const MAX_AGE: i64 = 120;

/// The person referred, as submitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PersonInput {
    /// Given name.
    pub first_name: String,
    /// Middle names.
    pub middle_names: String,
    /// Family name.
    pub surname: String,
    /// Other names they are known by.
    pub aliases: Vec<String>,
    /// Date of birth, `YYYY-MM-DD` (the form sends day, month and year separately).
    pub dob: String,
    /// Approximate age in years, when the date of birth is not known.
    pub approx_age: Option<serde_json::Value>,
    /// Gender.
    pub gender: String,
    /// First line of the address.
    pub address_line: String,
    /// Postcode.
    pub postcode: String,
    /// School or college.
    pub school: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Day, month and year as typed in the form.
    #[serde(skip)]
    pub dob_parts: Option<(String, String, String)>,
}

/// Consent to the referral.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ConsentInput {
    /// `given`, `refused` or `not_sought`.
    pub status: String,
    /// The lawful reason to share without consent.
    pub reason: String,
}

/// A safe-contact rule as submitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SafeContactInput {
    /// `phone`, `text`, `email` or `post`.
    pub channel: String,
    /// Whether it is safe; absent means not known.
    pub safe: Option<bool>,
    /// Number or address to use.
    pub detail: String,
    /// When it is safe.
    pub when: String,
}

/// The referrer's contact details.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReferrerInput {
    /// Name.
    pub name: String,
    /// Job title.
    pub role: String,
    /// E-mail, where outcomes are sent.
    pub email: String,
    /// Phone.
    pub phone: String,
}

/// A whole referral as submitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReferralInput {
    /// The person.
    pub person: PersonInput,
    /// Concern keys from the taxonomy.
    pub concerns: Vec<String>,
    /// Why the referral is made.
    pub reason: String,
    /// `urgent` or `standard`.
    pub urgency: String,
    /// Consent.
    pub consent: ConsentInput,
    /// Safe contact, per channel.
    pub safe_contact: Vec<SafeContactInput>,
    /// Referrer contact.
    pub referrer: ReferrerInput,
}

impl ReferralInput {
    /// Reads the HTML form's fields (named like the API's paths with `-` for `.`).
    pub fn from_form(pairs: &[(String, String)]) -> ReferralInput {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut input = ReferralInput {
            person: PersonInput {
                first_name: get("person-first_name"),
                middle_names: get("person-middle_names"),
                surname: get("person-surname"),
                aliases: get("person-aliases")
                    .lines()
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
                dob: String::new(),
                approx_age: Some(get("person-approx_age"))
                    .filter(|s| !s.trim().is_empty())
                    .map(serde_json::Value::String),
                gender: get("person-gender"),
                address_line: get("person-address_line"),
                postcode: get("person-postcode"),
                school: get("person-school"),
                phone: get("person-phone"),
                email: get("person-email"),
                dob_parts: Some((
                    get("person-dob-day"),
                    get("person-dob-month"),
                    get("person-dob-year"),
                )),
            },
            concerns: pairs
                .iter()
                .filter(|(n, _)| n == "concerns")
                .map(|(_, v)| v.clone())
                .collect(),
            reason: get("reason"),
            urgency: get("urgency"),
            consent: ConsentInput {
                status: get("consent-status"),
                reason: get("consent-reason"),
            },
            safe_contact: Vec::new(),
            referrer: ReferrerInput {
                name: get("referrer-name"),
                role: get("referrer-role"),
                email: get("referrer-email"),
                phone: get("referrer-phone"),
            },
        };
        for channel in CONTACT_CHANNELS {
            let safe = match get(&format!("safe_contact-{channel}")).as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            let when = get(&format!("safe_contact-{channel}-when"));
            if safe.is_some() || !when.trim().is_empty() {
                input.safe_contact.push(SafeContactInput {
                    channel: channel.into(),
                    safe,
                    detail: String::new(),
                    when,
                });
            }
        }
        input
    }

    /// True when the concern is ticked (for redisplaying the form).
    pub fn has_concern(&self, key: &str) -> bool {
        self.concerns.iter().any(|c| c == key)
    }

    /// `yes`, `no` or empty for a channel (for redisplaying the form).
    pub fn safe_choice(&self, channel: &str) -> &'static str {
        match self
            .safe_contact
            .iter()
            .find(|s| s.channel == channel)
            .and_then(|s| s.safe)
        {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        }
    }

    /// The "when" text for a channel (for redisplaying the form).
    pub fn safe_when(&self, channel: &str) -> String {
        self.safe_contact
            .iter()
            .find(|s| s.channel == channel)
            .map(|s| s.when.clone())
            .unwrap_or_default()
    }

    /// Aliases one per line (for redisplaying the form).
    pub fn aliases_text(&self) -> String {
        self.person.aliases.join("\n")
    }

    /// The typed day, month and year of the date of birth (for redisplaying the form).
    pub fn dob_part(&self, i: usize) -> String {
        match (&self.person.dob_parts, i) {
            (Some((d, _, _)), 0) => d.clone(),
            (Some((_, m, _)), 1) => m.clone(),
            (Some((_, _, y)), 2) => y.clone(),
            _ => String::new(),
        }
    }

    /// The approximate age as typed (for redisplaying the form).
    pub fn approx_age_text(&self) -> String {
        match &self.person.approx_age {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }
}

struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        if !self.errors.iter().any(|e| e.field == field) {
            self.errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        }
    }

    /// Trims and checks length and control characters; `label` starts the message.
    fn text(
        &mut self,
        field: &str,
        label: &str,
        value: &str,
        required: bool,
        max: usize,
    ) -> String {
        let v = value.trim();
        if required && v.is_empty() {
            self.fail(field, format!("Enter {}", label.to_lowercase()));
        } else if v.chars().count() > max {
            self.fail(field, format!("{label} must be {max} characters or fewer"));
        } else if v
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.fail(
                field,
                format!("{label} must not contain control characters"),
            );
        }
        v.to_string()
    }
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
        && e.matches('@').count() == 1
        && e.len() <= 254
}

fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    p.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c)) && (7..=15).contains(&digits)
}

/// Canonical UK postcode ("E1 6AN"), or `None` when it is not shaped like one.
pub fn normalise_postcode(p: &str) -> Option<String> {
    let compact: String = p
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let n = compact.len();
    if !(5..=7).contains(&n) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (outward, inward) = compact.split_at(n - 3);
    let inward_ok = {
        let b = inward.as_bytes();
        b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
    };
    let outward_ok = outward
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && outward.chars().any(|c| c.is_ascii_digit());
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

fn parse_dob(c: &mut Check, p: &PersonInput, today: Date) -> Option<Date> {
    const FIELD: &str = "person.dob";
    let (y, m, d) = match &p.dob_parts {
        Some((d, m, y)) => {
            let parts = [d.trim(), m.trim(), y.trim()];
            if parts.iter().all(|s| s.is_empty()) {
                return None;
            }
            if parts.iter().any(|s| s.is_empty()) {
                c.fail(FIELD, "Date of birth must include a day, month and year");
                return None;
            }
            (
                parts[2].to_string(),
                parts[1].to_string(),
                parts[0].to_string(),
            )
        }
        None => {
            let s = p.dob.trim();
            if s.is_empty() {
                return None;
            }
            let mut it = s.splitn(3, '-');
            match (it.next(), it.next(), it.next()) {
                (Some(y), Some(m), Some(d)) => (y.to_string(), m.to_string(), d.to_string()),
                _ => {
                    c.fail(
                        FIELD,
                        "Date of birth must be a date in the form YYYY-MM-DD, like 2010-04-27",
                    );
                    return None;
                }
            }
        }
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
        c.fail(FIELD, "Date of birth must be a real date, in numbers");
        return None;
    };
    if !(1000..=9999).contains(&y) {
        c.fail(FIELD, "Year of birth must include 4 numbers");
        return None;
    }
    let date = time::Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, d).ok());
    let Some(date) = date else {
        c.fail(FIELD, "Date of birth must be a real date");
        return None;
    };
    if date > today {
        c.fail(FIELD, "Date of birth must be in the past");
        return None;
    }
    if today.year() - date.year() > MAX_AGE as i32 {
        c.fail(
            FIELD,
            format!("Date of birth must be within the last {MAX_AGE} years"),
        );
        return None;
    }
    Some(date)
}

fn parse_age(c: &mut Check, v: &Option<serde_json::Value>) -> Option<i64> {
    const FIELD: &str = "person.approx_age";
    let n = match v {
        None | Some(serde_json::Value::Null) => return None,
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return None,
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(a) if (0..=MAX_AGE).contains(&a) => Some(a),
        Some(_) => {
            c.fail(
                FIELD,
                format!("Approximate age must be between 0 and {MAX_AGE}"),
            );
            None
        }
        None => {
            c.fail(
                FIELD,
                "Approximate age must be a whole number of years, like 15",
            );
            None
        }
    }
}

/// Checks a submission against every rule; on success returns the referral to store (the
/// referrer's identity fields are left for the caller to fill from who is signed in).
pub fn validate(input: &ReferralInput, today: Date) -> Result<NewReferral, Vec<FieldError>> {
    let mut c = Check { errors: Vec::new() };
    let p = &input.person;
    let first_name = c.text(
        "person.first_name",
        "First name",
        &p.first_name,
        true,
        MAX_SHORT,
    );
    let middle_names = c.text(
        "person.middle_names",
        "Middle names",
        &p.middle_names,
        false,
        MAX_SHORT,
    );
    let surname = c.text("person.surname", "Last name", &p.surname, true, MAX_SHORT);
    if p.aliases.len() > MAX_ALIASES {
        c.fail(
            "person.aliases",
            format!("Give at most {MAX_ALIASES} other names"),
        );
    }
    let aliases: Vec<String> = p
        .aliases
        .iter()
        .map(|a| c.text("person.aliases", "Each other name", a, false, MAX_SHORT))
        .filter(|a| !a.is_empty())
        .collect();
    let dob = parse_dob(&mut c, p, today);
    let age = parse_age(&mut c, &p.approx_age);
    if dob.is_none()
        && age.is_none()
        && !c
            .errors
            .iter()
            .any(|e| e.field.starts_with("person.dob") || e.field == "person.approx_age")
    {
        c.fail(
            "person.dob",
            "Enter a date of birth, or an approximate age if you do not know it",
        );
    }
    let gender = c.text("person.gender", "Gender", &p.gender, false, 50);
    let address_line = c.text(
        "person.address_line",
        "Address",
        &p.address_line,
        false,
        MAX_MEDIUM,
    );
    let postcode_raw = c.text("person.postcode", "Postcode", &p.postcode, false, 10);
    let postcode = if postcode_raw.is_empty() {
        String::new()
    } else {
        match normalise_postcode(&postcode_raw) {
            Some(pc) => pc,
            None => {
                c.fail("person.postcode", "Enter a real postcode, like E1 6AN");
                postcode_raw
            }
        }
    };
    let school = c.text(
        "person.school",
        "School or college",
        &p.school,
        false,
        MAX_MEDIUM,
    );
    let phone = c.text("person.phone", "Phone number", &p.phone, false, 30);
    if !phone.is_empty() && !valid_phone(&phone) {
        c.fail(
            "person.phone",
            "Enter a phone number, like 07700 900 982 or +44 20 7946 0000",
        );
    }
    let email = c.text("person.email", "E-mail address", &p.email, false, 254);
    if !email.is_empty() && !valid_email(&email) {
        c.fail(
            "person.email",
            "Enter an e-mail address in the correct format, like name@example.com",
        );
    }

    if input.concerns.is_empty() {
        c.fail("concerns", "Select at least one concern");
    }
    let mut concerns: Vec<String> = Vec::new();
    for k in &input.concerns {
        if taxonomy::concern(k).is_none() {
            c.fail(
                "concerns",
                format!("{k:?} is not a concern in the list; choose from the list"),
            );
        } else if !concerns.contains(k) {
            concerns.push(k.clone());
        }
    }
    let reason = c.text(
        "reason",
        "Reason for the referral",
        &input.reason,
        true,
        MAX_REASON,
    );
    let urgency = input.urgency.trim();
    if !["urgent", "standard"].contains(&urgency) {
        c.fail("urgency", "Select how urgent the referral is");
    }
    let consent = input.consent.status.trim();
    if !["given", "refused", "not_sought"].contains(&consent) {
        c.fail(
            "consent.status",
            "Select whether the person has consented to this referral",
        );
    }
    let consent_reason = c.text(
        "consent.reason",
        "Lawful reason",
        &input.consent.reason,
        false,
        MAX_NOTE,
    );
    if consent_reason.is_empty() && (consent == "refused" || consent == "not_sought") {
        c.fail(
            "consent.reason",
            "Enter the lawful reason for referring without consent, for example safeguarding a child",
        );
    }

    let mut safe_contact: Vec<SafeContact> = Vec::new();
    for s in &input.safe_contact {
        let field = format!("safe_contact.{}", s.channel);
        if !CONTACT_CHANNELS.contains(&s.channel.as_str()) {
            c.fail(
                "safe_contact",
                format!(
                    "{:?} is not a contact channel; use phone, text, email or post",
                    s.channel
                ),
            );
            continue;
        }
        if safe_contact.iter().any(|x| x.channel == s.channel) {
            c.fail(
                &field,
                format!("Safe contact for {} is given twice", s.channel),
            );
            continue;
        }
        let detail = c.text(&field, "Contact detail", &s.detail, false, MAX_MEDIUM);
        let when = c.text(
            &format!("{field}-when"),
            "When it is safe",
            &s.when,
            false,
            MAX_MEDIUM,
        );
        match s.safe {
            Some(safe) => safe_contact.push(SafeContact {
                channel: s.channel.clone(),
                safe,
                detail,
                when,
            }),
            None => c.fail(
                &field,
                format!("Say whether it is safe to contact them by {}", s.channel),
            ),
        }
    }

    let referrer_name = c.text(
        "referrer.name",
        "Your name",
        &input.referrer.name,
        true,
        MAX_SHORT,
    );
    let referrer_role = c.text(
        "referrer.role",
        "Your job title",
        &input.referrer.role,
        false,
        MAX_SHORT,
    );
    let referrer_email = c.text(
        "referrer.email",
        "Your e-mail address",
        &input.referrer.email,
        true,
        254,
    );
    if !referrer_email.is_empty() && !valid_email(&referrer_email) {
        c.fail(
            "referrer.email",
            "Enter your e-mail address in the correct format, like name@example.com",
        );
    }
    let referrer_phone = c.text(
        "referrer.phone",
        "Your phone number",
        &input.referrer.phone,
        false,
        30,
    );
    if !referrer_phone.is_empty() && !valid_phone(&referrer_phone) {
        c.fail(
            "referrer.phone",
            "Enter your phone number, like 020 7946 0000",
        );
    }

    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let approx_birth_year = if dob.is_some() {
        None
    } else {
        age.map(|a| i64::from(today.year()) - a)
    };
    Ok(NewReferral {
        referrer_name,
        referrer_role,
        referrer_email: referrer_email.to_lowercase(),
        referrer_phone,
        person: PersonDetails {
            first_name,
            middle_names,
            surname,
            aliases,
            dob: dob.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())),
            approx_birth_year,
            gender,
            address_line,
            postcode,
            school,
            phone,
            email: email.to_lowercase(),
        },
        concerns,
        reason,
        urgency: urgency.into(),
        consent: consent.into(),
        consent_reason,
        safe_contact,
        ..NewReferral::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn good() -> ReferralInput {
        serde_json::from_value(serde_json::json!({
            "person": {"first_name": " Tayo ", "surname": "Okoro", "dob": "2010-04-12", "postcode": "e16an",
                       "aliases": ["T", ""], "phone": "07700 900123"},
            "concerns": ["criminal_exploitation", "going_missing", "going_missing"],
            "reason": "Missing twice this month.",
            "urgency": "urgent",
            "consent": {"status": "not_sought", "reason": "Safeguarding: asking would increase risk."},
            "safe_contact": [{"channel": "email", "safe": false}, {"channel": "phone", "safe": true, "when": "after 4pm"}],
            "referrer": {"name": "Ms Shah", "email": "P.Shah@School.example"}
        }))
        .expect("valid json")
    }

    const TODAY: Date = date!(2026 - 11 - 29);

    #[test]
    fn a_complete_referral_is_normalised() {
        let r = validate(&good(), TODAY).expect("valid");
        assert_eq!(r.person.first_name, "Tayo");
        assert_eq!(r.person.postcode, "E1 6AN");
        assert_eq!(r.person.dob.as_deref(), Some("2010-04-12"));
        assert_eq!(r.person.aliases, vec!["T"]);
        assert_eq!(r.concerns, vec!["criminal_exploitation", "going_missing"]);
        assert_eq!(r.referrer_email, "p.shah@school.example");
        assert_eq!(r.safe_contact.len(), 2);
        assert!(!r.safe_contact[0].safe);
    }

    fn fields(input: &ReferralInput) -> Vec<String> {
        validate(input, TODAY)
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn bad_dates_are_refused_with_their_reason() {
        let mut i = good();
        i.person.dob = "2010-02-31".into();
        let e = validate(&i, TODAY).expect_err("impossible date");
        assert_eq!(e[0].field, "person.dob");
        assert_eq!(e[0].message, "Date of birth must be a real date");
        i.person.dob = "2027-01-01".into();
        assert_eq!(
            validate(&i, TODAY).expect_err("future")[0].message,
            "Date of birth must be in the past"
        );
        i.person.dob = "12/04/2010".into();
        assert_eq!(fields(&i), ["person.dob"]);
        i.person.dob = String::new();
        assert!(
            validate(&i, TODAY).expect_err("no dob or age")[0]
                .message
                .contains("approximate age")
        );
        i.person.approx_age = Some(serde_json::json!(15));
        let ok = validate(&i, TODAY).expect("age instead of dob");
        assert_eq!(ok.person.approx_birth_year, Some(2011));
        i.person.approx_age = Some(serde_json::json!("fifteen"));
        assert_eq!(fields(&i), ["person.approx_age"]);
        i.person.approx_age = Some(serde_json::json!(300));
        assert_eq!(fields(&i), ["person.approx_age"]);
    }

    #[test]
    fn form_dates_need_all_three_parts() {
        let mut i = good();
        i.person.dob_parts = Some(("31".into(), "2".into(), "2010".into()));
        assert_eq!(
            validate(&i, TODAY).expect_err("31 Feb")[0].message,
            "Date of birth must be a real date"
        );
        i.person.dob_parts = Some(("12".into(), "".into(), "2010".into()));
        assert!(
            validate(&i, TODAY).expect_err("partial")[0]
                .message
                .contains("day, month and year")
        );
        i.person.dob_parts = Some(("12".into(), "4".into(), "2010".into()));
        assert_eq!(
            validate(&i, TODAY).expect("valid").person.dob.as_deref(),
            Some("2010-04-12")
        );
    }

    #[test]
    fn empty_names_oversized_text_and_unknown_values_are_refused() {
        let mut i = good();
        i.person.first_name = "   ".into();
        i.reason = "x".repeat(MAX_REASON + 1);
        i.concerns = vec!["juggling".into()];
        i.urgency = "whenever".into();
        i.consent.reason = String::new();
        i.referrer.email = "not-an-email".into();
        i.person.postcode = "NOT A POSTCODE".into();
        i.safe_contact.push(SafeContactInput {
            channel: "pigeon".into(),
            safe: Some(true),
            ..Default::default()
        });
        let f = fields(&i);
        for want in [
            "person.first_name",
            "reason",
            "concerns",
            "urgency",
            "consent.reason",
            "referrer.email",
            "person.postcode",
            "safe_contact",
        ] {
            assert!(f.iter().any(|x| x == want), "{want} missing from {f:?}");
        }
        let e = validate(&i, TODAY).expect_err("invalid");
        let reason = e
            .iter()
            .find(|e| e.field == "reason")
            .expect("reason error");
        assert_eq!(
            reason.message,
            "Reason for the referral must be 5000 characters or fewer"
        );
    }

    #[test]
    fn consent_given_needs_no_reason_and_postcodes_normalise() {
        let mut i = good();
        i.consent = ConsentInput {
            status: "given".into(),
            reason: String::new(),
        };
        assert!(validate(&i, TODAY).is_ok());
        assert_eq!(normalise_postcode("sw1a1aa").as_deref(), Some("SW1A 1AA"));
        assert_eq!(normalise_postcode("N1 9GU").as_deref(), Some("N1 9GU"));
        assert_eq!(normalise_postcode("12345"), None);
        assert_eq!(normalise_postcode("E1"), None);
    }

    #[test]
    fn the_form_reads_like_the_api() {
        let pairs: Vec<(String, String)> = [
            ("person-first_name", "Tayo"),
            ("person-surname", "Okoro"),
            ("person-dob-day", "12"),
            ("person-dob-month", "04"),
            ("person-dob-year", "2010"),
            ("person-aliases", "T\r\nTay\n"),
            ("concerns", "going_missing"),
            ("concerns", "stalking"),
            ("reason", "Because"),
            ("urgency", "standard"),
            ("consent-status", "given"),
            ("safe_contact-email", "no"),
            ("safe_contact-phone", "yes"),
            ("safe_contact-phone-when", "after 4pm"),
            ("referrer-name", "Ms Shah"),
            ("referrer-email", "p@school.example"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let input = ReferralInput::from_form(&pairs);
        assert_eq!(input.person.aliases, vec!["T", "Tay"]);
        assert_eq!(input.safe_choice("phone"), "yes");
        assert_eq!(input.safe_when("phone"), "after 4pm");
        let r = validate(&input, TODAY).expect("valid");
        assert_eq!(r.concerns, vec!["going_missing", "stalking"]);
        assert_eq!(
            r.safe_contact
                .iter()
                .map(|s| s.channel.as_str())
                .collect::<Vec<_>>(),
            ["phone", "email"]
        );
    }
}

//! Parsing raw service documents into [`ValidService`]: neutralised, type-checked, range-checked.
//! A `ValidService` can only be obtained through these checks, so downstream code may rely on them.

use serde_json::{Map, Value};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::model::{Attribute, Schedule, Service, number_f64};
use crate::taxonomy::TermSet;
use crate::text::neutralise;

/// One problem with one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path to the field, e.g. `service_at_locations[0].location.latitude`.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All problems with one record of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// 1-based position of the record in the feed.
    pub position: usize,
    /// 1-based line where the record starts, when known (ndjson).
    pub line: Option<usize>,
    /// The record's `id`, when it has one.
    pub id: Option<String>,
    /// The problems, at least one.
    pub errors: Vec<FieldError>,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}", self.position)?;
        let mut where_: Vec<String> = Vec::new();
        if let Some(line) = self.line {
            where_.push(format!("line {line}"));
        }
        if let Some(id) = &self.id {
            where_.push(format!("id {id}"));
        }
        if !where_.is_empty() {
            write!(f, " ({})", where_.join(", "))?;
        }
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A service that passed every check. Text is neutralised, ids are UUIDs, enumerations,
/// coordinates, ages, dates, times, URLs and emails are well-formed, and every taxonomy term
/// it links to exists (with the canonical term nested).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidService(Service);

impl ValidService {
    /// The service.
    pub fn service(&self) -> &Service {
        &self.0
    }

    /// What may be shown to the public: confidential locations (and schedules tied to them)
    /// removed. Render public pages from this, never from [`ValidService::service`].
    pub fn public_view(&self) -> Service {
        crate::oruk::public_service(&self.0)
    }

    /// The service id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Gives back the plain service (for editing; re-validate before storing).
    pub fn into_inner(self) -> Service {
        self.0
    }

    /// The canonical stored form: compact JSON, including confidential locations (never
    /// publish this text; publish [`crate::oruk::service_document`] instead).
    pub fn to_canonical_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a service always serialises")
    }

    /// The columns a store indexes beside the canonical JSON text.
    pub fn columns(&self) -> StoredColumns<'_> {
        let s = &self.0;
        StoredColumns {
            id: &s.id,
            name: &s.name,
            status: s.status.as_str(),
            last_modified: s.last_modified.as_deref(),
            assured_date: s.assured_date.as_deref(),
            organization_id: s
                .organization_id
                .as_deref()
                .or(s.organization.as_ref().map(|o| o.id.as_str())),
        }
    }

    /// Whether the record is due for assurance: never assured, or last assured more than
    /// `months` calendar months before `today` (ORUK expects under 3 months).
    pub fn assurance_overdue(&self, today: Date, months: u8) -> bool {
        let Some(assured) = self.0.assured_date.as_deref().and_then(parse_date) else {
            return true;
        };
        assured < months_before(today, months)
    }

    /// Parses and validates a stored or submitted JSON document.
    pub fn from_json(text: &str, terms: &TermSet) -> Result<ValidService, Vec<FieldError>> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            vec![FieldError {
                path: String::new(),
                message: format!(
                    "not valid JSON at line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    e
                ),
            }]
        })?;
        parse_service_value(value, terms)
    }
}

/// Indexed columns of a stored service (see [`ValidService::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredColumns<'a> {
    /// Service UUID (primary key).
    pub id: &'a str,
    /// Name, for sorting and listing.
    pub name: &'a str,
    /// `active`, `inactive`, `defunct` or `temporarily closed`.
    pub status: &'a str,
    /// RFC 3339 `last_modified`, if set.
    pub last_modified: Option<&'a str>,
    /// `YYYY-MM-DD` `assured_date`, if set.
    pub assured_date: Option<&'a str>,
    /// Organisation UUID, from `organization_id` or the nested organisation.
    pub organization_id: Option<&'a str>,
}

/// The same day `months` calendar months earlier (clamped to the end of shorter months).
pub fn months_before(day: Date, months: u8) -> Date {
    let total = day.year() * 12 + i32::from(u8::from(day.month())) - 1 - i32::from(months);
    let year = total.div_euclid(12);
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).expect("1..=12"))
        .expect("1..=12 is a month");
    let d = day.day().min(month.length(year));
    Date::from_calendar_date(year, month, d).expect("day clamped to the month")
}

/// Validates a service built in code or from an editor form.
pub fn validate_service(
    service: Service,
    terms: &TermSet,
) -> Result<ValidService, Vec<FieldError>> {
    let value = serde_json::to_value(&service).expect("a service always serialises");
    parse_service_value(value, terms)
}

/// Parses one JSON record into a [`ValidService`], reporting every problem found.
pub fn parse_service_value(value: Value, terms: &TermSet) -> Result<ValidService, Vec<FieldError>> {
    let mut value = value;
    if !value.is_object() {
        return Err(vec![FieldError {
            path: String::new(),
            message: format!(
                "a service must be a JSON object, found {}",
                json_kind(&value)
            ),
        }]);
    }
    clean_value(&mut value);
    let mut errors = Vec::new();
    check_ids(&value, String::new(), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut service: Service = match serde_path_to_error::deserialize(&value) {
        Ok(s) => s,
        Err(e) => {
            let mut path = e.path().to_string();
            if path == "." {
                path.clear();
            }
            let mut message = e.inner().to_string();
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                path = if path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                message = "is required".to_string();
            }
            return Err(vec![FieldError { path, message }]);
        }
    };
    let mut c = Checker { errors, terms };
    c.service(&service);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    canonicalise(&mut service, terms);
    Ok(ValidService(service))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Neutralises every string; drops nulls and empty strings so that absent optional fields are
/// simply missing (ORUK forbids null and we never emit empty optional fields).
fn clean_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            let n = neutralise(s);
            if n != *s {
                *s = n;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_value),
        Value::Object(map) => {
            for item in map.values_mut() {
                clean_value(item);
            }
            map.retain(|_, item| !matches!(item, Value::Null) && item.as_str() != Some(""));
        }
        _ => {}
    }
}

fn child_path(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// Every `id` and `*_id` field that is a string must be a UUID.
fn check_ids(v: &Value, path: String, errors: &mut Vec<FieldError>) {
    match v {
        Value::Object(map) => check_id_map(map, &path, errors),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_ids(item, format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

fn check_id_map(map: &Map<String, Value>, path: &str, errors: &mut Vec<FieldError>) {
    for (k, item) in map {
        let p = child_path(path, k);
        if (k == "id" || k.ends_with("_id"))
            && let Value::String(s) = item
            && !is_uuid(s)
        {
            errors.push(FieldError {
                path: p.clone(),
                message: format!(
                    "`{s}` is not a UUID (expected e.g. ac148810-d857-441c-9679-408f346de14b)"
                ),
            });
        }
        check_ids(item, p, errors);
    }
}

/// Whether `s` is a hyphenated UUID (any version, either case).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// Parses an RFC 3339 date-time.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Parses `HH:MM` or `HH:MM:SS` into minutes after midnight; `24:00` is allowed as an end.
pub fn parse_clock(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if !(b.len() == 5 || b.len() == 8) || b[2] != b':' || (b.len() == 8 && b[5] != b':') {
        return None;
    }
    let digits = |i: usize| -> Option<u16> {
        let (a, c) = (b[i], b[i + 1]);
        if a.is_ascii_digit() && c.is_ascii_digit() {
            Some(u16::from(a - b'0') * 10 + u16::from(c - b'0'))
        } else {
            None
        }
    };
    let h = digits(0)?;
    let m = digits(3)?;
    let sec = if b.len() == 8 { digits(6)? } else { 0 };
    if m > 59 || sec > 59 || h > 24 || (h == 24 && (m != 0 || sec != 0)) {
        return None;
    }
    Some(h * 60 + m)
}

/// Whether `s` looks like an http(s) URL with a host.
pub fn is_plausible_url(s: &str) -> bool {
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if let Some(r) = s.strip_prefix("http://") {
        r
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    !s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"')
        && !host.is_empty()
        && (host.contains('.') || host == "localhost")
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Whether `s` looks like an email address (one `@`, a dotted domain, no spaces).
pub fn is_plausible_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Whether `s` looks like a telephone number (digits with spaces, `+`, `-`, brackets).
pub fn is_plausible_phone(s: &str) -> bool {
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    (3..=16).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
}

/// Day codes of RFC 5545 in Monday-first order.
pub const DAY_CODES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// One entry of `byday`: an optional ordinal (monthly: `1MO`, `-1FR`) and a weekday 0=Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByDay {
    /// Ordinal within the month (1..=5 or -1..=-5), if given.
    pub ordinal: Option<i8>,
    /// 0 = Monday ... 6 = Sunday.
    pub weekday: u8,
}

/// Parses a `byday` list such as `MO,TU` or `1MO,-1FR`.
pub fn parse_byday(s: &str) -> Result<Vec<ByDay>, String> {
    let mut out = Vec::new();
    for raw in s.split(',') {
        let item = raw.trim();
        // The day code is the last two characters, which must be ASCII letters: a split
        // inside a multi-byte character would panic.
        if item.len() < 2 || !item.is_char_boundary(item.len() - 2) {
            return Err(format!(
                "`{item}` is not a day (use MO, TU, WE, TH, FR, SA, SU)"
            ));
        }
        let (ord, code) = item.split_at(item.len() - 2);
        let weekday = DAY_CODES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(code))
            .ok_or_else(|| format!("`{item}` is not a day (use MO, TU, WE, TH, FR, SA, SU)"))?;
        let ordinal = if ord.is_empty() {
            None
        } else {
            let n: i8 = ord.trim_start_matches('+').parse().map_err(|_| {
                format!("`{item}` has a bad ordinal (use 1MO .. 5MO or -1MO .. -5MO)")
            })?;
            if n == 0 || !(-5..=5).contains(&n) {
                return Err(format!(
                    "`{item}` has a bad ordinal (use 1MO .. 5MO or -1MO .. -5MO)"
                ));
            }
            Some(n)
        };
        out.push(ByDay {
            ordinal,
            weekday: u8::try_from(weekday).expect("index below 7"),
        });
    }
    Ok(out)
}

/// Parses a `bymonthday` list such as `1,15,-1`.
pub fn parse_bymonthday(s: &str) -> Result<Vec<i8>, String> {
    s.split(',')
        .map(|raw| {
            let item = raw.trim();
            match item.parse::<i8>() {
                Ok(n) if n != 0 && (-31..=31).contains(&n) => Ok(n),
                _ => Err(format!(
                    "`{item}` is not a day of the month (use 1 to 31, or -1 for the last)"
                )),
            }
        })
        .collect()
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

struct Checker<'a> {
    errors: Vec<FieldError>,
    terms: &'a TermSet,
}

impl Checker<'_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn url(&mut self, path: &str, v: &Option<String>) {
        if let Some(u) = v
            && !is_plausible_url(u)
        {
            self.err(path, format!("`{u}` is not a web address (must start with https:// or http:// and name a host)"));
        }
    }

    fn email(&mut self, path: &str, v: &Option<String>) {
        if let Some(e) = v
            && !is_plausible_email(e)
        {
            self.err(
                path,
                format!("`{e}` is not an email address (expected name@example.org)"),
            );
        }
    }

    fn date(&mut self, path: &str, v: &Option<String>) -> Option<Date> {
        let s = v.as_ref()?;
        let d = parse_date(s);
        if d.is_none() {
            self.err(path, format!("`{s}` is not a date (use YYYY-MM-DD)"));
        }
        d
    }

    fn date_range(&mut self, base: &str, from: &Option<String>, to: &Option<String>) {
        let f = self.date(&child_path(base, "valid_from"), from);
        let t = self.date(&child_path(base, "valid_to"), to);
        if let (Some(f), Some(t)) = (f, t)
            && t < f
        {
            self.err(
                child_path(base, "valid_to"),
                format!("{t} is before valid_from {f}"),
            );
        }
    }

    fn attributes(&mut self, base: &str, attrs: &[Attribute]) {
        for (i, a) in attrs.iter().enumerate() {
            let p = format!("{}[{i}]", child_path(base, "attributes"));
            match (&a.taxonomy_term_id, &a.taxonomy_term) {
                (None, None) => self.err(
                    child_path(&p, "taxonomy_term_id"),
                    "is required (an attribute must name a taxonomy term)",
                ),
                (Some(id), Some(t)) if *id != t.id => self.err(
                    child_path(&p, "taxonomy_term.id"),
                    format!("`{}` does not match taxonomy_term_id `{id}`", t.id),
                ),
                _ => {}
            }
            if let Some(id) = a.term_id()
                && !self.terms.contains(id)
            {
                let field = if a.taxonomy_term_id.is_some() {
                    "taxonomy_term_id"
                } else {
                    "taxonomy_term.id"
                };
                self.err(
                    child_path(&p, field),
                    format!("`{id}` is not a known taxonomy term (load its taxonomy first, or use a term from /taxonomy_terms)"),
                );
            }
        }
    }

    fn schedule(&mut self, p: &str, s: &Schedule) {
        self.date_range(p, &s.valid_from, &s.valid_to);
        self.date(&child_path(p, "dtstart"), &s.dtstart);
        for (field, v) in [("opens_at", &s.opens_at), ("closes_at", &s.closes_at)] {
            if let Some(t) = v {
                match parse_clock(t) {
                    None => self.err(
                        child_path(p, field),
                        format!("`{t}` is not a time (use HH:MM, 24-hour clock)"),
                    ),
                    Some(1440) if field == "opens_at" => {
                        self.err(child_path(p, field), "24:00 can only be a closing time")
                    }
                    _ => {}
                }
            }
        }
        if s.opens_at.is_some() != s.closes_at.is_some() {
            let missing = if s.opens_at.is_none() {
                "opens_at"
            } else {
                "closes_at"
            };
            self.err(
                child_path(p, missing),
                "is required when the other of opens_at/closes_at is given",
            );
        }
        if let Some(b) = &s.byday
            && let Err(m) = parse_byday(b)
        {
            self.err(child_path(p, "byday"), m);
        }
        if let Some(b) = &s.bymonthday
            && let Err(m) = parse_bymonthday(b)
        {
            self.err(child_path(p, "bymonthday"), m);
        }
        if let Some(n) = &s.interval {
            let ok = n.as_u64().is_some_and(|v| (1..=52).contains(&v));
            if !ok {
                self.err(
                    child_path(p, "interval"),
                    format!("{n} is not a repeat interval (must be a whole number from 1 to 52)"),
                );
            }
        }
        self.url(&child_path(p, "schedule_link"), &s.schedule_link);
    }

    fn service(&mut self, s: &Service) {
        if s.name.trim().is_empty() {
            self.err("name", "is required");
        }
        self.url("url", &s.url);
        self.email("email", &s.email);
        self.email("assurer_email", &s.assurer_email);
        self.date("assured_date", &s.assured_date);
        if let Some(m) = &s.last_modified
            && parse_datetime(m).is_none()
        {
            self.err(
                "last_modified",
                format!("`{m}` is not a date-time (use RFC 3339, e.g. 2024-05-01T09:30:00Z)"),
            );
        }
        let mut ages = [None, None];
        for (i, (field, v)) in [
            ("minimum_age", &s.minimum_age),
            ("maximum_age", &s.maximum_age),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(n) = v {
                let x = number_f64(n);
                if !(0.0..=130.0).contains(&x) {
                    self.err(
                        field,
                        format!("{} is not an age (must be between 0 and 130)", fmt_num(x)),
                    );
                } else {
                    ages[i] = Some(x);
                }
            }
        }
        if let [Some(min), Some(max)] = ages
            && min > max
        {
            self.err(
                "maximum_age",
                format!("{} is below minimum_age {}", fmt_num(max), fmt_num(min)),
            );
        }
        if let (Some(oid), Some(org)) = (&s.organization_id, &s.organization)
            && *oid != org.id
        {
            self.err(
                "organization.id",
                format!("`{}` does not match organization_id `{oid}`", org.id),
            );
        }
        if let Some(org) = &s.organization {
            if org.name.trim().is_empty() {
                self.err("organization.name", "is required");
            }
            self.email("organization.email", &org.email);
            self.url("organization.website", &org.website);
            self.url("organization.uri", &org.uri);
            self.url("organization.logo", &org.logo);
            self.attributes("organization", &org.attributes);
            for (i, ident) in org.organization_identifiers.iter().enumerate() {
                self.attributes(
                    &format!("organization.organization_identifiers[{i}]"),
                    &ident.attributes,
                );
            }
        }
        for (i, sch) in s.schedules.iter().enumerate() {
            self.schedule(&format!("schedules[{i}]"), sch);
        }
        for (i, sal) in s.service_at_locations.iter().enumerate() {
            let p = format!("service_at_locations[{i}]");
            if let (Some(lid), Some(loc)) = (&sal.location_id, &sal.location)
                && *lid != loc.id
            {
                self.err(
                    format!("{p}.location.id"),
                    format!("`{}` does not match location_id `{lid}`", loc.id),
                );
            }
            let Some(loc) = &sal.location else { continue };
            let lp = format!("{p}.location");
            if let Some(lat) = loc.latitude
                && !(-90.0..=90.0).contains(&lat)
            {
                self.err(
                    format!("{lp}.latitude"),
                    format!(
                        "{} is not a latitude (must be between -90 and 90)",
                        fmt_num(lat)
                    ),
                );
            }
            if let Some(lon) = loc.longitude
                && !(-180.0..=180.0).contains(&lon)
            {
                self.err(
                    format!("{lp}.longitude"),
                    format!(
                        "{} is not a longitude (must be between -180 and 180)",
                        fmt_num(lon)
                    ),
                );
            }
            if loc.latitude.is_some() != loc.longitude.is_some() {
                let missing = if loc.latitude.is_none() {
                    "latitude"
                } else {
                    "longitude"
                };
                self.err(
                    format!("{lp}.{missing}"),
                    "is required when the other coordinate is given",
                );
            }
            self.attributes(&lp, &loc.attributes);
            for (j, a) in loc.addresses.iter().enumerate() {
                let ap = format!("{lp}.addresses[{j}]");
                for (field, v) in [
                    ("address_1", &a.address_1),
                    ("city", &a.city),
                    ("state_province", &a.state_province),
                    ("postal_code", &a.postal_code),
                    ("country", &a.country),
                ] {
                    if v.trim().is_empty() {
                        self.err(format!("{ap}.{field}"), "is required");
                    }
                }
                if !(a.country.len() == 2 && a.country.chars().all(|c| c.is_ascii_uppercase())) {
                    self.err(
                        format!("{ap}.country"),
                        format!(
                            "`{}` is not a country code (use two capital letters, e.g. GB)",
                            a.country
                        ),
                    );
                }
                self.attributes(&ap, &a.attributes);
            }
            for (j, a) in loc.accessibility.iter().enumerate() {
                let ap = format!("{lp}.accessibility[{j}]");
                self.url(&format!("{ap}.url"), &a.url);
                self.attributes(&ap, &a.attributes);
            }
        }
        for (i, c) in s.cost_options.iter().enumerate() {
            let p = format!("cost_options[{i}]");
            self.date_range(&p, &c.valid_from, &c.valid_to);
            if let Some(a) = &c.amount {
                let x = number_f64(a);
                if x < 0.0 {
                    self.err(
                        format!("{p}.amount"),
                        format!("{} is not a price (must not be negative)", fmt_num(x)),
                    );
                }
            }
        }
        for (i, c) in s.contacts.iter().enumerate() {
            let p = format!("contacts[{i}]");
            self.email(&format!("{p}.email"), &c.email);
            for (j, ph) in c.phones.iter().enumerate() {
                if !is_plausible_phone(&ph.number) {
                    self.err(format!("{p}.phones[{j}].number"), format!("`{}` is not a telephone number (digits, spaces, + - and brackets only)", ph.number));
                }
            }
            self.attributes(&p, &c.attributes);
        }
        for (i, ph) in s.phones.iter().enumerate() {
            if !is_plausible_phone(&ph.number) {
                self.err(
                    format!("phones[{i}].number"),
                    format!(
                        "`{}` is not a telephone number (digits, spaces, + - and brackets only)",
                        ph.number
                    ),
                );
            }
        }
        self.attributes("", &s.attributes);
    }
}

/// Replaces every nested taxonomy term by the known canonical term, so that stored and
/// exported documents always carry the current names.
fn canonicalise(s: &mut Service, terms: &TermSet) {
    fn fix(attrs: &mut [Attribute], terms: &TermSet) {
        for a in attrs {
            if let Some(t) = a.term_id().and_then(|id| terms.get(id)) {
                a.taxonomy_term_id = Some(t.id.clone());
                a.taxonomy_term = Some(t.clone());
            }
        }
    }
    fix(&mut s.attributes, terms);
    if let Some(org) = &mut s.organization {
        fix(&mut org.attributes, terms);
        for ident in &mut org.organization_identifiers {
            fix(&mut ident.attributes, terms);
        }
    }
    for sal in &mut s.service_at_locations {
        if let Some(loc) = &mut sal.location {
            fix(&mut loc.attributes, terms);
            for a in &mut loc.addresses {
                fix(&mut a.attributes, terms);
            }
            for a in &mut loc.accessibility {
                fix(&mut a.attributes, terms);
            }
        }
    }
    for c in &mut s.contacts {
        fix(&mut c.attributes, terms);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_byday;

    #[test]
    fn a_day_ending_inside_a_multibyte_character_is_refused_not_a_panic() {
        // Found by fuzzing the ORUK importer.
        let e = parse_byday("SA\u{3dc}&").expect_err("not a day");
        assert!(e.contains("is not a day"), "{e}");
        assert!(parse_byday("\u{3dc}").is_err());
        assert_eq!(parse_byday("MO,-1FR").expect("days").len(), 2);
    }
}

//! The exact JSON documents of the ORUK 3.0 API: root, `/services`, `/service_at_locations`,
//! `/taxonomies`, `/taxonomy_terms` (lists with the page envelope, and single records).

use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::find::{Find, MAX_WORDS};
use crate::model::Service;
use crate::search::{GeoPoint, SearchIndex, haversine_m};
use crate::taxonomy::TermSet;
use crate::validate::{DAY_CODES, ValidService, parse_clock, parse_date, parse_datetime};

/// The `version` served at the API root.
pub const VERSION: &str = "HSDS-UK-3.0";
/// The `profile` served at the API root: the LGA Open Referral UK standard.
pub const PROFILE_URL: &str = "https://openreferral.github.io/LGA-Open-Referral-Standard/";
/// Default page size.
pub const DEFAULT_PER_PAGE: usize = 50;
/// Largest page size accepted.
pub const MAX_PER_PAGE: usize = 1000;

/// `GET /`: `{"version": ..., "profile": ..., "openapi_url": ...}`.
pub fn root_document(openapi_url: &str) -> Value {
    json!({"version": VERSION, "profile": PROFILE_URL, "openapi_url": openapi_url})
}

/// The list envelope of every ORUK list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// Items matching, over all pages.
    pub total_items: usize,
    /// Number of pages (at least 1).
    pub total_pages: usize,
    /// This page, from 1.
    pub page_number: usize,
    /// Items on this page.
    pub size: usize,
    /// Whether this is page 1.
    pub first_page: bool,
    /// Whether this is the last page (or beyond it).
    pub last_page: bool,
    /// Whether this page has no items.
    pub empty: bool,
    /// The items.
    pub contents: Vec<T>,
}

impl<T> Page<T> {
    /// Wraps one page of items (`contents`) out of `total_items`.
    pub fn new(
        contents: Vec<T>,
        total_items: usize,
        page_number: usize,
        per_page: usize,
    ) -> Page<T> {
        let per_page = per_page.max(1);
        let total_pages = total_items.div_ceil(per_page).max(1);
        Page {
            total_items,
            total_pages,
            page_number,
            size: contents.len(),
            first_page: page_number == 1,
            last_page: page_number >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }
}

fn page_json<T: Serialize>(p: Page<T>) -> Value {
    serde_json::to_value(p).expect("pages always serialise")
}

/// A query-string parameter that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter `{name}`: {message}")]
pub struct ParamError {
    /// Parameter name.
    pub name: String,
    /// What was wrong and what is expected.
    pub message: String,
}

/// Paging parameters shared by every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Page number from 1.
    pub page: usize,
    /// Items per page, 1..=[`MAX_PER_PAGE`].
    pub per_page: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Paging {
    fn offset(&self) -> usize {
        self.page.saturating_sub(1).saturating_mul(self.per_page)
    }
}

/// Parameters of `/services` and `/service_at_locations`, parsed from the query string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicesParams {
    /// `search`: keywords.
    pub search: Option<String>,
    /// `taxonomy_term_id`: the term or any descendant.
    pub taxonomy_term_id: Option<String>,
    /// `taxonomy_id`: any term of the taxonomy.
    pub taxonomy_id: Option<String>,
    /// `minimum_age`: service minimum age at least this.
    pub minimum_age: Option<f64>,
    /// `maximum_age`: service maximum age at most this.
    pub maximum_age: Option<f64>,
    /// `day`: weekday, 0 = Monday.
    pub day: Option<u8>,
    /// `start_time`: minutes after midnight.
    pub start_time: Option<u16>,
    /// `end_time`: minutes after midnight.
    pub end_time: Option<u16>,
    /// `modified_after`.
    pub modified_after: Option<OffsetDateTime>,
    /// `postcode` as given (resolve it to a point with the postcode directory).
    pub postcode: Option<String>,
    /// `proximity` in metres from the postcode's centroid.
    pub proximity: Option<f64>,
    /// `page` and `per_page`.
    pub paging: Paging,
}

fn num(name: &str, v: &str) -> Result<f64, ParamError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| ParamError {
            name: name.into(),
            message: format!("`{v}` is not a non-negative number"),
        })
}

fn count(name: &str, v: &str, max: usize) -> Result<usize, ParamError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|x| (1..=max).contains(x))
        .ok_or_else(|| ParamError {
            name: name.into(),
            message: format!("`{v}` is not a whole number from 1 to {max}"),
        })
}

/// Parses `page` and `per_page` from query pairs; other names are ignored.
pub fn parse_paging<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Paging, ParamError> {
    let mut p = Paging::default();
    for (k, v) in pairs {
        match k {
            "page" => p.page = count(k, v, usize::MAX / MAX_PER_PAGE)?,
            "per_page" => p.per_page = count(k, v, MAX_PER_PAGE)?,
            _ => {}
        }
    }
    Ok(p)
}

/// Parses a weekday: `MO`..`SU` or an English day name, any case. 0 = Monday.
pub fn parse_day(v: &str) -> Option<u8> {
    const NAMES: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let l = v.trim().to_ascii_lowercase();
    (0..7u8).find(|&i| {
        let i = usize::from(i);
        l == NAMES[i] || l.eq_ignore_ascii_case(DAY_CODES[i])
    })
}

/// The parameters `/services` accepts.
pub const SERVICES_PARAMS: &[&str] = &[
    "search",
    "taxonomy_term_id",
    "taxonomy_id",
    "minimum_age",
    "maximum_age",
    "day",
    "start_time",
    "end_time",
    "modified_after",
    "postcode",
    "proximity",
    "page",
    "per_page",
    "format",
];
/// The parameters `/service_at_locations` accepts.
pub const SERVICE_AT_LOCATIONS_PARAMS: &[&str] = &[
    "search",
    "taxonomy_term_id",
    "taxonomy_id",
    "minimum_age",
    "maximum_age",
    "day",
    "start_time",
    "end_time",
    "modified_after",
    "postcode",
    "proximity",
    "page",
    "per_page",
];
/// The parameters `/taxonomies` accepts.
pub const TAXONOMIES_PARAMS: &[&str] = &["page", "per_page"];
/// The parameters `/taxonomy_terms` accepts.
pub const TAXONOMY_TERMS_PARAMS: &[&str] = &["taxonomy_id", "page", "per_page"];

/// Refuses a parameter the endpoint does not know (so a misspelt filter is not silently
/// ignored) and a parameter given twice (so it is never unclear which one applies).
pub fn check_names<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    allowed: &[&str],
) -> Result<(), ParamError> {
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in pairs {
        if !allowed.contains(&k) {
            return Err(ParamError {
                name: k.into(),
                message: format!(
                    "`{k}` is not a parameter of this endpoint (it accepts {})",
                    allowed.join(", ")
                ),
            });
        }
        if seen.contains(&k) {
            return Err(ParamError {
                name: k.into(),
                message: format!("`{k}` is given more than once; give it once"),
            });
        }
        seen.push(k);
    }
    Ok(())
}

impl ServicesParams {
    /// Parses query pairs: names outside `allowed` and repeated names are errors, empty
    /// values count as absent, and bad values are errors naming the parameter.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        allowed: &[&str],
    ) -> Result<ServicesParams, ParamError> {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        check_names(pairs.iter().copied(), allowed)?;
        let pairs: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let mut p = ServicesParams {
            paging: parse_paging(pairs.iter().copied())?,
            ..ServicesParams::default()
        };
        for (k, v) in pairs {
            let bad = |message: String| ParamError {
                name: k.into(),
                message,
            };
            match k {
                "search" => {
                    if v.chars().count() > MAX_WORDS {
                        return Err(bad(format!(
                            "`search` is longer than {MAX_WORDS} characters; use a few words"
                        )));
                    }
                    p.search = Some(v.to_string())
                }
                "taxonomy_term_id" => p.taxonomy_term_id = Some(v.trim().to_string()),
                "taxonomy_id" => p.taxonomy_id = Some(v.trim().to_string()),
                "minimum_age" => p.minimum_age = Some(num(k, v)?),
                "maximum_age" => p.maximum_age = Some(num(k, v)?),
                "proximity" => p.proximity = Some(num(k, v)?),
                "postcode" => {
                    if v.len() > 16 {
                        return Err(bad(format!(
                            "`{}…` is not a postcode",
                            v.chars().take(16).collect::<String>()
                        )));
                    }
                    p.postcode = Some(v.trim().to_string())
                }
                "day" => {
                    p.day = Some(parse_day(v).ok_or_else(|| {
                        bad(format!("`{v}` is not a day (use MO..SU or a day name)"))
                    })?)
                }
                "start_time" | "end_time" => {
                    let t = parse_clock(v.trim())
                        .ok_or_else(|| bad(format!("`{v}` is not a time (use HH:MM)")))?;
                    if k == "start_time" {
                        p.start_time = Some(t);
                    } else {
                        p.end_time = Some(t);
                    }
                }
                "modified_after" => {
                    let t = parse_datetime(v.trim())
                        .or_else(|| parse_date(v.trim()).map(|d| d.midnight().assume_utc()))
                        .ok_or_else(|| {
                            bad(format!(
                                "`{v}` is not a date-time (use RFC 3339 or YYYY-MM-DD)"
                            ))
                        })?;
                    p.modified_after = Some(t);
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// The search these parameters describe, from `near` (the resolved `postcode`): the
    /// directory's one query path, shared with the public pages.
    pub fn find(&self, near: Option<GeoPoint>) -> Find {
        Find {
            words: self.search.clone(),
            need: self.taxonomy_term_id.clone(),
            taxonomy_id: self.taxonomy_id.clone(),
            minimum_age: self.minimum_age,
            maximum_age: self.maximum_age,
            day: self.day,
            start_time: self.start_time,
            end_time: self.end_time,
            modified_after: self.modified_after,
            near,
            within_m: self.proximity,
            ..Find::default()
        }
    }
}

/// The public view of a service: confidential locations, and schedules tied to them, removed.
pub fn public_service(s: &Service) -> Service {
    let mut out = s.clone();
    let hidden: Vec<String> = out
        .service_at_locations
        .iter()
        .filter(|sal| sal.location.as_ref().is_some_and(|l| l.confidential))
        .map(|sal| sal.id.clone())
        .collect();
    if hidden.is_empty() {
        return out;
    }
    out.service_at_locations
        .retain(|sal| !hidden.contains(&sal.id));
    out.schedules.retain(|sch| {
        sch.service_at_location_id
            .as_ref()
            .is_none_or(|id| !hidden.contains(id))
    });
    out
}

/// `GET /services/{id}`: the fully nested public service.
pub fn service_document(s: &ValidService) -> Value {
    serde_json::to_value(public_service(s.service())).expect("a service always serialises")
}

const LIST_FIELDS: &[&str] = &[
    "id",
    "organization_id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "fees",
    "accreditations",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "assurer_email",
    "alert",
    "last_modified",
];
const ORG_LIST_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "email",
    "website",
    "logo",
    "uri",
    "parent_organization_id",
];
const LOCATION_LIST_FIELDS: &[&str] = &[
    "id",
    "location_type",
    "name",
    "description",
    "latitude",
    "longitude",
    "external_identifier",
    "external_identifier_type",
];

fn pick(v: Value, keep: &[&str]) -> Map<String, Value> {
    match v {
        Value::Object(mut m) => {
            m.retain(|k, _| keep.contains(&k.as_str()));
            m
        }
        _ => Map::new(),
    }
}

/// A `/services` list item: the one-to-one fields plus the organisation.
pub fn service_list_item(s: &Service) -> Value {
    let full = serde_json::to_value(s).expect("a service always serialises");
    let org = full.get("organization").cloned();
    let mut m = pick(full, LIST_FIELDS);
    if let Some(o) = org {
        m.insert(
            "organization".into(),
            Value::Object(pick(o, ORG_LIST_FIELDS)),
        );
    }
    Value::Object(m)
}

/// `GET /services`: one page of list items under the page envelope; `near` is the
/// resolved `postcode`.
pub fn services_page(
    index: &SearchIndex,
    params: &ServicesParams,
    near: Option<GeoPoint>,
) -> Value {
    let res = params
        .find(near)
        .run(index, params.paging.page, params.paging.per_page);
    let items = res
        .hits
        .iter()
        .map(|h| service_list_item(h.service.service()))
        .collect();
    page_json(Page::new(
        items,
        res.total,
        params.paging.page,
        params.paging.per_page,
    ))
}

/// `GET /services?format=ndjson`: every matching public service, fully nested, one per line.
pub fn services_ndjson<W: std::io::Write>(
    index: &SearchIndex,
    params: &ServicesParams,
    near: Option<GeoPoint>,
    out: &mut W,
) -> std::io::Result<()> {
    let res = params.find(near).run(index, 1, usize::MAX);
    for h in &res.hits {
        out.write_all(
            serde_json::to_string(&public_service(h.service.service()))
                .expect("a service always serialises")
                .as_bytes(),
        )?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn sal_list_item(s: &Service, sal_index: usize) -> Value {
    let sal = &s.service_at_locations[sal_index];
    let mut m = Map::new();
    m.insert("id".into(), Value::String(sal.id.clone()));
    m.insert("service_id".into(), Value::String(s.id.clone()));
    if let Some(loc) = &sal.location {
        m.insert("location_id".into(), Value::String(loc.id.clone()));
        let lv = serde_json::to_value(loc).expect("a location always serialises");
        m.insert(
            "location".into(),
            Value::Object(pick(lv, LOCATION_LIST_FIELDS)),
        );
    } else if let Some(lid) = &sal.location_id {
        m.insert("location_id".into(), Value::String(lid.clone()));
    }
    m.insert("service".into(), service_list_item(s));
    Value::Object(m)
}

/// `GET /service_at_locations`: public service-at-locations of matching services. With a
/// point (the resolved `postcode`), results are ordered by distance and `proximity` keeps only
/// those within that many metres; confidential locations never appear.
pub fn service_at_locations_page(
    index: &SearchIndex,
    params: &ServicesParams,
    point: Option<GeoPoint>,
) -> Value {
    let res = params.find(None).run(index, 1, usize::MAX);
    let mut rows: Vec<(Option<f64>, &ValidService, usize)> = Vec::new();
    for h in &res.hits {
        let s = h.service.service();
        for (i, sal) in s.service_at_locations.iter().enumerate() {
            let loc = sal.location.as_ref();
            if loc.is_some_and(|l| l.confidential) {
                continue;
            }
            let dist = match (point, loc.and_then(|l| l.latitude.zip(l.longitude))) {
                (Some(p), Some((lat, lon))) => Some(haversine_m(p, GeoPoint { lat, lon })),
                _ => None,
            };
            if let (Some(_), Some(max)) = (point, params.proximity)
                && dist.is_none_or(|d| d > max)
            {
                continue;
            }
            rows.push((dist, &h.service, i));
        }
    }
    if point.is_some() {
        // Stable sort keeps the service order for equal distances.
        rows.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }
    let total = rows.len();
    let items = rows
        .into_iter()
        .skip(params.paging.offset())
        .take(params.paging.per_page)
        .map(|(_, s, i)| sal_list_item(s.service(), i))
        .collect();
    page_json(Page::new(
        items,
        total,
        params.paging.page,
        params.paging.per_page,
    ))
}

/// `GET /service_at_locations/{id}`: the service-at-location with its full public location
/// and the service (list form). `None` for unknown or confidential ids.
pub fn service_at_location_document(index: &SearchIndex, id: &str) -> Option<Value> {
    for vs in index.services() {
        let s = vs.service();
        if let Some(sal) = s.service_at_locations.iter().find(|sal| sal.id == id) {
            if sal.location.as_ref().is_some_and(|l| l.confidential) {
                return None;
            }
            let mut m = Map::new();
            m.insert("id".into(), Value::String(sal.id.clone()));
            m.insert("service_id".into(), Value::String(s.id.clone()));
            if let Some(loc) = &sal.location {
                m.insert("location_id".into(), Value::String(loc.id.clone()));
                m.insert(
                    "location".into(),
                    serde_json::to_value(loc).expect("a location always serialises"),
                );
            }
            m.insert("service".into(), service_list_item(s));
            return Some(Value::Object(m));
        }
    }
    None
}

/// `GET /taxonomies`.
pub fn taxonomies_page(terms: &TermSet, paging: Paging) -> Value {
    let all = terms.taxonomies();
    let items: Vec<Value> = all
        .iter()
        .skip(paging.offset())
        .take(paging.per_page)
        .map(|t| serde_json::to_value(t).expect("a taxonomy always serialises"))
        .collect();
    page_json(Page::new(items, all.len(), paging.page, paging.per_page))
}

/// `GET /taxonomies/{id}`: the taxonomy with its terms nested under `taxonomy_terms`.
pub fn taxonomy_document(terms: &TermSet, id: &str) -> Option<Value> {
    let t = terms.taxonomy(id)?;
    let mut v = pick(
        serde_json::to_value(t).expect("a taxonomy always serialises"),
        &["id", "name", "description", "uri", "version"],
    );
    let nested: Vec<Value> = terms
        .terms()
        .iter()
        .filter(|term| terms.taxonomy_id_of(term) == Some(id))
        .map(|term| serde_json::to_value(term).expect("a term always serialises"))
        .collect();
    if !nested.is_empty() {
        v.insert("taxonomy_terms".into(), Value::Array(nested));
    }
    Some(Value::Object(v))
}

/// `GET /taxonomy_terms`, optionally only the terms of one taxonomy (`taxonomy_id`).
pub fn taxonomy_terms_page(terms: &TermSet, taxonomy_id: Option<&str>, paging: Paging) -> Value {
    let all: Vec<_> = terms
        .terms()
        .iter()
        .filter(|t| taxonomy_id.is_none_or(|x| terms.taxonomy_id_of(t) == Some(x)))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(paging.offset())
        .take(paging.per_page)
        .map(|t| serde_json::to_value(t).expect("a term always serialises"))
        .collect();
    page_json(Page::new(items, all.len(), paging.page, paging.per_page))
}

/// `GET /taxonomy_terms/{id}`.
pub fn taxonomy_term_document(terms: &TermSet, id: &str) -> Option<Value> {
    terms
        .get(id)
        .map(|t| serde_json::to_value(t).expect("a term always serialises"))
}

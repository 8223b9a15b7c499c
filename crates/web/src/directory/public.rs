//! The public "find support" pages: search by keyword, need, age, opening time and distance
//! (from a postcode or the browser's location), service pages, and staying-safe guidance.
//!
//! No sign-in, neutral titles, the survivor-safe chrome, and only the public view of each
//! service: confidential locations never reach these pages, not even as a distance.

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use pathways_directory::Find;
use pathways_directory::model::{Service, Status, number_f64};
use pathways_directory::schedule::{describe, london_local};
use pathways_directory::search::GeoPoint;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time};

use super::METRES_PER_MILE;
use crate::error::{FieldError, PageError, error_page, render_page};
use crate::{AppError, AppState, Chrome};

/// Results per page.
const PER_PAGE: usize = 20;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/support", get(search))
        .route("/support/", get(search))
        .route("/support/services/{id}", get(service))
        .route("/support/staying-safe-online", get(staying_safe))
}

/// The search form's values, echoed back into the form.
#[derive(Debug, Clone, Default)]
struct Form {
    q: String,
    need: String,
    age: String,
    when: String,
    day: String,
    time: String,
    postcode: String,
    lat: String,
    lon: String,
    within: String,
    sort: String,
    page: usize,
}

/// Highest results page offered (20 results a page).
const MAX_PAGE: usize = 500;

impl Form {
    /// The form's values, and what was wrong with the query string itself (a page that is
    /// not a page number, a search too long to be words, a field given more than once).
    fn from_query(q: Option<&str>) -> (Form, Vec<FieldError>) {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(q.unwrap_or("")).unwrap_or_default();
        let mut f = Form {
            page: 1,
            ..Form::default()
        };
        let mut errors = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in pairs {
            let v = v.trim().to_string();
            if seen.contains(&k) {
                if !errors.iter().any(|e: &FieldError| e.field == k) {
                    errors.push(FieldError {
                        field: k.clone(),
                        message: match k.as_str() {
                            "need" => "Choose one type of support".into(),
                            _ => "Search with one value in each box".into(),
                        },
                    });
                }
                continue;
            }
            seen.push(k.clone());
            match k.as_str() {
                "q" => {
                    if v.chars().count() > pathways_directory::find::MAX_WORDS {
                        errors.push(FieldError {
                            field: "q".into(),
                            message: format!(
                                "Search words must be {} characters or fewer",
                                pathways_directory::find::MAX_WORDS
                            ),
                        });
                    } else {
                        f.q = v
                    }
                }
                "need" => f.need = v,
                "age" => f.age = v,
                "when" => f.when = v,
                "day" => f.day = v,
                "time" => f.time = v,
                "postcode" => f.postcode = v.chars().take(16).collect(),
                "lat" => f.lat = v,
                "lon" => f.lon = v,
                "within" => f.within = v,
                "sort" => f.sort = v,
                "page" => match v.parse::<usize>() {
                    Ok(p) if (1..=MAX_PAGE).contains(&p) => f.page = p,
                    _ => errors.push(FieldError {
                        field: "page".into(),
                        message: format!("Page must be a number from 1 to {MAX_PAGE}"),
                    }),
                },
                _ => {}
            }
        }
        (f, errors)
    }

    fn searched(&self) -> bool {
        [
            &self.q,
            &self.need,
            &self.age,
            &self.when,
            &self.postcode,
            &self.lat,
            &self.within,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    fn query_string(&self, page: usize) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("need", &self.need),
            ("age", &self.age),
            ("when", &self.when),
            ("day", &self.day),
            ("time", &self.time),
            ("postcode", &self.postcode),
            ("lat", &self.lat),
            ("lon", &self.lon),
            ("within", &self.within),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// One option of a select.
#[derive(Debug, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(v, l)| Choice {
            value: (*v).into(),
            label: (*l).into(),
            selected: *v == current,
        })
        .collect()
}

/// One search result.
#[derive(Debug, Clone)]
struct ResultItem {
    id: String,
    name: String,
    organisation: String,
    summary: String,
    distance: Option<String>,
    needs: Vec<String>,
    closed: bool,
}

#[derive(Template)]
#[template(path = "support/search.html")]
struct SearchPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    form: Form,
    needs: Vec<Choice>,
    whens: Vec<Choice>,
    days: Vec<Choice>,
    withins: Vec<Choice>,
    sorts: Vec<Choice>,
    searched: bool,
    results: Vec<ResultItem>,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    postcodes_available: bool,
    using_location: bool,
}

impl SearchPage {
    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

fn miles(m: f64) -> String {
    let mi = m / METRES_PER_MILE;
    if mi < 0.1 {
        "less than 0.1 miles".into()
    } else {
        format!("{mi:.1} miles")
    }
}

fn coordinate(value: &str, field: &str, limit: f64, errors: &mut Vec<FieldError>) -> Option<f64> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() && x.abs() <= limit => Some(x),
        _ => {
            errors.push(FieldError {
                field: "postcode".into(),
                message: format!("Your location could not be used ({field} must be a number from -{limit} to {limit}). Enter a postcode instead."),
            });
            None
        }
    }
}

/// The next moment, from now (Europe/London), that falls on `weekday` (0 = Monday) at `at`.
fn next_local(weekday: u8, at: Time) -> PrimitiveDateTime {
    let now = london_local(OffsetDateTime::now_utc());
    let mut d = now.date();
    for _ in 0..7 {
        if d.weekday().number_days_from_monday() == weekday {
            break;
        }
        d += Duration::days(1);
    }
    PrimitiveDateTime::new(d, at)
}

async fn search(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    search_page(&state, q.as_deref())
        .await
        .map_err(|e| PageError(state, e))
}

async fn search_page(state: &AppState, raw: Option<&str>) -> Result<Response, AppError> {
    let (mut form, mut errors) = Form::from_query(raw);
    let directory = state.directory();
    let postcodes_available = directory.postcodes_loaded(state.store()).await?;
    let index = directory.index(state.store()).await?;
    let index = index.read().await;
    let terms = index.terms();

    let mut find = Find {
        words: Some(form.q.clone()).filter(|q| !q.is_empty()),
        nearest_first: form.sort == "distance",
        ..Find::default()
    };
    if !form.need.is_empty() {
        if terms.contains(&form.need) {
            find.need = Some(form.need.clone());
        } else {
            errors.push(FieldError {
                field: "need".into(),
                message: "Choose a type of support from the list".into(),
            });
        }
    }
    if !form.age.is_empty() {
        match form.age.parse::<f64>() {
            Ok(a) if (0.0..=130.0).contains(&a) => find.ages = Some((a, a)),
            _ => errors.push(FieldError {
                field: "age".into(),
                message: "Age must be a whole number of years, like 15".into(),
            }),
        }
    }
    match form.when.as_str() {
        "now" => find.open_at = Some(london_local(OffsetDateTime::now_utc())),
        "at" => {
            let day = pathways_directory::oruk::parse_day(&form.day);
            let time = pathways_directory::validate::parse_clock(&form.time).and_then(|m| {
                Time::from_hms(u8::try_from(m / 60).ok()?, u8::try_from(m % 60).ok()?, 0).ok()
            });
            if day.is_none() {
                errors.push(FieldError {
                    field: "day".into(),
                    message: "Choose a day".into(),
                });
            }
            if time.is_none() {
                errors.push(FieldError {
                    field: "time".into(),
                    message: "Enter a time like 17:30".into(),
                });
            }
            if let (Some(d), Some(t)) = (day, time) {
                find.open_at = Some(next_local(d, t));
            }
        }
        _ => form.when.clear(),
    }
    let mut using_location = false;
    if !form.postcode.is_empty() {
        if !postcodes_available {
            errors.push(FieldError {
                field: "postcode".into(),
                message: "Searching by postcode is not available at the moment. Use your location, or search without a postcode".into(),
            });
        } else {
            match directory.postcode_point(state.store(), &form.postcode).await? {
                Some(p) => find.near = Some(p),
                None => errors.push(FieldError {
                    field: "postcode".into(),
                    message: "We could not find that postcode. Check it and try again, for example W8 6AB".into(),
                }),
            }
        }
    } else if !form.lat.is_empty() || !form.lon.is_empty() {
        let lat = coordinate(&form.lat, "latitude", 90.0, &mut errors);
        let lon = coordinate(&form.lon, "longitude", 180.0, &mut errors);
        if let (Some(lat), Some(lon)) = (lat, lon) {
            find.near = Some(GeoPoint { lat, lon });
            using_location = true;
        }
    }
    if !form.within.is_empty() {
        match form.within.parse::<f64>() {
            Ok(m) if m > 0.0 && m <= 100.0 => {
                if find.near.is_some() {
                    find.within_m = Some(m * METRES_PER_MILE);
                } else if errors.iter().all(|e| e.field != "postcode") {
                    errors.push(FieldError {
                        field: "postcode".into(),
                        message: "Enter a postcode or use your location to search by distance"
                            .into(),
                    });
                }
            }
            _ => errors.push(FieldError {
                field: "within".into(),
                message: "Choose a distance from the list".into(),
            }),
        }
    }

    let searched = form.searched();
    let (results, total) = if searched && errors.is_empty() {
        let res = find.run(&index, form.page, PER_PAGE);
        let items = res
            .hits
            .iter()
            .map(|h| {
                let s = h.service.public_view();
                ResultItem {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    organisation: s
                        .organization
                        .as_ref()
                        .map(|o| o.name.clone())
                        .unwrap_or_default(),
                    summary: short(s.description.as_deref().unwrap_or(""), 220),
                    distance: h.distance_m.map(miles),
                    needs: s
                        .term_ids()
                        .filter_map(|t| terms.get(t))
                        .map(|t| t.name.clone())
                        .collect(),
                    closed: s.status == Status::TemporarilyClosed,
                }
            })
            .collect();
        (items, res.total)
    } else {
        (Vec::new(), 0)
    };
    let pages = total.div_ceil(PER_PAGE).max(1);
    let needs = need_choices(terms, &form.need);
    let page = SearchPage {
        chrome: Chrome::public(state, "Find support"),
        errors,
        needs,
        whens: choices(
            &[
                ("", "Any time"),
                ("now", "Open now"),
                ("at", "Open on a day and time"),
            ],
            &form.when,
        ),
        days: choices(
            &[
                ("", "Choose a day"),
                ("MO", "Monday"),
                ("TU", "Tuesday"),
                ("WE", "Wednesday"),
                ("TH", "Thursday"),
                ("FR", "Friday"),
                ("SA", "Saturday"),
                ("SU", "Sunday"),
            ],
            &form.day,
        ),
        withins: choices(
            &[
                ("", "Any distance"),
                ("1", "1 mile"),
                ("3", "3 miles"),
                ("5", "5 miles"),
                ("10", "10 miles"),
            ],
            &form.within,
        ),
        sorts: choices(
            &[("", "Best match"), ("distance", "Nearest first")],
            &form.sort,
        ),
        searched,
        results,
        total,
        page: form.page,
        pages,
        prev: (form.page > 1).then(|| form.query_string(form.page - 1)),
        next: (form.page < pages).then(|| form.query_string(form.page + 1)),
        postcodes_available,
        using_location,
        form,
    };
    // A search that could not be run is a bad request, answered with the form and what to
    // change.
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Need options: every term, children indented under their parents.
fn need_choices(terms: &pathways_directory::TermSet, current: &str) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: "Any kind of support".into(),
        selected: current.is_empty(),
    }];
    fn walk(
        terms: &pathways_directory::TermSet,
        id: &str,
        depth: usize,
        current: &str,
        out: &mut Vec<Choice>,
    ) {
        if let Some(t) = terms.get(id) {
            out.push(Choice {
                value: t.id.clone(),
                label: format!("{}{}", "\u{2014} ".repeat(depth), t.name),
                selected: t.id == current,
            });
            for c in terms.children(id) {
                walk(terms, &c.id, depth + 1, current, out);
            }
        }
    }
    let roots: Vec<String> = terms.roots().map(|t| t.id.clone()).collect();
    for r in roots {
        walk(terms, &r, 0, current, &mut out);
    }
    out
}

/// A contact line on the service page.
#[derive(Debug, Clone)]
struct Line {
    label: String,
    value: String,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "support/service.html")]
struct ServicePage {
    chrome: Chrome,
    name: String,
    organisation: String,
    description: String,
    alert: String,
    closed: bool,
    how: Vec<Line>,
    addresses: Vec<String>,
    accessibility: Vec<String>,
    times: Vec<String>,
    who: String,
    languages: Vec<String>,
    costs: Vec<String>,
    areas: Vec<String>,
    needs: Vec<String>,
    assured: String,
}

fn tel(number: &str) -> String {
    format!(
        "tel:{}",
        number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect::<String>()
    )
}

fn service_page(state: &AppState, s: &Service, terms: &pathways_directory::TermSet) -> ServicePage {
    let mut how = Vec::new();
    for p in s
        .phones
        .iter()
        .chain(s.contacts.iter().flat_map(|c| c.phones.iter()))
    {
        how.push(Line {
            label: p.description.clone().unwrap_or_else(|| "Phone".into()),
            value: p.number.clone(),
            href: Some(tel(&p.number)),
        });
    }
    if let Some(e) = &s.email {
        how.push(Line {
            label: "Email".into(),
            value: e.clone(),
            href: Some(format!("mailto:{e}")),
        });
    }
    for c in &s.contacts {
        if let Some(e) = &c.email {
            let label = c
                .name
                .clone()
                .or_else(|| c.title.clone())
                .unwrap_or_else(|| "Email".into());
            how.push(Line {
                label,
                value: e.clone(),
                href: Some(format!("mailto:{e}")),
            });
        }
    }
    if let Some(u) = &s.url {
        how.push(Line {
            label: "Website".into(),
            value: u.clone(),
            href: Some(u.clone()),
        });
    }
    let mut addresses = Vec::new();
    let mut accessibility = Vec::new();
    for l in s.public_locations() {
        for a in &l.addresses {
            let parts: Vec<&str> = [
                Some(a.address_1.as_str()),
                a.address_2.as_deref(),
                Some(a.city.as_str()),
                Some(a.postal_code.as_str()),
            ]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect();
            addresses.push(parts.join(", "));
        }
        if l.addresses.is_empty()
            && let Some(n) = &l.name
        {
            addresses.push(n.clone());
        }
        for acc in &l.accessibility {
            if let Some(d) = acc.description.as_ref().or(acc.details.as_ref()) {
                accessibility.push(d.clone());
            }
        }
    }
    let times = s.schedules.iter().filter_map(describe).collect();
    let who = match (
        s.minimum_age.as_ref().map(number_f64),
        s.maximum_age.as_ref().map(number_f64),
    ) {
        (Some(a), Some(b)) => format!("Ages {a} to {b}"),
        (Some(a), None) => format!("Ages {a} and over"),
        (None, Some(b)) => format!("Up to age {b}"),
        (None, None) => "All ages".into(),
    };
    let languages = s
        .languages
        .iter()
        .filter_map(|l| l.name.clone().or_else(|| l.code.clone()))
        .collect();
    let mut costs: Vec<String> = s.fees.iter().cloned().collect();
    for c in &s.cost_options {
        let amount = c.amount.as_ref().map(|a| {
            let cur = c.currency.as_deref().unwrap_or("GBP");
            if cur == "GBP" {
                format!("£{:.2}", number_f64(a))
            } else {
                format!("{:.2} {cur}", number_f64(a))
            }
        });
        let text = [c.option.clone(), amount, c.amount_description.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        if !text.is_empty() {
            costs.push(text);
        }
    }
    let areas = s
        .service_areas
        .iter()
        .filter_map(|a| a.name.clone().or_else(|| a.service_area.clone()))
        .collect();
    ServicePage {
        chrome: Chrome::public(state, "Service details"),
        name: s.name.clone(),
        organisation: s
            .organization
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        description: s.description.clone().unwrap_or_default(),
        alert: s.alert.clone().unwrap_or_default(),
        closed: s.status == Status::TemporarilyClosed,
        how,
        addresses,
        accessibility,
        times,
        who,
        languages,
        costs,
        areas,
        needs: s
            .term_ids()
            .filter_map(|t| terms.get(t))
            .map(|t| t.name.clone())
            .collect(),
        assured: s.assured_date.clone().unwrap_or_default(),
    }
}

async fn service(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let index = match state.directory().index(state.store()).await {
        Ok(i) => i,
        Err(e) => return PageError(state, e.into()).into_response(),
    };
    let index = index.read().await;
    let Some(vs) = index.get(&id) else {
        return error_page(&state, StatusCode::NOT_FOUND, None);
    };
    let s = vs.public_view();
    if !matches!(s.status, Status::Active | Status::TemporarilyClosed) {
        return error_page(&state, StatusCode::NOT_FOUND, None);
    }
    render_page(&state, service_page(&state, &s, index.terms()))
}

#[derive(Template)]
#[template(path = "support/staying_safe.html")]
struct StayingSafe {
    chrome: Chrome,
}

async fn staying_safe(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let page = StayingSafe {
        chrome: Chrome::public(&state, "Staying safe online"),
    };
    page.render()
        .map(Html)
        .map_err(|e| PageError(state, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_cut_at_a_word() {
        assert_eq!(short("short", 10), "short");
        assert_eq!(short("one two three four", 10), "one two…");
    }

    #[test]
    fn distances_read_in_miles() {
        assert_eq!(miles(1609.344 * 2.25), "2.2 miles");
        assert_eq!(miles(50.0), "less than 0.1 miles");
    }

    #[test]
    fn form_round_trips_through_the_query_string() {
        let (f, errors) = Form::from_query(Some("q=young+people&need=abc&within=3&page=2"));
        assert!(errors.is_empty());
        assert_eq!(f.page, 2);
        assert!(f.searched());
        assert_eq!(f.query_string(3), "q=young+people&need=abc&within=3&page=3");
        assert!(!Form::from_query(None).0.searched());
        let fields = |q: &str| -> Vec<String> {
            Form::from_query(Some(q))
                .1
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields("page=0"), ["page"]);
        assert_eq!(fields("page=999999999999"), ["page"]);
        assert_eq!(fields(&format!("q={}", "a".repeat(10_000))), ["q"]);
        assert_eq!(fields("need=a&need=b&need=c"), ["need"]);
    }
}

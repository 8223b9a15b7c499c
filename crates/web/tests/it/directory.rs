//! The directory on the web: the ORUK API's documents and errors, the public "find support"
//! pages (survivor-safe, refuges never revealed), and the editor pages.

use pathways_directory::generate::{GenerateOptions, generate};
use pathways_directory::search::{GeoPoint, haversine_m};
use pathways_directory::{TermSet, ValidService};
use pathways_domain::Role;
use pathways_store::directory::PostcodeWriter;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::Value;

use crate::support::{App, get, post_form};

#[path = "../../../directory/tests/common/mod.rs"]
#[allow(dead_code, clippy::all)]
mod oruk_schema;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// An application with `n` generated services (seed 5) stored before the first request.
async fn seeded(n: usize) -> (App, Vec<ValidService>) {
    let app = App::start().await;
    let terms = pathways_web::directory::load_terms(app.store())
        .await
        .expect("terms");
    let services = generate(
        &terms,
        &GenerateOptions {
            seed: 5,
            services: n,
            today: today(),
        },
    );
    pathways_web::directory::save_services(app.store(), &services, "test")
        .await
        .expect("save");
    (app, services)
}

async fn json(app: &App, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = reqwest::get(app.url(path)).await.expect("GET");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}")),
        headers,
    )
}

/// The services the public pages and the feed list: active or temporarily closed.
fn listed(services: &[ValidService]) -> impl Iterator<Item = &ValidService> {
    services.iter().filter(|s| {
        matches!(
            s.service().status,
            pathways_directory::model::Status::Active
                | pathways_directory::model::Status::TemporarilyClosed
        )
    })
}

fn assert_no_null(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("{path} is null"),
        Value::String(s) => assert!(!s.is_empty(), "{path} is an empty string"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_null(x, &format!("{path}[{i}]"))),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| assert_no_null(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

fn envelope_keys(page: &Value) -> Vec<String> {
    let mut k: Vec<String> = page.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn only_refuge(services: &[ValidService]) -> &ValidService {
    services
        .iter()
        .find(|s| {
            s.service().has_confidential_location()
                && s.service().public_locations().next().is_none()
        })
        .expect("the generated directory has a service whose only location is confidential")
}

fn refuge_point(s: &ValidService) -> GeoPoint {
    let loc = s
        .service()
        .service_at_locations
        .iter()
        .filter_map(|sal| sal.location.as_ref())
        .find(|l| l.confidential)
        .expect("confidential location");
    GeoPoint {
        lat: loc.latitude.expect("refuge latitude"),
        lon: loc.longitude.expect("refuge longitude"),
    }
}

#[tokio::test]
async fn root_and_openapi_documents() {
    let app = App::start().await;
    let (status, root, headers) = json(&app, "/oruk/").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(root["version"], "HSDS-UK-3.0");
    assert!(
        root["profile"]
            .as_str()
            .is_some_and(|p| p.starts_with("https://"))
    );
    assert_eq!(
        root["openapi_url"],
        format!("{}/oruk/openapi.json", app.base)
    );
    let (status, api, headers) = json(&app, "/oruk/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(api["servers"][0]["url"], format!("{}/oruk", app.base));
    assert!(
        api["paths"]["/services"]["get"]["parameters"]
            .as_array()
            .is_some_and(|p| p.len() >= 12)
    );
    let (status, err, headers) = json(&app, "/oruk/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn services_pages_have_the_exact_envelope() {
    let (app, services) = seeded(120).await;
    let (status, p1, headers) = json(&app, "/oruk/services?per_page=50").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        envelope_keys(&p1),
        vec![
            "contents",
            "empty",
            "first_page",
            "last_page",
            "page_number",
            "size",
            "total_items",
            "total_pages"
        ]
    );
    assert_eq!(
        p1["total_items"],
        listed(&services).count(),
        "the feed lists what the public pages list"
    );
    assert_eq!(p1["total_pages"], 3);
    assert_eq!(
        (
            p1["page_number"].clone(),
            p1["size"].clone(),
            p1["first_page"].clone(),
            p1["last_page"].clone()
        ),
        (1.into(), 50.into(), true.into(), false.into())
    );
    let (_, p3, _) = json(&app, "/oruk/services?per_page=50&page=3").await;
    assert_eq!(
        (
            p3["size"].clone(),
            p3["last_page"].clone(),
            p3["empty"].clone()
        ),
        (
            (listed(&services).count() - 100).into(),
            true.into(),
            false.into()
        )
    );
    let (_, p4, _) = json(&app, "/oruk/services?per_page=50&page=4").await;
    assert_eq!(
        (p4["size"].clone(), p4["empty"].clone()),
        (0.into(), true.into())
    );
    assert_no_null(&p1, "$");
    let ids: std::collections::HashSet<&str> = services.iter().map(|s| s.id()).collect();
    for item in p1["contents"].as_array().expect("contents") {
        assert!(ids.contains(item["id"].as_str().expect("id")));
        assert!(
            item.get("service_at_locations").is_none(),
            "list items are not nested"
        );
    }
}

#[tokio::test]
async fn filters_combine_with_and() {
    let (app, services) = seeded(150).await;
    let terms = TermSet::needs();
    let root = terms
        .roots()
        .find(|t| !terms.children(&t.id).is_empty())
        .expect("a parent need");
    let under: Vec<&str> = terms.descendants_and_self(&root.id);
    let expected: Vec<&ValidService> = services
        .iter()
        .filter(|s| listed(std::slice::from_ref(*s)).count() == 1)
        .filter(|s| s.service().term_ids().any(|t| under.contains(&t)))
        .filter(|s| {
            s.service()
                .minimum_age
                .as_ref()
                .map_or(0.0, pathways_directory::model::number_f64)
                >= 11.0
        })
        .collect();
    assert!(
        !expected.is_empty(),
        "the sample has services for the filter"
    );
    let (status, page, _) = json(
        &app,
        &format!(
            "/oruk/services?taxonomy_term_id={}&minimum_age=11&per_page=1000",
            root.id
        ),
    )
    .await;
    assert_eq!(status, 200);
    let mut got: Vec<&str> = page["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    let mut want: Vec<&str> = expected.iter().map(|s| s.id()).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    // A child term's services are a subset of its parent's.
    let child = terms.children(&root.id)[0].id.clone();
    let (_, child_page, _) = json(
        &app,
        &format!("/oruk/services?taxonomy_term_id={child}&per_page=1000"),
    )
    .await;
    let (_, parent_page, _) = json(
        &app,
        &format!("/oruk/services?taxonomy_term_id={}&per_page=1000", root.id),
    )
    .await;
    assert!(child_page["total_items"].as_u64() <= parent_page["total_items"].as_u64());
    // modified_after in the future matches nothing; far in the past matches everything.
    let (_, none, _) = json(&app, "/oruk/services?modified_after=2999-01-01").await;
    assert_eq!(none["total_items"], 0);
    let (_, all, _) = json(&app, "/oruk/services?modified_after=2000-01-01T00:00:00Z").await;
    assert_eq!(all["total_items"], listed(&services).count());
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let (app, _) = seeded(5).await;
    for (query, name) in [
        ("per_page=0", "per_page"),
        ("per_page=5000", "per_page"),
        ("page=-1", "page"),
        ("day=Funday", "day"),
        ("start_time=25:99", "start_time"),
        ("minimum_age=ten", "minimum_age"),
        ("modified_after=yesterday", "modified_after"),
        ("format=xml", "format"),
        ("proximity=100", "proximity"),
        ("postcode=W8%206AB", "postcode"),
    ] {
        let (status, body, headers) = json(&app, &format!("/oruk/services?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["parameter"], name, "{query}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(name))
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
    }
    let (status, body, _) = json(&app, "/oruk/service_at_locations?postcode=W8%206AB").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unavailable")),
        "{body}"
    );
    let (status, body, _) = json(&app, "/oruk/taxonomy_terms?taxonomy_id=nope").await;
    assert_eq!(
        (status, body["error"]["parameter"].clone()),
        (400, "taxonomy_id".into())
    );
}

#[tokio::test]
async fn a_service_is_fully_nested_without_confidential_locations() {
    let (app, services) = seeded(120).await;
    let refuge = only_refuge(&services);
    let (status, doc, headers) = json(&app, &format!("/oruk/services/{}", refuge.id())).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_no_null(&doc, "$");
    let text = doc.to_string();
    assert!(!text.contains("pathways_confidential"));
    let p = refuge_point(refuge);
    assert!(
        !text.contains(&p.lat.to_string()),
        "the refuge's latitude is not published"
    );
    assert!(
        doc.get("service_at_locations")
            .is_none_or(|s| s.as_array().is_some_and(|a| a.is_empty()))
    );
    let located = services
        .iter()
        .find(|s| {
            s.service()
                .public_locations()
                .any(|l| !l.addresses.is_empty())
        })
        .expect("located");
    let (_, doc, _) = json(&app, &format!("/oruk/services/{}", located.id())).await;
    assert!(doc["organization"]["name"].is_string());
    assert!(doc["service_at_locations"][0]["location"]["addresses"][0]["postal_code"].is_string());
    assert!(
        doc["attributes"][0]["taxonomy_term"]["name"].is_string(),
        "terms are nested"
    );
    let (status, body, headers) =
        json(&app, "/oruk/services/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, "not_found".into())
    );
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn ndjson_streams_every_match() {
    let (app, services) = seeded(60).await;
    let res = reqwest::get(app.url("/oruk/services?format=ndjson"))
        .await
        .expect("GET");
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let body = res.text().await.expect("body");
    assert_eq!(body.lines().count(), listed(&services).count());
    for line in body.lines() {
        let v: Value = serde_json::from_str(line).expect("each line is a service");
        assert!(v["id"].is_string());
        assert!(!line.contains("pathways_confidential"));
    }
    let res = reqwest::Client::new()
        .get(app.url("/oruk/services?search=support"))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let (_, page, _) = json(&app, "/oruk/services?search=support&per_page=1").await;
    assert_eq!(
        res.text().await.expect("body").lines().count() as u64,
        page["total_items"].as_u64().expect("total")
    );
}

async fn load_postcodes(app: &App) {
    let mut w = PostcodeWriter::begin(app.store()).await.expect("begin");
    w.add("W8 6AB", 51.5, -0.19).await.expect("add");
    w.add("W10 5AA", 51.52, -0.21).await.expect("add");
    w.commit().await.expect("commit");
}

#[tokio::test]
async fn service_at_locations_by_postcode_and_proximity() {
    let (app, services) = seeded(150).await;
    load_postcodes(&app).await;
    let (status, page, _) = json(
        &app,
        "/oruk/service_at_locations?postcode=w86ab&proximity=1500&per_page=1000",
    )
    .await;
    assert_eq!(status, 200);
    let here = GeoPoint {
        lat: 51.5,
        lon: -0.19,
    };
    let items = page["contents"].as_array().expect("contents");
    assert!(!items.is_empty());
    let mut last = 0.0;
    for item in items {
        let loc = &item["location"];
        let d = haversine_m(
            here,
            GeoPoint {
                lat: loc["latitude"].as_f64().expect("lat"),
                lon: loc["longitude"].as_f64().expect("lon"),
            },
        );
        assert!(d <= 1500.0 + 1e-6, "{d} m is beyond the proximity");
        assert!(d + 1e-6 >= last, "nearest first");
        last = d;
    }
    let refuge = only_refuge(&services);
    assert!(items.iter().all(|i| i["service_id"] != refuge.id()));
    let (status, body, _) = json(&app, "/oruk/service_at_locations?postcode=ZZ9%209ZZ").await;
    assert_eq!(
        (status, body["error"]["parameter"].clone()),
        (400, "postcode".into())
    );
    let first = items[0]["id"].as_str().expect("id");
    let (status, one, _) = json(&app, &format!("/oruk/service_at_locations/{first}")).await;
    assert_eq!(status, 200);
    assert!(one["location"]["addresses"].is_array() || one["location"]["latitude"].is_number());
    // A refuge's service-at-location id is unknown to the API.
    let hidden = refuge.service().service_at_locations[0].id.clone();
    let (status, _, _) = json(&app, &format!("/oruk/service_at_locations/{hidden}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn taxonomies_and_terms() {
    let app = App::start().await;
    let terms = TermSet::needs();
    let (status, page, _) = json(&app, "/oruk/taxonomies").await;
    assert_eq!(status, 200);
    assert_eq!(page["total_items"], terms.taxonomies().len());
    let tid = terms.taxonomies()[0].id.clone();
    let (status, tax, _) = json(&app, &format!("/oruk/taxonomies/{tid}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        tax["taxonomy_terms"].as_array().map(Vec::len),
        Some(terms.terms().len())
    );
    let (_, tpage, _) = json(
        &app,
        &format!("/oruk/taxonomy_terms?taxonomy_id={tid}&per_page=10&page=2"),
    )
    .await;
    assert_eq!(tpage["total_items"], terms.terms().len());
    assert_eq!(tpage["page_number"], 2);
    let term = &terms.terms()[3];
    let (status, t, _) = json(&app, &format!("/oruk/taxonomy_terms/{}", term.id)).await;
    assert_eq!((status, t["name"].clone()), (200, term.name.clone().into()));
    let (status, _, _) = json(
        &app,
        "/oruk/taxonomy_terms/00000000-0000-4000-8000-000000000000",
    )
    .await;
    assert_eq!(status, 404);
}

/// The official ORUK schemas (when present beside the checkout) accept page 1, a middle page,
/// the last page and 10 random services, fetched from the running API as the validator does.
#[tokio::test]
async fn official_schemas_accept_the_running_api() {
    let Some(dir) = oruk_schema::oruk_dir("official_schemas_accept_the_running_api") else {
        return;
    };
    let (app, services) = seeded(260).await;
    // As the official validator does: the envelope of page 1, a middle page and the last page,
    // and every item on them against the list schema.
    for list in ["services", "service_at_locations"] {
        let (_, first, _) = json(&app, &format!("/oruk/{list}?per_page=25")).await;
        let last = first["total_pages"].as_u64().expect("pages");
        assert!(last >= 3, "{list} has at least three pages");
        for page in [1, last.div_ceil(2), last] {
            let (status, doc, _) =
                json(&app, &format!("/oruk/{list}?per_page=25&page={page}")).await;
            assert_eq!(status, 200);
            assert_eq!(envelope_keys(&doc).len(), 8, "{list} page {page} envelope");
            for k in ["total_items", "total_pages", "page_number", "size"] {
                assert!(doc[k].is_u64(), "{list}.{k} is a whole number");
            }
            for k in ["first_page", "last_page", "empty"] {
                assert!(doc[k].is_boolean(), "{list}.{k} is a boolean");
            }
            assert_eq!(doc["page_number"], page);
            let schema = if list == "services" {
                "service_list.json"
            } else {
                "service_at_location_list.json"
            };
            for item in doc["contents"].as_array().expect("contents") {
                oruk_schema::assert_valid(&dir, schema, item);
            }
            if list == "service_at_locations" && page == 1 {
                let id = doc["contents"][0]["id"].as_str().expect("id");
                let (_, one, _) = json(&app, &format!("/oruk/service_at_locations/{id}")).await;
                oruk_schema::assert_valid(&dir, "service_at_location.json", &one);
            }
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    for s in services.choose_multiple(&mut rng, 10) {
        let (status, doc, _) = json(&app, &format!("/oruk/services/{}", s.id())).await;
        assert_eq!(status, 200);
        oruk_schema::assert_valid(&dir, "service.json", &doc);
    }
}

async fn page(app: &App, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let res = reqwest::get(app.url(path)).await.expect("GET");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.text().await.expect("body"), headers)
}

fn assert_survivor_safe(html: &str, headers: &reqwest::header::HeaderMap, title: &str) {
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        html.contains(&format!("<title>{title} –")),
        "neutral title {title}"
    );
    assert!(html.contains("Exit this page") && html.contains("data-safe-browsing"));
    assert!(html.contains("call 999"));
    for attr in ["src=\"http", "href=\"//", "src=\"//"] {
        assert!(!html.contains(attr), "no request to another host ({attr})");
    }
    let foreign = html.matches("href=\"http").count();
    assert!(
        foreign <= 1 + html.matches("class=\"govuk-link\" href=\"http").count(),
        "only the exit link and service websites leave the site"
    );
}

#[tokio::test]
async fn public_search_by_keyword_need_age_and_location() {
    let (app, services) = seeded(150).await;
    let (status, html, headers) = page(&app, "/support").await;
    assert_eq!(status, 200);
    assert_survivor_safe(&html, &headers, "Find support");
    assert!(
        html.contains("Searching by postcode is not available"),
        "no postcodes loaded"
    );
    assert!(html.contains("data-pw-locate"));
    assert!(!html.contains("services found"));

    let terms = TermSet::needs();
    let da = terms
        .terms()
        .iter()
        .find(|t| t.name.to_lowercase().contains("domestic abuse"))
        .expect("domestic abuse need");
    let (status, html, headers) = page(
        &app,
        &format!("/support?need={}&lat=51.5&lon=-0.19&sort=distance", da.id),
    )
    .await;
    assert_eq!(status, 200);
    assert_survivor_safe(&html, &headers, "Find support");
    assert!(html.contains("services found") || html.contains("1 service found"));
    assert!(html.contains(" miles away") || html.contains("less than 0.1 miles away"));
    assert!(html.contains("Showing distances from your location"));
    let tagged: Vec<&ValidService> = services
        .iter()
        .filter(|s| matches!(s.service().status.as_str(), "active" | "temporarily closed"))
        .filter(|s| {
            s.service()
                .term_ids()
                .any(|t| terms.filter_matches(&da.id, t))
        })
        .collect();
    let expected = if tagged.len() == 1 {
        "1 service found".to_string()
    } else {
        format!("{} services found", tagged.len())
    };
    assert!(html.contains(&expected), "{expected}");

    let (_, html, _) = page(&app, "/support?age=abc").await;
    assert!(html.contains("govuk-error-summary") && html.contains("href=\"#age\""));
    let (_, html, _) = page(&app, "/support?lat=100&lon=0").await;
    assert!(
        html.contains("govuk-error-summary")
            && html.contains("latitude must be a number from -90 to 90"),
        "latitude 100 refused"
    );
    let (_, html, _) = page(&app, "/support?postcode=W8+6AB").await;
    assert!(
        html.contains("Searching by postcode is not available at the moment. Use your location")
    );

    load_postcodes(&app).await;
    let (_, html, _) = page(&app, "/support?postcode=W8+6AB&within=1").await;
    assert!(html.contains("services found") && !html.contains("govuk-error-summary"));
    let (_, html, _) = page(&app, "/support?postcode=ZZ9+9ZZ").await;
    assert!(html.contains("We could not find that postcode"));
    let (_, html, _) = page(&app, "/support?when=at&day=MO&time=99:00").await;
    assert!(html.contains("href=\"#time\""));
    let (_, html, _) = page(&app, "/support?when=now").await;
    assert!(html.contains("found"));
}

#[tokio::test]
async fn refuges_never_appear_on_public_pages() {
    let (app, services) = seeded(150).await;
    let refuge = only_refuge(&services);
    let p = refuge_point(refuge);
    // Standing on the refuge itself, a distance-limited search does not list it.
    let (_, html, _) = page(
        &app,
        &format!(
            "/support?lat={}&lon={}&within=1&sort=distance",
            p.lat, p.lon
        ),
    )
    .await;
    assert!(
        !html.contains(refuge.id()),
        "a refuge is never placed by distance"
    );
    // Its page says how to get help but gives no address or coordinates.
    let (status, html, headers) = page(&app, &format!("/support/services/{}", refuge.id())).await;
    assert_eq!(status, 200);
    assert_survivor_safe(&html, &headers, "Service details");
    assert!(html.contains("How to get help") && html.contains("Opening times"));
    for sal in &refuge.service().service_at_locations {
        if let Some(l) = sal.location.as_ref().filter(|l| l.confidential) {
            for a in &l.addresses {
                assert!(!html.contains(&a.address_1), "refuge address shown");
                assert!(!html.contains(&a.postal_code), "refuge postcode shown");
            }
        }
    }
    assert!(!html.contains(&p.lat.to_string()));
}

#[tokio::test]
async fn service_pages_staying_safe_and_not_found() {
    let (app, services) = seeded(40).await;
    let s = services
        .iter()
        .find(|s| {
            s.service().status.as_str() == "active"
                && !s.service().phones.is_empty()
                && !s.service().schedules.is_empty()
        })
        .expect("an active service with a phone and schedules");
    let (status, html, headers) = page(&app, &format!("/support/services/{}", s.id())).await;
    assert_eq!(status, 200);
    assert_survivor_safe(&html, &headers, "Service details");
    assert!(
        html.contains(
            &s.service()
                .name
                .replace('\'', "&#39;")
                .replace('&', "&amp;")
        ) || html.contains(&s.service().name)
    );
    assert!(html.contains("tel:"));
    assert!(html.contains("Languages") && html.contains("Cost") && html.contains("Who it is for"));
    let (status, html, headers) = page(&app, "/support/staying-safe-online").await;
    assert_eq!(status, 200);
    assert_survivor_safe(&html, &headers, "Staying safe online");
    assert!(
        html.contains("private")
            && html.contains("history")
            && html.contains("Shift key three times")
    );
    let (status, html, _) = page(
        &app,
        "/support/services/00000000-0000-4000-8000-000000000000",
    )
    .await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found") && html.contains("Exit this page"));
}

#[tokio::test]
async fn editors_create_edit_archive_and_see_assurance() {
    let (app, services) = seeded(30).await;
    let editor = app
        .user(
            "editor@riverside.example",
            "Tom Harris",
            &[Role::DirectoryEditor],
        )
        .await;
    let (client, csrf, _) = app.session(&editor).await;
    let res = get(&app, &client, "/directory").await;
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.expect("body");
    assert!(html.contains("30 services"));

    // Server-side validation with the error summary; nothing stored.
    let res = post_form(
        &app,
        &client,
        "/directory/new",
        &csrf,
        &[
            ("name", ""),
            ("status", "active"),
            ("latitude", "100"),
            ("longitude", "0"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.expect("body");
    assert!(
        html.contains("govuk-error-summary")
            && html.contains("href=\"#name\"")
            && html.contains("href=\"#latitude\""),
        "{html}"
    );
    assert!(html.contains("<title>Error: Add a service"));
    assert_eq!(
        app.store().directory_service_count().await.expect("count"),
        30
    );

    let terms = TermSet::needs();
    let need = terms.roots().next().expect("need").id.clone();
    let res = post_form(
        &app,
        &client,
        "/directory/new",
        &csrf,
        &[
            ("name", "Canal Side Boxing"),
            ("status", "active"),
            ("organisation", "Canal Side Trust"),
            ("needs", &need),
            ("phone", "020 7946 0101"),
            ("minimum_age", "11"),
            ("assured_today", "yes"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, found, _) = json(&app, "/oruk/services?search=canal+side+boxing").await;
    assert_eq!(found["total_items"], 1, "the index is updated at once");
    let id = found["contents"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(found["contents"][0]["assured_date"], today().to_string());
    assert!(
        app.audit()
            .await
            .iter()
            .any(|(a, r, o)| a == "directory_service_create" && r == &id && o == "allowed")
    );

    let res = post_form(
        &app,
        &client,
        &format!("/directory/{id}/edit"),
        &csrf,
        &[
            ("name", "Canal Side Boxing Club"),
            ("status", "active"),
            ("needs", &need),
            ("assured_date", &today().to_string()),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc, _) = json(&app, &format!("/oruk/services/{id}")).await;
    assert_eq!(doc["name"], "Canal Side Boxing Club");

    let res = post_form(
        &app,
        &client,
        &format!("/directory/{id}/archive"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (status, _, _) = json(&app, &format!("/oruk/services/{id}")).await;
    assert_eq!(status, 404, "archived services are not published");
    assert!(
        app.audit()
            .await
            .iter()
            .any(|(a, r, _)| a == "directory_service_archive" && r == &id)
    );
    let res = post_form(
        &app,
        &client,
        &format!("/directory/{id}/restore"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (status, _, _) = json(&app, &format!("/oruk/services/{id}")).await;
    assert_eq!(status, 200);

    let stale: Vec<&ValidService> = services
        .iter()
        .filter(|s| s.assurance_overdue(today(), 3))
        .collect();
    assert!(
        !stale.is_empty(),
        "the generator leaves some records overdue"
    );
    let html = get(&app, &client, "/directory/assurance")
        .await
        .text()
        .await
        .expect("body");
    for s in &stale {
        assert!(html.contains(&format!("/directory/{}/edit", s.id())));
    }
    assert!(
        !html.contains(&format!("/directory/{id}/edit")),
        "just assured"
    );

    let other = app
        .user("analyst@riverside.example", "Ana", &[Role::Analyst])
        .await;
    let (client, _, _) = app.session(&other).await;
    assert_eq!(
        get(&app, &client, "/directory").await.status().as_u16(),
        403
    );
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    assert_eq!(
        anon.get(app.url("/directory"))
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16(),
        303
    );
}

/// Service ids linked from a /support results page, in order, and the total it states.
fn support_results(html: &str) -> (Vec<String>, usize) {
    let ids = html
        .split("href=\"/support/services/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    let total = html
        .split("id=\"results-heading\">")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (ids, total)
}

/// The public pages and the ORUK feed run one query path: for the same words, need,
/// place and page they return the same services in the same order, and the same total.
#[tokio::test]
async fn support_and_oruk_return_the_same_services_for_the_same_query() {
    let (app, services) = seeded(300).await;
    load_postcodes(&app).await;
    let terms = TermSet::needs();
    let words = [
        "support",
        "counselling",
        "young people",
        "food",
        "advice help",
        "zzzznothing",
    ];
    let needs: Vec<&str> = terms.terms().iter().map(|t| t.id.as_str()).collect();
    let mut compared = 0;
    for i in 0..36usize {
        let mut support: Vec<(&str, String)> = Vec::new();
        let mut oruk: Vec<(&str, String)> = Vec::new();
        if i % 3 != 2 {
            let w = words[i % words.len()];
            support.push(("q", w.into()));
            oruk.push(("search", w.into()));
        }
        if i % 2 == 1 {
            let n = needs[(i * 7) % needs.len()];
            support.push(("need", n.into()));
            oruk.push(("taxonomy_term_id", n.into()));
        }
        if i % 4 == 0 {
            support.push(("postcode", "W8 6AB".into()));
            oruk.push(("postcode", "W8 6AB".into()));
            if i % 8 == 0 {
                support.push(("within", "1".into()));
                oruk.push(("proximity", format!("{}", 1609.344)));
            }
        }
        let page_no = 1 + i % 2;
        support.push(("page", page_no.to_string()));
        oruk.push(("page", page_no.to_string()));
        oruk.push(("per_page", "20".into()));
        if support.len() == 1 {
            continue;
        }
        let sq = serde_urlencoded::to_string(&support).expect("query");
        let oq = serde_urlencoded::to_string(&oruk).expect("query");
        let (status, html, _) = page(&app, &format!("/support?{sq}")).await;
        assert_eq!(status, 200, "{sq}");
        let (status, feed, _) = json(&app, &format!("/oruk/services?{oq}")).await;
        assert_eq!(status, 200, "{oq}");
        let (ids, total) = support_results(&html);
        let feed_ids: Vec<String> = feed["contents"]
            .as_array()
            .expect("contents")
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(ids, feed_ids, "/support?{sq} and /oruk/services?{oq}");
        assert_eq!(
            feed["total_items"], total,
            "/support?{sq} and /oruk/services?{oq}"
        );
        compared += usize::from(total > 0);
    }
    assert!(
        compared >= 10,
        "most generated queries find something ({compared})"
    );
    assert!(services.len() == 300);
}

/// Bad input is refused quickly and clearly: a 400 HTML page on /support, a 400 naming the
/// parameter on /oruk.
#[tokio::test]
async fn bad_search_input_is_a_clear_400() {
    let (app, _) = seeded(20).await;
    let long = "a".repeat(10_000);
    let fifty: String = (0..50).map(|i| format!("need=t{i}&")).collect();
    for q in ["page=0".to_string(), format!("q={long}"), fifty] {
        let (status, html, headers) = page(&app, &format!("/support?{q}")).await;
        assert_eq!(status, 400, "{}", &q[..20.min(q.len())]);
        assert!(html.contains("govuk-error-summary"), "an error summary");
        assert_eq!(headers["cache-control"], "no-store");
    }
    let fifty: String = (0..50).map(|i| format!("taxonomy_term_id=t{i}&")).collect();
    for (q, name) in [
        ("text=zzzz".to_string(), "text"),
        ("page=0".to_string(), "page"),
        ("per_page=100000".to_string(), "per_page"),
        (format!("search={long}"), "search"),
        (fifty, "taxonomy_term_id"),
        ("taxonomy_term_id=nope".to_string(), "taxonomy_term_id"),
    ] {
        let (status, body, _) = json(&app, &format!("/oruk/services?{q}")).await;
        assert_eq!(status, 400, "{name}");
        assert_eq!(body["error"]["parameter"], name, "{body}");
    }
}

/// ORUK answers can be revalidated: the same request with the tag (or the date) it was
/// given costs a 304; a change to the directory changes the tag. Compressed on request.
#[tokio::test]
async fn oruk_pages_are_cacheable_and_compressed() {
    let (app, services) = seeded(30).await;
    let c = reqwest::Client::new();
    let url = app.url("/oruk/services?search=support");
    let first = c.get(&url).send().await.expect("get");
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("etag").to_string();
    let modified = first.headers()["last-modified"]
        .to_str()
        .expect("date")
        .to_string();
    assert_eq!(first.headers()["cache-control"], "public, no-cache");
    let again = c
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().expect("etag"), etag);
    let since = c
        .get(&url)
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .expect("get");
    assert_eq!(since.status(), 304);
    let other = c
        .get(app.url("/oruk/services?search=advice"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(other.status(), 200, "another request has another tag");
    pathways_web::directory::save_services(app.store(), &services[..1], "test")
        .await
        .expect("save");
    let changed = c
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(
        changed.status(),
        200,
        "a change to the directory changes the tag"
    );
    let gz = c
        .get(app.url("/support?q=support"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["cache-control"], "no-store");
}

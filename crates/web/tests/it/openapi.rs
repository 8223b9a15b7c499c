//! The `/api/v1` OpenAPI document and the router agree: every `/api/v1` route is described,
//! every described operation is a route, and the document is served with this service's
//! address.

use std::collections::BTreeSet;

use crate::matrix_modules::registered_routes;
use crate::support::App;

fn api_routes() -> BTreeSet<(String, String)> {
    let (mut all, problems) = registered_routes();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    all.extend(
        pathways_web::routes::all()
            .into_iter()
            .map(|r| (r.verb.name().to_string(), r.path.to_string())),
    );
    all.into_iter()
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .collect()
}

async fn served(app: &App) -> serde_json::Value {
    let res = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .expect("GET");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

fn described(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.to_uppercase(), format!("/api/v1{path}")));
        }
    }
    out
}

#[tokio::test]
async fn every_api_route_is_described_and_every_description_is_a_route() {
    let app = App::start().await;
    let doc = served(&app).await;
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["servers"][0]["url"], format!("{}/api/v1", app.base));
    let routes = api_routes();
    assert!(routes.len() >= 8, "{routes:?}");
    let described = described(&doc);
    let missing: Vec<_> = routes.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    let stale: Vec<_> = described.difference(&routes).collect();
    assert!(stale.is_empty(), "described but not routed: {stale:?}");
    // Every reference resolves.
    let text = doc.to_string();
    let mut from = 0;
    while let Some(at) = text[from..].find("#/components/schemas/") {
        let start = from + at + "#/components/schemas/".len();
        let end = start + text[start..].find('"').expect("closing quote");
        let name = &text[start..end];
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling reference to {name}"
        );
        from = end;
    }
}

#[tokio::test]
async fn a_query_that_does_not_parse_is_answered_in_the_api_error_shape() {
    let app = App::start().await;
    let user = app
        .user(
            "amara@example.org",
            "Amara Okafor",
            &[pathways_domain::Role::Practitioner],
        )
        .await;
    let (client, _, _) = app.session(&user).await;
    let res = client
        .get(app.url("/api/v1/cases?page=abc"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("header")
            .starts_with("application/json")
    );
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("page")),
        "{body}"
    );
}

/// README.md's route list is the one the route tables generate; a route added, removed or
/// re-guarded without regenerating it fails here. To regenerate, replace the text between
/// the markers with what this test prints.
#[test]
fn the_readme_route_list_is_generated_from_the_route_tables() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let (begin, end) = ("<!-- routes:begin -->\n", "<!-- routes:end -->");
    let start = readme.find(begin).expect("the begin marker") + begin.len();
    let stop = readme.find(end).expect("the end marker");
    let expected = pathways_web::routes::routes_markdown();
    assert!(
        readme[start..stop] == expected,
        "README.md's route list is out of date; between the markers it should read:\n{expected}"
    );
}

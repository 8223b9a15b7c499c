//! The "find support" journey in headless Chromium: a resident finds a domestic-abuse service
//! near their location, opens it, leaves with Exit this page, and Back does not return to it;
//! axe-core finds no violations on any public page.

use pathways_e2e::{Browser, TestServer, Violation};

/// Checks of a condition that the page's script or a navigation makes true.
const ATTEMPTS: u32 = 200;

fn exit_path() -> &'static str {
    "/healthz?exited"
}

/// A server with the demo directory loaded.
async fn server() -> TestServer {
    TestServer::start_with(
        |base, web| web.exit_url = format!("{base}{}", exit_path()),
        async |store: &pathways_store::Store| {
            let n = pathways_web::directory::seed_demo(store)
                .await
                .expect("demo directory seeds");
            assert!(n >= 150, "the demo directory has {n} services");
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn browser() -> Option<Browser> {
    Browser::launch()
        .await
        .unwrap_or_else(|e| panic!("headless Chromium did not start: {e}"))
}

async fn open_enhanced(browser: &Browser, url: &str) {
    browser.goto(url).await.expect("page loads");
    browser
        .wait_for("body.govuk-frontend-supported", ATTEMPTS)
        .await
        .expect("the page script has run");
}

fn describe(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("\n  {v}")).collect()
}

/// Chooses the "Domestic abuse" need and 3 miles, then "Use my location" with a stubbed
/// position in the borough; returns once the results page has loaded.
async fn search_near_me(browser: &Browser) {
    let need = browser
        .execute(
            "const o = [...document.querySelectorAll('#need option')]\
               .find(o => o.textContent.trim().startsWith('Domestic abuse'));\
             o.selected = true; return o.value;",
            vec![],
        )
        .await
        .expect("script runs");
    assert!(
        need.as_str().is_some_and(|v| v.len() == 36),
        "a domestic abuse need is offered: {need}"
    );
    let three = browser
        .find("#within option[value='3']")
        .await
        .expect("distance option");
    browser.click(&three).await.expect("choose 3 miles");
    // The browser's position, as if the resident agreed to share it.
    browser
        .execute(
            "navigator.geolocation.getCurrentPosition = function (ok) {\
               ok({coords: {latitude: 51.5012, longitude: -0.1921}});\
             };",
            vec![],
        )
        .await
        .expect("script runs");
    let locate = browser
        .find("[data-pw-locate]")
        .await
        .expect("use my location button");
    assert_eq!(
        browser
            .attribute(&locate, "hidden")
            .await
            .expect("attribute"),
        None,
        "the script shows the button"
    );
    browser.click(&locate).await.expect("use my location");
    browser
        .wait_for("#using-location", ATTEMPTS)
        .await
        .expect("results from my location");
}

#[tokio::test]
async fn a_resident_finds_help_nearby_and_leaves_safely() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    let neutral = server.url("/healthz");
    browser.goto(&neutral).await.expect("neutral page loads");
    open_enhanced(&browser, &server.url("/support")).await;
    assert_eq!(
        browser.title().await.expect("title"),
        "Find support – Pathways"
    );
    search_near_me(&browser).await;
    let url = browser.current_url().await.expect("url");
    assert!(
        url.contains("lat=51.5012") && url.contains("within=3"),
        "{url}"
    );
    let results = browser
        .find_all(".pw-results li h3 a")
        .await
        .expect("results");
    assert!(!results.is_empty(), "a domestic abuse service is near");
    let distance = browser
        .find(".pw-results li .pw-distance")
        .await
        .expect("distance shown");
    assert!(
        browser
            .text(&distance)
            .await
            .expect("text")
            .ends_with("away")
    );
    let name = browser.text(&results[0]).await.expect("name");
    browser.click(&results[0]).await.expect("open the service");
    browser
        .wait_for("#how-to-get-help", ATTEMPTS)
        .await
        .expect("service page");
    assert_eq!(
        browser.title().await.expect("title"),
        "Service details – Pathways",
        "neutral title"
    );
    let h1 = browser.find("h1").await.expect("heading");
    assert_eq!(browser.text(&h1).await.expect("text"), name);

    let exit = browser
        .find(".pw-exit-this-page__button")
        .await
        .expect("exit button");
    browser.click(&exit).await.expect("exit");
    browser
        .wait_for_url(&server.url(exit_path()), ATTEMPTS)
        .await
        .expect("exit goes to the exit URL");
    browser.back().await.expect("back");
    // Every page of the visit replaced the one before, and exit replaced the last: Back
    // lands on the page before the visit, never on the service or the search.
    browser
        .wait_for_url(&neutral, ATTEMPTS)
        .await
        .expect("back does not return to the service");
}

#[tokio::test]
async fn public_pages_have_no_axe_violations() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/support")).await;
    search_near_me(&browser).await;
    let results_url = browser.current_url().await.expect("url");
    let first = browser.find(".pw-results li h3 a").await.expect("a result");
    let service_url = browser
        .attribute(&first, "href")
        .await
        .expect("href")
        .expect("a link");
    let service_url = if service_url.starts_with("http") {
        service_url
    } else {
        server.url(&service_url)
    };
    for url in [
        server.url("/"),
        server.url("/support"),
        results_url,
        service_url,
        server.url("/support/staying-safe-online"),
        server.url("/support?age=not-a-number"),
        server.url("/support/services/00000000-0000-4000-8000-000000000000"),
    ] {
        open_enhanced(&browser, &url).await;
        let violations = browser.run_axe().await.expect("axe runs");
        assert!(
            violations.is_empty(),
            "axe found on {url}:{}",
            describe(&violations)
        );
    }
}

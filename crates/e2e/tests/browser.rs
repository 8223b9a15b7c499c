//! Browser smoke tests in headless Chromium: GOV.UK styles really apply, the survivor-safe
//! "Exit this page" works by button and by three Shift presses, and axe finds no violations.

use std::path::PathBuf;

use pathways_e2e::{Browser, TestServer, Violation, keys};

/// Checks of a condition that the page's script or a navigation makes true.
const ATTEMPTS: u32 = 200;

/// The exit URL the tests configure: a neutral local page, so the tests need no internet.
fn exit_path() -> &'static str {
    "/healthz?exited"
}

async fn server() -> TestServer {
    TestServer::start(|base, web| web.exit_url = format!("{base}{}", exit_path()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn browser() -> Option<Browser> {
    // Display, not Debug: the error says what to install.
    Browser::launch()
        .await
        .unwrap_or_else(|e| panic!("headless Chromium did not start: {e}"))
}

/// Loads `url` and waits until the page's enhancement script has run.
async fn open_enhanced(browser: &Browser, url: &str) {
    browser.goto(url).await.expect("page loads");
    browser
        .wait_for("body.govuk-frontend-supported", ATTEMPTS)
        .await
        .expect("the page script marks the body as supported by GOV.UK Frontend");
}

fn describe(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("\n  {v}")).collect()
}

#[tokio::test]
async fn home_page_is_styled_by_govuk_frontend() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/")).await;
    assert_eq!(browser.title().await.expect("title"), "Home – Pathways");

    // Unstyled, the header would be transparent; GOV.UK Frontend paints it the brand
    // colour #1d70b8 (--govuk-brand-colour).
    assert_eq!(
        browser
            .computed_style(".govuk-header", "background-color")
            .await
            .expect("style"),
        "rgb(29, 112, 184)"
    );
    // .govuk-button is green #0f7a52; the start button inherits it.
    assert_eq!(
        browser
            .computed_style(".govuk-button--start", "background-color")
            .await
            .expect("style"),
        "rgb(15, 122, 82)"
    );
    // .govuk-button--warning is red #ca3535: the exit button must stand out.
    assert_eq!(
        browser
            .computed_style(".pw-exit-this-page__button", "background-color")
            .await
            .expect("style"),
        "rgb(202, 53, 53)"
    );
    // The build strips the GDS Transport font (reserved for GOV.UK), leaving Arial first;
    // an unstyled heading would be in the browser's default serif.
    assert_eq!(
        browser
            .computed_style("h1.govuk-heading-xl", "font-family")
            .await
            .expect("style"),
        "arial, sans-serif"
    );
    assert_eq!(
        browser
            .computed_style("h1.govuk-heading-xl", "font-weight")
            .await
            .expect("style"),
        "700"
    );
    // The rebranded template's page background #f4f8fb.
    assert_eq!(
        browser
            .computed_style("html", "background-color")
            .await
            .expect("style"),
        "rgb(244, 248, 251)"
    );

    let screenshot = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/screenshots/home.png"
    ));
    browser
        .screenshot_png(&screenshot)
        .await
        .expect("screenshot saved");
    let png = std::fs::read(&screenshot).expect("screenshot readable");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG");
    println!("home page screenshot: {}", screenshot.display());
}

#[tokio::test]
async fn skip_link_is_first_and_hidden_until_focused() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/")).await;
    let first = browser.find("body a").await.expect("the page has a link");
    assert_eq!(
        browser
            .attribute(&first, "class")
            .await
            .expect("class")
            .as_deref(),
        Some("govuk-skip-link")
    );
    assert_eq!(
        browser
            .attribute(&first, "href")
            .await
            .expect("href")
            .as_deref(),
        Some("#main-content")
    );
    browser
        .find("main#main-content")
        .await
        .expect("the skip link target exists");
    // Visually hidden until focused, then shown in the focus colour #fd0.
    assert_eq!(
        browser
            .computed_style(".govuk-skip-link", "position")
            .await
            .expect("style"),
        "absolute"
    );
    // The first Tab from the top of the page reaches it.
    browser.press_keys(&[keys::TAB]).await.expect("tab");
    let focused = browser
        .execute("return document.activeElement.className", vec![])
        .await
        .expect("script runs");
    assert_eq!(focused, serde_json::json!("govuk-skip-link"));
    assert_eq!(
        browser
            .computed_style(".govuk-skip-link", "position")
            .await
            .expect("style"),
        "static"
    );
    assert_eq!(
        browser
            .computed_style(".govuk-skip-link", "background-color")
            .await
            .expect("style"),
        "rgb(255, 221, 0)"
    );
    let link = browser.find(".govuk-skip-link").await.expect("skip link");
    assert_eq!(
        browser.text(&link).await.expect("text"),
        "Skip to main content"
    );
}

#[tokio::test]
async fn exit_button_leaves_and_back_skips_the_page() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    let neutral = server.url("/healthz");
    browser.goto(&neutral).await.expect("neutral page loads");
    open_enhanced(&browser, &server.url("/")).await;
    let exit = browser
        .find(".pw-exit-this-page__button")
        .await
        .expect("exit button");
    let label = browser.text(&exit).await.expect("text");
    assert!(
        label.ends_with("Exit this page"),
        "exit button says {label:?}"
    );
    browser.click(&exit).await.expect("click exit");
    browser
        .wait_for_url(&server.url(exit_path()), ATTEMPTS)
        .await
        .expect("exit goes to the exit URL");
    browser.back().await.expect("back");
    // The home page's history entry was replaced, so Back lands before it.
    browser
        .wait_for_url(&neutral, ATTEMPTS)
        .await
        .expect("back skips the page that was left");
}

#[tokio::test]
async fn three_shift_presses_leave_and_back_skips_the_page() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    let neutral = server.url("/healthz");
    browser.goto(&neutral).await.expect("neutral page loads");
    let home = server.url("/");
    open_enhanced(&browser, &home).await;
    // Two presses are not enough.
    browser
        .press_keys(&[keys::SHIFT, keys::SHIFT])
        .await
        .expect("keys");
    assert_eq!(browser.current_url().await.expect("url"), home);
    browser.press_keys(&[keys::SHIFT]).await.expect("keys");
    browser
        .wait_for_url(&server.url(exit_path()), ATTEMPTS)
        .await
        .expect("three Shift presses go to the exit URL");
    browser.back().await.expect("back");
    browser
        .wait_for_url(&neutral, ATTEMPTS)
        .await
        .expect("back skips the page that was left");
}

#[tokio::test]
async fn exit_blanks_the_page_before_leaving() {
    // Pointing the exit URL at a port nobody listens on makes the navigation fail, so
    // what the page did before leaving stays observable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let server = TestServer::start(|_, web| web.exit_url = format!("http://{closed}/"))
        .await
        .expect("the test server starts");
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/")).await;
    let blanked = browser
        .execute(
            "document.querySelector('.pw-exit-this-page__button').click();\
             return [document.title, document.body.innerHTML, document.body.style.background];",
            vec![],
        )
        .await
        .expect("script runs");
    assert_eq!(
        blanked,
        serde_json::json!(["Loading", "", "rgb(255, 255, 255)"])
    );
}

#[tokio::test]
async fn home_page_has_no_axe_violations() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    // The page forbids inline script, yet axe is injected: WebDriver scripts are exempt.
    let res = reqwest::get(server.url("/"))
        .await
        .expect("home page answers");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII header");
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    open_enhanced(&browser, &server.url("/")).await;
    let violations = browser.run_axe().await.expect("axe runs");
    assert!(
        violations.is_empty(),
        "axe found on /:{}",
        describe(&violations)
    );
}

#[tokio::test]
async fn not_found_page_has_no_axe_violations() {
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/no-such-page")).await;
    let heading = browser.find("h1").await.expect("heading");
    assert_eq!(
        browser.text(&heading).await.expect("text"),
        "Page not found"
    );
    let violations = browser.run_axe().await.expect("axe runs");
    assert!(
        violations.is_empty(),
        "axe found on the 404 page:{}",
        describe(&violations)
    );
}

#[tokio::test]
async fn axe_reports_a_real_violation() {
    // Proves the accessibility checks can fail: an image without alternative text.
    let server = server().await;
    let Some(browser) = browser().await else {
        return;
    };
    open_enhanced(&browser, &server.url("/")).await;
    browser
        .execute(
            "const img = document.createElement('img');\
             img.id = 'planted';\
             img.src = arguments[0];\
             document.querySelector('main').appendChild(img);",
            vec![serde_json::json!(server.url("/no-such-image.png"))],
        )
        .await
        .expect("script runs");
    let violations = browser.run_axe().await.expect("axe runs");
    let ids: Vec<&str> = violations.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["image-alt"], "{}", describe(&violations));
    assert_eq!(violations[0].nodes, ["#planted"]);
}

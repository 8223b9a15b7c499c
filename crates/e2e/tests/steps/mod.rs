//! Steps the staff journeys share: starting a seeded server beside a browser, and clicking,
//! typing and reading page elements once they are there. Each step panics with the CSS
//! selector it was given, so a failing journey says where it stopped.
#![allow(dead_code)] // each journey uses some of these

use pathways_e2e::{Browser, ElementId, TestServer};
use pathways_store::Store;

/// How many times a page element or URL is polled before a step gives up.
pub const ATTEMPTS: u32 = 200;

/// A server seeded by `seed` (its result is handed back) and a headless Chromium; `None`
/// when Chromium is not installed and not required, and the journey is skipped.
pub async fn start<T: Default>(
    seed: impl AsyncFnOnce(&Store) -> T,
) -> Option<(TestServer, Browser, T)> {
    let mut seeded = T::default();
    let server = TestServer::start_with(
        |_, _| {},
        async |store: &Store| {
            seeded = seed(store).await;
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::launch()
        .await
        .unwrap_or_else(|e| panic!("headless Chromium did not start: {e}"))?;
    Some((server, browser, seeded))
}

/// The element `css` selects, once the page has it.
pub async fn find(browser: &Browser, css: &str) -> ElementId {
    browser
        .wait_for(css, ATTEMPTS)
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

pub async fn click(browser: &Browser, css: &str) {
    let el = find(browser, css).await;
    browser
        .click(&el)
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

pub async fn type_into(browser: &Browser, css: &str, text: &str) {
    let el = find(browser, css).await;
    browser
        .send_keys(&el, text)
        .await
        .unwrap_or_else(|e| panic!("type {css}: {e}"));
}

/// Replaces what a text field holds, as a person selecting its text and typing over it.
pub async fn retype(browser: &Browser, css: &str, text: &str) {
    find(browser, css).await;
    browser
        .execute(
            "document.querySelector(arguments[0]).value = '';",
            vec![css.into()],
        )
        .await
        .unwrap_or_else(|e| panic!("clear {css}: {e}"));
    type_into(browser, css, text).await;
}

/// The visible text of `css`.
pub async fn text_of(browser: &Browser, css: &str) -> String {
    let el = find(browser, css).await;
    browser
        .text(&el)
        .await
        .unwrap_or_else(|e| panic!("text of {css}: {e}"))
}

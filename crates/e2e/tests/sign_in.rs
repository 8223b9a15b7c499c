//! Signing in through the real form in headless Chromium: the browser sends `Origin: null`
//! on form posts from our `no-referrer` pages, and the CSRF check must still let a
//! same-origin sign-in through, then sign out again.

use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_e2e::{Browser, TestServer};
use pathways_store::{NewUser, Store};

const PASSWORD: &str = "correct horse battery staple 42";

async fn seed(store: &Store) {
    let agency = pathways_store::testing::create_agency(
        store,
        "Riverside Community Safety",
        AgencyKind::CouncilTeam,
    )
    .await
    .expect("agency");
    pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.id,
            email: "lena@example.org".into(),
            display_name: "Lena Kowalski".into(),
            roles: RoleSet::new(vec![Role::Analyst]),
            password_hash: Some(pathways_app::crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user");
}

#[tokio::test]
async fn staff_sign_in_and_out_through_the_form() {
    let server = TestServer::start_with(|_, _| {}, seed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(browser) = Browser::launch().await.unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    browser
        .sign_in(&server, "lena@example.org", PASSWORD, None)
        .await
        .expect("signed in: the dashboard is shown");
    let heading = browser.wait_for("h1", 100).await.expect("heading");
    assert_eq!(
        browser.text(&heading).await.expect("text"),
        "Hello, Lena Kowalski"
    );
    browser
        .sign_out(&server)
        .await
        .expect("back at the sign-in page");
    browser
        .goto(&server.url("/dashboard"))
        .await
        .expect("dashboard");
    browser
        .wait_for_url(&server.url("/login"), 200)
        .await
        .expect("signed out: the dashboard sends us to sign in");
}

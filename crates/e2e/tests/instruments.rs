//! The council changes its youth violence screening in headless Chromium: an administrator
//! signs in with a password and an authenticator code, opens the screening's edit form,
//! changes an indicator's weight, is told to add a change note when they leave it out (and
//! nothing is published), then publishes version 2 and sees it beside version 1.

use pathways_domain::{AgencyKind, Role, RoleSet};
mod steps;

use pathways_store::{NewUser, Store};
use steps::{ATTEMPTS, click, find, retype, text_of};

const PASSWORD: &str = "screening review 2026";
const SAM_TOTP: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const KEY: &str = "yv-screening";

/// The administrator's user id.
async fn seed(store: &Store) -> String {
    let council = pathways_store::testing::create_agency(
        store,
        "Riverside Community Safety",
        AgencyKind::CouncilTeam,
    )
    .await
    .expect("agency");
    let sam = pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: council.id,
            email: "sam@example.org".into(),
            display_name: "Sam Whitfield".into(),
            roles: RoleSet::new(vec![Role::Administrator]),
            password_hash: Some(
                pathways_app::crypto::hash_password(PASSWORD).expect("password hash"),
            ),
        },
    )
    .await
    .expect("user");
    pathways_store::testing::enrol_totp(store, &sam.id, SAM_TOTP, &[])
        .await
        .expect("enrolled in two-factor");
    sam.id
}

#[tokio::test]
async fn an_administrator_publishes_a_new_screening_version() {
    let Some((server, browser, sam)) = steps::start(seed).await else {
        return;
    };
    browser
        .sign_in(&server, "sam@example.org", PASSWORD, Some(SAM_TOTP))
        .await
        .expect("Sam signs in with his password and security code");

    browser
        .goto(&server.url(&format!("/admin/instruments/{KEY}")))
        .await
        .expect("instrument page");
    click(&browser, "#change").await;
    let first = find(&browser, "input[id^='weight-']").await;
    let field_id = browser
        .attribute(&first, "id")
        .await
        .expect("attribute")
        .expect("the weight field has an id");
    let indicator = field_id.trim_start_matches("weight-").to_string();
    let before = browser
        .attribute(&first, "value")
        .await
        .expect("attribute")
        .expect("the weight field has a value");
    let weight = if before == "7" { "8" } else { "7" };
    retype(&browser, &format!("#{field_id}"), weight).await;

    // Without a change note the form comes back with the reason beside the field.
    click(&browser, "#publish").await;
    let error = text_of(&browser, "#note-error").await;
    assert!(error.contains("change note"), "{error}");
    assert!(
        server
            .store()
            .instrument_versions(KEY)
            .await
            .expect("versions")
            .iter()
            .all(|v| v.version < 2),
        "nothing is published while the form has errors"
    );

    retype(&browser, &format!("#{field_id}"), weight).await;
    retype(
        &browser,
        "#note",
        "Exploitation indicators weigh more after the 2026 review",
    )
    .await;
    click(&browser, "#publish").await;
    browser
        .wait_for_url(
            &server.url(&format!(
                "/admin/instruments/{KEY}?done=instrument-published"
            )),
            ATTEMPTS,
        )
        .await
        .expect("back on the instrument page");
    let v2 = text_of(&browser, "#version-2").await;
    assert!(v2.contains("Current"), "{v2}");
    assert!(v2.contains("after the 2026 review"), "{v2}");
    assert_eq!(
        text_of(&browser, &format!("#weight-2-{indicator}")).await,
        weight
    );
    // Earlier versions' indicators are folded away; open version 1's.
    click(&browser, "#version-1 summary").await;
    assert_eq!(
        text_of(&browser, &format!("#weight-1-{indicator}")).await,
        before,
        "version 1 keeps its weight"
    );

    let stored = server
        .store()
        .instrument_version(KEY, 2)
        .await
        .expect("read")
        .expect("version 2 is stored");
    assert_eq!(stored.published_by, sam);
    let definition: serde_json::Value =
        serde_json::from_str(&stored.definition).expect("definition is JSON");
    let stored_weight = definition["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .find(|q| q["id"] == indicator.as_str())
        .map(|q| q["weight"].clone());
    assert_eq!(
        stored_weight,
        Some(serde_json::json!(weight.parse::<i64>().expect("number")))
    );
    let audited = server.store().recent_audit(20).await.expect("audit");
    assert!(
        audited
            .iter()
            .any(|e| e.event.action == "instrument_published"
                && e.event.actor_id == sam
                && e.event.record_id == KEY),
        "the publication is audited"
    );
    browser.quit().await.expect("browser quits");
}

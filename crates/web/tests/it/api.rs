//! API tokens: created by an administrator (secret shown once), used with last-used time
//! recorded, refused outside their scopes, and refused once revoked.

use pathways_domain::Role;

use crate::support::{App, element_text, get, location, post_form};

async fn create_token(
    app: &App,
    client: &reqwest::Client,
    csrf: &str,
    name: &str,
    scope: &str,
) -> String {
    let agency = app.agency().await;
    let res = post_form(
        app,
        client,
        "/admin/tokens",
        csrf,
        &[("name", name), ("agency", &agency), ("scope", scope)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let secret = element_text(&res.text().await.expect("body"), "secret");
    assert!(secret.starts_with("pw_"), "{secret}");
    secret
}

#[tokio::test]
async fn tokens_are_shown_once_scoped_tracked_and_revocable() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let invalid = post_form(
        &app,
        &client,
        "/admin/tokens",
        &csrf,
        &[("name", "No scopes"), ("agency", &app.agency().await)],
    )
    .await;
    assert_eq!(invalid.status(), 422);
    assert!(
        invalid
            .text()
            .await
            .expect("body")
            .contains("Choose at least one permission")
    );

    let admin_secret = create_token(&app, &client, &csrf, "Directory sync", "administer").await;
    let referral_secret =
        create_token(&app, &client, &csrf, "Referral feed", "make_referral").await;
    let list = get(&app, &client, "/admin/tokens")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !list.contains(&admin_secret),
        "the secret is never shown again"
    );
    assert!(list.contains("Directory sync") && list.contains("Never"));

    let api = reqwest::Client::new();
    let res = api
        .get(app.url("/api/v1/agencies"))
        .bearer_auth(&admin_secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.expect("json");
    assert_eq!(json["agencies"][0]["name"], "Riverside Council");
    let tokens = app.store().list_api_tokens().await.expect("tokens");
    let used = tokens
        .iter()
        .find(|t| t.name == "Directory sync")
        .expect("token");
    assert!(used.last_used_at.is_some(), "last use recorded");
    assert!(
        tokens
            .iter()
            .find(|t| t.name == "Referral feed")
            .expect("token")
            .last_used_at
            .is_none()
    );

    let out_of_scope = api
        .get(app.url("/api/v1/agencies"))
        .bearer_auth(&referral_secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(out_of_scope.status(), 403);
    let body: serde_json::Value = out_of_scope.json().await.expect("json");
    assert_eq!(body["error"]["code"], "forbidden");

    let res = post_form(
        &app,
        &client,
        &format!("/admin/tokens/{}/revoke", used.id),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(location(&res), "/admin/tokens?done=token-revoked");
    let revoked = api
        .get(app.url("/api/v1/agencies"))
        .bearer_auth(&admin_secret)
        .send()
        .await
        .expect("GET");
    assert_eq!(revoked.status(), 401);
    let unknown = api
        .get(app.url("/api/v1/agencies"))
        .bearer_auth("pw_made_up")
        .send()
        .await
        .expect("GET");
    assert_eq!(unknown.status(), 401);
    assert_eq!(app.audited("api_token_refused").await, 2);
    assert_eq!(app.audited("token_created").await, 2);
    assert_eq!(app.audited("token_revoked").await, 1);
    // Revoking twice is a clear 404, not a silent success.
    let again = post_form(
        &app,
        &client,
        &format!("/admin/tokens/{}/revoke", used.id),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(again.status(), 404);
}

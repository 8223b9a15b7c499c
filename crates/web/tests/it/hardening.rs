//! The smaller findings of the security review, each pinned: a bearer header does not switch
//! off CSRF checks for a cookie-authenticated request; the Origin check compares the scheme;
//! `/metrics` is not public; one-time links are not kept readable in the outbox; archiving
//! an agency signs out its users and revokes its tokens.

use pathways_domain::{Permission, Role};

use crate::support::{App, PASSWORD, get, post_form, sign_in};

#[tokio::test]
async fn a_bogus_bearer_header_does_not_switch_off_csrf_for_a_cookie_session() {
    let app = App::start().await;
    let user = app
        .user("amara@example.org", "Amara Okafor", &[Role::Analyst])
        .await;
    let (client, csrf, _) = app.session(&user).await;
    // A forged form post: the session cookie rides along, the token does not, and an
    // `Authorization` header claims a bearer token that is no token at all.
    let res = client
        .post(app.url("/logout"))
        .bearer_auth("anything")
        .form(&[("x", "1")])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 403);
    assert_eq!(
        get(&app, &client, "/dashboard").await.status(),
        200,
        "still signed in: the forged sign-out did not happen"
    );
    // The real form still works.
    let res = post_form(&app, &client, "/logout", &csrf, &[]).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn the_origin_check_compares_the_scheme() {
    let app = App::start().await;
    let user = app
        .user("amara@example.org", "Amara Okafor", &[Role::Analyst])
        .await;
    let (client, csrf, _) = app.session(&user).await;
    let host = app.base.trim_start_matches("http://").to_string();
    // The service is reached over http here; a page on https://same-host is another origin.
    let res = client
        .post(app.url("/logout"))
        .header("origin", format!("https://{host}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 403);
    let res = client
        .post(app.url("/logout"))
        .header("origin", format!("http://{host}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn metrics_are_served_to_allowed_addresses_or_the_token_only() {
    // Behind a trusted proxy (loopback here), the client is who the proxy says.
    let app = App::start_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().expect("range")];
        s.metrics_token = Some("metrics-scraper-secret-0123456789".into());
    })
    .await;
    let http = reqwest::Client::new();
    let from = |ip: &str| {
        http.get(app.url("/metrics"))
            .header("x-forwarded-for", ip.to_string())
    };
    assert_eq!(from("203.0.113.9").send().await.expect("GET").status(), 404);
    assert_eq!(
        from("203.0.113.9")
            .bearer_auth("wrong")
            .send()
            .await
            .expect("GET")
            .status(),
        404
    );
    let res = from("203.0.113.9")
        .bearer_auth("metrics-scraper-secret-0123456789")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("pathways_http_requests_total")
    );
    // The machine itself is allowed by default.
    assert_eq!(from("127.0.0.1").send().await.expect("GET").status(), 200);
}

#[tokio::test]
async fn one_time_links_are_withheld_from_the_outbox_and_cleared_once_sent() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let agency = app.agency().await;
    let (client, csrf, _) = app.session(&admin).await;
    let res = post_form(
        &app,
        &client,
        "/admin/users",
        &csrf,
        &[
            ("agency", &agency),
            ("email", "sam@example.org"),
            ("name", "Sam Analyst"),
            ("role", "analyst"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("body");
    let link = crate::support::element_text(&page, "link");
    let token = link.rsplit('/').next().expect("token").to_string();
    let stored = app
        .store()
        .recent_outbox(1)
        .await
        .expect("outbox")
        .remove(0);
    assert!(!stored.body.contains(&token), "{}", stored.body);
    assert!(
        stored.body_to_send().contains(&link),
        "the e-mail carries it"
    );
    // Sent: the secret is gone from the database for good.
    let claimed = app
        .store()
        .claim_due("sender", pathways_store::now_unix() + 1, 60)
        .await
        .expect("claim")
        .expect("a message");
    assert!(
        app.store()
            .mark_sent(&claimed.id, "sender")
            .await
            .expect("sent")
    );
    let stored = app
        .store()
        .recent_outbox(1)
        .await
        .expect("outbox")
        .remove(0);
    assert_eq!(stored.secret, None);
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE body LIKE $1 OR secret LIKE $1",
    )
    .bind(format!("%{token}%"))
    .fetch_one(app.store().pool())
    .await
    .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn archiving_an_agency_signs_out_its_users_and_revokes_its_tokens() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let other = pathways_store::testing::create_agency(
        app.store(),
        "Riverside Academy",
        pathways_domain::AgencyKind::School,
    )
    .await
    .expect("agency");
    let teacher = pathways_store::testing::create_user(
        app.store(),
        &pathways_store::NewUser {
            agency_id: other.id.clone(),
            email: "head@academy.example".into(),
            display_name: "Ms Priya Shah".into(),
            roles: pathways_domain::RoleSet::new(vec![Role::PartnerReferrer]),
            password_hash: Some(pathways_app::crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user");
    let (teacher_client, _, _) = app.session(&teacher).await;
    assert_eq!(get(&app, &teacher_client, "/dashboard").await.status(), 200);
    let secret = "pw_academy_feed_secret";
    pathways_store::testing::create_api_token(
        app.store(),
        "Academy feed",
        &pathways_app::crypto::digest(secret),
        &other.id,
        &[Permission::MakeReferral.key().into()],
        &teacher.id,
    )
    .await
    .expect("token");
    let api = reqwest::Client::new();
    let status_with_token = || async {
        api.get(app.url("/api/v1/referrals/RF-0000-0000"))
            .bearer_auth(secret)
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16()
    };
    assert_eq!(status_with_token().await, 404, "the token works");

    let (client, csrf, _) = app.session(&admin).await;
    let res = post_form(
        &app,
        &client,
        &format!("/admin/agencies/{}/archive", other.id),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        get(&app, &teacher_client, "/dashboard").await.status(),
        303,
        "signed out"
    );
    assert_eq!(status_with_token().await, 401, "the token is revoked");
    let (fresh, _) = app.client();
    let res = sign_in(&app, &fresh, "head@academy.example", PASSWORD).await;
    assert_eq!(res.status(), 200, "no new sign-in for an archived agency");
    // The archive and what it ended are one audited change.
    assert_eq!(app.audited("agency_archived").await, 1);
}

#[tokio::test]
async fn a_very_long_search_is_answered_without_a_server_error() {
    let app = App::start().await;
    let user = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let (client, _, _) = app.session(&user).await;
    let q = "ab".repeat(25_000);
    for path in [
        format!("/cases?q={q}"),
        format!("/api/v1/cases?q={q}"),
        format!("/cases?view=search&q={q}"),
    ] {
        let status = get(&app, &client, &path).await.status();
        assert!(
            status.is_success() || status.is_client_error(),
            "{} answered {status}",
            &path[..20]
        );
    }
}

//! Signing in and out: password, TOTP enrolment and codes, recovery codes, identical
//! refusals, lock-out and throttling, session rotation and time-outs, cookie flags,
//! one-time links and the cross-site request forgery check.

use pathways_app::crypto;
use pathways_domain::Role;
use pathways_store::now_unix;

use crate::support::{
    App, PASSWORD, cookie_value, get, hidden, location, post_form, set_cookie, sign_in,
};

#[tokio::test]
async fn password_then_totp_enrolment_then_dashboard() {
    let app = App::start().await;
    app.user("pat@example.org", "Pat Worker", &[Role::Practitioner])
        .await;
    let (client, _) = app.client();
    let res = sign_in(&app, &client, "pat@example.org", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/two-factor");
    let after_password = cookie_value(&set_cookie(&res, "pw_session").expect("session cookie"));
    // Not yet signed in: the dashboard sends the user back to enrolment.
    let res = get(&app, &client, "/dashboard").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/two-factor");
    let page = get(&app, &client, "/account/two-factor")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("<svg"),
        "the QR code is rendered by the server"
    );
    let secret = hidden(&page, "secret");
    let csrf = hidden(&page, "csrf");
    let wrong = post_form(
        &app,
        &client,
        "/account/two-factor",
        &csrf,
        &[("secret", &secret), ("code", "000000")],
    )
    .await;
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("The code is not right")
    );
    let code = crypto::totp_code(&secret, now_unix()).expect("code");
    let res = post_form(
        &app,
        &client,
        "/account/two-factor",
        &csrf,
        &[("secret", &secret), ("code", &code)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let after_enrolment = cookie_value(&set_cookie(&res, "pw_session").expect("rotated cookie"));
    assert_ne!(
        after_password, after_enrolment,
        "the session id changes when sign-in completes"
    );
    let codes = res.text().await.expect("body");
    assert!(
        codes.matches('-').count() >= 10,
        "ten recovery codes are shown"
    );
    let dash = get(&app, &client, "/dashboard").await;
    assert_eq!(dash.status(), 200);
    assert!(
        dash.text()
            .await
            .expect("body")
            .contains("Hello, Pat Worker")
    );
    let user = app
        .store()
        .user_by_email("pat@example.org")
        .await
        .expect("q")
        .expect("user");
    assert!(user.totp_enabled);
    assert_eq!(app.audited("second_factor_enrolled").await, 1);
}

#[tokio::test]
async fn totp_code_and_single_use_recovery_code() {
    let app = App::start().await;
    let user = app
        .user("mo@example.org", "Mo Manager", &[Role::Manager])
        .await;
    let secret = crypto::new_totp_secret();
    let codes = crypto::recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| crypto::digest(c)).collect();
    pathways_store::testing::enrol_totp(app.store(), &user.id, &secret, &digests)
        .await
        .expect("totp and codes");

    // A TOTP code works.
    let (client, _) = app.client();
    let res = sign_in(&app, &client, "mo@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/login/two-factor");
    let csrf = hidden(
        &get(&app, &client, "/login/two-factor")
            .await
            .text()
            .await
            .expect("body"),
        "csrf",
    );
    let code = crypto::totp_code(&secret, now_unix()).expect("code");
    let res = post_form(
        &app,
        &client,
        "/login/two-factor",
        &csrf,
        &[("code", &code)],
    )
    .await;
    assert_eq!(location(&res), "/dashboard");

    // A recovery code works once.
    for attempt in 0..2 {
        let (client, _) = app.client();
        sign_in(&app, &client, "mo@example.org", PASSWORD).await;
        let csrf = hidden(
            &get(&app, &client, "/login/two-factor")
                .await
                .text()
                .await
                .expect("body"),
            "csrf",
        );
        let res = post_form(
            &app,
            &client,
            "/login/two-factor",
            &csrf,
            &[("code", &codes[3])],
        )
        .await;
        if attempt == 0 {
            assert_eq!(res.status(), 303);
            assert_eq!(location(&res), "/dashboard");
            assert_eq!(get(&app, &client, "/dashboard").await.status(), 200);
        } else {
            assert_eq!(res.status(), 200);
            assert!(
                res.text()
                    .await
                    .expect("body")
                    .contains("The code is not right")
            );
            assert_eq!(get(&app, &client, "/dashboard").await.status(), 303);
        }
    }
    let audit = app.audit().await;
    let second: Vec<&str> = audit
        .iter()
        .filter(|(a, _, _)| a == "login_second_factor")
        .map(|(_, _, o)| o.as_str())
        .collect();
    assert_eq!(second, ["allowed", "allowed", "denied"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer_and_are_audited() {
    let app = App::start().await;
    let user = app
        .user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _) = app.client();
    let wrong = sign_in(&app, &client, "ana@example.org", "not the password").await;
    let unknown = sign_in(&app, &client, "nobody@example.org", "not the password").await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.status(), 200);
    let a = wrong
        .text()
        .await
        .expect("body")
        .replace("ana@example.org", "EMAIL");
    let b = unknown
        .text()
        .await
        .expect("body")
        .replace("nobody@example.org", "EMAIL");
    assert_eq!(a, b, "the pages must not tell whether the account exists");
    assert!(a.contains("Enter a correct e-mail address and password"));
    let failed: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "login_failed")
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(failed, [user.id, String::new()]);
}

#[tokio::test]
async fn account_locks_after_five_failures() {
    let app = App::start().await;
    app.user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    for _ in 0..5 {
        let (client, _) = app.client();
        assert_eq!(
            sign_in(&app, &client, "ana@example.org", "wrong password")
                .await
                .status(),
            200
        );
    }
    let (client, _) = app.client();
    let res = sign_in(&app, &client, "ana@example.org", PASSWORD).await;
    assert_eq!(
        res.status(),
        429,
        "even the right password is refused during the lock-out"
    );
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Too many failed attempts")
    );
    assert_eq!(app.audited("login_throttled").await, 1);
    // The same lock-out page for an address without an account after its own 5 failures.
    for _ in 0..5 {
        let (client, _) = app.client();
        sign_in(&app, &client, "ghost@example.org", "wrong password").await;
    }
    let (client, _) = app.client();
    assert_eq!(
        sign_in(&app, &client, "ghost@example.org", "x")
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn client_address_is_throttled_across_accounts() {
    let app = App::start().await;
    app.user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _) = app.client();
    for i in 0..CLIENT_LIMIT {
        let res = sign_in(&app, &client, &format!("guess{i}@example.org"), "wrong").await;
        assert_eq!(res.status(), 200);
    }
    let res = sign_in(&app, &client, "ana@example.org", PASSWORD).await;
    assert_eq!(res.status(), 429);
}

/// Failed sign-ins allowed per client address in the window (the sign-in module's limit).
const CLIENT_LIMIT: i64 = 20;

#[tokio::test]
async fn logout_ends_the_session() {
    let app = App::start().await;
    app.user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _) = app.client();
    let res = sign_in(&app, &client, "ana@example.org", PASSWORD).await;
    assert_eq!(location(&res), "/dashboard");
    let raw = cookie_value(&set_cookie(&res, "pw_session").expect("cookie"));
    let dash = get(&app, &client, "/dashboard")
        .await
        .text()
        .await
        .expect("body");
    let csrf = hidden(&dash, "csrf");
    let res = post_form(&app, &client, "/logout", &csrf, &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        set_cookie(&res, "pw_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    // Replaying the old cookie by hand gets nowhere.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = replay
        .get(app.url("/dashboard"))
        .header("cookie", format!("pw_session={raw}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert_eq!(app.audited("logout").await, 1);
}

#[tokio::test]
async fn session_id_is_new_at_sign_in_and_planted_ids_are_worthless() {
    let app = App::start().await;
    app.user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let planted = crypto::random_token();
    let (client, jar) = app.client();
    jar.add_cookie_str(
        &format!("pw_session={planted}; Path=/"),
        &app.base.parse().expect("url"),
    );
    let res = sign_in(&app, &client, "ana@example.org", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let issued = cookie_value(&set_cookie(&res, "pw_session").expect("cookie"));
    assert_ne!(issued, planted);
    let pre = get(&app, &client, "/dashboard").await;
    assert_eq!(pre.status(), 200);
    // The planted id, and the pre-sign-in cookie, do not open the dashboard.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for cookie in [
        format!("pw_session={planted}"),
        "pw_pre=whatever".to_string(),
    ] {
        let res = other
            .get(app.url("/dashboard"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("GET");
        assert_eq!(location(&res), "/login");
    }
    // Signing in again gives yet another id.
    let (client2, _) = app.client();
    let again = sign_in(&app, &client2, "ana@example.org", PASSWORD).await;
    assert_ne!(
        cookie_value(&set_cookie(&again, "pw_session").expect("cookie")),
        issued
    );
}

#[tokio::test]
async fn idle_and_absolute_time_outs_end_sessions() {
    let app = App::start_with(|s| {
        s.session_idle_secs = 600;
        s.session_absolute_secs = 3600;
    })
    .await;
    let user = app
        .user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _, _) = app.session(&user).await;
    assert_eq!(get(&app, &client, "/dashboard").await.status(), 200);
    app.sql("UPDATE sessions SET last_seen_at = last_seen_at - 601")
        .await;
    let res = get(&app, &client, "/dashboard").await;
    assert_eq!(location(&res), "/login", "idle time-out");

    let (client, _, _) = app.session(&user).await;
    // Active a minute ago, but signed in longer ago than the absolute limit.
    app.sql("UPDATE sessions SET created_at = created_at - 3601, last_seen_at = last_seen_at - 60")
        .await;
    let res = get(&app, &client, "/dashboard").await;
    assert_eq!(location(&res), "/login", "absolute time-out");
    let left: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM sessions")
        .fetch_one(app.store().pool())
        .await
        .expect("count");
    assert_eq!(left, 0, "expired sessions are deleted");
}

#[tokio::test]
async fn cookies_are_http_only_strict_and_secure_behind_tls() {
    let app = App::start().await;
    app.user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _) = app.client();
    let res = sign_in(&app, &client, "ana@example.org", PASSWORD).await;
    let cookie = set_cookie(&res, "pw_session").expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "session-only: {cookie}"
    );

    let tls = App::start_with(|s| s.public_url = "https://pathways.example".into()).await;
    let (client, _) = tls.client();
    let pre = get(&tls, &client, "/login").await;
    let pre_cookie = set_cookie(&pre, "pw_pre").expect("pre cookie");
    assert!(
        pre_cookie.contains("; Secure")
            && pre_cookie.contains("HttpOnly")
            && pre_cookie.contains("SameSite=Strict")
    );
    assert!(pre.headers().get("strict-transport-security").is_some());
}

#[tokio::test]
async fn used_and_expired_links_are_refused_and_audited() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let agency = app.agency().await;
    let uc = pathways_app::App::new(app.store().clone(), pathways_app::Settings::default());
    let caller = pathways_app::Caller::staff(
        &admin.id,
        &agency,
        admin.roles.clone(),
        &admin.display_name,
        "test",
    );
    let input = pathways_app::identity::InviteInput {
        agency_id: agency.clone(),
        email: "new@example.org".into(),
        name: "New Person".into(),
        roles: vec!["analyst".into()],
    };
    let (_, link) = pathways_app::identity::invite(&uc, &caller, &app.base, &input)
        .await
        .expect("invite");
    let path = link
        .strip_prefix(&app.base)
        .expect("link on this site")
        .to_string();
    let (client, _) = app.client();
    let form = get(&app, &client, &path).await;
    assert_eq!(form.status(), 200);
    let csrf = hidden(&form.text().await.expect("body"), "csrf");
    let new_password = "a long new password 99";
    let res = post_form(
        &app,
        &client,
        &path,
        &csrf,
        &[("password", new_password), ("confirm", new_password)],
    )
    .await;
    assert_eq!(location(&res), "/login?password-set");
    // Used once: refused, with a clear message.
    let again = post_form(
        &app,
        &client,
        &path,
        &csrf,
        &[("password", new_password), ("confirm", new_password)],
    )
    .await;
    assert_eq!(again.status(), 410);
    assert!(
        again
            .text()
            .await
            .expect("body")
            .contains("This link has expired or has already been used")
    );
    assert_eq!(get(&app, &client, &path).await.status(), 410);

    // Expired: a reset link aged past its lifetime.
    let user = app
        .store()
        .user_by_email("new@example.org")
        .await
        .expect("q")
        .expect("user");
    let (purpose, reset) = pathways_app::identity::send_link(&uc, &caller, &app.base, &user.id)
        .await
        .expect("link");
    assert_eq!(purpose, pathways_store::LinkPurpose::Reset);
    app.sql(&format!(
        "UPDATE one_time_links SET expires_at = {} WHERE purpose = 'reset'",
        now_unix() - 1
    ))
    .await;
    let path = reset
        .strip_prefix(&app.base)
        .expect("link on this site")
        .to_string();
    assert_eq!(get(&app, &client, &path).await.status(), 410);
    let res = post_form(
        &app,
        &client,
        &path,
        &csrf,
        &[
            ("password", "another long password 7"),
            ("confirm", "another long password 7"),
        ],
    )
    .await;
    assert_eq!(res.status(), 410);
    assert_eq!(app.audited("link_refused").await, 2);
    // The expired link did not change the password.
    let (c, _) = app.client();
    assert_eq!(
        location(&sign_in(&app, &c, "new@example.org", new_password).await),
        "/dashboard"
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_audited() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let body = [
        ("csrf", csrf.as_str()),
        ("name", "Evil Agency"),
        ("kind", "school"),
    ];
    let foreign_origin = client
        .post(app.url("/admin/agencies"))
        .header("origin", "https://evil.example")
        .form(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(foreign_origin.status(), 403);
    let fetch_site = client
        .post(app.url("/admin/agencies"))
        .header("sec-fetch-site", "cross-site")
        .form(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(fetch_site.status(), 403);
    let no_token = client
        .post(app.url("/admin/agencies"))
        .form(&[("name", "Evil Agency"), ("kind", "school")])
        .send()
        .await
        .expect("POST");
    assert_eq!(no_token.status(), 403);
    assert!(
        no_token
            .text()
            .await
            .expect("body")
            .contains("did not come from this site")
    );
    assert_eq!(app.audited("csrf_refused").await, 3);
    assert!(
        app.store()
            .agency_by_name("Evil Agency")
            .await
            .expect("q")
            .is_none()
    );
    // The same form from our own page goes through.
    let ok = client
        .post(app.url("/admin/agencies"))
        .form(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(ok.status(), 303);
    assert!(
        app.store()
            .agency_by_name("Evil Agency")
            .await
            .expect("q")
            .is_some()
    );
}

#[tokio::test]
async fn a_signed_in_user_must_give_their_password_to_replace_the_second_factor() {
    let app = App::start().await;
    let user = app
        .user("kim@example.org", "Kim Worker", &[Role::Practitioner])
        .await;
    let old = crypto::new_totp_secret();
    pathways_store::testing::enrol_totp(app.store(), &user.id, &old, &[])
        .await
        .expect("enrolled");
    // Someone holding Kim's signed-in session tries to move the factor to their own phone.
    let (client, csrf, _) = app.session(&user).await;
    let page = get(&app, &client, "/account/two-factor")
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Your password"), "the form asks for it");
    let theirs = crypto::new_totp_secret();
    let code = crypto::totp_code(&theirs, now_unix()).expect("code");
    for password in ["", "not the password"] {
        let res = post_form(
            &app,
            &client,
            "/account/two-factor",
            &csrf,
            &[("secret", &theirs), ("code", &code), ("password", password)],
        )
        .await;
        assert_eq!(res.status(), 422);
        assert!(
            res.text()
                .await
                .expect("body")
                .contains("Your password is not right")
        );
    }
    assert_eq!(
        app.store().totp_secret(&user.id).await.expect("q"),
        Some(old.clone()),
        "the factor is unchanged"
    );
    assert_eq!(app.audited("second_factor_change_refused").await, 2);
    // Kim, with her password, replaces it.
    let res = post_form(
        &app,
        &client,
        "/account/two-factor",
        &csrf,
        &[("secret", &theirs), ("code", &code), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.store().totp_secret(&user.id).await.expect("q"),
        Some(theirs)
    );
    assert_eq!(app.audited("second_factor_enrolled").await, 1);
}

#[tokio::test]
async fn an_accepted_totp_code_cannot_be_used_again() {
    let app = App::start().await;
    let user = app
        .user("tam@example.org", "Tam Manager", &[Role::Manager])
        .await;
    let secret = crypto::new_totp_secret();
    pathways_store::testing::enrol_totp(app.store(), &user.id, &secret, &[])
        .await
        .expect("totp");
    let code = crypto::totp_code(&secret, now_unix()).expect("code");
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        // Someone who saw the code (over a shoulder, from a phishing page) replays it
        // while it is still inside its window.
        let (client, _) = app.client();
        sign_in(&app, &client, "tam@example.org", PASSWORD).await;
        let csrf = hidden(
            &get(&app, &client, "/login/two-factor")
                .await
                .text()
                .await
                .expect("body"),
            "csrf",
        );
        let res = post_form(
            &app,
            &client,
            "/login/two-factor",
            &csrf,
            &[("code", &code)],
        )
        .await;
        outcomes.push((res.status().as_u16(), location(&res)));
        outcomes.push((
            get(&app, &client, "/dashboard").await.status().as_u16(),
            String::new(),
        ));
    }
    assert_eq!(
        outcomes,
        [
            (303, "/dashboard".to_string()),
            (200, String::new()),
            (200, String::new()),
            (303, String::new()),
        ]
    );
    let audit = app.audit().await;
    let second: Vec<&str> = audit
        .iter()
        .filter(|(a, _, _)| a == "login_second_factor")
        .map(|(_, _, o)| o.as_str())
        .collect();
    assert_eq!(second, ["allowed", "denied"]);
}

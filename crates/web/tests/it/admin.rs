//! The administration pages as an administrator uses them: agencies, invitations through
//! the outbox, roles, disabling, reset links, second factors, the audit log and its
//! verification, and a record's access log for managers.

use pathways_domain::Role;

use crate::support::{App, PASSWORD, element_text, get, hidden, location, post_form, sign_in};

#[tokio::test]
async fn agencies_are_created_validated_archived_and_restored() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let res = post_form(
        &app,
        &client,
        "/admin/agencies",
        &csrf,
        &[("name", "Northside School"), ("kind", "school")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/agencies?done=agency-created");
    let page = get(&app, &client, "/admin/agencies?done=agency-created")
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Northside School") && page.contains("Agency created."));

    for (fields, message) in [
        (vec![("name", ""), ("kind", "school")], "Enter the agency"),
        (
            vec![("name", "Elsewhere"), ("kind", "castle")],
            "Choose what kind of organisation",
        ),
        (
            vec![("name", "Northside School"), ("kind", "school")],
            "already exists",
        ),
    ] {
        let res = post_form(&app, &client, "/admin/agencies", &csrf, &fields).await;
        assert_eq!(res.status(), 422);
        let body = res.text().await.expect("body");
        assert!(body.contains("govuk-error-summary"), "error summary shown");
        assert!(body.contains(message), "{message} in {body}");
    }
    let agency = app
        .store()
        .agency_by_name("Northside School")
        .await
        .expect("q")
        .expect("agency");
    let res = post_form(
        &app,
        &client,
        &format!("/admin/agencies/{}/archive", agency.id),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        app.store()
            .agency(&agency.id)
            .await
            .expect("agency")
            .archived_at
            .is_some()
    );
    // No invitations into an archived agency.
    let res = post_form(
        &app,
        &client,
        "/admin/users",
        &csrf,
        &[
            ("agency", &agency.id),
            ("email", "x@example.org"),
            ("name", "X"),
            ("role", "analyst"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("That agency is archived")
    );
    post_form(
        &app,
        &client,
        &format!("/admin/agencies/{}/restore", agency.id),
        &csrf,
        &[],
    )
    .await;
    assert!(
        app.store()
            .agency(&agency.id)
            .await
            .expect("agency")
            .archived_at
            .is_none()
    );
    let actions: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .filter(|a| a.starts_with("agency_"))
        .collect();
    assert_eq!(
        actions,
        ["agency_created", "agency_archived", "agency_restored"]
    );
}

#[tokio::test]
async fn an_invited_user_gets_the_link_from_the_page_and_the_outbox() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let agency = app.agency().await;
    let (client, csrf, _) = app.session(&admin).await;
    let bad = post_form(
        &app,
        &client,
        "/admin/users",
        &csrf,
        &[
            ("agency", &agency),
            ("email", "not-an-address"),
            ("name", ""),
            ("role", "analyst"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.expect("body");
    assert!(
        body.contains("correct format") || body.contains("Enter the person"),
        "{body}"
    );
    let res = post_form(
        &app,
        &client,
        "/admin/users",
        &csrf,
        &[
            ("agency", &agency),
            ("email", "Sam@Example.org"),
            ("name", "Sam Analyst"),
            ("role", "analyst"),
            ("role", "directory_editor"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("body");
    let link = element_text(&page, "link");
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    let outbox = get(&app, &client, "/admin/outbox")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !outbox.contains(&link)
            && outbox.contains(pathways_store::outbox::WITHHELD)
            && outbox.contains("sam@example.org"),
        "the outbox never shows a live link"
    );
    let user = app
        .store()
        .user_by_email("sam@example.org")
        .await
        .expect("q")
        .expect("user");
    assert_eq!(user.roles.to_stored(), "analyst,directory_editor");
    assert!(!user.has_password);
    // The users list, filtered by agency, shows the invitation.
    let list = get(&app, &client, &format!("/admin/users?agency={agency}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(list.contains("Sam Analyst") && list.contains("Invited"));
    let empty = pathways_store::testing::create_agency(
        app.store(),
        "Empty Agency",
        pathways_domain::AgencyKind::Police,
    )
    .await
    .expect("agency");
    let list = get(&app, &client, &format!("/admin/users?agency={}", empty.id))
        .await
        .text()
        .await
        .expect("body");
    assert!(!list.contains("Sam Analyst"));
    // The person accepts and signs in.
    let path = link.strip_prefix(&app.base).expect("local").to_string();
    let (visitor, _) = app.client();
    let form = get(&app, &visitor, &path).await.text().await.expect("body");
    let token = hidden(&form, "csrf");
    let res = post_form(
        &app,
        &visitor,
        &path,
        &token,
        &[("password", PASSWORD), ("confirm", PASSWORD)],
    )
    .await;
    assert_eq!(location(&res), "/login?password-set");
    assert_eq!(
        location(&sign_in(&app, &visitor, "sam@example.org", PASSWORD).await),
        "/dashboard"
    );
    assert_eq!(app.audited("user_invited").await, 1);
}

#[tokio::test]
async fn roles_disable_enable_reset_link_and_second_factor_are_audited() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let target = app
        .user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    let user_path = format!("/admin/users/{}", target.id);
    let page = get(&app, &client, &user_path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("ana@example.org"));

    let res = post_form(
        &app,
        &client,
        &format!("{user_path}/roles"),
        &csrf,
        &[("role", "analyst"), ("role", "practitioner")],
    )
    .await;
    assert_eq!(location(&res), format!("{user_path}?done=roles-changed"));
    let now = app.store().user(&target.id).await.expect("user");
    assert_eq!(now.roles.to_stored(), "practitioner,analyst");
    let res = post_form(&app, &client, &format!("{user_path}/roles"), &csrf, &[]).await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &app,
        &client,
        &format!("{user_path}/roles"),
        &csrf,
        &[("role", "wizard")],
    )
    .await;
    assert_eq!(res.status(), 422);
    // Administrators cannot lock themselves out.
    let own = post_form(
        &app,
        &client,
        &format!("/admin/users/{}/roles", admin.id),
        &csrf,
        &[("role", "analyst")],
    )
    .await;
    assert_eq!(own.status(), 422);
    assert!(
        own.text()
            .await
            .expect("body")
            .contains("cannot remove your own administrator role")
    );
    let own = post_form(
        &app,
        &client,
        &format!("/admin/users/{}/disable", admin.id),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(own.status(), 422);

    // Disabling ends the person's sessions and stops sign-in.
    let (victim, _, _) = app.session(&target).await;
    assert_eq!(get(&app, &victim, "/dashboard").await.status(), 200);
    post_form(&app, &client, &format!("{user_path}/disable"), &csrf, &[]).await;
    assert_eq!(location(&get(&app, &victim, "/dashboard").await), "/login");
    let (c, _) = app.client();
    assert_eq!(
        sign_in(&app, &c, "ana@example.org", PASSWORD)
            .await
            .status(),
        200,
        "refused like a wrong password"
    );
    post_form(&app, &client, &format!("{user_path}/enable"), &csrf, &[]).await;
    assert!(!app.store().user(&target.id).await.expect("user").disabled);

    let res = post_form(
        &app,
        &client,
        &format!("{user_path}/reset-link"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(res.status(), 200);
    let link = element_text(&res.text().await.expect("body"), "link");
    assert!(link.contains("/password/reset/"));
    let outbox = get(&app, &client, "/admin/outbox")
        .await
        .text()
        .await
        .expect("body");
    assert!(!outbox.contains(&link) && outbox.contains(pathways_store::outbox::WITHHELD));

    pathways_store::testing::enrol_totp(
        app.store(),
        &target.id,
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        &[],
    )
    .await
    .expect("totp");
    post_form(
        &app,
        &client,
        &format!("{user_path}/reset-second-factor"),
        &csrf,
        &[],
    )
    .await;
    let after = app.store().user(&target.id).await.expect("user");
    assert!(!after.totp_enabled);
    assert_eq!(
        app.store().totp_secret(&target.id).await.expect("secret"),
        None
    );

    let audit = app.audit().await;
    let about_target: Vec<(&str, &str)> = audit
        .iter()
        .filter(|(_, id, _)| *id == target.id)
        .map(|(a, _, o)| (a.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        about_target,
        [
            ("record_read", "allowed"),
            ("permission_change", "analyst -> practitioner,analyst"),
            ("user_disabled", "allowed"),
            ("login_failed", "denied"),
            ("user_enabled", "allowed"),
            ("reset_link_sent", "allowed"),
            ("second_factor_reset", "allowed"),
        ]
    );
}

#[tokio::test]
async fn audit_page_verifies_the_chain_and_names_a_tampered_entry() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let (client, csrf, _) = app.session(&admin).await;
    for _ in 0..3 {
        get(&app, &client, &format!("/admin/users/{}", admin.id)).await;
    }
    let page = get(&app, &client, "/admin/audit")
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("record_read"));
    let res = post_form(&app, &client, "/admin/audit/verify", &csrf, &[]).await;
    assert_eq!(res.status(), 200);
    let verdict = element_text(&res.text().await.expect("body"), "verify-result");
    // The fixtures' three writes (agency, user, session), three reads of the user, and the
    // view of the audit log itself.
    assert_eq!(verdict, "Audit chain intact: 7 entries, 0 checkpoints.");
    app.sql("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2")
        .await;
    let res = post_form(&app, &client, "/admin/audit/verify", &csrf, &[]).await;
    let verdict = element_text(&res.text().await.expect("body"), "verify-result");
    assert!(
        verdict.starts_with("Audit chain broken: entry 2:"),
        "{verdict}"
    );
}

#[tokio::test]
async fn viewing_the_audit_log_and_an_access_log_is_itself_audited() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let target = app
        .user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    let (client, _, _) = app.session(&admin).await;
    assert_eq!(get(&app, &client, "/admin/audit").await.status(), 200);
    let path = format!(
        "/access-log/user/{}?user={}&from=2026-01-01&to=",
        target.id, admin.id
    );
    assert_eq!(get(&app, &client, &path).await.status(), 200);
    let log = app.store().recent_audit(10).await.expect("audit");
    let views: Vec<(&str, &str, &str, &str, &str)> = log
        .iter()
        .rev()
        .filter(|e| e.event.action.ends_with("_viewed"))
        .map(|e| {
            let ev = &e.event;
            (
                ev.action.as_str(),
                ev.actor_id.as_str(),
                ev.record_type.as_str(),
                ev.record_id.as_str(),
                ev.reason.as_str(),
            )
        })
        .collect();
    let filter = format!("filter: user={} from=2026-01-01", admin.id);
    assert_eq!(
        views,
        [
            (
                "audit_log_viewed",
                admin.id.as_str(),
                "audit_log",
                "",
                "newest 200 entries"
            ),
            (
                "access_log_viewed",
                admin.id.as_str(),
                "user",
                target.id.as_str(),
                filter.as_str()
            ),
        ]
    );
}

#[tokio::test]
async fn managers_read_a_records_access_log_filtered_by_user_and_date() {
    let app = App::start().await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let other_admin = app
        .user("root2@example.org", "Bo Admin", &[Role::Administrator])
        .await;
    let manager = app
        .user("mo@example.org", "Mo Manager", &[Role::Manager])
        .await;
    let worker = app
        .user("pat@example.org", "Pat Worker", &[Role::Practitioner])
        .await;
    let target = app
        .user("ana@example.org", "Ana Lyst", &[Role::Analyst])
        .await;
    for who in [&admin, &admin, &other_admin] {
        let (c, _, _) = app.session(who).await;
        assert_eq!(
            get(&app, &c, &format!("/admin/users/{}", target.id))
                .await
                .status(),
            200
        );
    }
    let (client, _, _) = app.session(&manager).await;
    let base = format!("/access-log/user/{}", target.id);
    let all = get(&app, &client, &base).await;
    assert_eq!(all.status(), 200);
    let body = all.text().await.expect("body");
    assert_eq!(body.matches("record_read").count(), 3);
    assert!(body.contains("Ada Admin") && body.contains("Bo Admin") && body.contains("127.0.0.1"));
    let mine = get(&app, &client, &format!("{base}?user={}", other_admin.id))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(mine.matches("record_read").count(), 1);
    let today = time::OffsetDateTime::now_utc().date();
    let fmt = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let tomorrow = today.next_day().expect("date");
    let yesterday = today.previous_day().expect("date");
    let from_tomorrow = get(&app, &client, &format!("{base}?from={}", fmt(tomorrow)))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(from_tomorrow.matches("record_read").count(), 0);
    let window = get(
        &app,
        &client,
        &format!("{base}?from={}&to={}", fmt(yesterday), fmt(today)),
    )
    .await
    .text()
    .await
    .expect("body");
    assert_eq!(window.matches("record_read").count(), 3);
    let bad = get(&app, &client, &format!("{base}?from=31/12/2025")).await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .expect("body")
            .contains("Enter the start date as YYYY-MM-DD")
    );
    let (worker_client, _, _) = app.session(&worker).await;
    assert_eq!(get(&app, &worker_client, &base).await.status(), 403);
    let audit = app.audit().await;
    let views: Vec<&str> = audit
        .iter()
        .filter(|(a, _, _)| a == "access_log_viewed")
        .map(|(_, _, o)| o.as_str())
        .collect();
    assert_eq!(views.last(), Some(&"denied"));
    assert_eq!(views.iter().filter(|o| **o == "allowed").count(), 5);
}

//! The route matrix of the administration module: every route, for every role and for an
//! anonymous visitor, gets exactly the expected status.
//!
//! The routes come from `pathways_web::admin::ROUTES`, the same table the router is built
//! from, so a route registered there cannot be left out of this test. Every other module's
//! routes are walked by `matrix_modules.rs`, whose completeness check reads the router's
//! source and counts `admin::ROUTES` as covered here. `/dashboard`, which every role shares,
//! is also checked below (`SHARED`).

use pathways_domain::{Permission, Role};
use pathways_web::admin::{Guard, ROUTES, RouteSpec, Verb};
use pathways_web::crypto;
use reqwest::Client;

use crate::support::{App, location};

/// Pages any signed-in member of staff may open, whatever their role.
const SHARED: &[&str] = &["/dashboard"];

/// The status a caller with `role` (or nobody) must get.
fn expected(spec: &RouteSpec, role: Option<Role>) -> u16 {
    let holds = |p: Permission| role.is_some_and(|r| r.permissions().contains(&p));
    match (spec.guard, role) {
        // API callers without credentials are told to authenticate.
        (Guard::ApiScope(_), None) => 401,
        // Pages send anonymous visitors to sign in; a POST without a session has no CSRF
        // binding and is refused before it reaches the page.
        (_, None) => {
            if spec.verb == Verb::Get {
                303
            } else {
                403
            }
        }
        (Guard::Permission(p) | Guard::ApiScope(p), Some(_)) => {
            if holds(p) {
                spec.ok_status
            } else {
                403
            }
        }
        (Guard::AccessLogPolicy, Some(_)) => {
            if holds(Permission::ViewAccessLog) {
                spec.ok_status
            } else {
                403
            }
        }
    }
}

struct Caller {
    role: Option<Role>,
    client: Client,
    csrf: String,
}

#[tokio::test]
async fn every_route_for_every_role() {
    let app = App::start().await;
    let target_agency = pathways_store::testing::create_agency(&app
        .store(), "Target Agency", pathways_domain::AgencyKind::Police)
        .await
        .expect("agency");
    let target = app
        .user("target@example.org", "Target Person", &[Role::Practitioner])
        .await;
    let token = pathways_store::testing::create_api_token(&app
        .store(), 
            "Matrix",
            &crypto::digest("pw_matrix"),
            &target_agency.id,
            &["make_referral".into()],
            &target.id,
        )
        .await
        .expect("token");
    let mut callers = vec![Caller {
        role: None,
        client: app.client().0,
        csrf: String::new(),
    }];
    for (i, role) in Role::ALL.into_iter().enumerate() {
        let user = app
            .user(
                &format!("role{i}@example.org"),
                &format!("Role {i}"),
                &[role],
            )
            .await;
        let (client, csrf, _) = app.session(&user).await;
        callers.push(Caller {
            role: Some(role),
            client,
            csrf,
        });
    }
    let fill = |s: &str, unique: usize| {
        s.replace("{agency_id}", &target_agency.id)
            .replace("{user_id}", &target.id)
            .replace("{token_id}", &token)
            .replace("{record_type}", "user")
            .replace("{record_id}", &target.id)
            .replace("{instrument}", pathways_risk::YV_SCREENING)
            .replace("{unique}", &unique.to_string())
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, spec) in ROUTES.iter().enumerate() {
        for caller in &callers {
            let path = fill(spec.path, n);
            let res = match spec.verb {
                Verb::Get => caller.client.get(app.url(&path)).send().await,
                Verb::Post => {
                    let mut body = fill(spec.sample_form, n);
                    if caller.role.is_some() {
                        body = if body.is_empty() {
                            format!("csrf={}", caller.csrf)
                        } else {
                            format!("{body}&csrf={}", caller.csrf)
                        };
                    }
                    caller
                        .client
                        .post(app.url(&path))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                }
            }
            .expect("request");
            let want = expected(spec, caller.role);
            let got = res.status().as_u16();
            if got != want {
                failures.push(format!(
                    "{:?} {} as {:?}: got {got}, want {want}",
                    spec.verb, path, caller.role
                ));
            } else if got == 303 && caller.role.is_none() && location(&res) != "/login" {
                failures.push(format!(
                    "{path}: anonymous redirect goes to {}",
                    location(&res)
                ));
            }
            checked += 1;
        }
    }
    for path in SHARED {
        for caller in &callers {
            let res = caller
                .client
                .get(app.url(path))
                .send()
                .await
                .expect("request");
            let want = if caller.role.is_some() { 200 } else { 303 };
            if res.status().as_u16() != want {
                failures.push(format!(
                    "GET {path} as {:?}: got {}, want {want}",
                    caller.role,
                    res.status()
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        checked,
        (ROUTES.len() + SHARED.len()) * (Role::ALL.len() + 1)
    );
    // Every POST the administrator made was a real change, and each was audited.
    let audit = app.audit().await;
    for action in [
        "agency_created",
        "agency_archived",
        "agency_restored",
        "user_invited",
        "permission_change",
        "user_disabled",
        "user_enabled",
        "reset_link_sent",
        "second_factor_reset",
        "token_created",
        "token_revoked",
        "audit_verified",
        "instrument_published",
    ] {
        assert!(
            audit.iter().any(|(a, _, _)| a == action),
            "{action} audited"
        );
    }
}

//! The route matrix of the administration module: every route, for every role and for an
//! anonymous visitor, gets exactly the expected status.
//!
//! The routes come from `pathways_web::admin::ROUTES`, the same table the router is built
//! from (through `routes::all()`), so a route registered there cannot be left out of this
//! test; [`SAMPLES`] gives each one a valid request and the status an allowed caller gets,
//! and a route without a sample fails the test. Every other module's
//! routes are walked by `matrix_modules.rs`, whose completeness check reads the router's
//! source and counts `admin::ROUTES` as covered here. `/dashboard`, which every role shares,
//! is also checked below (`SHARED`).

use pathways_app::crypto;
use pathways_domain::{Permission, Role};
use pathways_web::admin::ROUTES;
use pathways_web::routes::{Guard, Route, Verb};
use reqwest::Client;

use crate::support::{App, location};

/// Pages any signed-in member of staff may open, whatever their role.
const SHARED: &[&str] = &["/dashboard"];

/// For each administration route (method, path): a valid
/// `application/x-www-form-urlencoded` body for POST routes, with the placeholders of the
/// path (`{agency_id}`) and `{unique}` for a value that must differ per call, and the status
/// an allowed caller gets for it (200 page, 303 redirect).
const SAMPLES: &[(Verb, &str, &str, u16)] = &[
    (Verb::Get, "/admin", "", 200),
    (Verb::Get, "/admin/agencies", "", 200),
    (
        Verb::Post,
        "/admin/agencies",
        "name=Agency+{unique}&kind=school",
        303,
    ),
    (Verb::Post, "/admin/agencies/{agency_id}/archive", "", 303),
    (Verb::Post, "/admin/agencies/{agency_id}/restore", "", 303),
    (Verb::Get, "/admin/users", "", 200),
    (
        Verb::Post,
        "/admin/users",
        "agency={agency_id}&email=new{unique}%40example.org&name=New+Person&role=practitioner",
        200,
    ),
    (Verb::Get, "/admin/users/new", "", 200),
    (Verb::Get, "/admin/users/{user_id}", "", 200),
    (
        Verb::Post,
        "/admin/users/{user_id}/roles",
        "role=practitioner&role=analyst",
        303,
    ),
    (Verb::Post, "/admin/users/{user_id}/disable", "", 303),
    (Verb::Post, "/admin/users/{user_id}/enable", "", 303),
    (Verb::Post, "/admin/users/{user_id}/reset-link", "", 200),
    (
        Verb::Post,
        "/admin/users/{user_id}/reset-second-factor",
        "",
        303,
    ),
    (Verb::Get, "/admin/tokens", "", 200),
    (
        Verb::Post,
        "/admin/tokens",
        "name=Token+{unique}&agency={agency_id}&scope=make_referral",
        200,
    ),
    (Verb::Post, "/admin/tokens/{token_id}/revoke", "", 303),
    (Verb::Get, "/admin/outbox", "", 200),
    (Verb::Get, "/admin/audit", "", 200),
    (Verb::Post, "/admin/audit/verify", "", 200),
    (Verb::Get, "/admin/instruments", "", 200),
    (Verb::Get, "/admin/instruments/{instrument}", "", 200),
    (Verb::Get, "/admin/instruments/{instrument}/edit", "", 200),
    (
        Verb::Post,
        "/admin/instruments/{instrument}/versions",
        "base_version=1&weight-weapon-carrying=4&band-medium=6&note=Weapon+carrying+weighs+more",
        303,
    ),
    (Verb::Get, "/access-log/{record_type}/{record_id}", "", 200),
    (Verb::Get, "/api/v1/agencies", "", 200),
];

/// The sample form and allowed status of a route.
fn sample(route: &Route) -> (&'static str, u16) {
    SAMPLES
        .iter()
        .find(|(v, p, _, _)| *v == route.verb && *p == route.path)
        .map(|(_, _, form, status)| (*form, *status))
        .unwrap_or_else(|| {
            panic!(
                "{} {} has no sample in SAMPLES",
                route.verb.name(),
                route.path
            )
        })
}

#[test]
fn every_administration_route_is_registered_and_has_a_sample() {
    let all = pathways_web::routes::all();
    for r in ROUTES {
        assert!(
            all.iter().any(|a| a.verb == r.verb && a.path == r.path),
            "{} {} is not in the router",
            r.verb.name(),
            r.path
        );
        let (form, status) = sample(r);
        assert!(
            r.verb == Verb::Post || form.is_empty(),
            "{}: GET takes no form",
            r.path
        );
        assert!(matches!(status, 200 | 303), "{}", r.path);
    }
    assert_eq!(
        SAMPLES.len(),
        ROUTES.len(),
        "a sample for a route that does not exist"
    );
}

/// The status a caller with `role` (or nobody) must get.
fn expected(spec: &Route, role: Option<Role>) -> u16 {
    let ok_status = sample(spec).1;
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
                ok_status
            } else {
                403
            }
        }
        (Guard::AccessLogPolicy, Some(_)) => {
            if holds(Permission::ViewAccessLog) {
                ok_status
            } else {
                403
            }
        }
        (other, Some(_)) => panic!("{}: administration routes do not use {other:?}", spec.path),
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
    let target_agency = pathways_store::testing::create_agency(
        app.store(),
        "Target Agency",
        pathways_domain::AgencyKind::Police,
    )
    .await
    .expect("agency");
    let target = app
        .user("target@example.org", "Target Person", &[Role::Practitioner])
        .await;
    let token = pathways_store::testing::create_api_token(
        app.store(),
        "Matrix",
        &crypto::digest("pw_matrix"),
        // Not the agency the matrix archives: archiving revokes an agency's tokens.
        &target.agency_id,
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
                    let mut body = fill(sample(spec).0, n);
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

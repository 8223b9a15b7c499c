//! The outreach journey in headless Chromium: open a case from a triaged referral, complete
//! a DASH with 15 "yes" answers, see High risk and MARAC eligibility, refer the person to a
//! substance-misuse service, and a user of that service accepts the referral. Both workers
//! sign in through the real form with a password and an authenticator code.

use pathways_domain::{AgencyKind, Role, RoleSet};
mod steps;

use pathways_store::people::PersonDetails;
use pathways_store::referrals::{DecisionInput, NewReferral};
use pathways_store::{NewUser, Store};
use steps::{ATTEMPTS, click, text_of, type_into};

const PASSWORD: &str = "outreach on the estate 2026";
/// Each worker's authenticator secret (base32): case workers must use a second factor.
const AMARA_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const NADIA_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

/// The referral's reference, set by the seed.
async fn seed(store: &Store) -> String {
    let outreach = pathways_store::testing::create_agency(
        store,
        "Riverside Outreach",
        AgencyKind::CouncilTeam,
    )
    .await
    .expect("agency");
    let police =
        pathways_store::testing::create_agency(store, "Riverside Police", AgencyKind::Police)
            .await
            .expect("agency");
    let tp = pathways_store::testing::create_agency(
        store,
        "Turning Point Riverside",
        AgencyKind::SubstanceMisuse,
    )
    .await
    .expect("agency");
    let mut ids = Vec::new();
    for (agency, email, name, role) in [
        (
            &outreach.id,
            "amara@example.org",
            "Amara Okafor",
            Role::Practitioner,
        ),
        (
            &tp.id,
            "nadia@example.org",
            "Nadia Rahman",
            Role::Practitioner,
        ),
        (
            &police.id,
            "pc@example.org",
            "PC Reid",
            Role::PartnerReferrer,
        ),
    ] {
        let u = pathways_store::testing::create_user(
            store,
            &NewUser {
                agency_id: agency.clone(),
                email: email.into(),
                display_name: name.into(),
                roles: RoleSet::new(vec![role]),
                password_hash: Some(
                    pathways_app::crypto::hash_password(PASSWORD).expect("password hash"),
                ),
            },
        )
        .await
        .expect("user");
        let secret = match email {
            "amara@example.org" => Some(AMARA_TOTP),
            "nadia@example.org" => Some(NADIA_TOTP),
            _ => None,
        };
        if let Some(secret) = secret {
            pathways_store::testing::enrol_totp(store, &u.id, secret, &[])
                .await
                .expect("enrolled in two-factor");
        }
        ids.push(u.id);
    }
    let referral = pathways_store::testing::create_referral(
        store,
        &NewReferral {
            referrer_actor: ids[2].clone(),
            referrer_user_id: Some(ids[2].clone()),
            referrer_agency_id: police.id.clone(),
            referrer_name: "PC Reid".into(),
            referrer_email: "pc@example.org".into(),
            person: PersonDetails {
                first_name: "Jade".into(),
                surname: "Moss".into(),
                ..PersonDetails::default()
            },
            reason: "Domestic abuse incident; victim very frightened".into(),
            urgency: "urgent".into(),
            consent: "given".into(),
            ..NewReferral::default()
        },
    )
    .await
    .expect("referral");
    // Triage links the person and decides to open a case (the triage pages' own tests cover
    // those steps; here they are the starting point of the outreach worker's journey).
    pathways_store::testing::create_person_for_referral(store, &referral.id, &ids[0])
        .await
        .expect("person");
    pathways_store::testing::decide_referral(
        store,
        &referral.id,
        &DecisionInput {
            decision: pathways_domain::referrals::TriageDecision::OpenCase,
            reason: "High risk; needs outreach".into(),
            detail: String::new(),
            service_id: String::new(),
        },
        &ids[0],
        &[],
    )
    .await
    .expect("decided");
    referral.reference
}

#[tokio::test]
async fn outreach_worker_opens_assesses_and_refers_and_the_service_accepts() {
    let Some((server, browser, reference)) = steps::start(seed).await else {
        return;
    };

    browser
        .sign_in(&server, "amara@example.org", PASSWORD, Some(AMARA_TOTP))
        .await
        .expect("Amara signs in with her password and security code");
    browser
        .goto(&server.url("/cases/new"))
        .await
        .expect("open-case page");
    click(&browser, &format!("#referral-{reference}")).await;
    click(&browser, "#open-case").await;
    if browser.wait_for("#person-name", ATTEMPTS).await.is_err() {
        panic!(
            "the case did not open; the page says: {}",
            text_of(&browser, "main").await
        );
    }
    let case_heading = text_of(&browser, "#person-name").await;
    assert_eq!(case_heading, "Jade Moss");
    let case_url = browser.current_url().await.expect("url");

    click(&browser, "#start-dash").await;
    browser
        .wait_for("#q24-no", ATTEMPTS)
        .await
        .expect("DASH form");
    for i in 1..=24 {
        let answer = if i <= 15 { "yes" } else { "no" };
        click(&browser, &format!("#q{i}-{answer}")).await;
    }
    click(&browser, "#save-assessment").await;
    browser
        .wait_for("#marac", ATTEMPTS)
        .await
        .expect("back on the case page");
    assert_eq!(text_of(&browser, "#current-risk").await, "High");
    let marac = text_of(&browser, "#marac").await;
    assert!(marac.contains("Eligible for MARAC referral"), "{marac}");
    assert!(marac.contains("Visible high risk"), "{marac}");

    click(&browser, "#refer").await;
    click(&browser, "#category option[value='substance_misuse']").await;
    type_into(
        &browser,
        "#service_name",
        "Turning Point drug and alcohol service",
    )
    .await;
    let chosen = browser
        .execute("const s = document.querySelector('#to_agency_id'); const o = [...s.options].find(o => o.text.startsWith('Turning Point')); s.value = o.value; return o.text;", vec![])
        .await
        .expect("choose agency");
    assert_eq!(chosen, "Turning Point Riverside");
    type_into(
        &browser,
        "#reason",
        "Alcohol use is increasing the risk at home",
    )
    .await;
    click(&browser, "#consent-given").await;
    click(&browser, "#send-referral").await;
    browser
        .wait_for_url(&format!("{case_url}#referrals"), ATTEMPTS)
        .await
        .expect("referral sent");
    let page = text_of(&browser, "#referrals + table").await;
    assert!(
        page.contains("Turning Point drug and alcohol service") && page.contains("Sent"),
        "{page}"
    );

    browser.sign_out(&server).await.expect("Amara signs out");
    browser
        .sign_in(&server, "nadia@example.org", PASSWORD, Some(NADIA_TOTP))
        .await
        .expect("Nadia signs in with her password and security code");
    browser
        .goto(&server.url("/service-referrals"))
        .await
        .expect("incoming");
    click(&browser, "#incoming a").await;
    click(&browser, "#status-accepted").await;
    click(&browser, "#update-status").await;
    // Once accepted, the next step (started) is offered: the page has reloaded.
    browser
        .wait_for("#status-started", ATTEMPTS)
        .await
        .expect("accepted");
    assert_eq!(text_of(&browser, "#referral-status").await, "Accepted");
    browser.quit().await.expect("browser quits");
}

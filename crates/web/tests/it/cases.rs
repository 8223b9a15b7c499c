//! Cases over HTTP: opening from a triaged referral, DASH with MARAC eligibility, bad
//! assessment input, service referral workflow with consortium routing, documents, and the
//! restriction rules on every path (page, list, search, counts, export, API, notifications).

use pathways_app::crypto;
use pathways_domain::cases::Consent;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::cases::{NewCase, NewServiceReferral};
use pathways_store::people::PersonDetails;
use pathways_store::referrals::{DecisionInput, NewReferral};
use pathways_store::{NewUser, User};

use crate::support::{App, PASSWORD, element_text, get, location, post_form, post_pairs};

async fn user_in(app: &App, agency: &str, email: &str, name: &str, roles: &[Role]) -> User {
    pathways_store::testing::create_user(
        app.store(),
        &NewUser {
            agency_id: agency.into(),
            email: email.into(),
            display_name: name.into(),
            roles: RoleSet::new(roles.to_vec()),
            password_hash: Some(crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user")
}

async fn person(app: &App, first: &str, surname: &str) -> String {
    pathways_store::testing::create_person(
        app.store(),
        &PersonDetails {
            first_name: first.into(),
            surname: surname.into(),
            dob: Some("2001-04-05".into()),
            address_line: "12 Hidden Lane".into(),
            postcode: "RV1 2AB".into(),
            ..PersonDetails::default()
        },
        "test",
    )
    .await
    .expect("person")
}

async fn open(app: &App, lead: &User, first: &str, restricted: bool) -> String {
    let p = person(app, first, "Sample").await;
    pathways_store::testing::write(app.store(), async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: p,
                lead_worker_id: lead.id.clone(),
                opened_by: lead.id.clone(),
                restricted,
                restriction_contact: if restricted {
                    "Dev Patel on 020 7946 0000".into()
                } else {
                    String::new()
                },
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case")
}

fn dash_answers(yes: usize) -> Vec<(String, String)> {
    (1..=24)
        .map(|i| {
            (
                format!("q{i}"),
                if i <= yes { "yes" } else { "no" }.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_case_opens_from_a_triaged_referral_and_a_dash_of_15_yes_is_high_and_marac_eligible() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let police = pathways_store::testing::create_agency(app.store(), "Police", AgencyKind::Police)
        .await
        .expect("agency");
    let referrer = user_in(
        &app,
        &police.id,
        "pc@example.org",
        "PC Reid",
        &[Role::PartnerReferrer],
    )
    .await;
    let referral = pathways_store::testing::create_referral(
        app.store(),
        &NewReferral {
            referrer_actor: referrer.id.clone(),
            referrer_user_id: Some(referrer.id.clone()),
            referrer_agency_id: police.id.clone(),
            referrer_name: "PC Reid".into(),
            referrer_email: "pc@example.org".into(),
            person: PersonDetails {
                first_name: "Jade".into(),
                surname: "Moss".into(),
                ..PersonDetails::default()
            },
            concerns: vec![],
            reason: "Domestic abuse incident".into(),
            urgency: "urgent".into(),
            consent: "given".into(),
            ..NewReferral::default()
        },
    )
    .await
    .expect("referral");
    pathways_store::testing::create_person_for_referral(app.store(), &referral.id, &amara.id)
        .await
        .expect("person");
    pathways_store::testing::decide_referral(
        app.store(),
        &referral.id,
        &DecisionInput {
            decision: pathways_domain::referrals::TriageDecision::OpenCase,
            reason: "Needs outreach".into(),
            detail: String::new(),
            service_id: String::new(),
        },
        &amara.id,
        &[],
    )
    .await
    .expect("decided");
    let (client, csrf, _) = app.session(&amara).await;
    let form = get(&app, &client, "/cases/new")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        form.contains(&referral.reference) && form.contains("Jade Moss"),
        "{form}"
    );
    let res = post_form(
        &app,
        &client,
        "/cases/new",
        &csrf,
        &[("referral_id", &referral.id), ("lead_worker_id", &amara.id)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let case_path = location(&res);
    let case_id = case_path.trim_start_matches("/cases/").to_string();
    assert_eq!(
        app.store()
            .case_for_referral(&referral.id)
            .await
            .expect("q"),
        Some(case_id.clone())
    );
    // The referrer may follow the status, so they are recorded on the case.
    assert_eq!(
        app.store().case(&case_id).await.expect("case").referrer_id,
        Some(referrer.id.clone())
    );
    // Opening again goes to the same case instead of a duplicate.
    let again = post_form(
        &app,
        &client,
        "/cases/new",
        &csrf,
        &[("referral_id", &referral.id)],
    )
    .await;
    assert_eq!(location(&again), case_path);

    let page = get(&app, &client, &format!("/cases/{case_id}/assess/dash"))
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("name=\"q24\"") && page.contains("id=\"q1-yes\""));
    let res = post_pairs(
        &app,
        &client,
        &format!("/cases/{case_id}/assess/dash"),
        &csrf,
        &dash_answers(15),
    )
    .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let page = get(&app, &client, &case_path)
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(element_text(&page, "current-risk"), "High");
    assert!(page.contains("Eligible for MARAC referral"), "{page}");
    assert!(page.contains("Visible high risk"));
    let history = app.store().assessments(&case_id).await.expect("history");
    assert_eq!(
        (
            history[0].instrument.as_str(),
            history[0].version,
            history[0].score
        ),
        ("dash", 1, 15)
    );
    assert!(
        history[0].answers.contains("\"q15\":\"yes\"")
            && history[0].answers.contains("\"q16\":\"no\"")
    );
    // The caseload shows the current risk.
    let list = get(&app, &client, "/cases?view=high")
        .await
        .text()
        .await
        .expect("body");
    assert!(list.contains("Jade Moss") && list.contains("MARAC"));
}

#[tokio::test]
async fn bad_assessments_are_refused_with_messages_and_nothing_is_saved() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let case_id = open(&app, &amara, "Kim", false).await;
    let (client, csrf, _) = app.session(&amara).await;
    let path = format!("/cases/{case_id}/assess/dash");
    let mut missing = dash_answers(15);
    missing.retain(|(k, _)| k != "q7");
    missing.push(("q8".into(), "maybe".into()));
    missing.retain(|(k, v)| !(k == "q8" && v != "maybe"));
    let res = post_pairs(&app, &client, &path, &csrf, &missing).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.expect("body");
    assert!(
        body.contains("href=\"#q7\"") && body.contains("href=\"#q8\""),
        "{body}"
    );
    // A judgement that lowers the level is refused, not clamped.
    let mut lowering = dash_answers(15);
    lowering.push(("judgement_level".into(), "standard".into()));
    lowering.push((
        "judgement_reason".into(),
        "I think this is lower than the score says".into(),
    ));
    let res = post_pairs(&app, &client, &path, &csrf, &lowering).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .to_lowercase()
            .contains("lower")
    );
    assert!(
        app.store()
            .assessments(&case_id)
            .await
            .expect("history")
            .is_empty(),
        "nothing half-saved"
    );
    assert_eq!(
        app.store().case(&case_id).await.expect("case").risk_level,
        ""
    );
    // A raise with a reason is kept with the reason.
    let mut raising = dash_answers(5);
    raising.push(("judgement_level".into(), "high".into()));
    raising.push((
        "judgement_reason".into(),
        "Recent threats to kill with a weapon in the home".into(),
    ));
    let res = post_pairs(&app, &client, &path, &csrf, &raising).await;
    assert_eq!(res.status(), 303);
    let saved = &app.store().assessments(&case_id).await.expect("history")[0];
    assert_eq!(
        (saved.computed_level.as_str(), saved.level.as_str()),
        ("standard", "high")
    );
    assert!(
        saved.marac_eligible,
        "professional judgement is a MARAC criterion"
    );
}

#[tokio::test]
async fn the_score_api_answers_tokens_and_sessions_with_422_and_404() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let (client, csrf, _) = app.session(&amara).await;
    let body = serde_json::json!({
        "answers": (1..=24).map(|i| (format!("q{i}"), if i <= 14 { "yes" } else { "no" })).collect::<std::collections::BTreeMap<_, _>>(),
        "assessment_date": "2026-11-29",
        "incidents": ["2026-01-10", "2026-05-02", "2026-10-01"]
    });
    let res = client
        .post(app.url("/api/v1/instruments/dash/score"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        (json["score"].as_u64(), json["level"].as_str()),
        (Some(14), Some("high"))
    );
    assert_eq!(json["eligibility"]["eligible"], true);
    let met: Vec<&str> = json["eligibility"]["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .filter(|c| c["met"] == true)
        .filter_map(|c| c["criterion"].as_str())
        .collect();
    assert_eq!(met, ["visible_high_risk", "potential_escalation"]);
    // A token with the right scope works without a session; bad answers give 422 field errors.
    let token = crypto::random_token();
    pathways_store::testing::create_api_token(
        app.store(),
        "Risk",
        &crypto::digest(&token),
        &app.agency().await,
        &["work_cases".to_string()],
        &amara.id,
    )
    .await
    .expect("token");
    let api = reqwest::Client::new();
    let res = api
        .post(app.url("/api/v1/instruments/dash/score"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"answers": {"q1": "perhaps"}, "assessment_date": "2026-11-29"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 422);
    let json: serde_json::Value = res.json().await.expect("json");
    let fields: Vec<&str> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"answers.q1") && fields.contains(&"answers.q2"),
        "{fields:?}"
    );
    let res = api
        .post(app.url("/api/v1/instruments/nope/score"))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 404);
    // Without a token or session the request carries no CSRF binding and is refused first.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/instruments/dash/score"))
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 403);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/instruments/dash/score"))
        .bearer_auth("pw_not_a_token")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 401);
}

struct Services {
    hub: String,
    refuge: String,
    hub_user: User,
    refuge_user: User,
    drugs: String,
    drugs_user: User,
}

async fn services(app: &App) -> Services {
    let hub = pathways_store::testing::create_agency(
        app.store(),
        "VAWG Partnership",
        AgencyKind::ConsortiumHub,
    )
    .await
    .expect("hub")
    .id;
    let refuge = pathways_store::testing::create_agency(
        app.store(),
        "Safe Haven",
        AgencyKind::VawgSpecialist,
    )
    .await
    .expect("refuge")
    .id;
    let drugs = pathways_store::testing::create_agency(
        app.store(),
        "Turning Point",
        AgencyKind::SubstanceMisuse,
    )
    .await
    .expect("tp")
    .id;
    pathways_store::testing::write(app.store(), async |tx| {
        tx.add_consortium_member(
            &pathways_store::testing::permitted(pathways_domain::Permission::Administer),
            &hub,
            &refuge,
        )
        .await
    })
    .await
    .expect("member");
    Services {
        hub_user: user_in(
            app,
            &hub,
            "maya@example.org",
            "Maya Hub",
            &[Role::Practitioner],
        )
        .await,
        refuge_user: user_in(
            app,
            &refuge,
            "olivia@example.org",
            "Olivia Refuge",
            &[Role::Practitioner],
        )
        .await,
        drugs_user: user_in(
            app,
            &drugs,
            "nadia@example.org",
            "Nadia Rahman",
            &[Role::Practitioner],
        )
        .await,
        hub,
        refuge,
        drugs,
    }
}

#[tokio::test]
async fn service_referrals_need_consent_or_a_lawful_reason_and_follow_the_workflow() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let s = services(&app).await;
    let case_id = open(&app, &amara, "Lee", false).await;
    let (client, csrf, _) = app.session(&amara).await;
    let refer = format!("/cases/{case_id}/refer");
    let base = [
        ("category", "substance_misuse"),
        ("service_name", "Drug and alcohol service"),
        ("to_agency_id", s.drugs.as_str()),
        ("reason", "Daily cannabis use"),
    ];
    let mut no_reason = base.to_vec();
    no_reason.push(("consent", "refused"));
    let res = post_form(&app, &client, &refer, &csrf, &no_reason).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.expect("body").contains("lawful basis"));
    assert!(
        app.store()
            .case_service_referrals(&case_id)
            .await
            .expect("list")
            .is_empty()
    );
    let mut lawful = no_reason.clone();
    lawful.push(("lawful_basis", "safeguarding"));
    lawful.push((
        "share_reason",
        "Exploitation risk; parent is the suspected exploiter",
    ));
    let res = post_form(&app, &client, &refer, &csrf, &lawful).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audited("share_without_consent").await, 1);
    let referral = app
        .store()
        .case_service_referrals(&case_id)
        .await
        .expect("list")
        .remove(0);

    // The receiving service sees it, cannot skip a step, then accepts.
    let (svc, svc_csrf, _) = app.session(&s.drugs_user).await;
    let incoming = get(&app, &svc, "/service-referrals")
        .await
        .text()
        .await
        .expect("body");
    assert!(incoming.contains("Drug and alcohol service"));
    let path = format!("/service-referrals/{}", referral.id);
    let page = get(&app, &svc, &path).await.text().await.expect("body");
    assert!(
        page.contains("Lee Sample"),
        "the service learns who is referred"
    );
    let jump = post_form(
        &app,
        &svc,
        &format!("{path}/status"),
        &svc_csrf,
        &[("from", "sent"), ("status", "completed")],
    )
    .await;
    assert_eq!(jump.status(), 422);
    assert!(
        jump.text()
            .await
            .expect("body")
            .contains("from sent it can only become accepted or declined")
    );
    let decline = post_form(
        &app,
        &svc,
        &format!("{path}/status"),
        &svc_csrf,
        &[("from", "sent"), ("status", "declined")],
    )
    .await;
    assert_eq!(decline.status(), 422, "declining needs a reason");
    let ok = post_form(
        &app,
        &svc,
        &format!("{path}/status"),
        &svc_csrf,
        &[("from", "sent"), ("status", "accepted")],
    )
    .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(
        app.store()
            .service_referral(&referral.id)
            .await
            .expect("r")
            .status
            .key(),
        "accepted"
    );
    // The referring worker cannot update it, and another agency cannot see it.
    let res = post_form(
        &app,
        &client,
        &format!("{path}/status"),
        &csrf,
        &[("from", "accepted"), ("status", "started")],
    )
    .await;
    assert_eq!(res.status(), 403);
    let (hub_client, _, _) = app.session(&s.hub_user).await;
    assert_eq!(get(&app, &hub_client, &path).await.status(), 404);

    // Consortium routing: the hub allocates to a member, who then responds.
    let to_hub = [
        ("category", "vawg_support"),
        ("service_name", "VAWG support"),
        ("to_agency_id", s.hub.as_str()),
        ("reason", "Support after assault"),
        ("consent", "given"),
    ];
    assert_eq!(
        post_form(&app, &client, &refer, &csrf, &to_hub)
            .await
            .status(),
        303
    );
    let vawg = app
        .store()
        .case_service_referrals(&case_id)
        .await
        .expect("list")
        .into_iter()
        .find(|r| r.service_name == "VAWG support")
        .expect("sent to the hub");
    let (hub_client, hub_csrf, _) = app.session(&s.hub_user).await;
    let vpath = format!("/service-referrals/{}", vawg.id);
    let page = get(&app, &hub_client, &vpath)
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Allocate to a member organisation") && page.contains("Safe Haven"));
    let (refuge, refuge_csrf, _) = app.session(&s.refuge_user).await;
    assert_eq!(
        get(&app, &refuge, &vpath).await.status(),
        404,
        "members see it only once allocated"
    );
    let res = post_form(
        &app,
        &hub_client,
        &format!("{vpath}/allocate"),
        &hub_csrf,
        &[("member_agency_id", &s.refuge)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let allocated = app.store().service_referral(&vawg.id).await.expect("r");
    assert_eq!(
        allocated.allocated_agency_id.as_deref(),
        Some(s.refuge.as_str())
    );
    assert!(allocated.allocated_at.expect("time") >= allocated.sent_at);
    let res = post_form(
        &app,
        &refuge,
        &format!("{vpath}/status"),
        &refuge_csrf,
        &[("from", "sent"), ("status", "accepted")],
    )
    .await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn documents_are_checked_by_content_and_size_and_downloaded_as_attachments() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let case_id = open(&app, &amara, "Doc", false).await;
    let (client, csrf, _) = app.session(&amara).await;
    let url = app.url(&format!("/cases/{case_id}/documents?csrf={csrf}"));
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "document",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        client.post(&url).multipart(form).send()
    };
    let res = upload(
        "page.txt",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await
    .expect("POST");
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("is not a PDF, PNG, JPEG, Word (.docx) or plain text file")
    );
    let res = upload("big.pdf", {
        let mut b = b"%PDF-1.7\n".to_vec();
        b.resize(10 * 1024 * 1024 + 10, b'a');
        b
    })
    .await
    .expect("POST");
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("the largest accepted is 10 MiB")
    );
    assert!(
        app.store()
            .documents(&case_id)
            .await
            .expect("docs")
            .is_empty(),
        "nothing half-saved"
    );
    let res = upload("plan.pdf", b"%PDF-1.7\nplan".to_vec())
        .await
        .expect("POST");
    assert_eq!(res.status(), 303);
    let doc = app
        .store()
        .documents(&case_id)
        .await
        .expect("docs")
        .remove(0);
    assert_eq!(
        (doc.content_type.as_str(), doc.size_bytes),
        ("application/pdf", 13)
    );
    let res = get(
        &app,
        &client,
        &format!("/cases/{case_id}/documents/{}", doc.id),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .expect("h")
            .starts_with("attachment")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; sandbox",
        "the download's own sandbox is not replaced by the pages' policy"
    );
    assert_eq!(
        res.bytes().await.expect("bytes").as_ref(),
        b"%PDF-1.7\nplan"
    );
}

/// Restriction on every path: the case page, the caseload list and its counts, search,
/// the CSV export, the JSON API, and notifications.
#[tokio::test]
async fn restricted_cases_do_not_leak_on_any_path() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let bilal = app
        .user("bilal@example.org", "Bilal Hussain", &[Role::Practitioner])
        .await;
    let dev = app
        .user("dev@example.org", "Dev Patel", &[Role::Manager])
        .await;
    let elsewhere =
        pathways_store::testing::create_agency(app.store(), "Elsewhere", AgencyKind::Health)
            .await
            .expect("agency");
    let outsider = user_in(
        &app,
        &elsewhere.id,
        "out@example.org",
        "Olu Outsider",
        &[Role::Practitioner],
    )
    .await;
    let s = services(&app).await;
    let open_case = open(&app, &amara, "Visible", false).await;
    let secret = open(&app, &amara, "Secretname", true).await;
    // A referral from the restricted case: the notification must not carry the name.
    pathways_store::testing::write(app.store(), async |tx| {
        tx.create_service_referral(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&secret),
            &NewServiceReferral {
                service_id: "x".into(),
                service_name: "Drug service".into(),
                category: "substance_misuse".into(),
                to_agency_id: s.drugs.clone(),
                consent: Consent::Given,
                lawful_basis: String::new(),
                share_reason: String::new(),
                sharing_agreement: String::new(),
                reason: "help".into(),
                sent_by: amara.id.clone(),
            },
        )
        .await
    })
    .await
    .expect("referral");
    let (bilal_client, _, _) = app.session(&bilal).await;
    let (amara_client, amara_csrf, _) = app.session(&amara).await;
    let (out_client, _, _) = app.session(&outsider).await;

    // Page: the access list sees it; a colleague sees only the contact; an outsider gets 404.
    let page = get(&app, &amara_client, &format!("/cases/{secret}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Secretname Sample"));
    let res = get(&app, &bilal_client, &format!("/cases/{secret}")).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("body");
    assert!(
        body.contains("Dev Patel on 020 7946 0000") && !body.contains("Secretname"),
        "{body}"
    );
    assert!(
        !body.contains("Open in an emergency"),
        "practitioners cannot break the glass"
    );
    assert_eq!(
        get(&app, &out_client, &format!("/cases/{secret}"))
            .await
            .status(),
        404
    );
    // Address restriction is separate: the lead worker restricts the address through the
    // case page; then only the named list sees it, though colleagues still see the case.
    let before = get(&app, &bilal_client, &format!("/cases/{open_case}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(before.contains("12 Hidden Lane"), "{before}");
    let bad = post_form(
        &app,
        &amara_client,
        &format!("/cases/{open_case}/address-restriction"),
        &amara_csrf,
        &[("change", "maybe"), ("reason", "survivor moved")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let no_reason = post_form(
        &app,
        &amara_client,
        &format!("/cases/{open_case}/address-restriction"),
        &amara_csrf,
        &[("change", "restrict"), ("user_id", "")],
    )
    .await;
    assert_eq!(no_reason.status(), 422);
    let done = post_form(
        &app,
        &amara_client,
        &format!("/cases/{open_case}/address-restriction"),
        &amara_csrf,
        &[
            ("change", "restrict"),
            ("user_id", ""),
            ("reason", "survivor has moved to a refuge"),
        ],
    )
    .await;
    assert_eq!(done.status(), 303);
    assert_eq!(app.audited("address_access_list").await, 1);
    let colleague = get(&app, &bilal_client, &format!("/cases/{open_case}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        colleague.contains("Visible Sample")
            && !colleague.contains("12 Hidden Lane")
            && colleague.contains("Restricted: visible to a named list only"),
        "{colleague}"
    );
    let lead = get(&app, &amara_client, &format!("/cases/{open_case}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(lead.contains("12 Hidden Lane"), "the named list sees it");
    let json: serde_json::Value = get(&app, &bilal_client, &format!("/api/v1/cases/{open_case}"))
        .await
        .json()
        .await
        .expect("json");
    assert!(!json.to_string().contains("Hidden Lane"), "{json}");

    // Lists and counts: Bilal's team tab counts only what he may see.
    let list = get(&app, &bilal_client, "/cases?view=team")
        .await
        .text()
        .await
        .expect("body");
    assert!(list.contains("Visible Sample") && !list.contains("Secretname"));
    assert!(list.contains("Team cases (1)"), "{list}");
    let list = get(&app, &amara_client, "/cases?view=team")
        .await
        .text()
        .await
        .expect("body");
    assert!(list.contains("Secretname Sample") && list.contains("Team cases (2)"));
    // Lists never show addresses.
    assert!(!list.contains("12 Hidden Lane"));

    // Search: a colleague off the list learns nothing from a search, not even that a
    // restricted record matched (a masked row would let a name be confirmed letter by letter).
    for q in ["secretname", "s", "secr", "SAMPLE"] {
        let found = get(&app, &bilal_client, &format!("/cases?q={q}"))
            .await
            .text()
            .await
            .expect("body");
        assert!(
            !found.contains("restricted record exists") && !found.contains(&secret[..8]),
            "{q}: {found}"
        );
    }
    let found = get(&app, &bilal_client, "/cases?q=secretname")
        .await
        .text()
        .await
        .expect("body");
    assert!(found.contains("0 cases found"), "{found}");
    let found: serde_json::Value = get(&app, &bilal_client, "/api/v1/cases?q=secretname")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["total"], 0, "{found}");
    let listed = get(&app, &amara_client, "/cases?q=secretname")
        .await
        .text()
        .await
        .expect("body");
    assert!(listed.contains("Secretname Sample"), "the list finds it");
    let nothing = get(&app, &out_client, "/cases?q=secretname")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        nothing.contains("0 cases found") && !nothing.contains("restricted record exists"),
        "{nothing}"
    );

    // Export: the restricted row is left out for Bilal and included for Amara; no addresses.
    let csv = get(&app, &bilal_client, "/cases/export.csv?view=team")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(!csv.contains("Secretname"));
    let csv = get(&app, &amara_client, "/cases/export.csv?view=team")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(csv.lines().count(), 3);
    assert!(!csv.contains("Hidden Lane"));

    // API: same answers as the pages.
    let json: serde_json::Value = get(&app, &bilal_client, "/api/v1/cases?view=team")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(json["total"], 1);
    assert!(!json.to_string().contains("Secretname"));
    let json: serde_json::Value = get(&app, &bilal_client, &format!("/api/v1/cases/{secret}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (
            json["restricted"].as_bool(),
            json["masked"].as_bool(),
            json.get("person_name")
        ),
        (Some(true), Some(true), None)
    );
    // For someone on the list the case is still restricted, and not masked.
    let json: serde_json::Value = get(&app, &amara_client, &format!("/api/v1/cases/{secret}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (json["restricted"].as_bool(), json["masked"].as_bool()),
        (Some(true), Some(false)),
        "{json}"
    );
    assert!(
        json["person_name"]
            .as_str()
            .is_some_and(|n| n.contains("Secretname"))
    );
    assert_eq!(
        get(&app, &out_client, &format!("/api/v1/cases/{secret}"))
            .await
            .status(),
        404
    );

    // Notifications: the receiving service is told a referral waits, with no personal details.
    let notes = app
        .store()
        .notifications(&s.drugs_user.id, 10)
        .await
        .expect("notes");
    assert_eq!(notes.len(), 1);
    assert!(!notes[0].message.contains("Secretname"));
    // The service's page shows the contact, not the person, for a restricted case.
    let (svc, _, _) = app.session(&s.drugs_user).await;
    let r = app
        .store()
        .case_service_referrals(&secret)
        .await
        .expect("list")
        .remove(0);
    let page = get(&app, &svc, &format!("/service-referrals/{}", r.id))
        .await
        .text()
        .await
        .expect("body");
    assert!(!page.contains("Secretname") && page.contains("Restricted record: contact Dev Patel"));

    // Break-glass: a manager must give a reason; then sees the case, and the lead and a
    // manager are alerted, and it is audited.
    let (dev_client, dev_csrf, _) = app.session(&dev).await;
    let notice = get(&app, &dev_client, &format!("/cases/{secret}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(notice.contains("Open in an emergency"));
    let short = post_form(
        &app,
        &dev_client,
        &format!("/cases/{secret}/break-glass"),
        &dev_csrf,
        &[("reason", "urgent")],
    )
    .await;
    assert_eq!(short.status(), 422);
    assert_eq!(app.audited("break_glass").await, 0);
    let ok = post_form(
        &app,
        &dev_client,
        &format!("/cases/{secret}/break-glass"),
        &dev_csrf,
        &[("reason", "Police report a threat to life tonight")],
    )
    .await;
    assert_eq!(ok.status(), 303);
    let page = get(&app, &dev_client, &format!("/cases/{secret}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Secretname Sample"));
    let alerts = app
        .store()
        .notifications(&amara.id, 10)
        .await
        .expect("notes");
    assert!(
        alerts
            .iter()
            .any(|n| n.kind == "break_glass" && n.message.contains("Dev Patel"))
    );
    assert_eq!(app.audited("break_glass").await, 1);
    let grant: i64 = sqlx::query_scalar("SELECT expires_at - opened_at FROM break_glass")
        .fetch_one(app.store().pool())
        .await
        .expect("grant");
    assert_eq!(grant, 4 * 3600, "the grant expires");
    // Every read of the case was audited, allowed or denied.
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|(a, id, o)| a == "case_read" && id == &secret && o == "denied")
    );
    assert!(
        audit
            .iter()
            .any(|(a, id, o)| a == "case_read" && id == &secret && o == "allowed")
    );
}

#[tokio::test]
async fn case_forms_refuse_bad_input_and_record_good_input() {
    let app = App::start().await;
    let amara = app
        .user("amara@example.org", "Amara Okafor", &[Role::Practitioner])
        .await;
    let case_id = open(&app, &amara, "Form", false).await;
    let (client, csrf, _) = app.session(&amara).await;
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/entries"),
        &csrf,
        &[("kind", "street_contact"), ("summary", "Met")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Enter where the street contact took place")
    );
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/entries"),
        &csrf,
        &[
            ("kind", "street_contact"),
            ("summary", "Met at the park"),
            ("place", "Riverside Park"),
            ("occurred_at", "2026-01-02T18:30"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/tasks"),
        &csrf,
        &[
            ("title", "Visit"),
            ("owner_id", &amara.id),
            ("due_at", "tomorrow"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/tasks"),
        &csrf,
        &[
            ("title", "Visit"),
            ("owner_id", &amara.id),
            ("due_at", "2020-01-01"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let list = get(&app, &client, "/cases?view=overdue")
        .await
        .text()
        .await
        .expect("body");
    assert!(list.contains("Form Sample") && list.contains("Overdue"));
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/close"),
        &csrf,
        &[("closure_reason", "Goals met")],
    )
    .await;
    assert_eq!(res.status(), 422, "outcome measures are required");
    let mut fields = vec![("closure_reason", "Goals met")];
    let keys = [
        "outcome_safer",
        "outcome_reduced_risk",
        "outcome_education_employment",
        "outcome_no_new_offences",
        "outcome_engaged_services",
    ];
    for k in keys {
        fields.push((k, "yes"));
    }
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case_id}/close"),
        &csrf,
        &fields,
    )
    .await;
    assert_eq!(res.status(), 303);
    let closed = app.store().case(&case_id).await.expect("case");
    assert_eq!(closed.status.key(), "closed");
    assert!(closed.closure_outcomes.contains("\"safer\":\"yes\""));
    let page = get(&app, &client, &format!("/cases/{case_id}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(page.contains("Riverside Park"));
}

//! Referrals end to end: the form with server-side validation, the referrer's status view,
//! the triage queue with candidate matches, a decision that notifies the referrer by e-mail
//! (received by a local SMTP sink) and in-app, merges, and the safe-contact refusal.

use pathways_app::crypto;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::people::{PersonDetails, SafeContact};
use pathways_store::{NewUser, User};
use pathways_web::notify::{NotifySettings, deliver_due, sink};

use crate::support::{App, PASSWORD, element_text, get, location, post_form};

async fn partner(app: &App, email: &str, agency: &str) -> User {
    let agency = match app.store().agency_by_name(agency).await.expect("query") {
        Some(a) => a.id,
        None => {
            pathways_store::testing::create_agency(app.store(), agency, AgencyKind::School)
                .await
                .expect("agency")
                .id
        }
    };
    pathways_store::testing::create_user(
        app.store(),
        &NewUser {
            agency_id: agency,
            email: email.into(),
            display_name: "Ms Priya Shah".into(),
            roles: RoleSet::new(vec![Role::PartnerReferrer]),
            password_hash: Some(crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user")
}

fn tayo() -> PersonDetails {
    PersonDetails {
        first_name: "Tayo".into(),
        surname: "Okoro".into(),
        dob: Some("2010-04-12".into()),
        postcode: "E1 6AN".into(),
        school: "Northgate Academy".into(),
        ..PersonDetails::default()
    }
}

const FORM: &[(&str, &str)] = &[
    ("person-first_name", "Tayo"),
    ("person-surname", "Okorro"),
    ("person-dob-day", "4"),
    ("person-dob-month", "12"),
    ("person-dob-year", "2010"),
    ("person-postcode", "e1 6an"),
    ("person-school", "Northgate Academy"),
    ("concerns", "criminal_exploitation"),
    ("concerns", "going_missing"),
    (
        "reason",
        "Missing twice this month; seen with older youths and a second phone.",
    ),
    ("urgency", "urgent"),
    ("consent-status", "not_sought"),
    (
        "consent-reason",
        "Safeguarding: asking would increase the risk.",
    ),
    ("safe_contact-email", "no"),
    ("safe_contact-phone", "yes"),
    ("safe_contact-phone-when", "after 4pm"),
    ("referrer-name", "Ms Priya Shah"),
    ("referrer-email", "priya.shah@school.example"),
];

#[tokio::test]
async fn a_referral_goes_from_the_form_through_triage_to_the_referrer() {
    let app = App::start().await;
    let store = app.store().clone();
    let known = pathways_store::testing::create_person(&store, &tayo(), "import")
        .await
        .expect("known person");
    let referrer = partner(&app, "priya.shah@school.example", "Northgate Academy").await;
    let (rc, rcsrf, _) = app.session(&referrer).await;

    // Bad input: refused with the GOV.UK error summary, nothing saved.
    let form = get(&app, &rc, "/referrals/new").await;
    assert_eq!(form.status(), 200);
    let mut bad: Vec<(&str, &str)> = FORM
        .iter()
        .filter(|(k, _)| *k != "person-first_name")
        .copied()
        .collect();
    bad.retain(|(k, _)| *k != "person-dob-day");
    bad.push(("person-dob-day", "31"));
    bad.retain(|(k, _)| *k != "person-dob-month");
    bad.push(("person-dob-month", "2"));
    let long = "x".repeat(5001);
    bad.retain(|(k, _)| *k != "reason");
    bad.push(("reason", &long));
    let res = post_form(&app, &rc, "/referrals/new", &rcsrf, &bad).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.expect("body");
    assert!(html.contains("govuk-error-summary"));
    assert!(
        html.contains("href=\"#person-first_name\">Enter first name</a>"),
        "{html}"
    );
    assert!(html.contains("Date of birth must be a real date"));
    assert!(html.contains("Reason for the referral must be 5000 characters or fewer"));
    assert!(
        store.triage_queue().await.expect("queue").is_empty(),
        "nothing half-saved"
    );

    // A good referral: the referrer gets a reference.
    let res = post_form(&app, &rc, "/referrals/new", &rcsrf, FORM).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    let reference = to
        .trim_start_matches("/referrals/")
        .trim_end_matches("/submitted")
        .to_string();
    assert!(
        reference.starts_with("R-20") && reference.len() == 13,
        "{reference}"
    );
    let done = get(&app, &rc, &to).await.text().await.expect("body");
    assert_eq!(element_text(&done, "reference"), reference);

    // The referrer sees the status, not the file.
    let status = get(&app, &rc, &format!("/referrals/{reference}"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        element_text(&status, "status"),
        "Received: waiting for triage"
    );
    assert!(
        !status.contains("second phone") && !status.contains("Okorro"),
        "no case details for referrers"
    );
    let referral = store
        .referral_by_reference(&reference)
        .await
        .expect("stored");
    assert_eq!(referral.submitted.person.dob.as_deref(), Some("2010-12-04"));
    assert_eq!(referral.submitted.person.postcode, "E1 6AN");

    // Another referrer cannot see it at all.
    let other = partner(&app, "someone@school.example", "Northgate Academy").await;
    let (oc, _, _) = app.session(&other).await;
    assert_eq!(
        get(&app, &oc, &format!("/referrals/{reference}"))
            .await
            .status(),
        404
    );
    let mine = get(&app, &oc, "/referrals/mine")
        .await
        .text()
        .await
        .expect("body");
    assert!(!mine.contains(&reference) && mine.contains("not made any referrals"));
    assert_eq!(get(&app, &rc, "/referrals/triage").await.status(), 403);

    // Triage: the queue, the candidate with its evidence, link, decide.
    let manager = app
        .user("dev.patel@council.example", "Dev Patel", &[Role::Manager])
        .await;
    let (mc, mcsrf, _) = app.session(&manager).await;
    let queue = get(&app, &mc, "/referrals/triage")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(element_text(&queue, "waiting-count"), "1");
    assert!(queue.contains(&reference) && queue.contains("Urgent"));
    let detail = get(&app, &mc, &format!("/referrals/{reference}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(detail.contains("Tayo Okoro ("), "candidate shown: {detail}");
    assert!(detail.contains("day and month swapped"), "evidence shown");
    assert!(detail.contains(&format!("value=\"{known}\"")));
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/{reference}/decision"),
        &mcsrf,
        &[("decision", "signpost"), ("reason", "")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.expect("body");
    assert!(
        html.contains("Enter the service you are signposting to")
            && html.contains("Enter the reason for the decision")
    );
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/{reference}/link"),
        &mcsrf,
        &[("person_id", known.as_str())],
    )
    .await;
    assert_eq!(res.status(), 303);
    let rules = store.safe_contacts(&known).await.expect("rules");
    assert!(
        rules.iter().any(|r| r.channel == "email" && !r.safe),
        "referral's safe-contact rules reach the person"
    );
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/{reference}/decision"),
        &mcsrf,
        &[
            ("decision", "open_case"),
            ("reason", "Meets the threshold for outreach."),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let decided = store
        .referral_by_reference(&reference)
        .await
        .expect("stored");
    assert_eq!(decided.decision.as_deref(), Some("open_case"));
    assert_eq!(decided.person_id.as_deref(), Some(known.as_str()));
    assert_eq!(
        store
            .referrals_to_open_as_cases()
            .await
            .expect("hand-over")
            .len(),
        1
    );

    // The referrer is told: e-mail through the outbox to a local SMTP sink, and in-app.
    let (port, mut mail) = sink::start(false).await.expect("sink");
    let settings = NotifySettings {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        ..NotifySettings::default()
    };
    let report = deliver_due(&store, &settings, "sender")
        .await
        .expect("delivery");
    assert_eq!(report.sent, 2);
    let got = mail.recv().await.expect("an e-mail");
    assert_eq!(got.to, "priya.shah@school.example");
    assert!(
        got.data
            .contains(&format!("Subject: Referral {reference}: decision made\r\n")),
        "{}",
        got.data
    );
    assert!(got.data.contains("Decision: Case opened"), "{}", got.data);
    assert!(
        !got.data.contains("Tayo") && !got.data.contains("Okoro"),
        "no personal details by e-mail"
    );
    let notes = store
        .notifications(&referrer.id, 10)
        .await
        .expect("notifications");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].link, format!("/referrals/{reference}"));
    assert_eq!(
        deliver_due(&store, &settings, "sender")
            .await
            .expect("again")
            .sent,
        0,
        "delivered once"
    );
    let status = get(&app, &rc, &format!("/referrals/{reference}"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(element_text(&status, "status"), "Case opened");
    assert!(status.contains("Meets the threshold for outreach."));

    // Every read was audited, refusals included.
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|(a, id, _)| a == "read_candidate" && id == &known)
    );
    assert!(
        audit
            .iter()
            .any(|(a, id, o)| a == "read" && id == &referral.id && o == "allowed")
    );
    assert!(
        audit
            .iter()
            .any(|(a, id, o)| a == "read" && id == &referral.id && o == "denied")
    );
    assert!(
        audit
            .iter()
            .any(|(a, id, o)| a == "decide" && id == &referral.id && o == "allowed")
    );
}

#[tokio::test]
async fn the_api_validates_and_answers_with_a_reference_and_status() {
    let app = App::start().await;
    let referrer = partner(&app, "pc.reid@police.example", "Metropolitan Police").await;
    let raw = "pw_referral_feed_secret";
    pathways_store::testing::create_api_token(
        app.store(),
        "Police feed",
        &crypto::digest(raw),
        &referrer.agency_id,
        &["make_referral".into()],
        &referrer.id,
    )
    .await
    .expect("token");
    let api = reqwest::Client::new();
    let url = app.url("/api/v1/referrals");
    let bad = serde_json::json!({
        "person": {"first_name": "", "surname": "Okoro", "dob": "2031-01-01"},
        "concerns": ["juggling"], "reason": "r", "urgency": "standard",
        "consent": {"status": "given"}, "referrer": {"name": "PC Reid", "email": "pc.reid@police.example"}
    });
    let res = api
        .post(&url)
        .bearer_auth(raw)
        .json(&bad)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid");
    let fields: Vec<&str> = body["error"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["person.first_name", "person.dob", "concerns"]);
    assert_eq!(
        body["error"]["errors"][1]["message"],
        "Date of birth must be in the past"
    );
    let res = api
        .post(&url)
        .bearer_auth(raw)
        .header("content-type", "application/json")
        .body("{\"person\": [")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 422);
    assert!(app.store().triage_queue().await.expect("queue").is_empty());

    let good = serde_json::json!({
        "person": {"first_name": "Jay", "surname": "Mensah", "approx_age": 15, "aliases": ["JJ"]},
        "concerns": ["carrying_weapons"], "reason": "Found with a knife at the station.", "urgency": "urgent",
        "consent": {"status": "refused", "reason": "Prevention of serious crime."},
        "safe_contact": [{"channel": "text", "safe": false}],
        "referrer": {"name": "PC Daniel Reid", "email": "pc.reid@police.example"}
    });
    let res = api
        .post(&url)
        .bearer_auth(raw)
        .json(&good)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.expect("json");
    let reference = created["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    assert_eq!(created["status"], "received");
    let res = api
        .get(app.url(&format!("/api/v1/referrals/{reference}")))
        .bearer_auth(raw)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200);
    let status: serde_json::Value = res.json().await.expect("json");
    assert_eq!(status["status"], "Received: waiting for triage");
    assert_eq!(status["about"], "J. M.");
    assert!(
        status.get("reason").is_some_and(|r| r == ""),
        "no case details before a decision"
    );
    let stored = app
        .store()
        .referral_by_reference(&reference)
        .await
        .expect("stored");
    assert_eq!(stored.submitted.referrer_user_id, None);
    assert!(stored.submitted.referrer_actor.starts_with("token:"));
}

#[tokio::test]
async fn merges_are_audited_and_unsafe_channels_are_refused() {
    let app = App::start().await;
    let store = app.store().clone();
    let a = pathways_store::testing::create_person(&store, &tayo(), "import")
        .await
        .expect("a");
    let mut variant = tayo();
    variant.first_name = "Taiwo".into();
    let b = pathways_store::testing::create_person(&store, &variant, "import")
        .await
        .expect("b");
    let unsafe_email = SafeContact {
        channel: "email".into(),
        safe: false,
        detail: String::new(),
        when: String::new(),
    };
    pathways_store::testing::set_safe_contact(&store, &a, &unsafe_email, "import")
        .await
        .expect("rule");
    let manager = app
        .user("dev.patel@council.example", "Dev Patel", &[Role::Manager])
        .await;
    let (mc, csrf, _) = app.session(&manager).await;

    let page = get(&app, &mc, &format!("/referrals/people/{a}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("Possible duplicates")
            && page.contains(&format!("/referrals/people/{b}/merge")),
        "{page}"
    );
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/people/{b}/merge"),
        &csrf,
        &[("into", a.as_str()), ("reason", "")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        store.resolve_person(&b).await.expect("resolve"),
        b,
        "not merged without a reason"
    );
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/people/{b}/merge"),
        &csrf,
        &[("into", a.as_str()), ("reason", "Same school and birthday")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(store.resolve_person(&b).await.expect("resolve"), a);
    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/people/{b}/unmerge"),
        &csrf,
        &[("reason", "Twins")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(store.resolve_person(&b).await.expect("resolve"), b);
    let audit = app.audit().await;
    assert!(audit.iter().any(|(act, id, _)| act == "merge" && id == &b));
    assert!(
        audit
            .iter()
            .any(|(act, id, _)| act == "unmerge" && id == &b)
    );

    let res = post_form(
        &app,
        &mc,
        &format!("/referrals/people/{a}/message"),
        &csrf,
        &[
            ("to", "tayo@example.org"),
            ("subject", "Appointment"),
            ("body", "See you on Monday."),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Contact by email is marked unsafe for this person")
    );
    assert!(
        store.recent_outbox(10).await.expect("outbox").is_empty(),
        "refused, not queued"
    );
    assert!(
        app.audit()
            .await
            .iter()
            .any(|(act, id, o)| act == "message" && id == &a && o == "refused")
    );

    // A partner referrer cannot open person records.
    let referrer = partner(&app, "p@school.example", "Northgate Academy").await;
    let (rc, _, _) = app.session(&referrer).await;
    assert_eq!(
        get(&app, &rc, &format!("/referrals/people/{a}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn the_queue_puts_breaches_first_and_hides_what_triage_may_not_see() {
    let app = App::start().await;
    let store = app.store().clone();
    let referrer = partner(&app, "p@school.example", "Northgate Academy").await;
    let base = pathways_store::referrals::NewReferral {
        referrer_actor: referrer.id.clone(),
        referrer_user_id: Some(referrer.id.clone()),
        referrer_agency_id: referrer.agency_id.clone(),
        referrer_name: "Ms Shah".into(),
        referrer_email: "p@school.example".into(),
        person: tayo(),
        concerns: vec!["going_missing".into()],
        reason: "Missing".into(),
        urgency: "standard".into(),
        consent: "given".into(),
        ..Default::default()
    };
    let now = pathways_store::now_unix();
    let fresh = pathways_store::testing::create_referral_at(&store, &base, now - 60)
        .await
        .expect("fresh");
    let old = pathways_store::testing::create_referral_at(
        &store,
        &pathways_store::referrals::NewReferral {
            urgency: "urgent".into(),
            ..base.clone()
        },
        now - 14 * 86_400,
    )
    .await
    .expect("old");
    // A referral about a restricted person whose access list the manager is not on.
    let hidden = pathways_store::testing::create_referral_at(&store, &base, now - 30 * 86_400)
        .await
        .expect("hidden");
    let person = pathways_store::testing::create_person_for_referral(&store, &hidden.id, "import")
        .await
        .expect("person");
    app.sql(&format!(
        "UPDATE people SET restricted = 1, restriction_contact = 'DS Khan' WHERE id = '{person}'"
    ))
    .await;

    let manager = app
        .user("dev.patel@council.example", "Dev Patel", &[Role::Manager])
        .await;
    let (mc, _, _) = app.session(&manager).await;
    let queue = get(&app, &mc, "/referrals/triage")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        element_text(&queue, "waiting-count"),
        "2",
        "the restricted referral is not counted"
    );
    assert_eq!(element_text(&queue, "breached-count"), "1");
    assert!(!queue.contains(&hidden.reference));
    let (o, f) = (
        queue.find(&old.reference).expect("old listed"),
        queue.find(&fresh.reference).expect("fresh listed"),
    );
    assert!(o < f, "the breached referral comes first");
    assert!(queue.contains("Overdue by"));
    assert_eq!(
        get(&app, &mc, &format!("/referrals/{}", hidden.reference))
            .await
            .status(),
        404
    );
}

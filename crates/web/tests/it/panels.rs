//! Panels over HTTP: a case referred with its MARAC eligibility, accepted once, an agenda
//! built, published and read by a member agency only while its window is open, research
//! refused for a case not on the agenda, the chair's actions refused without an owner or
//! with a past due date, an owner completing the last action closing the panel case, the
//! minutes for the case team after the window, and the data return with small counts
//! withheld in the CSV and JSON. Every step that must be audited is.

use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::cases::NewCase;
use pathways_store::people::PersonDetails;
use pathways_store::{NewUser, User, now_unix};

use crate::support::{App, PASSWORD, get, location, post_form, post_pairs};

async fn user_in(app: &App, agency: &str, email: &str, name: &str, roles: &[Role]) -> User {
    pathways_store::testing::create_user(
        app.store(),
        &NewUser {
            agency_id: agency.into(),
            email: email.into(),
            display_name: name.into(),
            roles: RoleSet::new(roles.to_vec()),
            password_hash: Some(pathways_app::crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user")
}

async fn body(res: reqwest::Response) -> String {
    res.text().await.expect("body")
}

#[tokio::test]
async fn a_case_goes_from_referral_through_the_meeting_to_a_closed_panel_case() {
    let app = App::start().await;
    let store = app.store().clone();
    let council = app.agency().await;
    let idva =
        pathways_store::testing::create_agency(&store, "IDVA Service", AgencyKind::VawgSpecialist)
            .await
            .expect("agency");
    let health = pathways_store::testing::create_agency(&store, "Health", AgencyKind::Health)
        .await
        .expect("agency");
    let elsewhere = pathways_store::testing::create_agency(&store, "Elsewhere", AgencyKind::Police)
        .await
        .expect("agency");
    let grace = user_in(
        &app,
        &council,
        "grace@example.org",
        "Grace Mensah",
        &[Role::PanelCoordinator],
    )
    .await;
    let chloe = user_in(
        &app,
        &idva.id,
        "chloe@example.org",
        "Chloe Evans",
        &[Role::Practitioner],
    )
    .await;
    let nurse = user_in(
        &app,
        &health.id,
        "nurse@example.org",
        "Nurse Byrne",
        &[Role::Practitioner],
    )
    .await;
    let stranger = user_in(
        &app,
        &elsewhere.id,
        "x@example.org",
        "Stranger",
        &[Role::Practitioner, Role::Manager],
    )
    .await;
    let person = pathways_store::testing::create_person(
        &store,
        &PersonDetails {
            first_name: "Jade".into(),
            surname: "Moss".into(),
            dob: Some("1990-02-03".into()),
            address_line: "12 Hidden Lane".into(),
            ..PersonDetails::default()
        },
        "test",
    )
    .await
    .expect("person");
    let case = pathways_store::testing::write(&store, async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: person.clone(),
                lead_worker_id: chloe.id.clone(),
                opened_by: chloe.id.clone(),
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case");
    let (gc, gcsrf, _) = app.session(&grace).await;
    let (cc, ccsrf, _) = app.session(&chloe).await;
    let (nc, ncsrf, _) = app.session(&nurse).await;
    let (sc, _, _) = app.session(&stranger).await;

    // The coordinator sets up the panel; "Panels" in the navigation leads to it.
    let home = body(get(&app, &gc, "/panels").await).await;
    assert!(
        home.contains("href=\"/panels\"") && home.contains("Set up a panel"),
        "{home}"
    );
    let res = post_form(
        &app,
        &gc,
        "/panels",
        &gcsrf,
        &[
            ("name", "Riverside MARAC"),
            ("kind", "marac"),
            ("chair_id", &grace.id),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{}", body(res).await);
    let panel_path = location(&res);
    let panel = panel_path.trim_start_matches("/panels/").to_string();
    for (agency, contact) in [(&idva.id, &chloe.id), (&health.id, &nurse.id)] {
        let res = post_form(
            &app,
            &gc,
            &format!("{panel_path}/members"),
            &gcsrf,
            &[("agency_id", agency), ("contact_id", contact)],
        )
        .await;
        assert_eq!(res.status(), 303);
    }

    // The case team scores a DASH and refers with the eligibility explanation.
    let answers: Vec<(String, String)> = (1..=24)
        .map(|i| {
            (
                format!("q{i}"),
                if i <= 15 { "yes" } else { "no" }.to_string(),
            )
        })
        .collect();
    let res = post_pairs(
        &app,
        &cc,
        &format!("/cases/{case}/assess/dash"),
        &ccsrf,
        &answers,
    )
    .await;
    assert_eq!(res.status(), 303);
    let form = body(get(&app, &cc, &format!("/panels/refer/{case}")).await).await;
    assert!(
        form.contains("Riverside MARAC") && form.contains("15"),
        "{form}"
    );
    let res = post_form(
        &app,
        &cc,
        &format!("/panels/refer/{case}"),
        &ccsrf,
        &[
            ("panel_id", &panel),
            ("reason", "Strangulation disclosed"),
            ("children", "2"),
            ("perpetrator", "Lee Moss"),
            ("bme", "yes"),
            ("male", "no"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{}", body(res).await);
    let referral = store
        .panel_referrals_for_case(&case)
        .await
        .expect("referrals")
        .remove(0);
    assert!(
        referral.eligibility.contains("visible_high_risk"),
        "{}",
        referral.eligibility
    );

    // Accepted once; a second accept is refused and nothing changes.
    let page = body(get(&app, &gc, &panel_path).await).await;
    assert!(
        page.contains("Jade Moss") && page.contains("Strangulation disclosed"),
        "{page}"
    );
    let decide = format!("/panels/referrals/{}/decision", referral.id);
    let res = post_form(&app, &gc, &decide, &gcsrf, &[("decision", "accept")]).await;
    assert_eq!(res.status(), 303);
    let again = post_form(&app, &gc, &decide, &gcsrf, &[("decision", "accept")]).await;
    assert_eq!(again.status(), 409);
    assert!(body(again).await.contains("already been decided"));

    // A meeting in the past is refused; next week's is called.
    let res = post_form(
        &app,
        &gc,
        &format!("{panel_path}/meetings"),
        &gcsrf,
        &[("kind", "ad_hoc"), ("held_at", "2020-01-07T10:00")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(body(res).await.contains("must be in the future"));
    let next_week = pathways_domain::time::format_datetime_local(now_unix() + 7 * 86_400);
    let res = post_form(
        &app,
        &gc,
        &format!("{panel_path}/meetings"),
        &gcsrf,
        &[("kind", "ad_hoc"), ("held_at", &next_week)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let meeting_path = location(&res);
    let meeting = meeting_path
        .trim_start_matches("/panels/meetings/")
        .to_string();
    assert_eq!(
        post_form(&app, &gc, &format!("{meeting_path}/agenda"), &gcsrf, &[])
            .await
            .status(),
        303
    );
    let agenda = body(get(&app, &gc, &meeting_path).await).await;
    assert!(
        agenda.contains("1 cases, 15 minutes in all") && agenda.contains("Lee Moss"),
        "{agenda}"
    );

    // Before publication a member agency sees nothing; after it, the minimum; a stranger never.
    assert_eq!(get(&app, &nc, &meeting_path).await.status(), 404);
    assert_eq!(
        post_form(&app, &gc, &format!("{meeting_path}/publish"), &gcsrf, &[])
            .await
            .status(),
        303
    );
    let seen = body(get(&app, &nc, &meeting_path).await).await;
    assert!(
        seen.contains("Jade Moss") && seen.contains("1990-02-03") && !seen.contains("Hidden Lane"),
        "{seen}"
    );
    assert_eq!(get(&app, &sc, &meeting_path).await.status(), 404);
    assert_eq!(
        get(&app, &sc, &format!("{meeting_path}/minutes"))
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&app, &nc, &format!("/cases/{case}")).await.status(),
        404,
        "the window opens the agenda, not the case file"
    );
    let notices = store.notifications(&nurse.id, 10).await.expect("notices");
    assert!(
        notices.iter().any(|n| n.message.contains("agenda")),
        "{notices:?}"
    );

    // Research for a case not on the agenda is refused; for the case on it, recorded.
    let research = format!("{meeting_path}/research");
    let res = post_form(
        &app,
        &nc,
        &research,
        &ncsrf,
        &[
            ("item_id", "not-on-the-agenda"),
            ("subject", "victim"),
            ("holds", "nothing_held"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(body(res).await.contains("not on this meeting"));
    let item = store.items(&meeting).await.expect("items").remove(0);
    let res = post_form(
        &app,
        &nc,
        &research,
        &ncsrf,
        &[
            ("item_id", &item.id),
            ("subject", "victim"),
            ("holds", "holds"),
            ("detail", "A&E attendance in May"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(store.research(&meeting).await.expect("research").len(), 1);

    // The chair: actions need an owner and a due date not in the past.
    let chair = body(get(&app, &gc, &format!("{meeting_path}/chair")).await).await;
    assert!(
        chair.contains("data-pw-timer") && chair.contains("A&#38;E attendance in May"),
        "{chair}"
    );
    let actions = format!("{meeting_path}/actions");
    let res = post_form(
        &app,
        &gc,
        &actions,
        &gcsrf,
        &[
            ("item_id", &item.id),
            ("agency_id", &idva.id),
            ("title", "Safety plan"),
            ("due_at", "2030-01-10"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(body(res).await.contains("named owner"));
    let res = post_form(
        &app,
        &gc,
        &actions,
        &gcsrf,
        &[
            ("item_id", &item.id),
            ("agency_id", &idva.id),
            ("owner_id", &chloe.id),
            ("title", "Safety plan"),
            ("due_at", "2020-01-10"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(body(res).await.contains("cannot be in the past"));
    assert!(
        store
            .meeting_actions(&meeting)
            .await
            .expect("actions")
            .is_empty(),
        "nothing saved"
    );
    let res = post_form(
        &app,
        &gc,
        &actions,
        &gcsrf,
        &[
            ("item_id", &item.id),
            ("agency_id", &idva.id),
            ("owner_id", &chloe.id),
            ("title", "Safety plan"),
            ("due_at", "2030-01-10"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = post_pairs(
        &app,
        &gc,
        &format!("{meeting_path}/discussion"),
        &gcsrf,
        &[
            ("item_id".into(), item.id.clone()),
            ("position".into(), "1".into()),
            (
                format!("shared:{}", health.id),
                "A&E attendance in May".into(),
            ),
            ("risks".into(), "Strangulation".into()),
            ("minutes".into(), "Safety plan agreed".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);

    // The owner sees the action and completes it; the panel case closes.
    let mine = body(get(&app, &cc, "/panels/actions").await).await;
    assert!(mine.contains("Safety plan"), "{mine}");
    let action = store
        .actions_of_owner(&chloe.id)
        .await
        .expect("actions")
        .remove(0);
    let res = post_form(
        &app,
        &cc,
        &format!("/panels/actions/{}", action.id),
        &ccsrf,
        &[("status", "done")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        store
            .panel_referral(&referral.id)
            .await
            .expect("referral")
            .status
            .key(),
        "closed"
    );

    // After the window closes the member agency reads nothing; the case team keeps the minutes.
    app.sql(&format!(
        "UPDATE panel_meetings SET window_closes_at = {} WHERE id = '{meeting}'",
        now_unix() - 1
    ))
    .await;
    assert_eq!(get(&app, &nc, &meeting_path).await.status(), 404);
    assert_eq!(
        get(&app, &nc, &format!("{meeting_path}/minutes"))
            .await
            .status(),
        404
    );
    let minutes = body(get(&app, &cc, &format!("{meeting_path}/minutes")).await).await;
    assert!(
        minutes.contains("Safety plan agreed") && minutes.contains("OFFICIAL-SENSITIVE"),
        "{minutes}"
    );

    // The data return: every figure on the page; small counts withheld in CSV and JSON.
    let quarter = pathways_domain::panels::Quarter::of(now_unix() + 7 * 86_400).to_string();
    let page = body(
        get(
            &app,
            &gc,
            &format!("{panel_path}/data-return?quarter={quarter}"),
        )
        .await,
    )
    .await;
    assert!(
        page.contains("data-measure=\"cases_discussed\">1<"),
        "{page}"
    );
    let csv = body(
        get(
            &app,
            &gc,
            &format!("{panel_path}/data-return.csv?quarter={quarter}"),
        )
        .await,
    )
    .await;
    assert!(csv.contains("cases_discussed,Cases discussed,<5"), "{csv}");
    let json: serde_json::Value = gc
        .get(app.url(&format!(
            "/api/v1/panels/{panel}/data-return?quarter={quarter}"
        )))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(json["measures"][0]["suppressed"], true, "{json}");

    for action in [
        "panel_referral",
        "panel_referral_decide",
        "panel_agenda_build",
        "panel_agenda_publish",
        "panel_agenda_view",
        "panel_research",
        "panel_action_add",
        "panel_action_change",
        "panel_meeting_record",
        "panel_minutes_read",
        "panel_data_return",
    ] {
        assert!(app.audited(action).await > 0, "{action} audited");
    }
    let refused = app.audit().await;
    assert!(
        refused
            .iter()
            .any(|(a, _, o)| a == "panel_agenda_view" && o == "denied")
    );
}

/// A panel run by `coordinator` (a practitioner of another agency) with a published
/// meeting, a case on its agenda with an action, and a referral waiting for a decision:
/// records the route matrix's callers have no part in.
pub(crate) async fn matrix_fixtures(
    store: &pathways_store::Store,
    coordinator: &User,
    case: &str,
) -> Vec<(&'static str, String)> {
    use pathways_domain::access::panel::{PanelAction, authorize_panel};
    use pathways_domain::ids::{MeetingId, PanelId};
    use pathways_domain::panels::{MeetingKind, PanelKind, ReferralSource, SubjectKind};
    use pathways_store::panels::{NewItem, NewPanel, NewPanelReferral, ReferralProof};
    use pathways_store::testing::{permitted, write};
    let panel = write(store, async |tx| {
        tx.create_panel(
            &permitted(pathways_domain::Permission::CoordinatePanels),
            &NewPanel {
                name: "Elsewhere MARAC".into(),
                kind: Some(PanelKind::Marac),
                chair_id: coordinator.id.clone(),
                coordinator_id: coordinator.id.clone(),
                meeting_time: "10:00".into(),
                anchor_date: "2026-01-06".into(),
                minutes_per_case: 15,
                window_after_secs: 3600,
                suppress_below: 5,
                created_by: coordinator.id.clone(),
                ..NewPanel::default()
            },
        )
        .await
    })
    .await
    .expect("panel");
    let actor = pathways_domain::Actor {
        user_id: coordinator.id.clone(),
        agency_id: coordinator.agency_id.clone(),
        roles: coordinator.roles.clone(),
        scopes: None,
    };
    let facts = store.panel_facts(&panel).await.expect("facts");
    let cap = authorize_panel(
        &actor,
        PanelAction::Manage,
        &facts,
        now_unix(),
        PanelId::new(panel.clone()),
    )
    .expect("coordinator");
    let case_row = store.case(case).await.expect("case");
    let referral = |accepted: bool| NewPanelReferral {
        panel_id: panel.clone(),
        subject_kind: SubjectKind::Person,
        subject_label: String::new(),
        person_id: Some(case_row.person_id.clone()),
        case_id: Some(case.to_string()),
        referral_id: None,
        source: ReferralSource::OtherArea,
        other_area: "Northshire".into(),
        referring_agency_id: coordinator.agency_id.clone(),
        referred_by: coordinator.id.clone(),
        referred_at: now_unix(),
        risk_level: "high".into(),
        eligibility: "{}".into(),
        reason: "Transferred".into(),
        children: 1,
        perpetrator: String::new(),
        accepted,
        new_person: None,
    };
    let on_agenda = write(store, async |tx| {
        tx.create_panel_referral(ReferralProof::Panel(&cap), &referral(true))
            .await
    })
    .await
    .expect("referral");
    let pending = write(store, async |tx| {
        tx.create_panel_referral(ReferralProof::Panel(&cap), &referral(false))
            .await
    })
    .await
    .expect("referral");
    let held = now_unix() + 7 * 86_400;
    let meeting = write(store, async |tx| {
        tx.create_meeting(&cap, held, MeetingKind::AdHoc, &coordinator.id)
            .await
    })
    .await
    .expect("meeting");
    let mcap = authorize_panel(
        &actor,
        PanelAction::Manage,
        &facts,
        now_unix(),
        MeetingId::new(meeting.clone()),
    )
    .expect("coordinator");
    let items = [NewItem {
        referral_id: on_agenda.id.clone(),
        minutes_allowed: 15,
        returning: false,
    }];
    write(store, async |tx| tx.set_agenda(&mcap, &items).await)
        .await
        .expect("agenda");
    write(store, async |tx| {
        tx.publish_agenda(&mcap, held + 3600, "Published", "/panels")
            .await
    })
    .await
    .expect("published");
    let item = store.items(&meeting).await.expect("items").remove(0);
    let action = write(store, async |tx| {
        tx.add_panel_action(
            &mcap,
            &pathways_store::panels::NewAction {
                item_id: item.id.clone(),
                agency_id: coordinator.agency_id.clone(),
                owner_id: coordinator.id.clone(),
                title: "Visit".into(),
                due_at: held + 86_400,
                by: coordinator.id.clone(),
            },
        )
        .await
    })
    .await
    .expect("action");
    vec![
        ("foreign_panel", panel),
        ("foreign_meeting", meeting),
        ("foreign_item", item.id),
        ("foreign_panel_referral", pending.id),
        ("foreign_panel_action", action),
    ]
}

//! Panels on every backend: repeats found through the person index across merged records,
//! one decision per referral, agendas refused once published, research only for items on
//! the agenda, and the rows of the data return.

use pathways_domain::access::panel::{PanelAction, authorize_panel};
use pathways_domain::ids::{MeetingId, PanelId};
use pathways_domain::panels::{
    MeetingKind, PanelKind, ReferralSource, ResearchSubject, SubjectKind,
};
use pathways_domain::{Actor, AgencyKind, Permission, Role, RoleSet};
use pathways_store::panels::{
    Discussion, NewItem, NewPanel, NewPanelReferral, ReferralProof, ResearchEntry,
};
use pathways_store::people::PersonDetails;
use pathways_store::testing::{permitted, write};
use pathways_store::{NewUser, Store, StoreError, now_unix};

use crate::on_every_backend;

const DAY: i64 = 86_400;

async fn setup(store: &Store) -> (Actor, String, String) {
    let agency =
        pathways_store::testing::create_agency(store, "Riverside Police", AgencyKind::Police)
            .await
            .expect("agency");
    let user = pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.id.clone(),
            email: "grace@example.org".into(),
            display_name: "Grace".into(),
            roles: RoleSet::new(vec![Role::PanelCoordinator]),
            password_hash: None,
        },
    )
    .await
    .expect("user");
    let panel = write(store, async |tx| {
        tx.create_panel(
            &permitted(Permission::CoordinatePanels),
            &NewPanel {
                name: "Riverside MARAC".into(),
                kind: Some(PanelKind::Marac),
                chair_id: user.id.clone(),
                coordinator_id: user.id.clone(),
                every_weeks: 2,
                weekday: 1,
                meeting_time: "10:00".into(),
                anchor_date: "2026-01-06".into(),
                minutes_per_case: 15,
                window_after_secs: 48 * 3600,
                suppress_below: 5,
                created_by: user.id.clone(),
                ..NewPanel::default()
            },
        )
        .await
    })
    .await
    .expect("panel");
    let actor = Actor {
        user_id: user.id.clone(),
        agency_id: agency.id.clone(),
        roles: RoleSet::new(vec![Role::PanelCoordinator]),
        scopes: None,
    };
    (actor, panel, agency.id)
}

fn referral(panel: &str, agency: &str, by: &str, person: &str, at: i64) -> NewPanelReferral {
    NewPanelReferral {
        panel_id: panel.into(),
        subject_kind: SubjectKind::Person,
        subject_label: String::new(),
        person_id: Some(person.into()),
        case_id: None,
        referral_id: None,
        source: ReferralSource::OtherArea,
        other_area: "Northshire".into(),
        referring_agency_id: agency.into(),
        referred_by: by.into(),
        referred_at: at,
        risk_level: "high".into(),
        eligibility: "{}".into(),
        reason: "Transferred".into(),
        children: 2,
        perpetrator: String::new(),
        accepted: false,
        new_person: None,
    }
}

#[tokio::test]
async fn repeats_are_found_across_merged_records_within_twelve_months() {
    on_every_backend!(|store| {
        let (actor, panel, agency) = setup(&store).await;
        let facts = store.panel_facts(&panel).await.expect("facts");
        let cap = authorize_panel(
            &actor,
            PanelAction::Manage,
            &facts,
            now_unix(),
            PanelId::new(panel.clone()),
        )
        .expect("coordinator");
        let person = |first: &str| PersonDetails {
            first_name: first.into(),
            surname: "Moss".into(),
            dob: Some("2009-05-06".into()),
            ..PersonDetails::default()
        };
        let kept = pathways_store::testing::create_person(&store, &person("Jade"), "test")
            .await
            .expect("person");
        let merged = pathways_store::testing::create_person(&store, &person("Jayde"), "test")
            .await
            .expect("person");
        pathways_store::testing::merge_people(
            &store,
            &merged,
            &kept,
            "Same person",
            &actor.user_id,
        )
        .await
        .expect("merge");
        let t0 = now_unix() - 500 * DAY;
        let first = write(&store, async |tx| {
            tx.create_panel_referral(
                ReferralProof::Panel(&cap),
                &referral(&panel, &agency, &actor.user_id, &merged, t0),
            )
            .await
        })
        .await
        .expect("first");
        assert!(!first.repeat);
        // The kept record, 100 days later: the merged record's referral makes it a repeat.
        let second = write(&store, async |tx| {
            tx.create_panel_referral(
                ReferralProof::Panel(&cap),
                &referral(&panel, &agency, &actor.user_id, &kept, t0 + 100 * DAY),
            )
            .await
        })
        .await
        .expect("second");
        assert!(second.repeat, "a referral within 12 months is a repeat");
        assert_eq!(
            second.previous_referral_id.as_deref(),
            Some(first.id.as_str())
        );
        // 366 days after the last one: not a repeat.
        let third = write(&store, async |tx| {
            tx.create_panel_referral(
                ReferralProof::Panel(&cap),
                &referral(&panel, &agency, &actor.user_id, &kept, t0 + 466 * DAY),
            )
            .await
        })
        .await
        .expect("third");
        assert!(!third.repeat);

        // One decision per referral: the second is a conflict and changes nothing.
        write(&store, async |tx| {
            tx.decide_panel_referral(&cap, &third.id, true, "", &actor.user_id)
                .await
        })
        .await
        .expect("accepted");
        let again = write(&store, async |tx| {
            tx.decide_panel_referral(&cap, &third.id, false, "no", &actor.user_id)
                .await
        })
        .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let stored = store.panel_referral(&third.id).await.expect("referral");
        assert_eq!(stored.status.key(), "accepted");

        // An agenda with the case, published; research only for items on it.
        let held = now_unix() + 7 * DAY;
        let meeting = write(&store, async |tx| {
            tx.create_meeting(&cap, held, MeetingKind::Scheduled, &actor.user_id)
                .await
        })
        .await
        .expect("meeting");
        let mfacts = store.panel_facts(&panel).await.expect("facts");
        let mcap = authorize_panel(
            &actor,
            PanelAction::Manage,
            &mfacts,
            now_unix(),
            MeetingId::new(meeting.clone()),
        )
        .expect("coordinator");
        let items = [NewItem {
            referral_id: third.id.clone(),
            minutes_allowed: 15,
            returning: false,
        }];
        write(&store, async |tx| tx.set_agenda(&mcap, &items).await)
            .await
            .expect("agenda");
        write(&store, async |tx| {
            tx.publish_agenda(&mcap, held + 2 * DAY, "Published", "/panels")
                .await
        })
        .await
        .expect("published");
        let rebuilt = write(&store, async |tx| tx.set_agenda(&mcap, &items).await).await;
        assert!(
            matches!(rebuilt, Err(StoreError::Conflict(_))),
            "{rebuilt:?}"
        );
        let meeting_row = store.meeting(&meeting).await.expect("meeting");
        let mut research_facts = store.meeting_facts(&meeting_row).await.expect("facts");
        research_facts.member_agencies.push(actor.agency_id.clone());
        let researcher = Actor {
            roles: RoleSet::new(vec![Role::Practitioner]),
            user_id: "someone-else".into(),
            ..actor.clone()
        };
        let rcap = authorize_panel(
            &researcher,
            PanelAction::Research,
            &research_facts,
            now_unix(),
            MeetingId::new(meeting.clone()),
        )
        .expect("member in the window");
        let stray = write(&store, async |tx| {
            tx.record_research(
                &rcap,
                &ResearchEntry {
                    item_id: "not-an-item".into(),
                    agency_id: agency.clone(),
                    subject: ResearchSubject::Victim,
                    holds: false,
                    detail: String::new(),
                    by: actor.user_id.clone(),
                },
            )
            .await
        })
        .await;
        assert!(
            matches!(stray, Err(StoreError::NotFound { .. })),
            "{stray:?}"
        );
        let item = store.items(&meeting).await.expect("items").remove(0);
        write(&store, async |tx| {
            tx.record_research(
                &rcap,
                &ResearchEntry {
                    item_id: item.id.clone(),
                    agency_id: agency.clone(),
                    subject: ResearchSubject::Victim,
                    holds: true,
                    detail: "Two call-outs".into(),
                    by: actor.user_id.clone(),
                },
            )
            .await
        })
        .await
        .expect("research");
        assert_eq!(store.research(&meeting).await.expect("research").len(), 1);

        // Discussed, it counts in the data return of the meeting's quarter.
        write(&store, async |tx| {
            tx.record_discussion(
                &mcap,
                &Discussion {
                    item_id: item.id.clone(),
                    risks: "Risks".into(),
                    minutes: "Minutes".into(),
                    no_actions_reason: "Fully supported already".into(),
                    by: actor.user_id.clone(),
                    ..Discussion::default()
                },
            )
            .await
        })
        .await
        .expect("discussion");
        let rows = store
            .data_return_cases(&panel, held - DAY, held + DAY)
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1);
        assert!(rows[0].police);
        assert_eq!(rows[0].children, 2);
        // Born in May 2009 and referred in late 2026: aged 17.
        assert_eq!(rows[0].aged_16_17, pathways_domain::panels::Answer::Yes);
        assert_eq!(
            store
                .panel_referral(&third.id)
                .await
                .expect("referral")
                .status
                .key(),
            "closed"
        );
    });
}

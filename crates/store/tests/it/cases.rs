//! Cases on every backend: opening, caseload views with restriction, chronology, tasks,
//! reviews, risk, documents, service referrals with consortium routing, break-glass.

use pathways_domain::cases::{
    CaseStatus, Consent, EntryKind, GoalStatus, ServiceReferralStatus as ReferralStatus,
};
use pathways_domain::{Action, Actor, AgencyKind, Role, RoleSet, decide};
use pathways_store::cases::{
    CaseSort, CaseloadQuery, CaseloadView, NewAssessment, NewCase, NewEntry, NewServiceReferral,
};
use pathways_store::restriction::{AccessListChange, AccessListKind};
use pathways_store::{NewUser, Store, User, new_id, now_unix};

use crate::on_every_backend;

async fn user(store: &Store, agency: &str, name: &str, roles: &[Role]) -> User {
    pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.into(),
            email: format!(
                "{}-{}@example.org",
                name.to_lowercase().replace(' ', "."),
                new_id()
            ),
            display_name: name.into(),
            roles: RoleSet::new(roles.to_vec()),
            password_hash: None,
        },
    )
    .await
    .expect("user")
}

async fn person(store: &Store, first: &str, surname: &str, restricted: bool) -> String {
    let id = new_id();
    sqlx::query(
        "INSERT INTO people (id, first_name, surname, created_at, created_by, updated_at, restricted, address_line, address_restricted) \
         VALUES ($1, $2, $3, $4, 'test', $4, $5, '1 Secret Street', 1)",
    )
    .bind(&id)
    .bind(first)
    .bind(surname)
    .bind(now_unix())
    .bind(i64::from(restricted))
    .execute(store.pool())
    .await
    .expect("person");
    id
}

fn query(view: CaseloadView, u: &User) -> CaseloadQuery {
    CaseloadQuery {
        view,
        user_id: u.id.clone(),
        agency_id: u.agency_id.clone(),
        borough_wide: u.roles.has(pathways_domain::Permission::ReadBoroughWide),
        break_glass: u.roles.has(pathways_domain::Permission::BreakGlass),
        status: None,
        risk: None,
        text: None,
        sort: CaseSort::Opened,
        page: 1,
        per_page: 50,
        now: now_unix(),
        review_horizon: 14 * 86_400,
    }
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: u.id.clone(),
        agency_id: u.agency_id.clone(),
        roles: u.roles.clone(),
        scopes: None,
    }
}

struct World {
    outreach: String,
    amara: User,
    bilal: User,
    dev: User,
    other: User,
}

async fn world(store: &Store) -> World {
    let outreach = pathways_store::testing::create_agency(
        store,
        &format!("Outreach {}", new_id()),
        AgencyKind::CouncilTeam,
    )
    .await
    .expect("agency");
    let elsewhere = pathways_store::testing::create_agency(
        store,
        &format!("Elsewhere {}", new_id()),
        AgencyKind::Health,
    )
    .await
    .expect("agency");
    World {
        amara: user(store, &outreach.id, "Amara Okafor", &[Role::Practitioner]).await,
        bilal: user(store, &outreach.id, "Bilal Hussain", &[Role::Practitioner]).await,
        dev: user(store, &outreach.id, "Dev Patel", &[Role::Manager]).await,
        other: user(store, &elsewhere.id, "Olu Other", &[Role::Practitioner]).await,
        outreach: outreach.id,
    }
}

async fn open(store: &Store, w: &World, first: &str, restricted: bool) -> String {
    let p = person(store, first, "Example", false).await;
    pathways_store::testing::write(store, async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: p,
                lead_worker_id: w.amara.id.clone(),
                opened_by: w.amara.id.clone(),
                restricted,
                restriction_contact: if restricted {
                    "Dev Patel, Outreach manager".into()
                } else {
                    String::new()
                },
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case opens")
}

/// Restricts the person of case `case_id` to `list`, as a user on it would.
async fn restrict(store: &Store, case_id: &str, list: &[&str], by: &str) {
    let person_id = store.case(case_id).await.expect("case").person_id;
    let cap = pathways_store::testing::list_changer(&person_id, AccessListKind::Record);
    pathways_store::testing::write(store, async |tx| {
        tx.change_access_list(
            &cap,
            &AccessListChange {
                kind: AccessListKind::Record,
                list: Some(list.iter().map(|u| u.to_string()).collect()),
                contact: "Dev Patel".into(),
                by: by.into(),
                notice: "The list changed.".into(),
                link: format!("/cases/{case_id}"),
            },
        )
        .await
    })
    .await
    .expect("restricted");
}

#[tokio::test]
async fn restricting_a_case_restricts_its_person_and_everyone_merged_with_them() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let first = open(&store, &w, "Zara", false).await;
        let person_id = store.case(&first).await.expect("case").person_id;
        // A second case about the same person, led elsewhere, and a duplicate record.
        let second = pathways_store::testing::write(&store, async |tx| {
            tx.open_case(
                &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
                &NewCase {
                    person_id: person_id.clone(),
                    lead_worker_id: w.other.id.clone(),
                    opened_by: w.other.id.clone(),
                    ..NewCase::default()
                },
            )
            .await
        })
        .await
        .expect("second case");
        let duplicate = person(&store, "Zarah", "Example", false).await;
        let seq_before = store
            .recent_audit(1)
            .await
            .expect("audit")
            .first()
            .map_or(0, |e| e.seq);
        restrict(&store, &first, &[&w.amara.id, &w.dev.id], &w.amara.id).await;

        // The change and its audit entry landed together, and the list was told (not the
        // person who made the change).
        let latest = store.recent_audit(1).await.expect("audit").remove(0);
        assert_eq!(
            (latest.seq, latest.event.action.as_str()),
            (seq_before + 1, "test"),
            "the entry written with the change"
        );
        assert_eq!(
            store
                .notifications(&w.dev.id, 10)
                .await
                .expect("notes")
                .len(),
            1
        );
        assert!(
            store
                .notifications(&w.amara.id, 10)
                .await
                .expect("notes")
                .is_empty()
        );

        // The person and both cases are restricted alike.
        let person_row = store.person(&person_id).await.expect("person");
        let facts = store.person_facts(&person_row).await.expect("facts");
        let stranger_manager = user(&store, &w.outreach, "Mo Manager", &[Role::Manager]).await;
        for f in [
            facts,
            store.case_facts(&first).await.expect("facts"),
            store.case_facts(&second).await.expect("facts"),
        ] {
            let list = &f.restriction.as_ref().expect("restricted").access_list;
            assert_eq!(list.len(), 2, "{list:?}");
            assert!(
                !decide(
                    &actor(&stranger_manager),
                    Action::ViewRecord,
                    &f,
                    now_unix()
                )
                .allowed()
            );
            assert!(decide(&actor(&w.dev), Action::ViewRecord, &f, now_unix()).allowed());
        }
        // The other case's lead worker, not on the list, no longer sees it in a list.
        let theirs = store
            .caseload(&query(CaseloadView::Mine, &w.other))
            .await
            .expect("list");
        assert!(theirs.rows.iter().all(|r| r.id != second));

        // Merging a duplicate in gives it the same restriction and list.
        pathways_store::testing::merge_people(
            &store,
            &duplicate,
            &person_id,
            "same person",
            &w.dev.id,
        )
        .await
        .expect("merged");
        let dup = store.person(&duplicate).await.expect("person");
        assert!(dup.restricted);
        let dup_facts = store.person_facts(&dup).await.expect("facts");
        assert_eq!(
            dup_facts.restriction.expect("restricted").access_list.len(),
            2
        );
    });
}

#[tokio::test]
async fn opening_a_case_puts_the_lead_and_their_agency_on_the_team() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let p = person(&store, "Jay", "Brown", false).await;
        let case = pathways_store::testing::write(&store, async |tx| {
            tx.open_case(
                &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
                &NewCase {
                    person_id: p.clone(),
                    referral_id: Some("ref-1".into()),
                    referrer_id: Some(w.other.id.clone()),
                    lead_worker_id: w.amara.id.clone(),
                    opened_by: w.dev.id.clone(),
                    ..NewCase::default()
                },
            )
            .await
        })
        .await
        .expect("opens");
        let case = store.case(&case).await.expect("case");
        assert_eq!(case.status, CaseStatus::Open);
        assert_eq!(case.person_name, "Jay Brown");
        assert_eq!(case.lead_agency_id, w.outreach);
        assert!(case.reference.starts_with("C-") && case.reference.len() == 10);
        assert_eq!(
            store.case_for_referral("ref-1").await.expect("q"),
            Some(case.id.clone())
        );
        let facts = store.case_facts(&case.id).await.expect("facts");
        assert_eq!(facts.team_users, vec![w.amara.id.clone()]);
        assert_eq!(facts.team_agencies, vec![w.outreach.clone()]);
        assert_eq!(facts.referrers, vec![w.other.id.clone()]);
        assert!(facts.restriction.is_none());
        // The person's address is restricted and nobody is on its list yet.
        assert_eq!(facts.address_access_list, Some(vec![]));
        let now = now_unix();
        assert!(decide(&actor(&w.bilal), Action::ViewRecord, &facts, now).allowed());
        assert!(!decide(&actor(&w.bilal), Action::ViewAddress, &facts, now).allowed());
        assert!(!decide(&actor(&w.other), Action::ViewRecord, &facts, now).allowed());
        assert!(decide(&actor(&w.other), Action::ViewStatus, &facts, now).allowed());
        let missing = pathways_store::testing::write(&store, async |tx| {
            tx.open_case(
                &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
                &NewCase {
                    person_id: "no-such-person".into(),
                    lead_worker_id: w.amara.id.clone(),
                    opened_by: w.amara.id.clone(),
                    ..NewCase::default()
                },
            )
            .await
        })
        .await;
        assert!(missing.is_err());
        let count: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM cases")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(count, 1, "a refused case leaves nothing behind");
    });
}

#[tokio::test]
async fn caseload_views_filter_and_hide_restricted_cases_from_those_not_listed() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let plain = open(&store, &w, "Plain", false).await;
        let secret = open(&store, &w, "Secret", true).await;
        pathways_store::testing::write(&store, async |tx| {
            tx.add_team_member(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&plain),
                "user",
                &w.bilal.id,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("member");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_team_member(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&secret),
                "user",
                &w.bilal.id,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("member");

        // Amara leads both and is on the restricted case's access list.
        let mine = store
            .caseload(&query(CaseloadView::Mine, &w.amara))
            .await
            .expect("list");
        assert_eq!(mine.total, 2);
        // Bilal works both but is not on the access list: the restricted case is not counted.
        let bilal = store
            .caseload(&query(CaseloadView::Mine, &w.bilal))
            .await
            .expect("list");
        assert_eq!(bilal.total, 1);
        assert_eq!(bilal.rows[0].id, plain);
        let counts = store
            .caseload_counts(&query(CaseloadView::Mine, &w.bilal))
            .await
            .expect("counts");
        assert_eq!((counts.mine, counts.team), (1, 1));
        // Search leaves the restricted case out too: a match must not tell a colleague off the
        // list that the name exists. Amara, on the list, finds it.
        let mut search = query(CaseloadView::Search, &w.bilal);
        search.text = Some("secret".into());
        assert_eq!(store.caseload(&search).await.expect("search").total, 0);
        search.text = Some("e".into());
        let found = store.caseload(&search).await.expect("search");
        assert_eq!(
            found.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            vec![plain.clone()]
        );
        let mut listed = query(CaseloadView::Search, &w.amara);
        listed.text = Some("secret".into());
        let found = store.caseload(&listed).await.expect("search");
        assert_eq!(found.rows[0].id, secret);
        let facts = store.case_facts(&secret).await.expect("facts");
        assert_eq!(
            decide(&actor(&w.bilal), Action::ViewRecord, &facts, now_unix()),
            pathways_domain::Decision::Deny(pathways_domain::access::Denial::Restricted {
                contact: "Dev Patel, Outreach manager".into()
            })
        );
        // Someone from another agency finds nothing at all.
        let mut other = query(CaseloadView::Search, &w.other);
        other.text = Some("secret".into());
        assert_eq!(store.caseload(&other).await.expect("search").total, 0);
        // Risk and overdue views.
        pathways_store::testing::write(&store, async |tx| {
            tx.record_assessment(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&plain),
                &w.amara.id,
                &NewAssessment {
                    instrument: "dash".into(),
                    version: 1,
                    answers: "{}".into(),
                    score: 15,
                    max_score: 24,
                    computed_level: "high".into(),
                    level: "high".into(),
                    marac_eligible: true,
                    eligibility: "{\"eligible\":true}".into(),
                    ..NewAssessment::default()
                },
            )
            .await
        })
        .await
        .expect("assessment");
        let high = store
            .caseload(&query(CaseloadView::HighRisk, &w.bilal))
            .await
            .expect("high");
        assert_eq!(high.total, 1);
        assert_eq!(high.rows[0].risk_level, "high");
        assert!(high.rows[0].marac_eligible);
        pathways_store::testing::write(&store, async |tx| {
            tx.add_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&plain),
                "Call back",
                &w.bilal.id,
                now_unix() - 3600,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("task");
        let overdue = store
            .caseload(&query(CaseloadView::OverdueTasks, &w.bilal))
            .await
            .expect("overdue");
        assert_eq!(overdue.total, 1);
        let mut filtered = query(CaseloadView::Team, &w.amara);
        filtered.risk = Some("medium".into());
        assert_eq!(store.caseload(&filtered).await.expect("filter").total, 0);
        filtered.risk = None;
        filtered.status = Some(CaseStatus::Closed);
        assert_eq!(store.caseload(&filtered).await.expect("filter").total, 0);
    });
}

#[tokio::test]
async fn caseload_lists_and_tab_counts_follow_every_change_to_a_case() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let a = open(&store, &w, "Ada", false).await;
        let b = open(&store, &w, "Ben", false).await;
        let c = open(&store, &w, "Cal", false).await;
        // Another agency's case that Bilal is named on: his, but not his team's.
        let dee = person(&store, "Dee", "Example", false).await;
        let theirs = pathways_store::testing::write(&store, async |tx| {
            tx.open_case(
                &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
                &NewCase {
                    person_id: dee,
                    lead_worker_id: w.other.id.clone(),
                    opened_by: w.other.id.clone(),
                    ..NewCase::default()
                },
            )
            .await
        })
        .await
        .expect("case");
        for case in [&a, &theirs] {
            pathways_store::testing::write(&store, async |tx| {
                tx.add_team_member(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(case),
                    "user",
                    &w.bilal.id,
                    &w.other.id,
                )
                .await
            })
            .await
            .expect("member");
        }
        let total = |view| {
            let q = query(view, &w.bilal);
            let store = store.clone();
            async move { store.caseload(&q).await.expect("list").total }
        };
        let counts = store
            .caseload_counts(&query(CaseloadView::Mine, &w.bilal))
            .await
            .expect("counts");
        // Named on Ada's case, whose agency is also his: counted once in each tab.
        assert_eq!((counts.mine, counts.team), (2, 3));
        assert_eq!(counts.mine, total(CaseloadView::Mine).await);
        assert_eq!(counts.team, total(CaseloadView::Team).await);

        // Changes made after the team rows were written reach the lists and the counts.
        pathways_store::testing::write(&store, async |tx| {
            tx.set_case_status(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&b),
                CaseStatus::OnHold,
            )
            .await
        })
        .await
        .expect("on hold");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&c),
                "Visit",
                &w.amara.id,
                now_unix() - 60,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("task");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&theirs),
                "Call",
                &w.other.id,
                now_unix() - 60,
                &w.other.id,
            )
            .await
        })
        .await
        .expect("task");
        pathways_store::testing::write(&store, async |tx| {
            tx.close_case(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&a),
                "Goals met",
                "{}",
            )
            .await
        })
        .await
        .expect("closed");
        restrict(&store, &c, &[&w.amara.id], &w.amara.id).await;
        let counts = store
            .caseload_counts(&query(CaseloadView::Mine, &w.bilal))
            .await
            .expect("counts");
        // Ada's case is closed; Cal's is restricted to Amara; Ben's is on hold (still listed).
        assert_eq!((counts.mine, counts.team), (1, 1));
        assert_eq!(
            counts.overdue_tasks, 1,
            "only the visible overdue case counts"
        );
        assert_eq!(
            counts.overdue_tasks,
            total(CaseloadView::OverdueTasks).await
        );
        let overdue = store
            .caseload(&query(CaseloadView::OverdueTasks, &w.bilal))
            .await
            .expect("overdue");
        assert_eq!(overdue.rows[0].id, theirs);
        let mut closed = query(CaseloadView::Team, &w.bilal);
        closed.status = Some(CaseStatus::Closed);
        let closed = store.caseload(&closed).await.expect("closed");
        assert_eq!(
            closed.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            vec![a.clone()]
        );
        let amara = store
            .caseload_counts(&query(CaseloadView::Mine, &w.amara))
            .await
            .expect("counts");
        assert_eq!((amara.mine, amara.team, amara.overdue_tasks), (2, 2, 1));

        // A page past the end is empty but still tells the total.
        let mut beyond = query(CaseloadView::Team, &w.amara);
        beyond.per_page = 1;
        beyond.page = 5;
        let page = store.caseload(&beyond).await.expect("beyond");
        assert_eq!((page.rows.len(), page.total), (0, 2));
        beyond.page = 2;
        let page = store.caseload(&beyond).await.expect("second");
        assert_eq!((page.rows.len(), page.total), (1, 2));
    });
}

#[tokio::test]
async fn tasks_and_reviews_keep_the_next_due_dates_on_the_case() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let case = open(&store, &w, "Tia", false).await;
        let t1 = pathways_store::testing::write(&store, async |tx| {
            tx.add_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                "Visit",
                &w.amara.id,
                2_000_000_000,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("task");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                "Call",
                &w.amara.id,
                2_000_100_000,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("task");
        assert_eq!(
            store.case(&case).await.expect("case").next_task_due_at,
            Some(2_000_000_000)
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.complete_task(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                &t1,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("done");
        assert_eq!(
            store.case(&case).await.expect("case").next_task_due_at,
            Some(2_000_100_000)
        );
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .complete_task(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                    &t1,
                    &w.amara.id
                )
                .await)
            .await
            .is_err(),
            "done once only"
        );
        let r = pathways_store::testing::write(&store, async |tx| {
            tx.schedule_review(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                2_000_000_500,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("review");
        assert_eq!(
            store.case(&case).await.expect("case").next_review_at,
            Some(2_000_000_500)
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.hold_review(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                &r,
                "Going well",
            )
            .await
        })
        .await
        .expect("held");
        assert_eq!(store.case(&case).await.expect("case").next_review_at, None);
        let tasks = store.tasks(&case).await.expect("tasks");
        assert_eq!(tasks[0].title, "Call");
        assert!(tasks[1].done_at.is_some());
        pathways_store::testing::write(&store, async |tx| {
            tx.add_entry(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                &w.amara.id,
                &NewEntry {
                    kind: EntryKind::StreetContact,
                    occurred_at: 1_900_000_000,
                    summary: "Met at the park".into(),
                    place: "Riverside Park".into(),
                    ..NewEntry::default()
                },
            )
            .await
        })
        .await
        .expect("entry");
        let entries = store.entries(&case).await.expect("entries");
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].place.as_str(), entries[0].author_name.as_str()),
            ("Riverside Park", "Amara Okafor")
        );
        let g = pathways_store::testing::write(&store, async |tx| {
            tx.add_goal(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                "Back in education",
                "School visit",
                None,
            )
            .await
        })
        .await
        .expect("goal");
        pathways_store::testing::write(&store, async |tx| {
            tx.set_goal_status(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                &g,
                GoalStatus::Achieved,
            )
            .await
        })
        .await
        .expect("status");
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .set_goal_status(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                    "no-such-goal",
                    GoalStatus::Dropped
                )
                .await)
            .await
            .is_err(),
            "a goal of another case or none is refused"
        );
        assert_eq!(
            store.goals(&case).await.expect("goals")[0].status,
            GoalStatus::Achieved
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.set_case_status(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                CaseStatus::OnHold,
            )
            .await
        })
        .await
        .expect("hold");
        pathways_store::testing::write(&store, async |tx| {
            tx.close_case(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                "Goals met",
                "{\"in_education\":true}",
            )
            .await
        })
        .await
        .expect("close");
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .close_case(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                    "again",
                    "{}"
                )
                .await)
            .await
            .is_err(),
            "closed once only"
        );
        let closed = store.case(&case).await.expect("case");
        assert_eq!(
            (closed.status, closed.closure_reason.as_str()),
            (CaseStatus::Closed, "Goals met")
        );
    });
}

#[tokio::test]
async fn documents_and_assessments_round_trip() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let case = open(&store, &w, "Dee", false).await;
        let bytes = b"%PDF-1.7\n\x00\xffbinary".to_vec();
        let id = pathways_store::testing::write(&store, async |tx| {
            tx.add_document(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                "plan.pdf",
                "application/pdf",
                "abc",
                &bytes,
                &w.amara.id,
            )
            .await
        })
        .await
        .expect("doc");
        let (meta, content) = store.document(&case, &id).await.expect("read");
        assert_eq!(content, bytes);
        assert_eq!(
            (meta.size_bytes, meta.filename.as_str()),
            (bytes.len() as i64, "plan.pdf")
        );
        assert!(
            store.document("another-case", &id).await.is_err(),
            "only through its own case"
        );
        for (score, level) in [(8, "standard"), (12, "medium")] {
            pathways_store::testing::write(&store, async |tx| {
                tx.record_assessment(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                    &w.amara.id,
                    &NewAssessment {
                        instrument: "dash".into(),
                        version: 1,
                        answers: "{}".into(),
                        score,
                        max_score: 24,
                        computed_level: level.into(),
                        level: level.into(),
                        marac_eligible: false,
                        eligibility: "{\"eligible\":false}".into(),
                        ..NewAssessment::default()
                    },
                )
                .await
            })
            .await
            .expect("assessment");
        }
        let history = store.assessments(&case).await.expect("history");
        assert_eq!(history.len(), 2);
        let current = store.case(&case).await.expect("case");
        assert_eq!(
            (current.risk_level.as_str(), current.risk_score),
            (history[0].level.as_str(), Some(history[0].score))
        );
    });
}

#[tokio::test]
async fn service_referrals_follow_the_workflow_and_consortium_routing() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let case = open(&store, &w, "Rae", false).await;
        let hub = pathways_store::testing::create_agency(
            &store,
            &format!("Hub {}", new_id()),
            AgencyKind::ConsortiumHub,
        )
        .await
        .expect("hub");
        let refuge = pathways_store::testing::create_agency(
            &store,
            &format!("Refuge {}", new_id()),
            AgencyKind::VawgSpecialist,
        )
        .await
        .expect("m");
        let outsider = pathways_store::testing::create_agency(
            &store,
            &format!("Outsider {}", new_id()),
            AgencyKind::VawgSpecialist,
        )
        .await
        .expect("o");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_consortium_member(
                &pathways_store::testing::permitted(pathways_domain::Permission::Administer),
                &hub.id,
                &refuge.id,
            )
            .await
        })
        .await
        .expect("member");
        let hub_user = user(&store, &hub.id, "Maya Hub", &[Role::Practitioner]).await;
        let refuge_user = user(&store, &refuge.id, "Olivia Refuge", &[Role::Practitioner]).await;
        let r = pathways_store::testing::write(&store, async |tx| {
            tx.create_service_referral(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
                &NewServiceReferral {
                    service_id: "svc-1".into(),
                    service_name: "VAWG support".into(),
                    category: "vawg_support".into(),
                    to_agency_id: hub.id.clone(),
                    consent: Consent::Given,
                    lawful_basis: String::new(),
                    share_reason: String::new(),
                    sharing_agreement: String::new(),
                    reason: "Support after assault".into(),
                    sent_by: w.amara.id.clone(),
                },
            )
            .await
        })
        .await
        .expect("sent");
        let r = store.service_referral(&r).await.expect("referral");
        assert_eq!(r.status, ReferralStatus::Sent);
        let notes = store.notifications(&hub_user.id, 10).await.expect("notes");
        assert_eq!(notes.len(), 1);
        assert!(
            !notes[0].message.contains("Rae"),
            "notifications carry no personal details"
        );
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .allocate_service_referral(
                    &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(
                        &r.id
                    ),
                    &outsider.id,
                    &hub_user.id
                )
                .await)
            .await
            .is_err()
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.allocate_service_referral(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(&r.id),
                &refuge.id,
                &hub_user.id,
            )
            .await
        })
        .await
        .expect("allocated");
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .allocate_service_referral(
                    &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(
                        &r.id
                    ),
                    &refuge.id,
                    &hub_user.id
                )
                .await)
            .await
            .is_err(),
            "allocated once"
        );
        let incoming = store
            .incoming_service_referrals(&refuge.id)
            .await
            .expect("incoming");
        assert_eq!(incoming.len(), 1);
        let allocated = &incoming[0];
        assert!(allocated.allocated_at.expect("allocated at") >= allocated.sent_at);
        assert_eq!(
            store
                .notifications(&refuge_user.id, 10)
                .await
                .expect("n")
                .len(),
            1
        );
        // A jump that skips acceptance is refused and nothing changes.
        let jump = pathways_store::testing::write(&store, async |tx| {
            tx.set_service_referral_status(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(&r.id),
                ReferralStatus::Sent,
                ReferralStatus::Started,
                "",
                &refuge_user.id,
            )
            .await
        })
        .await;
        assert!(
            jump.expect_err("refused")
                .to_string()
                .contains("can only become accepted or declined")
        );
        assert_eq!(
            store.service_referral(&r.id).await.expect("r").status,
            ReferralStatus::Sent
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.set_service_referral_status(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(&r.id),
                ReferralStatus::Sent,
                ReferralStatus::Accepted,
                "",
                &refuge_user.id,
            )
            .await
        })
        .await
        .expect("accepted");
        // A stale form (still thinking it is "sent") is refused.
        assert!(
            pathways_store::testing::write(&store, async |tx| tx
                .set_service_referral_status(
                    &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(
                        &r.id
                    ),
                    ReferralStatus::Sent,
                    ReferralStatus::Declined,
                    "full",
                    &refuge_user.id
                )
                .await)
            .await
            .is_err()
        );
        pathways_store::testing::write(&store, async |tx| {
            tx.set_service_referral_status(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(&r.id),
                ReferralStatus::Accepted,
                ReferralStatus::Started,
                "",
                &refuge_user.id,
            )
            .await
        })
        .await
        .expect("started");
        pathways_store::testing::write(&store, async |tx| {
            tx.set_service_referral_status(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(&r.id),
                ReferralStatus::Started,
                ReferralStatus::Disengaged,
                "Moved away",
                &refuge_user.id,
            )
            .await
        })
        .await
        .expect("disengaged");
        let done = store.service_referral(&r.id).await.expect("r");
        assert_eq!(
            (done.status, done.status_reason.as_str()),
            (ReferralStatus::Disengaged, "Moved away")
        );
        assert!(
            done.responded_at.is_some() && done.started_at.is_some() && done.ended_at.is_some()
        );
        let events = store.service_referral_events(&r.id).await.expect("events");
        let steps: Vec<&str> = events.iter().map(|e| e.to_status.as_str()).collect();
        assert_eq!(
            steps,
            ["sent", "allocated", "accepted", "started", "disengaged"]
        );
        // The sender hears about every status change.
        assert_eq!(
            store.notifications(&w.amara.id, 10).await.expect("n").len(),
            3
        );
        assert_eq!(
            store
                .case_service_referrals(&case)
                .await
                .expect("list")
                .len(),
            1
        );
    });
}

#[tokio::test]
async fn break_glass_grants_expire_and_alert_the_lead_and_a_manager() {
    on_every_backend!(|store| {
        let w = world(&store).await;
        let case = open(&store, &w, "Hidden", true).await;
        let manager_elsewhere = user(
            &store,
            &w.other.agency_id,
            "Manny Elsewhere",
            &[Role::Manager],
        )
        .await;
        let facts = store.case_facts(&case).await.expect("facts");
        let now = now_unix();
        assert!(pathways_domain::access::may_break_glass(
            &actor(&manager_elsewhere),
            &facts,
            now
        ));
        let expires = pathways_store::testing::write(&store, async |tx| {
            tx.break_glass_case(
                &pathways_store::testing::permitted(pathways_domain::Permission::BreakGlass),
                &case,
                &manager_elsewhere.id,
                "Police report imminent danger tonight",
                3600,
            )
            .await
        })
        .await
        .expect("grant");
        assert!(expires > now);
        let facts = store.case_facts(&case).await.expect("facts");
        assert!(decide(&actor(&manager_elsewhere), Action::ViewRecord, &facts, now).allowed());
        assert!(
            !decide(
                &actor(&manager_elsewhere),
                Action::ViewRecord,
                &facts,
                expires
            )
            .allowed(),
            "expired"
        );
        let lead = store.notifications(&w.amara.id, 10).await.expect("n");
        assert_eq!(lead.len(), 1);
        assert_eq!(lead[0].kind, "break_glass");
        assert!(lead[0].message.contains("Manny Elsewhere"));
        assert_eq!(
            store.notifications(&w.dev.id, 10).await.expect("n").len(),
            1,
            "the lead agency's manager"
        );
        assert_eq!(
            store.notifications(&w.bilal.id, 10).await.expect("n").len(),
            0
        );
        // The list now shows the case to the manager while the grant lasts.
        let mut q = query(CaseloadView::Search, &manager_elsewhere);
        q.text = Some("hidden".into());
        assert_eq!(store.caseload(&q).await.expect("search").total, 1);
    });
}

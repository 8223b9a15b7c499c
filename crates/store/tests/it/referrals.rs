use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::people::{ContactOutcome, PersonDetails, SafeContact};
use pathways_store::referrals::{DecisionInput, NewReferral, QueuedMessage};
use pathways_store::{NewUser, Store};

use crate::on_every_backend;

async fn referrer(store: &Store) -> (String, String) {
    let school =
        pathways_store::testing::create_agency(store, "Northgate Academy", AgencyKind::School)
            .await
            .expect("agency");
    let user = pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: school.id.clone(),
            email: "teacher@school.example".into(),
            display_name: "Ms Shah".into(),
            roles: RoleSet::new(vec![Role::PartnerReferrer]),
            password_hash: None,
        },
    )
    .await
    .expect("user");
    (user.id, school.id)
}

fn referral(user: &str, agency: &str, first: &str) -> NewReferral {
    NewReferral {
        referrer_actor: user.into(),
        referrer_user_id: Some(user.into()),
        referrer_agency_id: agency.into(),
        referrer_name: "Ms Shah".into(),
        referrer_role: "Designated safeguarding lead".into(),
        referrer_email: "teacher@school.example".into(),
        referrer_phone: "020 7946 0000".into(),
        person: PersonDetails {
            first_name: first.into(),
            surname: "Okoro".into(),
            aliases: vec!["Tayo".into()],
            dob: Some("2010-04-12".into()),
            postcode: "E1 6AN".into(),
            ..PersonDetails::default()
        },
        concerns: vec!["criminal_exploitation".into(), "going_missing".into()],
        reason: "Seen with older youths; missing twice this month.".into(),
        urgency: "urgent".into(),
        consent: "not_sought".into(),
        consent_reason: "Seeking consent would put the child at risk (safeguarding).".into(),
        safe_contact: vec![
            SafeContact {
                channel: "email".into(),
                safe: false,
                detail: String::new(),
                when: String::new(),
            },
            SafeContact {
                channel: "phone".into(),
                safe: true,
                detail: "07700 900123".into(),
                when: "after 4pm".into(),
            },
        ],
    }
}

#[tokio::test]
async fn concurrent_referrals_get_distinct_references() {
    on_every_backend!(|store| {
        let (user, agency) = referrer(&store).await;
        let mut writers = Vec::new();
        for i in 0..40 {
            let (store, user, agency) = (store.clone(), user.clone(), agency.clone());
            writers.push(tokio::spawn(async move {
                pathways_store::testing::create_referral(
                    &store,
                    &referral(&user, &agency, &format!("Person{i}")),
                )
                .await
                .expect("referral")
                .reference
            }));
        }
        let mut refs = std::collections::BTreeSet::new();
        for w in writers {
            assert!(
                refs.insert(w.await.expect("writer")),
                "a reference repeated"
            );
        }
        assert_eq!(refs.len(), 40);
    });
}

#[tokio::test]
async fn referrals_are_numbered_and_round_trip() {
    on_every_backend!(|store| {
        let (user, agency) = referrer(&store).await;
        let at = 1_780_000_000; // 2026-05-28
        let a = pathways_store::testing::create_referral_at(
            &store,
            &referral(&user, &agency, "Tayo"),
            at,
        )
        .await
        .expect("first");
        let b = pathways_store::testing::create_referral_at(
            &store,
            &referral(&user, &agency, "Femi"),
            at + 60,
        )
        .await
        .expect("second");
        assert_eq!(a.reference, "R-2026-000001");
        assert_eq!(b.reference, "R-2026-000002");
        let back = store
            .referral_by_reference("r-2026-000001")
            .await
            .expect("by reference");
        assert_eq!(back, a);
        assert_eq!(
            back.submitted.concerns,
            vec!["criminal_exploitation", "going_missing"]
        );
        assert_eq!(back.submitted.safe_contact.len(), 2);
        assert!(!back.submitted.safe_contact[0].safe);
        let mine = store.referrals_by_referrer(&user, 10).await.expect("mine");
        assert_eq!(
            mine.iter()
                .map(|r| r.reference.as_str())
                .collect::<Vec<_>>(),
            ["R-2026-000002", "R-2026-000001"]
        );
        assert!(
            store
                .referrals_by_referrer("someone-else", 10)
                .await
                .expect("theirs")
                .is_empty()
        );
        assert_eq!(store.triage_queue().await.expect("queue").len(), 2);
        let facts = store.referral_facts(&a).await.expect("facts");
        assert_eq!(facts.referrers, vec![user.clone()]);
        assert!(facts.restriction.is_none());
    });
}

#[tokio::test]
async fn decisions_need_a_person_for_a_case_and_happen_once() {
    on_every_backend!(|store| {
        let (user, agency) = referrer(&store).await;
        let r = pathways_store::testing::create_referral(&store, &referral(&user, &agency, "Tayo"))
            .await
            .expect("referral");
        let open = DecisionInput {
            decision: pathways_domain::referrals::TriageDecision::OpenCase,
            reason: "Meets the threshold for outreach.".into(),
            detail: String::new(),
            service_id: String::new(),
        };
        let msg = QueuedMessage {
            channel: "email".into(),
            recipient: "teacher@school.example".into(),
            subject: "Referral decided".into(),
            body: "Sign in to see the outcome.".into(),
            idempotency_key: format!("referral:{}:decision:email", r.id),
        };
        let err = pathways_store::testing::decide_referral(
            &store,
            &r.id,
            &open,
            "manager",
            std::slice::from_ref(&msg),
        )
        .await
        .expect_err("no person yet");
        assert!(
            err.to_string().contains("must be linked to a person"),
            "{err}"
        );
        assert!(
            store.recent_outbox(10).await.expect("outbox").is_empty(),
            "nothing half-saved"
        );
        assert_eq!(
            store.referral(&r.id).await.expect("referral").status,
            "received"
        );

        let person = pathways_store::testing::create_person_for_referral(&store, &r.id, "manager")
            .await
            .expect("person");
        let rules = store.safe_contacts(&person).await.expect("rules");
        assert_eq!(rules.len(), 2);
        assert!(
            rules
                .iter()
                .any(|c| c.channel == "phone" && c.safe && c.when == "after 4pm")
        );
        let decided = pathways_store::testing::decide_referral(
            &store,
            &r.id,
            &open,
            "manager",
            &[msg.clone(), msg.clone()],
        )
        .await
        .expect("decided");
        assert_eq!(decided.status, "decided");
        assert_eq!(decided.decision.as_deref(), Some("open_case"));
        assert_eq!(decided.person_id.as_deref(), Some(person.as_str()));
        assert_eq!(
            store.recent_outbox(10).await.expect("outbox").len(),
            1,
            "one message per idempotency key"
        );
        let again = pathways_store::testing::decide_referral(&store, &r.id, &open, "manager", &[])
            .await
            .expect_err("decided once");
        assert!(
            again.to_string().contains("already been decided"),
            "{again}"
        );
        let to_open = store.referrals_to_open_as_cases().await.expect("hand-over");
        assert_eq!(to_open.len(), 1);
        assert_eq!(to_open[0].id, r.id);
        assert!(store.triage_queue().await.expect("queue").is_empty());
        // A proof for another permission does not let a decision through.
        let wrong = pathways_store::testing::permitted(pathways_domain::Permission::MakeReferral);
        let refused = pathways_store::testing::write(&store, async |tx| {
            tx.decide_referral(
                &wrong,
                &pathways_store::testing::reader(&r.id),
                &open,
                "manager",
                &[],
            )
            .await
        })
        .await
        .expect_err("needs the triage permission");
        assert!(
            matches!(refused, pathways_store::StoreError::NotPermitted(_)),
            "{refused}"
        );
    });
}

#[tokio::test]
async fn merges_are_reversible_and_guarded() {
    on_every_backend!(|store| {
        let d = PersonDetails {
            first_name: "Tayo".into(),
            surname: "Okoro".into(),
            ..PersonDetails::default()
        };
        let a = pathways_store::testing::create_person(&store, &d, "u")
            .await
            .expect("a");
        let b = pathways_store::testing::create_person(&store, &d, "u")
            .await
            .expect("b");
        let c = pathways_store::testing::create_person(&store, &d, "u")
            .await
            .expect("c");
        assert_eq!(store.people_for_index().await.expect("index").len(), 3);
        pathways_store::testing::merge_people(&store, &a, &b, "Same DOB and school", "manager")
            .await
            .expect("merge");
        assert_eq!(store.resolve_person(&a).await.expect("resolve"), b);
        assert_eq!(store.people_for_index().await.expect("index").len(), 2);
        assert!(
            pathways_store::testing::merge_people(&store, &b, &a, "loop", "m")
                .await
                .is_err(),
            "into a merged person"
        );
        assert!(
            pathways_store::testing::merge_people(&store, &a, &c, "twice", "m")
                .await
                .is_err(),
            "already merged"
        );
        assert!(
            pathways_store::testing::merge_people(&store, &c, &c, "self", "m")
                .await
                .is_err()
        );
        pathways_store::testing::merge_people(&store, &b, &c, "also the same", "manager")
            .await
            .expect("chain");
        assert_eq!(store.resolve_person(&a).await.expect("resolve"), c);
        let undone_from = pathways_store::testing::unmerge_person(
            &store,
            &b,
            "Different people: twins",
            "manager",
        )
        .await
        .expect("unmerge");
        assert_eq!(undone_from, c);
        assert_eq!(store.resolve_person(&a).await.expect("resolve"), b);
        assert!(
            pathways_store::testing::unmerge_person(&store, &c, "not merged", "m")
                .await
                .is_err()
        );
        let history = store.merge_history(&b).await.expect("history");
        assert_eq!(history.len(), 2);
        assert!(
            history
                .iter()
                .any(|h| h.person_id == b && h.unmerged_by.as_deref() == Some("manager"))
        );
        assert!(
            history
                .iter()
                .any(|h| h.person_id == a && h.unmerged_at.is_none())
        );
    });
}

#[tokio::test]
async fn unsafe_channels_are_refused_not_queued() {
    on_every_backend!(|store| {
        let (user, agency) = referrer(&store).await;
        let r = pathways_store::testing::create_referral(&store, &referral(&user, &agency, "Tayo"))
            .await
            .expect("referral");
        let person = pathways_store::testing::create_person_for_referral(&store, &r.id, "m")
            .await
            .expect("person");
        let refused = pathways_store::testing::message_person(
            &store,
            &person,
            "email",
            "tayo@example.org",
            "Appointment",
            "Hello",
            "k1",
        )
        .await
        .expect("checked");
        assert!(
            matches!(&refused, ContactOutcome::Refused { reason } if reason.contains("marked unsafe")),
            "{refused:?}"
        );
        let unknown = pathways_store::testing::message_person(
            &store,
            &person,
            "post",
            "1 High St",
            "Letter",
            "Hello",
            "k2",
        )
        .await
        .expect("checked");
        assert!(
            matches!(&unknown, ContactOutcome::Refused { reason } if reason.contains("No one has recorded"))
        );
        assert!(store.recent_outbox(10).await.expect("outbox").is_empty());
        // Rules bind across a merge: the most restrictive record of the person wins.
        let safe = SafeContact {
            channel: "email".into(),
            safe: true,
            detail: String::new(),
            when: String::new(),
        };
        let detail = PersonDetails {
            first_name: "T".into(),
            surname: "O".into(),
            ..PersonDetails::default()
        };
        let kept = pathways_store::testing::create_person(&store, &detail, "m")
            .await
            .expect("kept");
        pathways_store::testing::set_safe_contact(&store, &kept, &safe, "m")
            .await
            .expect("rule");
        pathways_store::testing::merge_people(&store, &person, &kept, "same", "m")
            .await
            .expect("merge");
        let still = pathways_store::testing::message_person(
            &store,
            &person,
            "email",
            "x@example.org",
            "s",
            "b",
            "k3",
        )
        .await
        .expect("checked");
        assert!(matches!(still, ContactOutcome::Refused { .. }));
        let kept_too = pathways_store::testing::message_person(
            &store,
            &kept,
            "email",
            "x@example.org",
            "s",
            "b",
            "k4",
        )
        .await
        .expect("checked");
        assert!(
            matches!(kept_too, ContactOutcome::Refused { .. }),
            "the merged record's unsafe e-mail binds"
        );
        let other = pathways_store::testing::create_person(&store, &detail, "m")
            .await
            .expect("other");
        pathways_store::testing::set_safe_contact(&store, &other, &safe, "m")
            .await
            .expect("rule");
        let ok = pathways_store::testing::message_person(
            &store,
            &other,
            "email",
            "x@example.org",
            "s",
            "b",
            "k5",
        )
        .await
        .expect("checked");
        assert_eq!(ok, ContactOutcome::Queued);
        let out = store.recent_outbox(10).await.expect("outbox");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].recipient, "x@example.org");
    });
}

#[tokio::test]
async fn in_app_messages_are_delivered_exactly_once() {
    on_every_backend!(|store| {
        let (user, _) = referrer(&store).await;
        store
            .enqueue_message(
                "in_app",
                &user,
                "Referral R-2026-000001: decision made",
                "/referrals/R-2026-000001",
                "k",
            )
            .await
            .expect("queued");
        let due = store
            .due_messages(pathways_store::now_unix(), 10)
            .await
            .expect("due");
        assert_eq!(due.len(), 1);
        let m = &due[0];
        store
            .deliver_in_app(&m.id, &m.recipient, "referral_update", &m.subject, &m.body)
            .await
            .expect("first");
        store
            .deliver_in_app(&m.id, &m.recipient, "referral_update", &m.subject, &m.body)
            .await
            .expect("repeat");
        let notes = store.notifications(&user, 10).await.expect("notifications");
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].link, "/referrals/R-2026-000001");
        assert!(
            store
                .due_messages(pathways_store::now_unix(), 10)
                .await
                .expect("due")
                .is_empty()
        );
        assert_eq!(store.recent_outbox(1).await.expect("outbox")[0].attempts, 1);
    });
}

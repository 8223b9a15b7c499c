use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::testing::{issue_link, permitted, write};
use pathways_store::{LinkPurpose, NewUser, Store, User};

use crate::on_every_backend;

async fn someone(store: &Store) -> User {
    let a = pathways_store::testing::create_agency(store, "Council", AgencyKind::CouncilTeam)
        .await
        .expect("agency");
    pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: a.id,
            email: "a@council.example".into(),
            display_name: "A".into(),
            roles: RoleSet::new(vec![Role::Practitioner]),
            password_hash: None,
        },
    )
    .await
    .expect("user")
}

#[tokio::test]
async fn sessions_rotate_and_end() {
    on_every_backend!(|store| {
        let u = someone(&store).await;
        pathways_store::testing::create_session(&store, "h1", &u.id, "totp", "127.0.0.1")
            .await
            .expect("create");
        write(&store, async |tx| {
            tx.rotate_session("h1", "h2", "full").await
        })
        .await
        .expect("rotate");
        assert!(store.session("h1").await.expect("q").is_none());
        let s = store.session("h2").await.expect("q").expect("exists");
        assert_eq!(s.stage, "full");
        assert_eq!(s.user_id, u.id);
        write(&store, async |tx| tx.end_session("h2").await)
            .await
            .expect("end");
        assert!(store.session("h2").await.expect("q").is_none());
    });
}

#[tokio::test]
async fn one_time_links_work_once_and_expire() {
    on_every_backend!(|store| {
        let u = someone(&store).await;
        issue_link(&store, "t1", &u.id, LinkPurpose::Invite, 3600, &u.email)
            .await
            .expect("link");
        assert_eq!(
            store.peek_link("t1", LinkPurpose::Invite).await.expect("q"),
            Some(u.id.clone())
        );
        assert_eq!(
            store.peek_link("t1", LinkPurpose::Reset).await.expect("q"),
            None,
            "wrong purpose"
        );
        let used = write(&store, async |tx| {
            tx.consume_link_setting_password("t1", LinkPurpose::Invite, "$argon2id$h")
                .await
        })
        .await
        .expect("use");
        assert_eq!(used, Some(u.id.clone()));
        assert_eq!(
            write(&store, async |tx| tx
                .consume_link_setting_password("t1", LinkPurpose::Invite, "$argon2id$h")
                .await)
            .await
            .expect("reuse"),
            None
        );
        issue_link(&store, "t2", &u.id, LinkPurpose::Reset, -1, &u.email)
            .await
            .expect("expired link");
        assert_eq!(
            write(&store, async |tx| tx
                .consume_link_setting_password("t2", LinkPurpose::Reset, "x")
                .await)
            .await
            .expect("expired"),
            None
        );
        // A newer link voids the older one.
        issue_link(&store, "t3", &u.id, LinkPurpose::Reset, 3600, &u.email)
            .await
            .expect("link");
        issue_link(&store, "t4", &u.id, LinkPurpose::Reset, 3600, &u.email)
            .await
            .expect("link");
        assert_eq!(
            store.peek_link("t3", LinkPurpose::Reset).await.expect("q"),
            None
        );
        assert!(
            store
                .peek_link("t4", LinkPurpose::Reset)
                .await
                .expect("q")
                .is_some()
        );
    });
}

#[tokio::test]
async fn tokens_recovery_codes_and_throttling() {
    on_every_backend!(|store| {
        let u = someone(&store).await;
        let id = pathways_store::testing::create_api_token(
            &store,
            "Police system",
            "digest",
            &u.agency_id,
            &["make_referral".into()],
            &u.id,
        )
        .await
        .expect("token");
        let t = store
            .use_api_token("digest")
            .await
            .expect("q")
            .expect("live");
        assert_eq!(t.scopes, vec!["make_referral".to_string()]);
        let admin = permitted(pathways_domain::Permission::Administer);
        let revoke =
            async || write(&store, async |tx| tx.revoke_api_token(&admin, &id).await).await;
        assert!(revoke().await.expect("revoke"));
        assert!(store.use_api_token("digest").await.expect("q").is_none());
        assert!(!revoke().await.expect("again"));

        write(&store, async |tx| {
            tx.enrol_totp(&u.id, "JBSWY3DPEHPK3PXP", 1, &["c1".into(), "c2".into()])
                .await
        })
        .await
        .expect("codes");
        let recover = async |code: &str| {
            write(&store, async |tx| tx.use_recovery_code(&u.id, code).await).await
        };
        assert!(recover("c1").await.expect("use"));
        assert!(!recover("c1").await.expect("reuse"));

        for _ in 0..3 {
            store
                .record_login_failure("client:10.0.0.1")
                .await
                .expect("fail");
        }
        assert_eq!(
            store
                .login_failures_since("client:10.0.0.1", 0)
                .await
                .expect("count"),
            3
        );
        store
            .clear_login_failures("client:10.0.0.1")
            .await
            .expect("clear");
        assert_eq!(
            store
                .login_failures_since("client:10.0.0.1", 0)
                .await
                .expect("count"),
            0
        );
    });
}

#[tokio::test]
async fn outbox_is_idempotent() {
    on_every_backend!(|store| {
        store
            .enqueue_message("email", "a@b.example", "Hello", "Body", "key-1")
            .await
            .expect("queue");
        store
            .enqueue_message("email", "a@b.example", "Hello", "Body", "key-1")
            .await
            .expect("requeue");
        let now = pathways_store::now_unix();
        assert_eq!(store.due_messages(now, 10).await.expect("due").len(), 1);
        let claimed = store
            .claim_due("s1", now, 60)
            .await
            .expect("claim")
            .expect("one is due");
        store
            .mark_attempt_failed(&claimed.id, "s1", "refused", Some(3600))
            .await
            .expect("fail");
        assert!(
            store.due_messages(now, 10).await.expect("due").is_empty(),
            "backed off"
        );
        assert_eq!(
            store.recent_outbox(10).await.expect("recent")[0].attempts,
            1
        );
    });
}

#[tokio::test]
async fn outbox_claims_are_exclusive_until_the_lease_runs_out() {
    on_every_backend!(|store| {
        store
            .enqueue_message("email", "a@b.example", "Hello", "Body", "lease-1")
            .await
            .expect("queue");
        let now = pathways_store::now_unix();
        let first = store
            .claim_due("a", now, 60)
            .await
            .expect("claim")
            .expect("due");
        assert!(
            store
                .claim_due("b", now, 60)
                .await
                .expect("claim")
                .is_none(),
            "held by a"
        );
        assert!(
            store.due_messages(now, 10).await.expect("due").is_empty(),
            "a claimed message is not due"
        );
        // Sender a dies without a word; once its lease has run out, b takes the message over.
        let later = now + 61;
        let taken = store
            .claim_due("b", later, 60)
            .await
            .expect("claim")
            .expect("the lease ran out");
        assert_eq!(taken.id, first.id);
        // a comes back too late: its mark changes nothing, b's counts once.
        assert!(!store.mark_sent(&first.id, "a").await.expect("mark"));
        store
            .mark_attempt_failed(&first.id, "a", "late", None)
            .await
            .expect("ignored");
        assert!(store.mark_sent(&taken.id, "b").await.expect("mark"));
        assert!(
            !store.mark_sent(&taken.id, "b").await.expect("mark"),
            "once"
        );
        let m = &store.recent_outbox(1).await.expect("outbox")[0];
        assert!(m.sent_at.is_some() && m.failed_at.is_none(), "{m:?}");
        assert_eq!(m.attempts, 1);
        assert!(
            store
                .claim_due("c", later + 1000, 60)
                .await
                .expect("claim")
                .is_none(),
            "sent messages are never claimed again"
        );
    });
}

#[tokio::test]
async fn concurrent_senders_claim_each_message_once() {
    on_every_backend!(|store| {
        for i in 0..60 {
            store
                .enqueue_message("email", "a@b.example", "s", "b", &format!("many-{i}"))
                .await
                .expect("queue");
        }
        let now = pathways_store::now_unix();
        let mut senders = Vec::new();
        for s in 0..4 {
            let store = store.clone();
            senders.push(tokio::spawn(async move {
                let owner = format!("sender-{s}");
                let mut mine = Vec::new();
                while let Some(m) = store.claim_due(&owner, now, 300).await.expect("claim") {
                    assert!(store.mark_sent(&m.id, &owner).await.expect("mark"));
                    mine.push(m.id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for s in senders {
            all.extend(s.await.expect("sender"));
        }
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(all.len(), 60, "every message claimed");
        assert_eq!(distinct.len(), 60, "no message claimed twice");
    });
}

#[tokio::test]
async fn a_totp_step_is_accepted_once_and_never_an_earlier_one() {
    on_every_backend!(|store| {
        let u = someone(&store).await;
        let accept = async |step: i64| {
            write(&store, async |tx| tx.accept_totp_step(&u.id, step).await).await
        };
        write(&store, async |tx| {
            tx.enrol_totp(&u.id, "JBSWY3DPEHPK3PXP", 100, &[]).await
        })
        .await
        .expect("enrol");
        // The step whose code proved enrolment is already used.
        assert!(!accept(100).await.expect("enrolment step"));
        assert!(accept(101).await.expect("next step"));
        assert!(!accept(101).await.expect("replayed"));
        assert!(!accept(100).await.expect("earlier"));
        assert!(accept(103).await.expect("later"));
        // Removing the second factor forgets the step with it.
        let admin = permitted(pathways_domain::Permission::Administer);
        write(&store, async |tx| {
            tx.reset_second_factor(&admin, &u.id).await
        })
        .await
        .expect("reset");
        assert!(accept(50).await.expect("fresh enrolment"));
    });
}

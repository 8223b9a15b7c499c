//! Idempotency keys on creating API calls: a retry with the same key and body replays the
//! first answer and creates nothing more, even when the first answer was lost on the way;
//! another body under the same key is refused; concurrent duplicates make one record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::NewUser;
use pathways_store::idempotency::Claim;
use pathways_store::testing::TestDatabase;
use pathways_web::{AppState, WebSettings};

use crate::support::{App, PASSWORD};

const TOKEN: &str = "pw_idempotency_feed_secret";

/// A referrer agency with a `make_referral` token.
async fn token(store: &pathways_store::Store) {
    let agency =
        pathways_store::testing::create_agency(store, "Riverside Academy", AgencyKind::School)
            .await
            .expect("agency");
    let user = pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.id.clone(),
            email: "head@academy.example".into(),
            display_name: "Ms Priya Shah".into(),
            roles: RoleSet::new(vec![Role::PartnerReferrer]),
            password_hash: Some(pathways_app::crypto::hash_password(PASSWORD).expect("hash")),
        },
    )
    .await
    .expect("user");
    pathways_store::testing::create_api_token(
        store,
        "School feed",
        &pathways_app::crypto::digest(TOKEN),
        &agency.id,
        &["make_referral".into()],
        &user.id,
    )
    .await
    .expect("token");
}

fn referral(reason: &str) -> serde_json::Value {
    serde_json::json!({
        "person": {"first_name": "Jay", "surname": "Mensah", "approx_age": 15},
        "concerns": ["carrying_weapons"], "reason": reason, "urgency": "urgent",
        "consent": {"status": "given"},
        "referrer": {"name": "Ms Priya Shah", "email": "head@academy.example"}
    })
}

async fn post(
    base: &str,
    key: Option<&str>,
    body: &serde_json::Value,
) -> (u16, Option<String>, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/referrals"))
        .bearer_auth(TOKEN)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.expect("POST");
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, replayed, json)
}

async fn referral_count(store: &pathways_store::Store) -> usize {
    store.triage_queue().await.expect("queue").len()
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_creates_no_duplicate() {
    let db = TestDatabase::sqlite().await.expect("database");
    token(&db.store).await;
    // The first answer is lost on its way back (as when a proxy or the network fails after
    // the server has done the work): the client sees 502 and retries.
    let lose_next = Arc::new(AtomicBool::new(true));
    let lose = lose_next.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let settings = WebSettings {
        public_url: base.clone(),
        ..WebSettings::default()
    };
    let app = pathways_web::router(AppState::new(
        db.store.clone(),
        settings,
        pathways_app::Settings::default(),
    ))
    .layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let lose = lose.clone();
            async move {
                let res: Response = next.run(req).await;
                if lose.swap(false, Ordering::SeqCst) {
                    return (axum::http::StatusCode::BAD_GATEWAY, "lost").into_response();
                }
                res
            }
        },
    ));
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });

    let body = referral("Found with a knife at the station.");
    let (status, _, _) = post(&base, Some("retry-1"), &body).await;
    assert_eq!(status, 502, "the first answer is lost");
    assert_eq!(referral_count(&db.store).await, 1, "but the work was done");
    let (status, replayed, created) = post(&base, Some("retry-1"), &body).await;
    assert_eq!((status, replayed.as_deref()), (201, Some("true")));
    assert_eq!(
        referral_count(&db.store).await,
        1,
        "the retry created nothing"
    );
    let reference = created["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    let stored = db.store.triage_queue().await.expect("queue");
    assert_eq!(
        stored[0].reference, reference,
        "the replay names the first record"
    );

    // Again, and again: the same answer.
    let (status, _, again) = post(&base, Some("retry-1"), &body).await;
    assert_eq!((status, again), (201, created));

    // Without a key, a retry is a new request (and a new record), as before.
    let (status, replayed, _) = post(&base, None, &body).await;
    assert_eq!((status, replayed), (201, None));
    assert_eq!(referral_count(&db.store).await, 2);
    server.abort();
}

#[tokio::test]
async fn a_key_reused_for_another_body_is_refused_and_invalid_requests_free_the_key() {
    let app = App::start().await;
    token(app.store()).await;
    let (status, _, _) = post(&app.base, Some("k-1"), &referral("First reason.")).await;
    assert_eq!(status, 201);
    let (status, _, err) = post(&app.base, Some("k-1"), &referral("Another reason.")).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["errors"][0]["field"], "Idempotency-Key");
    assert!(
        err["error"]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already used for a different request")),
        "{err}"
    );
    assert_eq!(referral_count(app.store()).await, 1);

    // An invalid request changes nothing, so its key may be used again once corrected.
    let mut bad = referral("Fixed later.");
    bad["concerns"] = serde_json::json!(["juggling"]);
    let (status, replayed, _) = post(&app.base, Some("k-2"), &bad).await;
    assert_eq!((status, replayed), (422, None));
    let (status, replayed, _) = post(&app.base, Some("k-2"), &referral("Fixed later.")).await;
    assert_eq!((status, replayed), (201, None));
    assert_eq!(referral_count(app.store()).await, 2);

    // A malformed key is refused before anything runs.
    let (status, _, err) = post(&app.base, Some("has space"), &referral("x y z")).await;
    assert_eq!(status, 400, "{err}");
    let long = "k".repeat(256);
    let (status, _, _) = post(&app.base, Some(&long), &referral("x y z")).await;
    assert_eq!(status, 400);
    assert_eq!(referral_count(app.store()).await, 2);
}

#[tokio::test]
async fn concurrent_duplicates_make_one_record() {
    let app = App::start().await;
    token(app.store()).await;
    let body = referral("Seen twice by a nervous client.");
    let sends = (0..8).map(|_| {
        let (base, body) = (app.base.clone(), body.clone());
        async move { post(&base, Some("burst"), &body).await }
    });
    let answers = join_all(sends).await;
    let created: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 201).collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(
        answers.iter().all(|(s, _, _)| *s == 201 || *s == 409),
        "each duplicate waits for the answer or is told to retry: {answers:?}"
    );
    assert!(
        created.iter().all(|(_, _, j)| j == &created[0].2),
        "every 201 names the same record"
    );
    assert_eq!(referral_count(app.store()).await, 1);
    // Once the first has finished, a retry always gets its answer.
    let (status, replayed, json) = post(&app.base, Some("burst"), &body).await;
    assert_eq!(
        (status, replayed.as_deref(), &json),
        (201, Some("true"), &created[0].2)
    );
}

async fn join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn keys_belong_to_their_caller_and_expire_after_a_day() {
    let db = TestDatabase::sqlite().await.expect("database");
    let store = &db.store;
    assert_eq!(
        store
            .claim_idempotency_key("token:a", "k", "h1")
            .await
            .expect("claim"),
        Claim::Claimed
    );
    assert_eq!(
        store
            .claim_idempotency_key("token:a", "k", "h1")
            .await
            .expect("claim"),
        Claim::InProgress {
            since: match store
                .claim_idempotency_key("token:a", "k", "h1")
                .await
                .expect("claim")
            {
                Claim::InProgress { since } => since,
                other => panic!("{other:?}"),
            }
        }
    );
    assert_eq!(
        store
            .claim_idempotency_key("token:b", "k", "h2")
            .await
            .expect("claim"),
        Claim::Claimed,
        "another caller's key of the same name is theirs"
    );
    // A day later the key is forgotten.
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 86400")
        .execute(store.pool())
        .await
        .expect("age");
    assert_eq!(
        store
            .claim_idempotency_key("token:a", "k", "h3")
            .await
            .expect("claim"),
        Claim::Claimed
    );
}

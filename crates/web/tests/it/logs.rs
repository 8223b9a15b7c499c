//! `tracing` output never contains personal data: logs are captured while a person with a
//! distinctive name and e-mail address signs in, fails to sign in, is invited and viewed.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use pathways_domain::Role;

use crate::support::{App, PASSWORD, get, location, post_form, sign_in};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide capturing subscriber, installed once. A global subscriber (rather than
/// a thread-scoped one) sees events from every thread and is immune to callsite interest
/// cached by tests running in parallel; it also captures those tests' logs, which must be
/// free of personal data too.
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let writer = capture.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
            capture
        })
        .clone()
}

#[tokio::test]
async fn logs_hold_no_personal_data() {
    let capture = capture();

    let app = App::start().await;
    let name = "Zebedee Quillfeather";
    let email = "zebedee.quillfeather@example.org";
    let person = app.user(email, name, &[Role::Analyst]).await;
    let admin = app
        .user("root@example.org", "Ada Admin", &[Role::Administrator])
        .await;
    let (client, _) = app.client();
    assert_eq!(
        sign_in(&app, &client, email, "a wrong password")
            .await
            .status(),
        200
    );
    assert_eq!(
        sign_in(&app, &client, "nobody.quillfeather@example.org", PASSWORD)
            .await
            .status(),
        200
    );
    let res = sign_in(&app, &client, email, PASSWORD).await;
    assert_eq!(location(&res), "/dashboard");
    assert_eq!(get(&app, &client, "/dashboard").await.status(), 200);
    let (admin_client, csrf, _) = app.session(&admin).await;
    assert_eq!(
        get(&app, &admin_client, &format!("/admin/users/{}", person.id))
            .await
            .status(),
        200
    );
    assert_eq!(get(&app, &admin_client, "/admin/users").await.status(), 200);
    let agency = app.agency().await;
    let invited = post_form(
        &app,
        &admin_client,
        "/admin/users",
        &csrf,
        &[
            ("agency", &agency),
            ("email", "yolanda.invitee@example.org"),
            ("name", "Yolanda Invitee"),
            ("role", "analyst"),
        ],
    )
    .await;
    assert_eq!(invited.status(), 200);
    assert_eq!(
        get(&app, &admin_client, "/admin/outbox").await.status(),
        200
    );
    assert_eq!(
        get(&app, &admin_client, "/no/such/page").await.status(),
        404
    );

    let logs =
        String::from_utf8(capture.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    assert!(logs.contains("request"), "request events were captured");
    assert!(
        logs.contains("route=/admin/users/{user_id}"),
        "the user page view was logged"
    );
    for secret in [
        "Zebedee",
        "Quillfeather",
        "quillfeather",
        "Yolanda",
        "yolanda",
        "Invitee",
        PASSWORD,
        "a wrong password",
    ] {
        if let Some(at) = logs.find(secret) {
            let context = logs
                .get(at.saturating_sub(300)..(at + 300).min(logs.len()))
                .unwrap_or(secret);
            panic!("{secret:?} appears in the logs: ...{context}...");
        }
    }
}

//! Several `pathways serve` processes on one PostgreSQL database behind one proxy address,
//! as a multi-instance deployment runs: each outbox message reaches the relay once, and
//! the client address forwarded by the trusted proxy is the one throttled and audited.
//! Runs when `PATHWAYS_TEST_POSTGRES_URL` names a server (CI sets it), and says it skipped
//! otherwise. [`Cluster`] is the harness: more cross-instance checks belong here.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pathways_store::Store;
use pathways_store::testing::TestDatabase;
use pathways_web::notify::sink::{self, Received};
use support::Instance;

/// N instances on one fresh PostgreSQL database, with a slow SMTP relay they all send to.
/// They trust 127.0.0.1 as their proxy, so a test plays the proxy by sending
/// `X-Forwarded-For`.
pub struct Cluster {
    /// The instances, in start order.
    pub instances: Vec<Instance>,
    /// The shared database (dropped last).
    pub db: TestDatabase,
    /// Messages the relay accepted.
    pub mail: tokio::sync::mpsc::UnboundedReceiver<Received>,
    runtime: tokio::runtime::Runtime,
}

impl Cluster {
    /// Starts `n` instances, or `None` when no PostgreSQL server is configured.
    pub fn start(n: usize, relay_delay: Duration) -> Option<Cluster> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        // Every instance signs the shared audit log with the same key, as a deployment's
        // instances share one key file.
        let data_dir =
            std::env::temp_dir().join(format!("pathways-test-{}", pathways_store::new_id()));
        let key_file = data_dir.join("audit-signing-key.pem");
        let keys = pathways_store::AuditKeys::load_or_create(&key_file).expect("key file");
        let Some(db) = runtime
            .block_on(TestDatabase::postgres_signed_with(keys))
            .expect("the PostgreSQL test server works")
        else {
            eprintln!(
                "skipped: set PATHWAYS_TEST_POSTGRES_URL to run several instances on PostgreSQL"
            );
            return None;
        };
        let (port, mail) = runtime
            .block_on(sink::start_slow(false, relay_delay))
            .expect("relay");
        let env = [
            ("PATHWAYS_SMTP_HOST", "127.0.0.1".to_string()),
            ("PATHWAYS_SMTP_PORT", port.to_string()),
        ];
        let instances = (0..n)
            .map(|_| {
                Instance::start(
                    &[
                        "--database",
                        &db.url,
                        "--trusted-proxy",
                        "127.0.0.1",
                        "--audit-key",
                        &key_file.display().to_string(),
                        "--data-dir",
                        &data_dir.display().to_string(),
                    ],
                    &env,
                )
            })
            .collect();
        Some(Cluster {
            instances,
            db,
            mail,
            runtime,
        })
    }

    /// The shared store, for setting up data and checking results.
    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// Runs a store call (or any future) to completion.
    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    /// Waits, at most `bound`, until `done` holds; fails the test otherwise.
    pub fn wait_until(&self, bound: Duration, what: &str, mut done: impl FnMut(&Cluster) -> bool) {
        let until = Instant::now() + bound;
        while !done(self) {
            assert!(Instant::now() < until, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn each_outbox_message_reaches_the_relay_once() {
    let Some(mut cluster) = Cluster::start(3, Duration::from_millis(100)) else {
        return;
    };
    let total = 40;
    for i in 0..total {
        cluster
            .run(cluster.store().enqueue_message(
                "email",
                &format!("person{i}@school.example"),
                "Invitation",
                "Hello.",
                &format!("invite-{i}"),
            ))
            .expect("queued");
    }
    cluster.wait_until(Duration::from_secs(120), "every message is sent", |c| {
        let outbox = c.run(c.store().recent_outbox(1000)).expect("outbox");
        outbox.iter().filter(|m| m.sent_at.is_some()).count() == total
    });
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    while let Ok(m) = cluster.mail.try_recv() {
        *received.entry(m.to).or_default() += 1;
    }
    assert_eq!(received.len(), total, "{received:?}");
    assert!(
        received.values().all(|n| *n == 1),
        "a message was delivered twice: {received:?}"
    );
}

/// Signs in with a wrong password through `instance`, as the proxy forwarding `client`;
/// returns the status of the answer.
fn failed_sign_in(instance: &Instance, client: &str, email: &str) -> u16 {
    let (_, page) = instance.get("/login", &[("X-Forwarded-For", client)]);
    let cookie = page
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: pw_pre="))
        .and_then(|v| v.split(';').next())
        .expect("a pre-sign-in cookie");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token");
    let body = format!("csrf={csrf}&email={email}&password=wrong+password+entirely");
    let (status, _) = instance.send(
        "POST",
        "/login",
        &[
            ("X-Forwarded-For", client),
            ("Cookie", &format!("pw_pre={cookie}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    );
    status
}

#[test]
fn the_forwarded_client_address_is_throttled_and_audited() {
    let Some(cluster) = Cluster::start(2, Duration::ZERO) else {
        return;
    };
    // Twenty failures on twenty accounts from twenty clients, spread over both instances:
    // behind one proxy address they used to lock everyone out.
    for i in 0..20 {
        let status = failed_sign_in(
            &cluster.instances[i % 2],
            &format!("203.0.113.{}", i + 1),
            &format!("staff{i}%40council.example"),
        );
        assert_eq!(status, 200, "attempt {i} was refused");
    }
    let status = failed_sign_in(
        &cluster.instances[0],
        "198.51.100.77",
        "new%40council.example",
    );
    assert_eq!(status, 200, "a fresh client is not throttled");
    let audit = cluster
        .run(cluster.store().recent_audit(100))
        .expect("audit");
    let clients: Vec<&str> = audit
        .iter()
        .filter(|e| e.event.action == "login_failed")
        .map(|e| e.event.client.as_str())
        .collect();
    assert_eq!(clients.len(), 21);
    assert!(clients.contains(&"198.51.100.77"), "{clients:?}");
    assert!(clients.contains(&"203.0.113.20"), "{clients:?}");
    assert!(!clients.contains(&"127.0.0.1"), "{clients:?}");
    // One client failing twenty times is still throttled, whichever instance it reaches.
    for i in 0..20 {
        failed_sign_in(
            &cluster.instances[i % 2],
            "192.0.2.9",
            &format!("x{i}%40council.example"),
        );
    }
    let status = failed_sign_in(&cluster.instances[1], "192.0.2.9", "y%40council.example");
    assert_eq!(status, 429);
}

#[test]
fn a_start_up_that_cannot_connect_prints_the_servers_reason() {
    let Ok(admin) = std::env::var(pathways_store::testing::POSTGRES_ENV) else {
        eprintln!("skipped: set PATHWAYS_TEST_POSTGRES_URL");
        return;
    };
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let data_dir = std::env::temp_dir().join(format!("pathways-test-{}", pathways_store::new_id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pathways"))
        .args([
            "migrate",
            "--database",
            &format!("{base}/pathways_no_such_database"),
            "--data-dir",
            &data_dir.display().to_string(),
        ])
        .env_remove("DATABASE_URL")
        .env_remove("PATHWAYS_CONFIG")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("database \"pathways_no_such_database\" does not exist (code 3D000)"),
        "{err}"
    );
}

/// A directory change made by another process on the shared database reaches every
/// instance within a second or two: a new service appears, and a location newly marked
/// confidential (a refuge's address) disappears from the public pages and the feed.
#[test]
fn directory_changes_reach_every_instance() {
    use pathways_directory::generate::{GenerateOptions, generate};
    let Some(cluster) = Cluster::start(2, Duration::ZERO) else {
        return;
    };
    let terms = pathways_directory::TermSet::needs();
    let generated = generate(
        &terms,
        &GenerateOptions {
            seed: 3,
            services: 40,
            today: time::OffsetDateTime::now_utc().date(),
        },
    );
    let service = generated
        .iter()
        .find(|s| {
            matches!(
                s.service().status,
                pathways_directory::model::Status::Active
            ) && s
                .service()
                .public_locations()
                .any(|l| !l.addresses.is_empty())
        })
        .expect("a service with a public address")
        .clone();
    let id = service.id().to_string();
    let postcode = service
        .service()
        .public_locations()
        .flat_map(|l| l.addresses.iter())
        .map(|a| a.postal_code.clone())
        .next()
        .expect("an address");
    // Both instances have built their index before the change.
    for i in &cluster.instances {
        assert_eq!(i.get(&format!("/oruk/services/{id}"), &[]).0, 404);
    }
    cluster
        .run(pathways_web::directory::save_services(
            cluster.store(),
            std::slice::from_ref(&service),
            "import",
        ))
        .expect("import");
    let started = Instant::now();
    cluster.wait_until(
        Duration::from_secs(10),
        "both instances serve the new service",
        |c| {
            c.instances
                .iter()
                .all(|i| i.get(&format!("/oruk/services/{id}"), &[]).0 == 200)
        },
    );
    let seen_in = started.elapsed();
    assert!(seen_in < Duration::from_secs(3), "took {seen_in:?}");
    for i in &cluster.instances {
        let (_, page) = i.get(&format!("/support/services/{id}"), &[]);
        assert!(page.contains(&postcode), "the address is public before");
    }
    // The location becomes confidential (a refuge): its address must leave every instance.
    let mut changed = service.service().clone();
    for sal in &mut changed.service_at_locations {
        if let Some(l) = sal.location.as_mut() {
            l.confidential = true;
        }
    }
    let changed = pathways_directory::validate_service(changed, &terms).expect("valid");
    cluster
        .run(pathways_web::directory::save_services(
            cluster.store(),
            &[changed],
            "import",
        ))
        .expect("update");
    let started = Instant::now();
    cluster.wait_until(
        Duration::from_secs(10),
        "the address is gone everywhere",
        |c| {
            c.instances.iter().all(|i| {
                let (_, page) = i.get(&format!("/support/services/{id}"), &[]);
                let (_, feed) = i.get(&format!("/oruk/services/{id}"), &[]);
                !page.contains(&postcode) && !feed.contains(&postcode)
            })
        },
    );
    let hidden_in = started.elapsed();
    assert!(hidden_in < Duration::from_secs(3), "took {hidden_in:?}");
}

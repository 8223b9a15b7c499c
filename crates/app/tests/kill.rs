//! A write and its audit entry land together or not at all, even when the process is killed
//! (SIGKILL, no clean-up) part-way. The test re-runs its own binary as a writer process on a
//! shared database and kills it in the middle of a stream of use-case writes. Afterwards
//! every referral has its audit entry, every audit entry its referral, every write the writer
//! reported done is there, and the signed chain verifies. Runs on SQLite, and on PostgreSQL
//! when `PATHWAYS_TEST_POSTGRES_URL` names a server.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use pathways_app::{App, Caller, Settings};
use pathways_store::referrals::NewReferral;
use pathways_store::testing::TestDatabase;
use pathways_store::{AuditKeys, Store, now_unix};

const ROLE: &str = "PATHWAYS_KILL_WRITER";
const URL: &str = "PATHWAYS_KILL_URL";
const KEY: &str = "PATHWAYS_KILL_KEY";
const AGENCY: &str = "PATHWAYS_KILL_AGENCY";

/// A partner system referring for the test agency.
fn referrer() -> Caller {
    let agency = std::env::var(AGENCY).expect("agency");
    Caller::token(
        "kill-test",
        &agency,
        vec![pathways_domain::Permission::MakeReferral],
        "kill-test",
    )
}

fn referral(n: usize) -> NewReferral {
    let mut r = NewReferral {
        referrer_actor: "token:kill-test".into(),
        referrer_agency_id: std::env::var(AGENCY).expect("agency"),
        referrer_name: "Kill test".into(),
        referrer_email: "kill@example.org".into(),
        reason: format!("Referral number {n}"),
        urgency: "standard".into(),
        consent: "given".into(),
        ..NewReferral::default()
    };
    r.person.first_name = format!("Person{n}");
    r.person.surname = "Tested".into();
    r
}

/// The writer process: does nothing unless started by [`start_writer`].
#[tokio::test]
async fn writer_process() {
    let Ok(_) = std::env::var(ROLE) else {
        return;
    };
    let url = std::env::var(URL).expect("url");
    let keys =
        AuditKeys::load(std::path::Path::new(&std::env::var(KEY).expect("key"))).expect("key file");
    let store = Store::connect(&url, keys).await.expect("store");
    let mut out = std::io::stdout();
    // Use-case writes one after another, each reported once committed.
    let app = App::new(store, Settings::default());
    let caller = referrer();
    for n in 0.. {
        let r = pathways_app::referrals::record_received(&app, &caller, referral(n), now_unix())
            .await
            .expect("write");
        writeln!(out, "done {}", r.id).expect("stdout");
        out.flush().expect("flush");
    }
}

async fn start_writer(role: &str, db: &TestDatabase, key: &std::path::Path) -> Child {
    let agency = pathways_store::testing::create_agency(
        &db.store,
        "Kill test partner",
        pathways_domain::AgencyKind::CouncilTeam,
    )
    .await
    .expect("agency");
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "writer_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(URL, &db.url)
        .env(KEY, key)
        .env(AGENCY, &agency.id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("writer starts")
}

/// Reads the writer's lines until `stop` says enough, then kills it with SIGKILL. Returns
/// the ids it reported.
fn kill_after(mut child: Child, prefix: &str, stop: impl Fn(usize) -> bool) -> Vec<String> {
    let stdout = child.stdout.take().expect("stdout");
    let mut ids = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(id) = line.strip_prefix(prefix) {
            ids.push(id.to_string());
            if stop(ids.len()) {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    ids
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// Every referral has exactly one creation entry, every creation entry its referral, and
/// the chain is intact.
async fn consistent(db: &TestDatabase) -> i64 {
    let referrals = count(&db.store, "SELECT COUNT(*) FROM referrals").await;
    let entries = count(
        &db.store,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'create' AND record_type = 'referral'",
    )
    .await;
    let orphans = count(
        &db.store,
        "SELECT COUNT(*) FROM referrals r WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
         WHERE a.record_id = r.id AND a.action = 'create')",
    )
    .await;
    assert_eq!(referrals, entries, "as many referrals as creation entries");
    assert_eq!(orphans, 0, "every referral has its own audit entry");
    let report = db
        .store
        .verify_audit(&db.ring(), &[])
        .await
        .expect("the audit chain verifies");
    assert!(report.entries >= entries as u64, "{report:?}");
    referrals
}

async fn databases(key: &std::path::Path) -> Vec<TestDatabase> {
    let keys = AuditKeys::load_or_create(key).expect("key file");
    let mut dbs = vec![
        TestDatabase::sqlite_signed_with(keys.clone())
            .await
            .expect("sqlite"),
    ];
    if let Some(pg) = TestDatabase::postgres_signed_with(keys)
        .await
        .expect("the PostgreSQL test server works")
    {
        dbs.push(pg);
    }
    dbs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_among_use_case_writes_leaves_each_change_with_its_entry() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("pathways-kill-{}", pathways_store::new_id()));
    let key = dir.join("audit-signing-key.pem");
    for db in databases(&key).await {
        let child = start_writer("stream", &db, &key).await;
        let done = tokio::task::spawn_blocking(move || kill_after(child, "done ", |n| n >= 40))
            .await
            .expect("reader");
        assert_eq!(
            done.len(),
            40,
            "the writer acknowledged 40 writes before the kill"
        );
        for id in &done {
            assert!(
                db.store.referral(id).await.is_ok(),
                "acknowledged write {id} was kept"
            );
        }
        let total = consistent(&db).await;
        assert!(
            total >= done.len() as i64,
            "{total} referrals, {} acknowledged",
            done.len()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

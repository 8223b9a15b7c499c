//! The server side of the audit benchmark (`bench/audit/run.sh`): seeds a database with an
//! agency and users, opens a signed-in administrator session, and serves the application
//! with auditing of reads on or off, so `wrk` can measure authenticated page views.
//!
//! Usage: `audit_bench_server --database URL --audit-reads on|off [--listen ADDR] [--audit-key FILE]`.
//! Prints one line `READY <url> <cookie>` when it is serving, then serves until killed.

use std::net::SocketAddr;

use pathways_app::crypto;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::{NewUser, Store};
use pathways_web::{AppState, WebSettings};

#[derive(Debug)]
struct Args {
    database: String,
    audit_reads: bool,
    listen: SocketAddr,
    audit_key: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut database = None;
    let mut audit_reads = None;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut audit_key = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--database" => database = Some(value),
            "--audit-key" => audit_key = Some(value.into()),
            "--audit-reads" => {
                audit_reads = Some(match value.as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("--audit-reads takes on or off, not {other:?}")),
                })
            }
            "--listen" => {
                listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value:?}: {e}"))?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Args {
        database: database.ok_or("--database is required")?,
        audit_reads: audit_reads.ok_or("--audit-reads on|off is required")?,
        listen,
        audit_key,
    })
}

/// Seeds the agency and users once, and returns (administrator id, viewed user id).
async fn seed(store: &Store) -> Result<(String, String), Box<dyn std::error::Error>> {
    let agency = match store.agency_by_name("Bench Agency").await? {
        Some(a) => a,
        None => {
            pathways_store::testing::create_agency(store, "Bench Agency", AgencyKind::CouncilTeam)
                .await?
        }
    };
    let mut ids = Vec::new();
    for i in 0..50 {
        let email = format!("user{i}@bench.example");
        let user = match store.user_by_email(&email).await? {
            Some(u) => u,
            None => {
                let roles = if i == 0 {
                    vec![Role::Administrator]
                } else {
                    vec![Role::Practitioner]
                };
                pathways_store::testing::create_user(
                    store,
                    &NewUser {
                        agency_id: agency.id.clone(),
                        email,
                        display_name: format!("Bench User {i}"),
                        roles: RoleSet::new(roles),
                        password_hash: None,
                    },
                )
                .await?
            }
        };
        ids.push(user.id);
    }
    Ok((ids[0].clone(), ids[7].clone()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().map_err(|e| {
        format!(
            "{e}\nusage: audit_bench_server --database URL --audit-reads on|off [--listen ADDR] [--audit-key FILE]"
        )
    })?;
    let keys = match &args.audit_key {
        Some(path) => pathways_store::AuditKeys::load_or_create(path)?,
        None => pathways_store::AuditKeys::generate(),
    };
    let store = Store::connect(&args.database, keys).await?;
    let (admin, viewed) = seed(&store).await?;
    let raw = crypto::random_token();
    pathways_store::testing::create_session(
        &store,
        &crypto::digest(&raw),
        &admin,
        "full",
        "127.0.0.1",
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let settings = WebSettings {
        public_url: format!("http://{addr}"),
        // Sessions must outlive the run; the benchmark is about page views, not time-outs.
        session_idle_secs: 24 * 3600,
        session_absolute_secs: 24 * 3600,
        audit_reads: args.audit_reads,
        ..WebSettings::default()
    };
    let app = pathways_web::router(AppState::new(
        store,
        settings,
        pathways_app::Settings::default(),
    ));
    println!("READY http://{addr}/admin/users/{viewed} pw_session={raw}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

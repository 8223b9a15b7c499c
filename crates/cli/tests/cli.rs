//! The binary as an operator meets it: help, bad input with one clear line and a non-zero
//! exit, the demo's printed sign-ins, and a real server answering then stopping on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn pathways() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pathways"));
    c.env_remove("DATABASE_URL")
        .env_remove("PATHWAYS_CONFIG")
        .env_remove("PATHWAYS_LISTEN")
        .env_remove("PATHWAYS_AUDIT_KEY")
        // The data folder (and the audit key made there) lies outside the source tree.
        .env(
            "PATHWAYS_DATA_DIR",
            std::env::temp_dir().join(format!("pathways-cli-test-{}", std::process::id())),
        );
    c
}

fn fails_with(args: &[&str], expected: &str) {
    let out = pathways().args(args).output().expect("runs");
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(expected), "{args:?}: stderr was {err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn help_lists_every_command() {
    let out = pathways().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "demo", "migrate", "crime", "geo"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    let serve = pathways().args(["serve", "--help"]).output().expect("runs");
    let text = String::from_utf8_lossy(&serve.stdout);
    for flag in [
        "--listen",
        "--database",
        "--data-dir",
        "--public-url",
        "--log-format",
        "--config",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn bad_input_gets_one_clear_line() {
    fails_with(
        &["serve", "--no-such-flag"],
        "unexpected argument '--no-such-flag'",
    );
    fails_with(
        &["migrate", "--database", "/proc/nope/p.db"],
        "error: cannot use database file /proc/nope/p.db",
    );
    fails_with(
        &[
            "migrate",
            "--database",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        "error: cannot connect to the database at postgres://…@127.0.0.1:1/none",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = dir.path().join("bad.toml");
    std::fs::write(&toml, "listen = \"127.0.0.1:1\"\nlisten = oops\n").expect("write");
    fails_with(
        &["migrate", "--config", toml.to_str().expect("utf-8")],
        "bad.toml at line 2",
    );
    fails_with(
        &["migrate", "--config", "/no/such.toml"],
        "settings file /no/such.toml does not exist",
    );
}

#[test]
fn port_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("p.db");
    fails_with(
        &[
            "serve",
            "--listen",
            &addr,
            "--database",
            db.to_str().expect("utf-8"),
        ],
        &format!("cannot listen on {addr}"),
    );
}

#[test]
fn demo_prints_sign_ins_for_every_role() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = pathways()
        .args(["demo", "--no-serve", "--data-dir"])
        .arg(dir.path().join("demo"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for role in [
        "Practitioner",
        "Manager",
        "Panel coordinator",
        "Analyst",
        "Directory editor",
        "Administrator",
        "Partner referrer",
    ] {
        assert!(text.contains(role), "no {role} login in {text}");
    }
    assert!(text.contains("@riverside.example"));
}

#[test]
fn serves_then_stops_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = pathways()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
            "--database",
        ])
        .arg(dir.path().join("p.db"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Wait for the "serving" log line rather than sleeping.
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).expect("reads") > 0,
            "server exited before serving"
        );
        if line.contains("\"serving\"") {
            break;
        }
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("writes");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("reads");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("exits");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
    let mut rest = String::new();
    err.read_to_string(&mut rest).expect("reads");
    assert!(rest.contains("\"stopped\""), "{rest}");
}

/// Runs the binary and returns its standard output, failing the test if it fails.
fn succeeds(args: &[&str]) -> String {
    let out = pathways().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn keys_backups_restores_and_read_only_verification_as_an_operator_meets_them() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8");
    let db = format!("{data}/pathways.db");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let with = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--data-dir".into(), data.to_string()]);
        all
    };
    let run = |args: &[&str]| {
        let all = with(args);
        succeeds(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    run(&["admin", "agency", "add", "One", "--kind", "school"]);
    let key = std::path::Path::new(data).join("audit-signing-key.pem");
    let mode = std::fs::metadata(&key)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is the owner's alone");
    let public = run(&["audit", "public-key"]);
    assert!(
        public
            .lines()
            .any(|l| l.starts_with("ed25519:") && l.ends_with(" signing")),
        "{public}"
    );

    let backup = at("backup.db");
    assert!(run(&["backup", "--out", &backup]).contains("backup written"));
    fails_with(
        &with(&["backup", "--out", &backup])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "already exists",
    );
    fails_with(
        &with(&["restore", &backup])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "--replace",
    );
    let restored = at("restored/pathways.db");
    let said = run(&["restore", &backup, "--database", &restored]);
    assert!(said.contains("audit chain intact"), "{said}");

    // Verifying a read-only copy in a read-only folder writes nothing.
    let ro_dir = dir.path().join("restored");
    std::fs::set_permissions(&restored, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&ro_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&ro_dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        (names, std::fs::read(&restored).expect("bytes"))
    };
    let before = listing();
    // The backup holds the agency's entry; the backup itself is logged after it was taken.
    let said = run(&["audit", "verify", "--database", &restored]);
    assert!(said.starts_with("audit chain intact: 1 entries"), "{said}");
    assert_eq!(listing(), before);
    std::fs::set_permissions(&ro_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    // A database without its head row: a plain message and exit status 1.
    let out = pathways()
        .args(with(&["audit", "verify", "--database", &db]))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{db}"))
            .await
            .expect("opens");
        sqlx::query("DELETE FROM audit_head")
            .execute(&pool)
            .await
            .expect("damage");
        pool.close().await;
    });
    let out = pathways()
        .args(with(&["audit", "verify", "--database", &db]))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "audit log damaged: the chain head (row 1 of audit_head) is missing\n"
    );
}

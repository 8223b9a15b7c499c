//! The server protecting itself, tried on the real binary: idle connections cannot crowd
//! out a new client, a client that never finishes its headers is disconnected, idle
//! keep-alive connections are closed, and a full disk makes the service unready until it
//! frees, without a restart.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{Instance, status_of};

fn db_args(dir: &std::path::Path) -> Vec<String> {
    vec![
        "--database".into(),
        dir.join("p.db").display().to_string(),
        "--data-dir".into(),
        dir.display().to_string(),
    ]
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Instance {
    let mut args: Vec<String> = db_args(dir);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Instance::start(&args, &[])
}

/// Reads until the server closes the connection; returns what was read. Fails the test if
/// the server keeps it open past a generous bound.
fn read_until_closed(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned();
            }
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

#[test]
fn idle_connections_do_not_crowd_out_a_new_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Long deadlines: only the connection cap can make room here.
    let server = start(
        dir.path(),
        &[
            "--max-connections",
            "32",
            "--idle-timeout",
            "600",
            "--header-timeout",
            "600",
        ],
    );
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connects");
        if i % 2 == 0 {
            // Half of them start a request and never finish it.
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
                .expect("writes");
        }
        idle.push(s);
    }
    let (status, resp) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "{resp}");
    // The oldest idle connections were closed to make room.
    let closed = read_until_closed(&mut idle[0]);
    assert!(closed.is_empty(), "{closed}");
    let (status, _) = server.get("/readyz", &[]);
    assert_eq!(status, 200);
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(
        dir.path(),
        &["--header-timeout", "1", "--idle-timeout", "1"],
    );
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).expect("connects");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("writes");
    let got = read_until_closed(&mut slow);
    assert!(got.is_empty(), "no response to half a request: {got}");
    // A kept-alive connection gets its answer, then is closed once idle.
    let mut kept = TcpStream::connect(("127.0.0.1", server.port)).expect("connects");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("writes");
    let got = read_until_closed(&mut kept);
    assert_eq!(status_of(&got), 200, "{got}");
    let (status, _) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "others are still served");
}

/// A small filesystem of its own, mounted for the test and removed afterwards.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the disk but for `leave` bytes with one file; returns its path.
    fn fill(&self, leave: u64) -> std::path::PathBuf {
        let out = std::process::Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(self.path())
            .output()
            .expect("df");
        let avail: u64 = String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df prints the free bytes");
        let balloon = self.path().join("balloon");
        std::fs::write(&balloon, vec![0u8; avail.saturating_sub(leave) as usize])
            .expect("fills the disk");
        balloon
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_makes_the_service_unready_until_it_frees() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    };
    let data = disk.path().join("data");
    let server = start(&data, &[]);
    let (status, _) = server.get("/readyz", &[]);
    assert_eq!(status, 200);
    let balloon = disk.fill(256 * 1024);
    let (status, resp) = server.get("/readyz", &[]);
    assert_eq!(status, 503, "{resp}");
    std::fs::remove_file(&balloon).expect("frees the disk");
    let (status, resp) = server.get("/readyz", &[]);
    assert_eq!(status, 200, "ready again without a restart: {resp}");
    drop(server);
}

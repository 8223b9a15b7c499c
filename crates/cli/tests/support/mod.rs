//! Running `pathways serve` as an operator does: a real process on a free loopback port,
//! ready once it logs "serving", stopped (or killed) by the test; raw HTTP over TCP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `pathways serve`.
pub struct Instance {
    /// The process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its log lines, read by a thread as they come.
    pub log: std::sync::mpsc::Receiver<String>,
}

/// A free loopback port (the listener is dropped before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Instance {
    /// Starts `pathways serve` with `args` and extra environment, and waits until it serves.
    pub fn start(args: &[&str], env: &[(&str, String)]) -> Instance {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pathways"));
        cmd.env_remove("DATABASE_URL")
            .env_remove("PATHWAYS_CONFIG")
            .env_remove("PATHWAYS_LISTEN")
            .env_remove("PATHWAYS_DATA_DIR")
            .env_remove("PATHWAYS_TRUSTED_PROXIES")
            .args(["serve", "--log-format", "json", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("pathways starts");
        let err = BufReader::new(child.stderr.take().expect("stderr"));
        let (tx, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut instance = Instance { child, port, log };
        instance.wait_for_log("\"serving\"");
        instance
    }

    /// Waits (at most two minutes) for a log line containing `needle`; returns it.
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        loop {
            match self.log.recv_timeout(Duration::from_secs(120)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!("no log line with {needle} (process status {status:?})");
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request on a fresh connection; returns the status and the whole response.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("writes");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("reads");
        (status_of(&resp), resp)
    }

    /// One request with a body on a fresh connection; returns the status and the response.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).expect("writes");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("reads");
        (status_of(&resp), resp)
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The status code of a raw HTTP response (0 when there is none).
pub fn status_of(resp: &str) -> u16 {
    resp.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

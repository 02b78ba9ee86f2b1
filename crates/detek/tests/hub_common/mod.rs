//! `detek serve` as a process for the hub's tests (`hub_browser.rs`, `hub_serve.rs`), and a
//! plain HTTP/1.1 client for loopback.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `detek serve ARGS` on a free loopback port, killed when dropped.
pub struct Hub {
    child: Child,
    pub port: u16,
}

impl Hub {
    /// Started with `args` (and `--listen`); answers `/healthz` once it returns.
    pub fn start(args: &[&str]) -> Hub {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_detek"))
            .arg("serve")
            .args(args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("DETEK_DATABASE_URL")
            .env_remove("DETEK_HUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start detek serve");
        let hub = Hub { child, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        while hub.get("/healthz").is_none_or(|(status, _)| status != 200) {
            assert!(
                Instant::now() < deadline,
                "detek serve {args:?} did not answer on {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        hub
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A plain HTTP/1.1 GET on loopback: (status, body).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let status = raw.split(' ').nth(1)?.parse().ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        Some((status, body))
    }

    pub fn api(&self, path: &str) -> Value {
        let (status, body) = self.get(path).expect("the hub answers");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

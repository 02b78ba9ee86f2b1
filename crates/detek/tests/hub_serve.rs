//! `detek serve` with targets: it scans them on its interval (the first pass at once) and the
//! dashboard shows the result — here a cluster whose API server does not answer (a closed
//! loopback port): a scan in which nothing could be collected, stored with the reason, shown
//! in the list and on the cluster's page. And the flags it refuses.

mod hub_common;

use assert_cmd::Command;
use hub_common::Hub;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

/// A kubeconfig whose one context points at a loopback port nobody listens on.
fn dead_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let path = dir.join("kubeconfig.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\n\
             clusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: not-a-real-token\n\
             contexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn serve_scans_its_targets_and_shows_failures() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dead_kubeconfig(dir.path());
    let database = format!("sqlite://{}", dir.path().join("hub.db").display());
    let hub = Hub::start(&[
        "--database-url",
        &database,
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--timeout",
        "20s",
    ]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let row = loop {
        let list = hub.api("/api/targets");
        if let Some(row) = list["items"].as_array().and_then(|r| r.first())
            && !row["last_scan"].is_null()
        {
            break row.clone();
        }
        assert!(Instant::now() < deadline, "no scan stored: {list}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(row["target"]["name"], "dead");
    assert_eq!(row["target"]["kind"], "kubernetes");
    assert_eq!(row["last_scan"]["status"], "nothing_collected");
    let error = row["last_scan"]["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("127.0.0.1"),
        "the reason names the server: {error}"
    );
    // The credential stays in the kubeconfig.
    assert!(!row.to_string().contains("not-a-real-token"));
    let (status, page) = hub.get("/").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("<a href=\"/clusters/dead\">dead</a>"));
    let escaped = detek_render::escape_html(&error).into_owned();
    assert!(
        page.contains(&format!("nothing collected: {escaped}</div>")),
        "{page}"
    );
    let (status, page) = hub.get("/clusters/dead").unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(
            "<strong>Nothing could be collected:</strong> {escaped}</div>"
        )),
        "{page}"
    );
}

#[test]
fn serve_refuses_bad_flags() {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "detek: error: --listen \"localhost\": not an address and port (e.g. 127.0.0.1:8080): invalid socket address syntax\n"
    );
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["serve", "--scan-every", "often"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("detek: error: --scan-every: "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["serve", "--token-for-reads"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--token-for-reads needs --token"
    );
}

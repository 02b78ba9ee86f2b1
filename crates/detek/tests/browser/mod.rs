//! Headless Chromium for the browser tests (`html_browser.rs`, `hub_browser.rs`): chromedriver
//! from Debian's `chromium-driver` (installed with apt-get when missing and we are root), on a
//! free loopback port, and a WebDriver session through `fantoccini`.

#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// chromedriver, installed from Debian's packages when missing and we are root.
pub fn chromedriver() -> PathBuf {
    if let Some(path) = on_path("chromedriver") {
        return path;
    }
    const INSTALL: &str = "apt-get update && apt-get install -y chromium chromium-driver";
    assert!(
        is_root(),
        "chromedriver is not installed; this test needs headless Chromium: run `sudo sh -c '{INSTALL}'`"
    );
    eprintln!("html_browser: installing chromium and chromedriver: {INSTALL}");
    let status = std::process::Command::new("sh")
        .args(["-c", INSTALL])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .expect("run apt-get");
    assert!(status.success(), "`{INSTALL}` failed ({status})");
    on_path("chromedriver")
        .unwrap_or_else(|| panic!("chromedriver still missing after `{INSTALL}`"))
}

/// chromedriver on a free loopback port, killed when dropped.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start() -> Driver {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1280,800"
        ]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Make the viewport (not the window) `width`×`height`.
pub async fn viewport(c: &Client, width: u32, height: u32) {
    c.set_window_size(width, height).await.unwrap();
    let inner = js(c, "return [window.innerWidth, window.innerHeight]").await;
    let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
    c.set_window_size(
        width + (width as u64).saturating_sub(iw) as u32,
        height + (height as u64).saturating_sub(ih) as u32,
    )
    .await
    .unwrap();
    let inner = js(c, "return [window.innerWidth, window.innerHeight]").await;
    assert_eq!(inner, json!([width, height]), "viewport size");
}

pub async fn screenshot(c: &Client, path: &Path) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(path, png).unwrap();
}

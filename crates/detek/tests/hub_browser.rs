//! The fleet hub in a real browser: `detek serve --demo` as a process on a loopback port,
//! headless Chromium through chromedriver (the `fantoccini` crate), and the walk a person
//! takes: the cluster list (the seed page) → a filter → "View tests" → the cluster page (new
//! and resolved since the previous scan, history, the latest report in its frame) → a
//! detector page (which clusters fail it, since when).
//!
//! What the page shows is compared with what the hub's JSON API says about the same data,
//! so the test checks the page, not a copy of the demo's numbers.
//!
//! Screenshots go to `target/tmp/hub-browser/`; with `UPDATE_SCREENSHOTS=1` the cluster list
//! is also copied to `docs/screenshots/hub-clusters.png`.

mod browser;
mod hub_common;

use browser::{Driver, browser, js, screenshot, viewport};
use fantoccini::{Client, Locator};
use hub_common::Hub;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The text of every `selector` the user can see.
async fn texts(c: &Client, selector: &str) -> Vec<String> {
    let script = format!(
        "return Array.prototype.slice.call(document.querySelectorAll({selector:?}))\
         .filter(function (e) {{ return e.checkVisibility(); }})\
         .map(function (e) {{ return e.textContent.trim(); }});"
    );
    serde_json::from_value(js(c, &script).await).unwrap()
}

async fn wait_for_url(c: &Client, part: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.map_err(err)?.to_string();
        if url.contains(part) {
            // The new page's document is ready once the script at its end has run.
            c.wait()
                .for_element(Locator::Css("header.top"))
                .await
                .map_err(err)?;
            return Ok(url);
        }
        if Instant::now() > deadline {
            return Err(format!("the browser stayed on {url}, not {part}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_in_headless_chromium() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hub-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let hub = Hub::start(&["--demo"]);
    let driver = Driver::start();
    let c = browser(&driver).await;
    let result = walk(&c, &hub, &out_dir).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{e}"));
}

async fn walk(c: &Client, hub: &Hub, out_dir: &Path) -> Result<(), String> {
    viewport(c, 1280, 800).await;

    // 1. The cluster list: every demo cluster, each with its "View tests" button.
    c.goto(&hub.url("/")).await.map_err(err)?;
    let all = hub.api("/api/targets?per_page=500");
    let mut expected: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"]["name"].as_str().unwrap().to_string())
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 6, "the demo seeds six clusters");
    let names = texts(c, "#clusters tbody td.name > a").await;
    assert_eq!(names, expected, "the list, by name");
    assert_eq!(
        texts(c, "#clusters tbody a.button").await,
        vec!["View tests"; 6]
    );
    assert_eq!(texts(c, "#count").await, ["6 clusters"]);
    // What each row says matches the API: counts of the last report, the failed scan.
    for row in all["items"].as_array().unwrap() {
        let name = row["target"]["name"].as_str().unwrap();
        let cells = js(
            c,
            &format!(
                "var r = document.querySelector('tr.cluster[data-name={name:?}]');\
                 return Array.prototype.slice.call(r.cells).map(function (td) {{ return td.textContent.trim(); }});"
            ),
        )
        .await;
        let counts = &row["last_report"]["counts"];
        assert_eq!(
            [&cells[3], &cells[4], &cells[5], &cells[6]],
            [
                &json!(counts["fatal"].to_string()),
                &json!(counts["error"].to_string()),
                &json!(counts["warn"].to_string()),
                &json!(counts["unknown"].to_string()),
            ],
            "{name}: fatal, error, warn, unknown"
        );
        let unused = match row["unused_score"].as_i64() {
            Some(n) => n.to_string(),
            None => "—".to_string(),
        };
        assert_eq!(cells[8], json!(unused), "{name}: possibly unused");
        if row["last_scan"]["status"] == "failed" {
            let shown = cells[2].as_str().unwrap();
            let error = row["last_scan"]["error"].as_str().unwrap();
            assert!(
                shown.contains(&format!("scan failed: {error}")),
                "{name}: {shown}"
            );
        }
    }
    // Trends: one bar per scan of the last ten.
    let bars = js(
        c,
        "return Array.prototype.slice.call(document.querySelectorAll('#clusters svg.trend'))\
         .map(function (s) { return s.querySelectorAll('rect').length; });",
    )
    .await;
    assert_eq!(bars, json!([10, 10, 10, 10, 10, 10]));
    screenshot(c, &out_dir.join("1-clusters.png")).await;
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(
            out_dir.join("1-clusters.png"),
            docs.join("hub-clusters.png"),
        )
        .unwrap();
    }

    // 2. Filter: choosing a team submits the form (the script), the server filters.
    c.find(Locator::Css("select[name=team] option[value=shop]"))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    wait_for_url(c, "team=shop").await?;
    let shop: Vec<String> = hub.api("/api/targets?team=shop")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shop, ["shop-prod-eu", "shop-staging"]);
    assert_eq!(texts(c, "#clusters tbody td.name > a").await, shop);
    assert_eq!(texts(c, "#count").await, ["2 clusters match"]);
    // And a search on top of it, typed and submitted as a person would.
    let q = c.find(Locator::Css("input[name=q]")).await.map_err(err)?;
    q.send_keys("staging\u{E007}").await.map_err(err)?;
    wait_for_url(c, "q=staging").await?;
    assert_eq!(
        texts(c, "#clusters tbody td.name > a").await,
        ["shop-staging"]
    );
    assert_eq!(texts(c, "#count").await, ["1 cluster matches"]);
    screenshot(c, &out_dir.join("2-filtered.png")).await;

    // 3. "View tests" opens the cluster page.
    c.find(Locator::Css("#clusters tbody a.button"))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    wait_for_url(c, "/clusters/shop-staging").await?;
    assert_eq!(texts(c, "#cluster-name").await, ["shop-staging"]);
    let diff = hub.api("/api/targets/shop-staging/diff");
    let new = diff["new"].as_array().unwrap();
    let resolved = diff["resolved"].as_array().unwrap();
    assert!(
        !new.is_empty() && !resolved.is_empty(),
        "the demo's latest scan of shop-staging has new and resolved findings"
    );
    assert_eq!(
        texts(c, "h2#new").await,
        [format!("New since the previous scan {}", new.len())]
    );
    assert_eq!(
        texts(c, "h2#resolved").await,
        [format!(
            "Resolved since the previous scan {}",
            resolved.len()
        )]
    );
    let shown_new = texts(c, "#new-findings tbody tr td:nth-child(4)").await;
    let mut api_new: Vec<String> = new
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    let mut sorted_shown = shown_new.clone();
    sorted_shown.sort();
    api_new.sort();
    assert_eq!(sorted_shown, api_new, "the new findings' messages");
    // History: one row per stored scan (up to 30), newest first.
    let scans = hub.api("/api/targets/shop-staging/scans?per_page=30");
    assert_eq!(
        texts(c, "#history tbody tr").await.len(),
        scans.as_array().unwrap().len()
    );
    // The latest report, framed: detek-render's report of that cluster, its script running.
    let frame_src = js(
        c,
        "return document.querySelector('iframe.report-frame').getAttribute('src');",
    )
    .await;
    let newest = scans[0]["id"].as_i64().unwrap();
    assert_eq!(
        frame_src,
        json!(format!("/clusters/shop-staging/scans/{newest}/report"))
    );
    c.enter_frame(0).await.map_err(err)?;
    c.wait()
        .for_element(Locator::Css("header.top h1"))
        .await
        .map_err(err)?;
    let framed = js(
        c,
        "return {title: document.title, controls: !document.getElementById('controls').hidden};",
    )
    .await;
    assert_eq!(
        framed["title"],
        json!("detek report — cluster shop-staging")
    );
    assert_eq!(
        framed["controls"],
        json!(true),
        "the report's own script ran"
    );
    c.enter_parent_frame().await.map_err(err)?;
    screenshot(c, &out_dir.join("3-cluster.png")).await;

    // 4. A detector of a new finding: which clusters fail it, since when.
    let detector = new[0]["detector"].as_str().unwrap().to_string();
    c.find(Locator::Css(&format!(
        "#new-findings a[href=\"/detectors/{detector}\"]"
    )))
    .await
    .map_err(err)?
    .click()
    .await
    .map_err(err)?;
    wait_for_url(c, &format!("/detectors/{detector}")).await?;
    assert_eq!(texts(c, "#detector-id").await, [detector.as_str()]);
    let failing = hub.api(&format!("/api/detectors/{detector}/failures"));
    let api_rows: Vec<String> = failing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(api_rows.contains(&"shop-staging".to_string()));
    assert_eq!(
        texts(c, "#failing tbody td:first-child > a").await,
        api_rows
    );
    // Sorting by a column (the script): findings, ascending.
    c.find(Locator::Css("#failing thead th:nth-child(3)"))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    let counts: Vec<i64> = texts(c, "#failing tbody td:nth-child(3)")
        .await
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let mut sorted = counts.clone();
    sorted.sort();
    assert_eq!(counts, sorted, "sorted by findings");
    screenshot(c, &out_dir.join("4-detector.png")).await;

    // 400 px wide: the page itself does not scroll sideways (the tables scroll in their box).
    viewport(c, 400, 800).await;
    c.goto(&hub.url("/")).await.map_err(err)?;
    let width = js(c, "return document.documentElement.scrollWidth;").await;
    assert!(
        width.as_u64().unwrap() <= 400,
        "horizontal scroll at 400 px: {width}"
    );
    screenshot(c, &out_dir.join("5-clusters-400.png")).await;
    Ok(())
}

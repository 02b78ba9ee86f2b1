//! The HTML report in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, the `fantoccini` crate), on the demo report (`detek run --demo -f html`).
//!
//! * at 1280×800 the summary of failing detectors and the first finding are above the fold,
//!   and the page is under 8,000 px tall (the detectors' prose is folded);
//! * at 400 px wide there is no horizontal scroll;
//! * typing `Deployment/shop/frontend` in the search box leaves only findings about that
//!   object (at least one), in the view by detector and in the view by object; the level
//!   tiles count what the search leaves and filter when clicked.
//!
//! chromedriver comes from Debian's `chromium-driver` package: when it is missing the test
//! installs it with apt-get if it runs as root, and fails naming the command otherwise.
//! Screenshots (1280 and 400 px) are written to `target/tmp/html-browser/`; with
//! `UPDATE_SCREENSHOTS=1` the 1280 px one is also copied to `docs/screenshots/demo-report.png`.

mod browser;

use assert_cmd::Command;
use browser::{Driver, browser, js, screenshot, viewport};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};

const SEARCH: &str = "Deployment/shop/frontend";

/// `{text, level}` of every finding row the user can see (not in a closed `<details>`, a
/// hidden view or a filtered-out detector).
const VISIBLE_FINDINGS: &str = "return Array.prototype.slice.call(document.querySelectorAll('.finding, .ofinding'))\
    .filter(function (e) { return e.checkVisibility(); })\
    .map(function (e) { return {text: e.textContent, level: e.getAttribute('data-level')}; });";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_report_in_headless_chromium() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let report = out_dir.join("demo.html");
    let run = Command::cargo_bin("detek")
        .unwrap()
        .args(["run", "--demo", "-f", "html", "-o"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(report.is_file(), "{}", String::from_utf8_lossy(&run.stderr));

    let driver = Driver::start();
    let c = browser(&driver).await;
    let result = check(&c, &report, &out_dir).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{e}"));
}

async fn check(c: &Client, report: &Path, out_dir: &Path) -> Result<(), String> {
    viewport(c, 1280, 800).await;
    c.goto(&format!("file://{}", report.display()))
        .await
        .map_err(|e| e.to_string())?;

    // Above the fold: the summary of failing detectors and the first finding.
    let tops = js(
        c,
        "function top(sel) { var e = document.querySelector(sel); return e ? e.getBoundingClientRect().top : null; }\
         return {summary: top('aside.failing table'), finding: top('.view[data-view=detectors] .finding'),\
                 controls: !document.getElementById('controls').hidden, height: document.body.scrollHeight};",
    )
    .await;
    assert_eq!(tops["controls"], json!(true), "the script ran (CSP hash)");
    let summary = tops["summary"]
        .as_f64()
        .expect("a failing-detector summary");
    let finding = tops["finding"].as_f64().expect("a finding");
    assert!(summary < 800.0, "failing-detector summary at {summary} px");
    assert!(finding < 800.0, "first finding at {finding} px");
    let height = tops["height"].as_f64().unwrap();
    // The skipped list grows with each integration (OpenStack, Prometheus, nodes over SSH,
    // cost: 23 rows here, 8,628 px).
    assert!(height < 9000.0, "page is {height} px tall at 1280 px");
    eprintln!(
        "html_browser: demo at 1280 px: {height} px tall; summary at {summary}, first finding at {finding}"
    );
    let wide = out_dir.join("demo-report-1280.png");
    screenshot(c, &wide).await;
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&wide, docs.join("demo-report.png")).unwrap();
    }

    // 400 px: no horizontal scroll.
    viewport(c, 400, 800).await;
    let widths = js(
        c,
        "return [document.documentElement.scrollWidth, document.body.scrollWidth, document.body.scrollHeight];",
    )
    .await;
    let scroll_width = widths[0].as_u64().unwrap();
    assert!(
        scroll_width <= 400 && widths[1].as_u64().unwrap() <= 400,
        "horizontal scroll at 400 px: {widths}"
    );
    eprintln!("html_browser: demo at 400 px: {} px tall", widths[2]);
    screenshot(c, &out_dir.join("demo-report-400.png")).await;

    // Search by object, as printed everywhere else (ObjectRef::display_name).
    viewport(c, 1280, 800).await;
    let tiles_before = js(
        c,
        "return document.querySelector('[data-level-filter=warn] .n').textContent",
    )
    .await;
    let q = c.find(Locator::Id("q")).await.map_err(|e| e.to_string())?;
    q.send_keys(SEARCH).await.map_err(|e| e.to_string())?;
    let shown = js(c, VISIBLE_FINDINGS).await;
    let shown = shown.as_array().unwrap();
    assert!(
        !shown.is_empty(),
        "the search for {SEARCH} shows no finding"
    );
    for f in shown {
        let text = f["text"].as_str().unwrap();
        assert!(
            text.contains(SEARCH),
            "a visible finding is about something else: {text}"
        );
    }
    eprintln!("html_browser: search {SEARCH}: {} findings", shown.len());
    // The tiles count what the search leaves.
    let tiles_after = js(
        c,
        "return document.querySelector('[data-level-filter=warn] .n').textContent",
    )
    .await;
    assert_ne!(
        tiles_before, tiles_after,
        "the Warn tile did not follow the search"
    );
    // The same in the view by object: everything wrong with that Deployment in one place.
    c.find(Locator::Css("[data-view-btn=objects]"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let in_objects = js(
        c,
        "return Array.prototype.slice.call(document.querySelectorAll('details.obj'))\
         .filter(function (e) { return e.checkVisibility(); })\
         .map(function (e) {\
           var rows = Array.prototype.slice.call(e.querySelectorAll('.ofinding'));\
           return {name: e.querySelector('summary .on').textContent, open: e.open, rows: rows.length,\
                   shown: rows.filter(function (r) { return r.checkVisibility(); }).map(function (r) { return r.textContent; })};\
         });",
    )
    .await;
    let in_objects = in_objects.as_array().unwrap();
    let object = in_objects
        .iter()
        .find(|o| o["name"] == SEARCH)
        .unwrap_or_else(|| panic!("no object {SEARCH} in {in_objects:?}"));
    assert_eq!(object["open"], json!(true), "the object is opened");
    assert_eq!(
        object["shown"].as_array().unwrap().len() as u64,
        object["rows"].as_u64().unwrap(),
        "every finding of the object is shown"
    );
    // Other objects are shown only for findings whose message names it.
    for o in in_objects.iter().filter(|o| o["name"] != SEARCH) {
        for row in o["shown"].as_array().unwrap() {
            assert!(row.as_str().unwrap().contains(SEARCH), "{o:?}");
        }
    }

    // A level tile filters: clear the search, click Error, only Error findings remain.
    c.find(Locator::Css("[data-view-btn=detectors]"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    js(c, "var q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input')); return 0").await;
    c.find(Locator::Css("[data-level-filter=error]"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let rows = js(c, VISIBLE_FINDINGS).await;
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["level"] == "error"), "{rows:?}");
    let pressed = js(
        c,
        "return document.querySelector('[data-level-filter=error]').getAttribute('aria-pressed')",
    )
    .await;
    assert_eq!(pressed, json!("true"));
    Ok(())
}

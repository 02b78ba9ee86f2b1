//! The hub's HTTP layer on a real SQLite database: what `POST /api/scans` refuses (and that a
//! refusal stores nothing), what it stores, hostile strings from a cluster escaped in every
//! page, the API's JSON and `/metrics`, the OpenAPI document against the routes, and the
//! page when the database is gone.
//!
//! Requests go through the router in-process (`tower::ServiceExt::oneshot`): the same code a
//! socket would reach, without one.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use detek_core::ReportList;
use detek_hub::db::Store;
use detek_hub::http::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "s3cret-token";
/// `detek run --demo -f json` (the storage tests' data).
const DEMO: &str = include_str!("data/demo-report.json");

/// The detectors the tests keep from the demo report: three Error, two Warn, one passed.
const KEPT: [&str; 6] = [
    "crashloop_backoff",
    "failed_pod",
    "node_not_ready",
    "image_tag_latest",
    "naked_pod",
    "cluster_possibly_unused",
];

struct Hub {
    app: Router,
    store: std::sync::Arc<Store>,
    _dir: tempfile::TempDir,
}

async fn hub_with(token: Option<&str>, max_body: usize) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let store = Store::connect(&url).await.expect("an SQLite store");
    let mut state = AppState::new(store).with_token(token.map(str::to_string));
    state.max_body = max_body;
    let store = state.store.clone();
    Hub {
        app: router(state),
        store,
        _dir: dir,
    }
}

async fn hub() -> Hub {
    hub_with(Some(TOKEN), 1024 * 1024).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .expect("an error sentence")
            .to_string()
    }
}

async fn send(hub: &Hub, request: Request<Body>) -> Answer {
    let response = hub.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(hub: &Hub, uri: &str) -> Answer {
    send(hub, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn push(auth: Option<&str>, query: &str, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(format!("/api/scans{query}"));
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    request.body(body.into()).unwrap()
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn report() -> ReportList {
    let mut list: ReportList = serde_json::from_str(DEMO).unwrap();
    list.reports.retain(|r| KEPT.contains(&r.id.as_str()));
    list.skipped.clear();
    list.summary = detek_core::Summary::of(&list.reports);
    list
}

fn named(name: &str) -> ReportList {
    let mut list = report();
    list.target.name = name.to_string();
    list
}

/// Nothing stored: no target, no scan.
async fn assert_empty(hub: &Hub) {
    assert_eq!(
        hub.store.scan_count().await.unwrap(),
        0,
        "a scan was stored"
    );
    assert_eq!(
        hub.store.targets().await.unwrap(),
        vec![],
        "a target was stored"
    );
}

#[tokio::test]
async fn refused_pushes_store_nothing() {
    let hub = hub().await;
    let good = serde_json::to_string(&named("prod-eu")).unwrap();

    // No token at all.
    let a = send(&hub, push(None, "", good.clone())).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.error(),
        "this needs a bearer token: send `Authorization: Bearer <token>`"
    );
    assert_eq!(
        a.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"detek\""
    );

    // A wrong token, one a byte short, one a byte long, and another scheme.
    for auth in [
        "Bearer not-the-token".to_string(),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Bearer {TOKEN}x"),
    ] {
        let a = send(&hub, push(Some(&auth), "", good.clone())).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert_eq!(a.error(), "the bearer token is not valid");
        assert_eq!(
            a.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"detek\", error=\"invalid_token\""
        );
    }
    // Basic with the right token as the password: reads may take it, writes never (a browser
    // would send it by itself).
    let basic = format!("Basic {}", base64_of(&format!("user:{TOKEN}")));
    let a = send(&hub, push(Some(&basic), "", good.clone())).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.error(),
        "this needs a bearer token: send `Authorization: Bearer <token>`"
    );

    // Malformed bodies, with the right token.
    let cases: [(&str, String, &str); 6] = [
        (
            "empty",
            String::new(),
            "the body is empty: send the JSON of `detek run -f json`",
        ),
        (
            "cut short",
            good[..good.len() / 2].to_string(),
            "the body is not a detek report (the JSON of `detek run -f json`): ",
        ),
        (
            "not a report",
            r#"{"hello": "world"}"#.to_string(),
            "the body is not a detek report (the JSON of `detek run -f json`): missing field `schemaVersion`",
        ),
        (
            "a level that does not exist",
            good.replacen("\"level\": \"Error\"", "\"level\": \"Apocalyptic\"", 1)
                .replacen("\"level\":\"Error\"", "\"level\":\"Apocalyptic\"", 1),
            "the body is not a detek report (the JSON of `detek run -f json`): at reports[0].level: unknown variant `Apocalyptic`",
        ),
        (
            "another schema version",
            serde_json::to_string(&{
                let mut l = named("prod-eu");
                l.schema_version = 99;
                l
            })
            .unwrap(),
            "schemaVersion 99 is not one this hub reads (1)",
        ),
        (
            "no target name",
            serde_json::to_string(&named("  ")).unwrap(),
            "the report names no target: set `target.name` or pass ?target=NAME",
        ),
    ];
    for (what, body, expected) in cases {
        let a = send(&hub, push(Some(&bearer()), "", body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.body);
        assert!(
            a.error().starts_with(expected),
            "{what}: {:?} does not start with {expected:?}",
            a.error()
        );
    }
    let a = send(&hub, push(Some(&bearer()), "?target=a%1Bb", good.clone())).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error(), "the target name holds control characters");
    let a = send(
        &hub,
        push(Some(&bearer()), "?scan_id=not-a-uuid", good.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error(), "scan_id must be a UUID, not \"not-a-uuid\"");

    assert_empty(&hub).await;
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn oversized_pushes_are_refused_with_413() {
    let limit = 16 * 1024;
    let hub = hub_with(Some(TOKEN), limit).await;
    let body = serde_json::to_string(&named("prod-eu")).unwrap();
    assert!(body.len() > limit, "the fixture must exceed the limit");

    // Declared by Content-Length: refused before the body is read.
    let a = send(&hub, push(Some(&bearer()), "", body.clone())).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        a.error(),
        "the body is larger than the hub accepts (16384 bytes)"
    );

    // Streamed without a length: refused once the limit is passed.
    let chunks: Vec<Result<String, std::io::Error>> = body
        .as_bytes()
        .chunks(4096)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let streamed = Body::from_stream(futures::stream::iter(chunks));
    let a = send(&hub, push(Some(&bearer()), "", streamed)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        a.error(),
        "the body is larger than the hub accepts (16384 bytes)"
    );
    assert_empty(&hub).await;
}

#[tokio::test]
async fn a_hub_without_token_takes_no_writes() {
    let hub = hub_with(None, 1024 * 1024).await;
    let body = serde_json::to_string(&named("prod-eu")).unwrap();
    let a = send(&hub, push(Some(&bearer()), "", body)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.error(),
        "writes are disabled: the hub was started without --token (or DETEK_HUB_TOKEN)"
    );
    let a = send(
        &hub,
        Request::put("/api/targets/x")
            .header(header::AUTHORIZATION, bearer())
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_empty(&hub).await;
    // Reads stay open.
    assert_eq!(get(&hub, "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_push_is_stored_once_per_scan_id() {
    let hub = hub().await;
    let body = serde_json::to_string(&named("prod-eu")).unwrap();
    let id = "6f1d3c52-58a4-4b8e-9a53-0d1f5c8e2b11";
    let first = send(
        &hub,
        push(Some(&bearer()), &format!("?scan_id={id}"), body.clone()),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = send(
        &hub,
        push(Some(&bearer()), &format!("?scan_id={id}"), body.clone()),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(first.json(), again.json(), "a retry answers the first scan");
    assert_eq!(first.json()["scans"][0]["target"], "prod-eu");
    assert_eq!(hub.store.scan_count().await.unwrap(), 1);

    // The several-cluster document of `detek run -f json` with two contexts.
    let many = json!({
        "schemaVersion": 1, "tool": "detek", "version": "0.1.0",
        "clusters": [named("prod-us"), named("staging")],
    });
    let a = send(&hub, push(Some(&bearer()), "", many.to_string())).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let targets: Vec<String> = a.json()["scans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(targets, ["prod-us", "staging"]);
    // ?target= renames a single report.
    let a = send(&hub, push(Some(&bearer()), "?target=renamed", body)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.json()["scans"][0]["target"], "renamed");
    assert_eq!(hub.store.scan_count().await.unwrap(), 4);
    let names: Vec<String> = hub
        .store
        .targets()
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            assert_eq!(t.kind, "pushed");
            t.name
        })
        .collect();
    assert_eq!(names, ["prod-eu", "prod-us", "renamed", "staging"]);
}

/// A target name that tries markup, quotes and an ampersand; descriptions and messages also
/// carry an escape sequence (a name with control characters is refused).
const HOSTILE: &str = "<script>alert(1)</script>\"'&x";
const HOSTILE_HTML: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;x";
const CONTROL: &str = "\u{1b}[2J";

#[tokio::test]
async fn hostile_strings_are_escaped_everywhere() {
    let hub = hub().await;
    let mut list = named(HOSTILE);
    // A finding message and object name, a detector id: all from the cluster.
    let first = &mut list.reports[0];
    first.findings[0].message = format!("message {HOSTILE}{CONTROL}");
    first.findings[0].object.as_mut().unwrap().name = format!("pod{HOSTILE}");
    let a = send(
        &hub,
        push(Some(&bearer()), "", serde_json::to_string(&list).unwrap()),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let put = send(
        &hub,
        Request::put(format!("/api/targets/{}", encode(HOSTILE)))
            .header(header::AUTHORIZATION, bearer())
            .body(Body::from(
                json!({"description": format!("desc {HOSTILE}{CONTROL}"), "owner": HOSTILE,
                       "labels": {"team": HOSTILE}})
                .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        put.json()["description"],
        format!("desc {HOSTILE}{CONTROL}")
    );

    let pages = [
        "/".to_string(),
        format!("/?q={}", encode("<script>")),
        format!("/clusters/{}", encode(HOSTILE)),
        format!("/detectors/{}", list.reports[0].id),
    ];
    for page in &pages {
        let a = get(&hub, page).await;
        assert_eq!(a.status, StatusCode::OK, "{page}");
        assert!(
            !a.body.contains("<script>alert"),
            "{page} holds a raw <script>"
        );
        assert!(!a.body.contains('\u{1b}'), "{page} holds an ESC");
        assert!(
            a.body.contains(HOSTILE_HTML),
            "{page} lacks the escaped name"
        );
        assert_eq!(
            a.headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
    }
    let list_page = get(&hub, "/").await.body;
    // In attributes too, and in links (percent-encoded).
    assert!(list_page.contains(&format!("data-name=\"{HOSTILE_HTML}\"")));
    assert!(list_page.contains(&format!("href=\"/clusters/{}\"", encode(HOSTILE))));
    // Control characters become U+FFFD.
    assert!(list_page.contains(&format!("desc {HOSTILE_HTML}\u{fffd}[2J")));
    let cluster_page = get(&hub, &format!("/clusters/{}", encode(HOSTILE)))
        .await
        .body;
    assert!(cluster_page.contains(&format!("message {HOSTILE_HTML}\u{fffd}[2J")));
    assert!(cluster_page.contains(&format!("pod{HOSTILE_HTML}")));

    // JSON keeps the string exactly (escaped as JSON, read back equal).
    let a = get(&hub, "/api/targets").await;
    assert_eq!(a.json()["items"][0]["target"]["name"], HOSTILE);
    assert_eq!(a.json()["items"][0]["target"]["team"], HOSTILE);
    assert!(!a.body.contains('\u{1b}'));

    // Prometheus label values: backslash, quote and newline escaped.
    let metrics = get(&hub, "/metrics").await.body;
    let expected = "detek_scans_total{target=\"<script>alert(1)</script>\\\"'&x\"} 1";
    assert!(
        metrics.lines().any(|l| l == expected),
        "no line {expected:?} in\n{metrics}"
    );
}

/// `s` as one percent-encoded path or query component.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn new_and_resolved_since_the_previous_scan() {
    let hub = hub().await;
    let mut first = named("prod-eu");
    first.started_at = "2026-01-10T10:00:00Z".parse().unwrap();
    let mut second = first.clone();
    second.started_at = "2026-01-11T10:00:00Z".parse().unwrap();
    // `failed_pod` loses its first finding; `naked_pod` gains a new Pod.
    let failed_pod = second
        .reports
        .iter_mut()
        .find(|r| r.id == "failed_pod")
        .unwrap();
    let resolved = failed_pod.findings.remove(0);
    let naked = second
        .reports
        .iter_mut()
        .find(|r| r.id == "naked_pod")
        .unwrap();
    let mut added = naked.findings[0].clone();
    added.object.as_mut().unwrap().name = "brand-new-pod".into();
    added.message = "a Pod without a controller appeared".into();
    added.fingerprint = added.compute_fingerprint(&second.target.identity, "naked_pod");
    naked.findings.push(added);
    second.summary = detek_core::Summary::of(&second.reports);
    for list in [&first, &second] {
        let a = send(
            &hub,
            push(Some(&bearer()), "", serde_json::to_string(list).unwrap()),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let page = get(&hub, "/clusters/prod-eu").await;
    assert_eq!(page.status, StatusCode::OK);
    let new = section(&page.body, "id=\"new-findings\"");
    assert_eq!(rows(new), 1, "{new}");
    assert!(new.contains("Pod/shop/brand-new-pod") || new.contains("brand-new-pod"));
    assert!(new.contains("a Pod without a controller appeared"));
    let gone = section(&page.body, "id=\"resolved-findings\"");
    assert_eq!(rows(gone), 1, "{gone}");
    assert!(gone.contains(&detek_render::escape_html(&resolved.message).into_owned()));
    assert!(page.body.contains(
        "<h2 id=\"new\">New since the previous scan <span class=\"count\">1</span></h2>"
    ));
    assert!(page.body.contains(
        "<h2 id=\"resolved\">Resolved since the previous scan <span class=\"count\">1</span></h2>"
    ));
    // The same through the API.
    let diff = get(&hub, "/api/targets/prod-eu/diff").await.json();
    assert_eq!(diff["new"].as_array().unwrap().len(), 1);
    assert_eq!(diff["new"][0]["detector"], "naked_pod");
    assert_eq!(diff["resolved"].as_array().unwrap().len(), 1);
    assert_eq!(diff["resolved"][0]["detector"], "failed_pod");
    assert_eq!(
        get(&hub, "/api/targets/prod-eu/diff?scan=999").await.status,
        StatusCode::NOT_FOUND
    );
    let a = get(&hub, "/api/targets/prod-eu/diff?scan=latest").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.error(),
        "scan must be a scan id (a whole number), not \"latest\""
    );
    // History: both scans, newest first; the report frame points at the newest.
    let history = section(&page.body, "id=\"history\"");
    assert_eq!(rows(history), 2);
    assert!(
        history.find("2026-01-11 10:00 UTC").unwrap()
            < history.find("2026-01-10 10:00 UTC").unwrap()
    );
    let scans = get(&hub, "/api/targets/prod-eu/scans").await.json();
    let newest = scans[0]["id"].as_i64().unwrap();
    let src = format!("src=\"/clusters/prod-eu/scans/{newest}/report\"");
    assert!(page.body.contains(&src), "no {src}");
    // The framed report is detek-render's HTML report of that scan.
    let report = get(&hub, &format!("/clusters/prod-eu/scans/{newest}/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(
        report.body,
        detek_render::html(&[second_as_stored(&hub, newest).await])
    );
    assert_eq!(
        report.headers[header::CONTENT_SECURITY_POLICY],
        "frame-ancestors 'self'"
    );
    // A scan of another cluster is not served under this one.
    let other = get(&hub, &format!("/clusters/elsewhere/scans/{newest}/report")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

async fn second_as_stored(hub: &Hub, id: i64) -> ReportList {
    hub.store
        .scan(detek_hub::db::ScanId(id))
        .await
        .unwrap()
        .unwrap()
        .report
        .unwrap()
}

/// The HTML from `marker` to the end of its table.
fn section<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let end = html[start..].find("</table>").unwrap();
    &html[start..start + end]
}

fn rows(table: &str) -> usize {
    table.matches("<tr").count() - 1
}

#[tokio::test]
async fn metrics_count_findings_scans_and_failures() {
    let hub = hub().await;
    let mut list = named("prod-eu");
    list.started_at = "2026-01-10T10:00:00Z".parse().unwrap();
    list.finished_at = "2026-01-10T10:00:02.5Z".parse().unwrap();
    let a = send(
        &hub,
        push(Some(&bearer()), "", serde_json::to_string(&list).unwrap()),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let failed = detek_hub::db::NewScan::failed(
        "prod-eu",
        "2026-01-11T10:00:00Z".parse().unwrap(),
        "2026-01-11T10:00:30Z".parse().unwrap(),
        "timed out",
    );
    hub.store.insert_scan(&failed).await.unwrap();
    let a = get(&hub, "/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let samples: Vec<&str> = a.body.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        samples,
        [
            "detek_database_up 1",
            "detek_targets 1",
            "detek_open_findings{target=\"prod-eu\",detector=\"crashloop_backoff\",level=\"error\"} 2",
            "detek_open_findings{target=\"prod-eu\",detector=\"failed_pod\",level=\"error\"} 5",
            "detek_open_findings{target=\"prod-eu\",detector=\"image_tag_latest\",level=\"warn\"} 5",
            "detek_open_findings{target=\"prod-eu\",detector=\"naked_pod\",level=\"warn\"} 4",
            "detek_open_findings{target=\"prod-eu\",detector=\"node_not_ready\",level=\"error\"} 1",
            "detek_scans_total{target=\"prod-eu\"} 2",
            "detek_scan_failures_total{target=\"prod-eu\"} 1",
            "detek_last_scan_success{target=\"prod-eu\"} 0",
            "detek_last_scan_duration_seconds{target=\"prod-eu\"} 30",
            "detek_last_successful_scan_timestamp_seconds{target=\"prod-eu\"} 1768039202",
        ]
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let hub = hub().await;
    let a = get(&hub, "/api/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let on_disk: Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json parses");
    assert_eq!(doc, on_disk);
    let mut described: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete"] {
            if item.get(method).is_some() {
                described.push((method.to_string(), path.clone()));
            }
        }
    }
    described.sort();
    let expected = [
        ("delete", "/api/targets/{name}"),
        ("get", "/api/detectors/{id}/failures"),
        ("get", "/api/openapi.json"),
        ("get", "/api/scans/{id}"),
        ("get", "/api/targets"),
        ("get", "/api/targets/{name}"),
        ("get", "/api/targets/{name}/diff"),
        ("get", "/api/targets/{name}/scans"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("post", "/api/scans"),
        ("put", "/api/targets/{name}"),
    ];
    assert_eq!(
        described,
        expected
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect::<Vec<_>>()
    );
    // Every described route answers (not the router's 404), and nothing else under /api/.
    for (method, path) in expected {
        let uri = path.replace("{name}", "nobody").replace("{id}", "1");
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header(header::AUTHORIZATION, bearer())
            .body(Body::from("{}"))
            .unwrap();
        let a = send(&hub, request).await;
        // The fallback's 404 names the path; a handler's 404 names what it looked for.
        let routed = a.status != StatusCode::NOT_FOUND || a.error() != format!("{uri} not found");
        assert!(
            routed,
            "{method} {uri} is not routed: {} {}",
            a.status, a.body
        );
    }
    let a = get(&hub, "/api/nothing-here").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.error(), "/api/nothing-here not found");
}

#[tokio::test]
async fn reads_need_the_token_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let mut state =
        AppState::new(Store::connect(&url).await.unwrap()).with_token(Some(TOKEN.into()));
    state.token_for_reads = true;
    let hub = Hub {
        store: state.store.clone(),
        app: router(state),
        _dir: dir,
    };
    let a = get(&hub, "/api/targets").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = get(&hub, "/").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A browser is asked for the token as a password.
    assert_eq!(
        a.headers[header::WWW_AUTHENTICATE],
        "Basic realm=\"detek\", charset=\"UTF-8\""
    );
    let with = |auth: String| {
        Request::get("/api/targets")
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&hub, with(bearer())).await.status, StatusCode::OK);
    let basic = format!("Basic {}", base64_of(&format!("anyone:{TOKEN}")));
    assert_eq!(send(&hub, with(basic)).await.status, StatusCode::OK);
    let wrong = format!("Basic {}", base64_of("anyone:guess"));
    assert_eq!(
        send(&hub, with(wrong)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_page_says_when_the_database_is_unreachable() {
    let hub = hub().await;
    let a = send(
        &hub,
        push(
            Some(&bearer()),
            "",
            serde_json::to_string(&named("prod-eu")).unwrap(),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(get(&hub, "/healthz").await.status, StatusCode::OK);
    hub.store.close().await;
    for page in ["/", "/clusters/prod-eu", "/detectors/failed_pod"] {
        let a = get(&hub, page).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
        assert!(
            a.body.contains("<strong>Database unreachable.</strong>"),
            "{page}: {}",
            a.body
        );
        assert!(!a.body.contains("sqlx"), "{page} leaks the internal error");
        assert!(!a.body.contains("pool"), "{page} leaks the internal error");
    }
    let a = get(&hub, "/api/targets").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.error(), "database unreachable");
    let a = get(&hub, "/healthz").await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
    );
    let a = get(&hub, "/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.lines().any(|l| l == "detek_database_up 0"));
    // A push is refused too, and says why.
    let a = send(
        &hub,
        push(
            Some(&bearer()),
            "",
            serde_json::to_string(&named("prod-us")).unwrap(),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
}

//! `detek fleet scan` against the real kube-apiserver of testenv/ and a real PostgreSQL
//! (testenv/postgres): many contexts, one dead, one slow (the fault proxy of live_faults);
//! N shard processes covering the fleet exactly once; PostgreSQL stopped in the middle of a
//! pass; the database free of credentials; deploy/hub accepted by the API server.

#[path = "../../detek-hub/tests/common/mod.rs"]
mod hub_common;
mod live_common;

use detek_core::Level;
use detek_hub::db::{ClusterQuery, ScanState, Store};
use detek_hub::scheduler::Shard;
use hub_common::Postgres;
use live_common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Teams whose namespaces are "clusters": `team-N` holds N Deployments of `nginx:latest`.
const TEAMS: usize = 6;
/// A value the Deployment of team-1 carries in an env variable (sensitive_env_value).
const ENV_PASSWORD: &str = "Hunter2-env-s3cret-value";
/// The basic-auth password and client key of the dead context's user.
const KUBECONFIG_PASSWORD: &str = "kubeconfig-basic-auth-password-7f3a";

fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        for team in 0..12 {
            let ns = format!("team-{team}");
            api.ensure_namespace(&ns);
            for d in 0..team {
                let mut container = json!({"name": "web", "image": "nginx:latest"});
                if team == 1 {
                    container["env"] = json!([{"name": "DB_PASSWORD", "value": ENV_PASSWORD}]);
                }
                api.create(
                    &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
                    &json!({
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": format!("web-{d}")},
                        "spec": {
                            "replicas": 1,
                            "selector": {"matchLabels": {"app": format!("web-{d}")}},
                            "template": {
                                "metadata": {"labels": {"app": format!("web-{d}")}},
                                "spec": {"containers": [container]},
                            },
                        },
                    }),
                );
            }
        }
    })
}

/// A closed loopback port: connections are refused.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", l.local_addr().unwrap().port());
    drop(l);
    url
}

/// A real EC key and a self-signed certificate (openssl), PEM.
fn client_key_and_cert(dir: &Path) -> (String, String) {
    let key = dir.join("client.key");
    let cert = dir.join("client.crt");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=fleet-test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    (
        std::fs::read_to_string(key).unwrap(),
        std::fs::read_to_string(cert).unwrap(),
    )
}

/// The fleet: a kubeconfig with one context per team (the real API server, the admin token),
/// `dead` (a closed port; basic auth and a client key), `slow` (the proxy, every answer
/// delayed 10 s), and the hub.yaml that names them.
struct Fleet {
    dir: tempfile::TempDir,
    _proxy: Proxy,
    hub_yaml: PathBuf,
    /// Secrets that must never reach the database.
    secrets: Vec<String>,
    dead_url: String,
}

fn fleet(teams: usize) -> Fleet {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(env, vec![Fault::delay("/", Duration::from_secs(10))]);
    let token = env.get("ADMIN_TOKEN").to_string();
    let (key_pem, cert_pem) = client_key_and_cert(dir.path());
    let dead_url = dead_url();
    let ca = base64_encode(&std::fs::read(env.get("CA_FILE")).unwrap());
    let mut clusters = Vec::new();
    let mut users = Vec::new();
    let mut contexts = Vec::new();
    let mut add = |name: &str, server: &str, user: Value| {
        let cluster = if server.starts_with("https://") {
            json!({"server": server, "certificate-authority-data": ca})
        } else {
            json!({"server": server})
        };
        clusters.push(json!({"name": name, "cluster": cluster}));
        users.push(json!({"name": name, "user": user}));
        contexts.push(json!({"name": name, "context": {"cluster": name, "user": name}}));
    };
    for team in 0..teams {
        add(&format!("team-{team}"), env.url(), json!({"token": token}));
    }
    add(
        "dead",
        &dead_url,
        json!({
            "username": "admin",
            "password": KUBECONFIG_PASSWORD,
            "client-key-data": base64_encode(key_pem.as_bytes()),
            "client-certificate-data": base64_encode(cert_pem.as_bytes()),
        }),
    );
    add("slow", &proxy.url, json!({}));
    let kubeconfig = dir.path().join("fleet.kubeconfig");
    let doc = json!({"apiVersion": "v1", "kind": "Config", "current-context": "team-0",
                     "clusters": clusters, "users": users, "contexts": contexts});
    std::fs::write(&kubeconfig, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let mut targets = Vec::new();
    for team in 0..teams {
        targets.push(json!({
            "name": format!("team-{team}"), "kind": "kubernetes",
            "kubeconfig": kubeconfig, "context": format!("team-{team}"),
            "namespace": format!("team-{team}"),
            "description": format!("Team {team}'s cluster"), "owner": format!("team{team}@example.com"),
            "labels": {"team": format!("t{team}"), "environment": if team % 2 == 0 { "prod" } else { "dev" }, "region": "eu-1"},
        }));
    }
    for name in ["dead", "slow"] {
        targets.push(
            json!({"name": name, "kind": "kubernetes", "kubeconfig": kubeconfig,
                            "context": name, "description": format!("the {name} one")}),
        );
    }
    let hub_yaml = dir.path().join("hub.yaml");
    std::fs::write(
        &hub_yaml,
        serde_json::to_string_pretty(&json!({"targets": targets})).unwrap(),
    )
    .unwrap();
    // The PEM body of the key, without its armour lines, and its base64 as in the kubeconfig.
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    Fleet {
        _proxy: proxy,
        hub_yaml,
        secrets: vec![
            token,
            KUBECONFIG_PASSWORD.to_string(),
            key_body,
            base64_encode(key_pem.as_bytes()),
            ENV_PASSWORD.to_string(),
        ],
        dead_url,
        dir,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `detek fleet scan` lines: target → (status and reason, stored part).
fn lines(run: &Run) -> BTreeMap<String, (String, String)> {
    run.stdout
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "{l}");
            (
                cols[0].to_string(),
                (cols[1].to_string(), cols[3].to_string()),
            )
        })
        .collect()
}

fn scan(fleet: &Fleet, database_url: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "fleet",
        "scan",
        "--targets",
        fleet.hub_yaml.to_str().unwrap(),
        "--database-url",
        database_url,
        "--timeout",
        "4s",
        "--concurrency",
        "4",
    ];
    args.extend_from_slice(extra);
    detek(&args)
}

/// What one fleet pass stored, checked exactly.
async fn check_pass(store: &Store, fleet: &Fleet) {
    let page = store
        .cluster_list(&ClusterQuery {
            per_page: 100,
            ..ClusterQuery::default()
        })
        .await
        .unwrap();
    let mut expected: Vec<String> = (0..TEAMS).map(|t| format!("team-{t}")).collect();
    expected.extend(["dead".to_string(), "slow".to_string()]);
    expected.sort();
    let names: Vec<String> = page.items.iter().map(|r| r.target.name.clone()).collect();
    assert_eq!(names, expected);
    for row in &page.items {
        let last = row.last_scan.as_ref().expect("scanned");
        match row.target.name.as_str() {
            "dead" => {
                assert_eq!(last.status, ScanState::NothingCollected);
                assert_eq!(
                    last.error.as_deref(),
                    Some(
                        format!(
                            "cannot reach the Kubernetes API server at {} (context dead): tcp \
                             connect error: Connection refused (os error 111)",
                            fleet.dead_url
                        )
                        .as_str()
                    )
                );
                assert!(row.last_report.is_none());
            }
            "slow" => {
                assert_eq!(last.status, ScanState::Failed);
                assert_eq!(last.error.as_deref(), Some("timed out after 4 s"));
                assert!(row.last_report.is_none());
            }
            team => {
                assert_eq!(last.status, ScanState::Complete, "{team}: {:?}", last.error);
                assert_eq!(
                    row.target.description,
                    format!("Team {}'s cluster", &team[5..])
                );
                assert_eq!(row.target.team, format!("t{}", &team[5..]));
                assert_eq!(row.last_report.as_ref().map(|r| r.id), Some(last.id));
            }
        }
    }
    // Each team's namespace is its own "cluster": team-N has N latest-tagged images.
    for team in 0..TEAMS {
        let open = store.open_findings(&format!("team-{team}")).await.unwrap();
        let latest: Vec<&str> = open
            .iter()
            .filter(|f| f.detector == "image_tag_latest")
            .map(|f| f.object.as_str())
            .collect();
        let want: Vec<String> = (0..team)
            .map(|d| format!("Deployment/team-{team}/web-{d} [web]"))
            .collect();
        assert_eq!(latest, want, "team-{team}");
        assert!(open.iter().all(|f| f.level >= Level::Warn));
    }
    let sensitive = store.open_findings("team-1").await.unwrap();
    assert_eq!(
        sensitive
            .iter()
            .filter(|f| f.detector == "sensitive_env_value")
            .count(),
        1
    );
}

fn assert_no_secret(what: &str, haystack: &[u8], secrets: &[String]) {
    for secret in secrets {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{what} holds a credential ({} chars beginning {:?})",
            secret.len(),
            &secret[..6]
        );
    }
}

/// Every stored ReportList, as JSON: no token, password or key.
async fn assert_no_secret_in_reports(store: &Store, fleet: &Fleet) {
    let mut reports = 0;
    for target in store.targets().await.unwrap() {
        for scan in store.scans_of(&target.name, 100).await.unwrap() {
            if let Some(report) = store.scan(scan.id).await.unwrap().unwrap().report {
                let json = serde_json::to_string(&report).unwrap();
                assert_no_secret(
                    &format!("the report of {}", target.name),
                    json.as_bytes(),
                    &fleet.secrets,
                );
                reports += 1;
            }
        }
    }
    // The teams and the dead one (nothing collected, still a ReportList).
    assert_eq!(reports, TEAMS + 1);
}

#[test]
fn fleet_scan_into_sqlite_stores_failures_with_reason_and_no_credential() {
    let fleet = fleet(TEAMS);
    let db = fleet.dir.path().join("hub.db");
    let url = format!("sqlite://{}", db.display());
    let run = scan(&fleet, &url, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let lines = lines(&run);
    assert_eq!(lines.len(), TEAMS + 2);
    assert_eq!(lines["slow"].0, "failed (timed out after 4 s)");
    assert!(
        lines["dead"]
            .0
            .starts_with("nothing_collected (cannot reach"),
        "{:?}",
        lines["dead"]
    );
    assert!(
        lines
            .values()
            .all(|(_, stored)| stored.starts_with("stored as scan "))
    );
    // The slow target did not hold up the others: the pass took about one timeout.
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
    rt().block_on(async {
        let store = Store::connect(&url).await.unwrap();
        check_pass(&store, &fleet).await;
        assert_no_secret_in_reports(&store, &fleet).await;
        store.close().await;
    });
    // Every byte of the database files (the reports are compressed there: checked above as
    // JSON): no token, password or key.
    for entry in std::fs::read_dir(fleet.dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("hub.db") {
            assert_no_secret(&name, &std::fs::read(entry.path()).unwrap(), &fleet.secrets);
        }
    }
}

#[test]
fn fleet_scan_into_postgres_stores_failures_with_reason_and_no_credential() {
    let fleet = fleet(TEAMS);
    let rt = rt();
    let url = rt.block_on(Postgres::shared().database("fleet_once"));
    let run = scan(&fleet, &url, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        check_pass(&store, &fleet).await;
        assert_no_secret_in_reports(&store, &fleet).await;
        store.close().await;
        // Every row of every table as text.
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let mut all = String::new();
        for table in ["targets", "scans", "findings"] {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM {table} t"
            )))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(!rows.is_empty(), "{table}");
            all.push_str(&rows.join("\n"));
        }
        assert_no_secret("the PostgreSQL tables", all.as_bytes(), &fleet.secrets);
    });
}

#[test]
fn shard_processes_scan_every_target_exactly_once() {
    const SHARDS: u32 = 4;
    let fleet = fleet(12);
    let rt = rt();
    let url = rt.block_on(Postgres::shared().database("fleet_shards"));
    let children: Vec<_> = (0..SHARDS)
        .map(|i| {
            let shard = format!("{i}/{SHARDS}");
            let fleet_yaml = fleet.hub_yaml.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                detek(&[
                    "fleet",
                    "scan",
                    "--targets",
                    fleet_yaml.to_str().unwrap(),
                    "--database-url",
                    &url,
                    "--shard",
                    &shard,
                    "--timeout",
                    "4s",
                    "--concurrency",
                    "2",
                ])
            })
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(|c| c.join().unwrap()).collect();
    let mut all_targets: Vec<String> = (0..12).map(|t| format!("team-{t}")).collect();
    all_targets.extend(["dead".to_string(), "slow".to_string()]);
    let mut seen: Vec<String> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.code, 0, "shard {i}: {}", run.stderr);
        let shard = Shard {
            index: i as u32,
            count: SHARDS,
        };
        let mut mine: Vec<String> = all_targets
            .iter()
            .filter(|t| shard.contains(t))
            .cloned()
            .collect();
        mine.sort();
        let scanned: Vec<String> = lines(run).into_keys().collect();
        assert_eq!(scanned, mine, "shard {i}");
        assert!(
            !scanned.is_empty(),
            "shard {i} has no target: pick other names"
        );
        seen.extend(scanned);
    }
    seen.sort();
    all_targets.sort();
    assert_eq!(seen, all_targets);
    rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.scan_count().await.unwrap(), 14);
        for target in &all_targets {
            assert_eq!(
                store.scans_of(target, 10).await.unwrap().len(),
                1,
                "{target}"
            );
        }
    });
}

#[test]
fn postgres_stopped_mid_pass_loses_no_scan_and_stores_none_twice() {
    // Its own server: this test stops it.
    let pg = Postgres::start();
    let rt = rt();
    let url = rt.block_on(pg.database("fleet_restart"));
    // Every answer of the API server is slowed down, so the pass lasts long enough for the
    // database to go away and come back while scans are finishing.
    let env = env();
    let proxy = Proxy::start(env, vec![Fault::delay("/", Duration::from_millis(250))]);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("slowish.kubeconfig");
    let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    let contexts: Vec<(&str, &str, Option<&str>)> = names
        .iter()
        .map(|n| (n.as_str(), proxy.url.as_str(), None))
        .collect();
    write_kubeconfig(&kubeconfig, env.get("CA_FILE"), &contexts, "c0");
    let child = {
        let kubeconfig = kubeconfig.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            detek(&[
                "fleet",
                "scan",
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--database-url",
                &url,
                "--concurrency",
                "2",
                "--timeout",
                "60s",
                "--write-patience",
                "60s",
            ])
        })
    };
    // Once the first scan is stored, stop PostgreSQL for 12 s: longer than the 5 s a pool
    // waits for a connection, so writes fail and are retried.
    let start = Instant::now();
    rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        while store.scan_count().await.unwrap() == 0 {
            assert!(start.elapsed() < Duration::from_secs(60), "no scan stored");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        store.close().await;
    });
    eprintln!("stopping PostgreSQL at {:?}", start.elapsed());
    pg.stop();
    eprintln!("stopped at {:?}", start.elapsed());
    std::thread::sleep(Duration::from_secs(12));
    pg.restart();
    eprintln!("restarted at {:?}", start.elapsed());
    let run = child.join().unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let lines = lines(&run);
    assert_eq!(lines.keys().cloned().collect::<Vec<_>>(), names);
    let retried = lines
        .values()
        .filter(|(_, stored)| stored.contains("(write attempt"))
        .count();
    assert!(
        retried >= 1,
        "no write met the stopped database:\n{}",
        run.stdout
    );
    rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.scan_count().await.unwrap(), 8);
        for name in &names {
            let scans = store.scans_of(name, 10).await.unwrap();
            assert_eq!(scans.len(), 1, "{name}");
            assert_eq!(scans[0].status, ScanState::Complete, "{name}");
            let id = lines[name].1.trim_start_matches("stored as scan ");
            assert_eq!(
                id.split(' ').next(),
                Some(scans[0].id.to_string().as_str()),
                "{name}"
            );
        }
    });
}

#[test]
fn the_fleet_manifests_pass_a_server_side_dry_run() {
    let env = env();
    let api = env.admin();
    api.ensure_namespace("detek");
    let dir = repo_root().join("deploy/hub");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut accepted = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_str_multiple(&text).unwrap();
        for doc in docs.into_iter().filter(Value::is_object) {
            let coll = collection(
                doc["apiVersion"].as_str().unwrap(),
                doc["kind"].as_str().unwrap(),
                doc["metadata"]["namespace"].as_str(),
            );
            let (code, body) = api.call("POST", &format!("{coll}?dryRun=All"), Some(&doc));
            assert!(
                matches!(code, 200 | 201),
                "{}: {} {}: HTTP {code}: {}",
                file.display(),
                doc["kind"],
                doc["metadata"]["name"],
                body["message"]
            );
            if doc["kind"] == "Job" {
                let spec = &body["spec"];
                assert_eq!(spec["completionMode"], "Indexed");
                let env = &spec["template"]["spec"]["containers"][0]["env"];
                let completions = env
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["name"] == "JOB_COMPLETIONS")
                    .unwrap()["value"]
                    .clone();
                assert_eq!(completions, json!(spec["completions"].to_string()));
            }
            accepted.push(format!(
                "{}/{}",
                doc["kind"].as_str().unwrap(),
                doc["metadata"]["name"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(
        accepted,
        [
            "ServiceAccount/detek-fleet",
            "ServiceAccount/detek-hub",
            "CronJob/detek-fleet-scan",
            "Job/detek-fleet-scan",
            "Deployment/detek-hub",
            "Service/detek-hub",
        ]
    );
    // A dry run stores nothing.
    let (code, _) = api.call(
        "GET",
        "/apis/batch/v1/namespaces/detek/jobs/detek-fleet-scan",
        None,
    );
    assert_eq!(code, 404);
}

/// Targets scanned per minute and database size per scan (docs/hub.md): N contexts, each the
/// whole test cluster with the real dumps of tests/data/live loaded, scanned by one
/// `detek fleet scan` into SQLite and into PostgreSQL. The API server runs on the same
/// machine. `DETEK_BENCH_BIN` (default: this build's binary), `DETEK_BENCH_TARGETS` (60),
/// `DETEK_BENCH_CONCURRENCY` (8).
#[test]
#[ignore = "a measurement: cargo test -p detek --test fleet_live -- --ignored --nocapture"]
fn fleet_throughput() {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_string());
    let bin = var("DETEK_BENCH_BIN", env!("CARGO_BIN_EXE_detek"));
    let n: usize = var("DETEK_BENCH_TARGETS", "60").parse().unwrap();
    let concurrency = var("DETEK_BENCH_CONCURRENCY", "8");
    let env = env();
    let objects = load_real_dumps(&env.admin());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("bench.kubeconfig");
    let names: Vec<String> = (0..n).map(|i| format!("cluster-{i:04}")).collect();
    let token = env.get("ADMIN_TOKEN").to_string();
    let contexts: Vec<(&str, &str, Option<&str>)> = names
        .iter()
        .map(|c| (c.as_str(), env.url(), Some(token.as_str())))
        .collect();
    write_kubeconfig(&kubeconfig, env.get("CA_FILE"), &contexts, &names[0]);
    let rt = rt();
    let pg_url = rt.block_on(Postgres::shared().database("fleet_bench"));
    let sqlite_path = dir.path().join("bench.db");
    let sqlite_url = format!("sqlite://{}", sqlite_path.display());
    let pg_size = || {
        rt.block_on(async {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_url)
                .await
                .unwrap();
            sqlx::query_scalar::<_, i64>("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    };
    // Migrated, empty: the size a scan adds is measured from here.
    rt.block_on(async {
        Store::connect(&pg_url).await.unwrap().close().await;
        Store::connect(&sqlite_url).await.unwrap().close().await;
    });
    let pg_empty = pg_size() as u64;
    let sqlite_size = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("bench.db"))
            .map(|e| e.metadata().unwrap().len())
            .sum::<u64>()
    };
    let sqlite_empty = sqlite_size();
    // Two passes: the first also creates the targets' finding rows, the second only adds
    // scans (what every later pass costs).
    for pass in 1..=2 {
        for (label, url) in [("sqlite", &sqlite_url), ("postgres", &pg_url)] {
            let before = if label == "sqlite" {
                sqlite_size()
            } else {
                pg_size() as u64
            };
            let start = Instant::now();
            let out = std::process::Command::new(&bin)
                .args([
                    "fleet",
                    "scan",
                    "--kubeconfig",
                    kubeconfig.to_str().unwrap(),
                ])
                .args([
                    "--database-url",
                    url,
                    "--concurrency",
                    &concurrency,
                    "--timeout",
                    "300s",
                ])
                .env_remove("KUBECONFIG")
                .output()
                .unwrap();
            let elapsed = start.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                stdout
                    .lines()
                    .filter(|l| l.contains("\tcomplete\t"))
                    .count(),
                n,
                "{stdout}"
            );
            let scans: Vec<f64> = stdout
                .lines()
                .map(|l| {
                    l.split('\t')
                        .nth(2)
                        .unwrap()
                        .trim_end_matches(" s")
                        .parse()
                        .unwrap()
                })
                .collect();
            let mean = scans.iter().sum::<f64>() / scans.len() as f64;
            let after = if label == "sqlite" {
                sqlite_size()
            } else {
                pg_size() as u64
            };
            eprintln!(
                "fleet bench pass {pass} ({label}): {n} targets of {objects} loaded objects each, \
             concurrency {concurrency}: {:.1} s, {:.1} targets/min, mean scan {mean:.2} s, \
             database +{:.0} KiB per scan",
                elapsed.as_secs_f64(),
                n as f64 / elapsed.as_secs_f64() * 60.0,
                after.saturating_sub(before) as f64 / n as f64 / 1024.0
            );
        }
    }
    rt.block_on(async {
        let store = Store::connect(&sqlite_url).await.unwrap();
        let scan = store.scans_of(&names[0], 1).await.unwrap()[0].clone();
        let json = store.scan(scan.id).await.unwrap().unwrap().report.unwrap();
        eprintln!(
            "fleet bench: one ReportList {} bytes of JSON, {} findings, {} open finding rows",
            serde_json::to_string(&json).unwrap().len(),
            scan.counts.findings,
            store.open_findings(&names[0]).await.unwrap().len()
        );
        store.close().await;
    });
    eprintln!(
        "fleet bench: database per scan over both passes: SQLite {:.0} KiB, PostgreSQL {:.0} KiB",
        (sqlite_size() - sqlite_empty) as f64 / (2 * n) as f64 / 1024.0,
        (pg_size() as u64 - pg_empty) as f64 / (2 * n) as f64 / 1024.0
    );
}

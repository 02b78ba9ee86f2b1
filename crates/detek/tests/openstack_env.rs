//! The OpenStack test environment itself (testenv/openstack): a real Keystone issues and
//! validates the tokens, the replay server rejects bad ones, paginates as Nova does, honours
//! all_tenants only for admins, and its knobs work. detek's own OpenStack tests build on this.

mod openstack_common;

use openstack_common::OsEnv;
use serde_json::Value;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const ERROR_ID: &str = "2d05bd68-3fbb-4b47-9f38-c690a5d93e45";
const REACHABLE_ID: &str = "f5dc173b-6804-445a-a6d8-c705dad5b5eb";
const UNREACHABLE_ID: &str = "2ce4c5b3-2866-4972-93ce-77a2ea46a7f9";
const STUCK_ID: &str = "9a7d3c2e-5b1f-4e6a-8c0d-1f2e3a4b5c6d";
const SHUTOFF_ID: &str = "c3e1b7a4-2f6d-4a9b-b8e5-7d0c1a2b3e4f";

fn ids(doc: &Value, key: &str) -> Vec<String> {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn next_link(doc: &Value, key: &str) -> Option<String> {
    doc[format!("{key}_links")]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
        .map(|l| l["href"].as_str().unwrap().to_string())
}

#[test]
fn keystone_is_real_and_issues_scoped_tokens_with_the_replay_catalog() {
    let env = OsEnv::shared();
    let (token, doc) = env.issue_token(&env.member()).unwrap();
    assert!(token.len() > 100, "a fernet token");
    assert_eq!(doc["user"]["name"], "demo");
    assert_eq!(doc["project"]["id"], env.demo_project_id());
    assert_eq!(doc["methods"], serde_json::json!(["password"]));
    let mut roles: Vec<&str> = doc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["member", "reader"], "member implies reader");
    let mut types: Vec<&str> = doc["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "block-storage",
            "compute",
            "identity",
            "load-balancer",
            "network",
            "volumev3"
        ]
    );
    let volume = doc["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "volumev3")
        .unwrap();
    let public = volume["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["interface"] == "public")
        .unwrap();
    assert_eq!(public["region_id"], "RegionOne");
    assert_eq!(
        public["url"].as_str().unwrap(),
        format!("{}/volume/v3/{}", env.replay_url(), env.demo_project_id()),
        "Keystone substitutes $(project_id)s"
    );

    // Application credential and wrong password, for real.
    let (_, doc) = env.issue_appcred_token(&env.appcred()).unwrap();
    assert_eq!(
        doc["methods"],
        serde_json::json!(["application_credential"])
    );
    assert_eq!(doc["project"]["name"], "demo");
    let mut wrong = env.member();
    wrong.password = "not-the-password".into();
    assert_eq!(env.issue_token(&wrong).unwrap_err(), 401);

    // The nolb project's catalog has no load-balancer (Keystone's endpoint filter).
    let (_, doc) = env.issue_token(&env.nolb()).unwrap();
    assert!(
        doc["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["type"] != "load-balancer")
            && doc["catalog"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["type"] == "compute")
    );

    // The clouds.yaml/secure.yaml pair is written, secure.yaml private.
    use std::os::unix::fs::PermissionsExt;
    let clouds = std::fs::read_to_string(env.clouds_yaml()).unwrap();
    assert!(clouds.contains("\"test-appcred\"") && !clouds.contains(&env.member().password));
    let mode = std::fs::metadata(env.secure_yaml())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn replay_validates_every_token_against_keystone() {
    let env = OsEnv::shared();
    let _s = env.scenario();
    let path = "/compute/v2.1/servers/detail";
    let r = openstack_common::http("GET", &format!("{}{path}", env.replay_url()), &[], None);
    assert_eq!(r.status, 401, "no token");
    let r = env.api_get(path, "gAAAAABnot-a-real-token");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], 401);
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains(env.auth_url())
    );

    let (token, _) = env.issue_token(&env.member()).unwrap();
    let r = env.api_get(path, &token);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        ids(&r.json(), "servers"),
        [UNREACHABLE_ID, STUCK_ID, ERROR_ID, REACHABLE_ID],
        "the member's project, newest first"
    );
    let error = &r.json()["servers"][2];
    assert_eq!(error["status"], "ERROR");
    assert_eq!(error["fault"]["code"], 500);
    assert!(
        r.json()["servers"][0].get("OS-EXT-SRV-ATTR:host").is_none(),
        "host attributes are admin-only"
    );
    // Admin-only APIs answer 403 to the member, as Nova's default policy does.
    assert_eq!(env.api_get("/compute/v2.1/os-services", &token).status, 403);
    assert_eq!(
        env.api_get("/compute/v2.1/servers/detail?all_tenants=1", &token)
            .status,
        403
    );

    // A token revoked in Keystone is rejected at once (the 2 s cache is dropped on revoke).
    env.revoke_token_after(Some("demo"), 1);
    assert_eq!(env.api_get(path, &token).status, 200);
    let r = env.api_get(path, &token);
    assert_eq!(r.status, 401, "revoked in Keystone");
    assert_eq!(env.api_get(path, &token).status, 401, "and stays revoked");
    assert_eq!(env.revoked(), 1);
    let (fresh, _) = env.issue_token(&env.member()).unwrap();
    assert_eq!(env.api_get(path, &fresh).status, 200, "a new token works");
    let log = env.requests();
    assert_eq!(log.iter().filter(|e| e["revoked"] == true).count(), 1);
    assert!(
        log.iter().all(|e| !e.to_string().contains(&token)),
        "no token in the log"
    );
}

#[test]
fn admin_lists_all_projects_and_every_service() {
    let env = OsEnv::shared();
    let _s = env.scenario();
    let (token, doc) = env.issue_token(&env.admin()).unwrap();
    assert!(
        doc["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "admin")
    );
    let own = env.api_get("/compute/v2.1/servers/detail", &token).json();
    assert_eq!(
        ids(&own, "servers"),
        Vec::<String>::new(),
        "the admin project has none"
    );
    let all = env
        .api_get("/compute/v2.1/servers/detail?all_tenants=1", &token)
        .json();
    assert_eq!(
        ids(&all, "servers"),
        [UNREACHABLE_ID, SHUTOFF_ID, STUCK_ID, ERROR_ID, REACHABLE_ID]
    );
    let by_id = |id: &str| {
        all["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(SHUTOFF_ID)["tenant_id"], env.ops_project_id());
    assert_eq!(
        by_id(SHUTOFF_ID)["OS-EXT-SRV-ATTR:hypervisor_hostname"],
        "host2"
    );
    assert_eq!(by_id(STUCK_ID)["OS-EXT-STS:task_state"], "resize_migrating");
    let addr = |id: &str| {
        by_id(id)["addresses"]["private"][0]["addr"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(addr(REACHABLE_ID), env.reachable().0);
    assert_eq!(addr(UNREACHABLE_ID), env.unreachable_addr());

    let services = env.api_get("/compute/v2.1/os-services", &token).json();
    let down: Vec<(&str, &str)> = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "down" && s["status"] == "enabled")
        .map(|s| (s["binary"].as_str().unwrap(), s["host"].as_str().unwrap()))
        .collect();
    assert_eq!(
        down,
        [("nova-scheduler", "host2"), ("nova-compute", "host2")]
    );
    let hyp = env
        .api_get("/compute/v2.1/os-hypervisors/detail", &token)
        .json();
    let hyp_states: Vec<(u64, &str, &str, &str)> = hyp["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_u64().unwrap(),
                h["hypervisor_hostname"].as_str().unwrap(),
                h["state"].as_str().unwrap(),
                h["status"].as_str().unwrap(),
            )
        })
        .collect();
    let host1_status = if env.nova_backend() == "nova-api" {
        "disabled" // real Nova derives it from nova-compute@host1, disabled in the sample
    } else {
        "enabled" // the exporter's sample as it is
    };
    assert_eq!(
        hyp_states,
        [
            (2, "host1", "up", host1_status),
            (3, "host2", "down", "enabled")
        ]
    );
    let agents = env.api_get("/networking/v2.0/agents", &token).json();
    let dead: Vec<&str> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alive"] == false)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(dead, ["a09b81fc-5a42-46d3-a306-1a5d122a7787"]);
    // Every address served is loopback or the test's own unreachable address.
    for doc in [&all, &services, &hyp, &agents] {
        for addr in ipv4s(&doc.to_string()) {
            assert!(
                addr.starts_with("127.") || addr == env.unreachable_addr(),
                "{addr} served"
            );
        }
    }
}

fn ipv4s(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
            out.push(word.to_string());
        }
    }
    out
}

#[test]
fn nova_is_the_real_nova_api_when_installed() {
    let env = OsEnv::shared();
    let _s = env.scenario();
    let installed = std::path::Path::new("/usr/bin/nova-api-wsgi").exists()
        && std::env::var("DETEK_TESTENV_OS_NOVA").as_deref() != Ok("replay");
    assert_eq!(
        env.nova_backend(),
        if installed { "nova-api" } else { "replay" },
        "see testenv/openstack/README.md, Nova; nova logs in {}/nova",
        env.dir.display()
    );
    let (token, _) = env.issue_token(&env.member()).unwrap();
    let r = env.api_get("/compute/v2.1/servers/detail?limit=1", &token);
    assert_eq!(r.status, 200, "{}", r.text());
    let next = next_link(&r.json(), "servers").unwrap();
    assert!(
        next.starts_with(&format!(
            "{}/compute/v2.1/servers/detail?",
            env.replay_url()
        )),
        "links point at the catalog's URL: {next}"
    );
    let error = env
        .api_get(&next.replace("limit=1", "limit=10"), &token)
        .json();
    let fault = &error["servers"][1]["fault"];
    assert_eq!(error["servers"][1]["id"], ERROR_ID);
    assert_eq!(fault["code"], 500);
    assert_eq!(fault["created"], "2013-12-05T21:07:07Z");
    assert!(
        fault["message"]
            .as_str()
            .unwrap()
            .starts_with("The server has either erred")
    );
    let log = env.requests();
    let backend = if installed { "nova-api" } else { "" };
    assert!(
        log.iter()
            .filter(|e| e["path"] == "/compute/v2.1/servers/detail")
            .all(|e| e["backend"].as_str().unwrap_or("") == backend),
        "{log:?}"
    );
}

#[test]
fn servers_paginate_as_nova_does() {
    let env = OsEnv::shared();
    let s = env.scenario();
    s.set_generated_servers(2496, "demo"); // + 4 fixed = 2,500
    let (token, _) = env.issue_token(&env.member()).unwrap();
    let mut url = "/compute/v2.1/servers/detail".to_string();
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    loop {
        let r = env.api_get(&url, &token);
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = r.json();
        let page = ids(&doc, "servers");
        pages.push(page.len());
        seen.extend(page);
        match next_link(&doc, "servers") {
            Some(next) => {
                assert!(next.starts_with(&format!(
                    "{}/compute/v2.1/servers/detail?",
                    env.replay_url()
                )));
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, [1000, 1000, 500], "max_limit 1,000 per page");
    assert_eq!(seen.len(), 2500);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2500, "no server twice");

    // A full last page is followed by an empty one without a next link, as in Nova.
    let doc = env
        .api_get(
            "/compute/v2.1/servers/detail?limit=500&marker=00000000-0000-4000-8000-000000000500",
            &token,
        )
        .json();
    assert_eq!(ids(&doc, "servers").len(), 500);
    let last = next_link(&doc, "servers").expect("a full page has a next link");
    let doc = env.api_get(&last, &token).json();
    assert_eq!(ids(&doc, "servers").len(), 0);
    assert_eq!(next_link(&doc, "servers"), None);
    let r = env.api_get("/compute/v2.1/servers/detail?marker=nope", &token);
    assert_eq!(r.status, 400);
}

#[test]
fn the_unreachable_address_answers_nothing_and_the_reachable_one_does() {
    let env = OsEnv::shared();
    let (addr, port) = env.reachable();
    let reachable: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    TcpStream::connect_timeout(&reachable, Duration::from_secs(2)).expect("reachable");
    let unreachable: SocketAddr = format!("{}:{port}", env.unreachable_addr())
        .parse()
        .unwrap();
    let start = Instant::now();
    let err = TcpStream::connect_timeout(&unreachable, Duration::from_millis(800)).unwrap_err();
    if env.unreachable_kind() == "netns-blackhole" {
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() >= Duration::from_millis(700));
    } else {
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    }
}

//! Report lists for the renderer tests, built by hand with fixed times so output is stable.
#![allow(dead_code)]

use detek_core::report::SCHEMA_VERSION;
use detek_core::{
    Attachment, CollectorStatus, Diagnostic, Finding, Level, ObjectRef, Report, ReportList,
    ScanStatus, SourceLocation, Summary, Target,
};
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

pub fn report(id: &str, title: &str, default_level: Level, findings: Vec<Finding>) -> Report {
    let level = findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Normal);
    let active: Vec<&Finding> = findings.iter().filter(|f| f.suppressed.is_none()).collect();
    let passed = active.is_empty();
    Report {
        id: id.to_string(),
        description: title.to_string(),
        labels: vec!["kubernetes".to_string(), "workloads".to_string()],
        created_at: ts("2025-03-04T05:06:08.5Z"),
        level,
        default_level,
        passed,
        problem: (!passed).then(|| Attachment {
            description: format!("{} finding(s): {title}", active.len()),
            data: serde_json::Value::Array(
                active
                    .iter()
                    .map(|f| serde_json::Value::String(f.message.clone()))
                    .collect(),
            ),
        }),
        attachment: vec![Attachment {
            description: "# of objects evaluated".to_string(),
            data: serde_json::json!(12),
        }],
        explanation: "Pods in phase `Failed`: every container has terminated.\n\nA failed Pod does **no** work."
            .to_string(),
        solution: "Read why it failed:\n\n```sh\nkubectl describe pod NAME -n NS\n```\n\n- fix the cause\n- delete the Pod"
            .to_string(),
        example: "```yaml\nkind: Pod\nstatus: {phase: Failed}\n```".to_string(),
        references: vec!["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/".to_string()],
        suppressed: findings.iter().filter(|f| f.suppressed.is_some()).count() as u64,
        findings,
        evaluated: Some(12),
        result: if passed {
            detek_core::ReportResult::Passed
        } else {
            detek_core::ReportResult::Findings
        },
        note: None,
        error: None,
        duration_ms: 0.42,
    }
}

pub fn unknown(id: &str, title: &str, reason: &str) -> Report {
    let mut r = report(id, title, Level::Warn, vec![]);
    r.level = Level::Unknown;
    r.passed = false;
    r.attachment.clear();
    r.evaluated = None;
    r.problem = Some(Attachment {
        description: "not evaluated".to_string(),
        data: serde_json::Value::String(reason.to_string()),
    });
    r.error = Some(reason.to_string());
    r
}

pub fn pod(ns: &str, name: &str) -> ObjectRef {
    ObjectRef::new("Pod", Some(ns), name)
}

/// A scan with every level, every optional field, collector failures and diagnostics.
pub fn representative() -> ReportList {
    let mut with_source = pod("shop", "cart-7d9f");
    with_source.api_version = Some("v1".to_string());
    with_source.source = Some(SourceLocation {
        file: "manifests/shop.yaml".to_string(),
        line: 42,
    });
    let mut suppressed = Finding::new(
        Level::Error,
        Some(pod("kube-system", "debug")),
        "Pod failed: Error (exit 1)",
    );
    suppressed.suppressed = Some("annotation detek.io/ignore on namespace kube-system".to_string());

    let mut many = Vec::new();
    for i in 0..25 {
        many.push(Finding::new(
            Level::Warn,
            Some(pod("batch", &format!("job-{i:02}")).with_container("main")),
            format!("image nginx:latest uses the latest tag ({i})"),
        ));
    }

    let reports = vec![
        report(
            "webhook_fail_closed",
            "Admission webhooks that fail closed while their service is down",
            Level::Error,
            vec![
                Finding::new(
                    Level::Fatal,
                    Some(ObjectRef::new(
                        "ValidatingWebhookConfiguration",
                        None,
                        "policy-guard",
                    )),
                    "failurePolicy Fail and service gatekeeper/webhook has no ready endpoint",
                )
                .with_evidence("service: gatekeeper-system/webhook")
                .with_evidence("ready endpoints: 0"),
                Finding::new(
                    Level::Error,
                    Some(ObjectRef::new(
                        "MutatingWebhookConfiguration",
                        None,
                        "sidecar-injector",
                    )),
                    "failurePolicy Fail and service istio-system/istiod has 1 of 3 endpoints ready",
                ),
            ],
        ),
        report(
            "failed_pod",
            "Pods in phase Failed",
            Level::Error,
            vec![
                Finding::new(
                    Level::Error,
                    Some(with_source),
                    "Pod failed: OOMKilled (exit 137)",
                )
                .with_evidence("container app: exit code 137, reason OOMKilled"),
                suppressed,
            ],
        ),
        report(
            "image_tag_latest",
            "Containers using the latest tag",
            Level::Warn,
            many,
        ),
        unknown(
            "secret_unused",
            "Secrets no Pod uses",
            "not run: collector kubernetes/live failed: secrets is forbidden: 403",
        ),
        report(
            "service_no_endpoints",
            "Services without endpoints",
            Level::Error,
            vec![],
        ),
        report(
            "node_not_ready",
            "Nodes not Ready",
            Level::Fatal,
            vec![Finding::new(
                Level::Error,
                None,
                "2 of 5 nodes are NotReady",
            )],
        ),
    ];

    let mut failed_keys = BTreeMap::new();
    failed_keys.insert(
        "kubernetes/secrets".to_string(),
        "secrets is forbidden: User \"ci\" cannot list resource \"secrets\"".to_string(),
    );
    let mut stats = BTreeMap::new();
    stats.insert("documents".to_string(), 118);
    stats.insert("objects".to_string(), 117);
    stats.insert("objects_in_namespace/batch".to_string(), 30);
    stats.insert("objects_in_namespace/shop".to_string(), 20);
    stats.insert("objects_in_namespace/kube-system".to_string(), 40);

    let collectors = vec![
        CollectorStatus {
            id: "kubernetes/snapshot".to_string(),
            ok: true,
            error: None,
            failed_keys: BTreeMap::new(),
            diagnostics: vec![
                Diagnostic::new(
                    Level::Error,
                    Some(SourceLocation {
                        file: "manifests/broken.yaml".to_string(),
                        line: 7,
                    }),
                    "mapping values are not allowed in this context",
                ),
                Diagnostic::new(
                    Level::Warn,
                    None,
                    "kind Widget (example.com/v1) is not known; kept as raw JSON",
                ),
            ],
            stats,
            duration_ms: 35.25,
        },
        CollectorStatus {
            id: "kubernetes/live".to_string(),
            ok: true,
            error: None,
            failed_keys,
            diagnostics: vec![],
            stats: BTreeMap::new(),
            duration_ms: 1234.5,
        },
        CollectorStatus {
            id: "prometheus/alerts".to_string(),
            ok: false,
            error: Some("connection refused (127.0.0.1:9090)".to_string()),
            failed_keys: BTreeMap::new(),
            diagnostics: vec![],
            stats: BTreeMap::new(),
            duration_ms: 3.0,
        },
    ];

    let mut skipped = BTreeMap::new();
    skipped.insert(
        "node_kubelet_version_skew".to_string(),
        "needs a live cluster (kubernetes/nodes status)".to_string(),
    );

    ReportList {
        schema_version: SCHEMA_VERSION,
        tool: "detek".to_string(),
        version: "0.1.0".to_string(),
        target: Target {
            kind: "snapshot".to_string(),
            name: "manifests/".to_string(),
            ..Default::default()
        },
        evaluated_at: None,
        clock: Default::default(),
        clock_note: String::new(),
        started_at: ts("2025-03-04T05:06:07Z"),
        finished_at: ts("2025-03-04T05:06:08.75Z"),
        duration_ms: 1750.0,
        status: ScanStatus::Partial,
        summary: Summary::of(&reports),
        collectors,
        inputs_not_read: Vec::new(),
        reports,
        skipped,
    }
}

/// A complete, healthy scan.
pub fn healthy() -> ReportList {
    let reports = vec![
        report("failed_pod", "Pods in phase Failed", Level::Error, vec![]),
        report(
            "image_tag_latest",
            "Containers using the latest tag",
            Level::Warn,
            vec![],
        ),
    ];
    ReportList {
        schema_version: SCHEMA_VERSION,
        tool: "detek".to_string(),
        version: "0.1.0".to_string(),
        target: Target {
            kind: "cluster".to_string(),
            name: "prod-eu".to_string(),
            ..Default::default()
        },
        evaluated_at: None,
        clock: Default::default(),
        clock_note: String::new(),
        started_at: ts("2025-03-04T06:00:00Z"),
        finished_at: ts("2025-03-04T06:00:02Z"),
        duration_ms: 2000.0,
        status: ScanStatus::Complete,
        summary: Summary::of(&reports),
        inputs_not_read: Vec::new(),
        collectors: vec![CollectorStatus {
            id: "kubernetes/live".to_string(),
            ok: true,
            error: None,
            failed_keys: BTreeMap::new(),
            diagnostics: vec![],
            stats: BTreeMap::new(),
            duration_ms: 900.0,
        }],
        reports,
        skipped: BTreeMap::new(),
    }
}

/// Nothing could be collected: every detector Unknown.
pub fn nothing_collected() -> ReportList {
    let reason = "not run: collector kubernetes/live failed: dial tcp 10.0.0.1:6443: i/o timeout";
    let reports = vec![
        unknown("failed_pod", "Pods in phase Failed", reason),
        unknown(
            "image_tag_latest",
            "Containers using the latest tag",
            reason,
        ),
    ];
    ReportList {
        schema_version: SCHEMA_VERSION,
        tool: "detek".to_string(),
        version: "0.1.0".to_string(),
        target: Target {
            kind: "cluster".to_string(),
            name: "staging".to_string(),
            ..Default::default()
        },
        evaluated_at: None,
        clock: Default::default(),
        clock_note: String::new(),
        started_at: ts("2025-03-04T07:00:00Z"),
        finished_at: ts("2025-03-04T07:00:30Z"),
        duration_ms: 30000.0,
        status: ScanStatus::NothingCollected,
        summary: Summary::of(&reports),
        inputs_not_read: Vec::new(),
        collectors: vec![CollectorStatus {
            id: "kubernetes/live".to_string(),
            ok: false,
            error: Some("dial tcp 10.0.0.1:6443: i/o timeout".to_string()),
            failed_keys: BTreeMap::new(),
            diagnostics: vec![],
            stats: BTreeMap::new(),
            duration_ms: 30000.0,
        }],
        reports,
        skipped: BTreeMap::new(),
    }
}

/// Strings an attacker could put in a cluster: markup, attribute breakers, terminal escapes.
pub const HOSTILE: &[&str] = &[
    "<script>alert('x')</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(2)>",
    "</textarea></pre></code></td></tr></table><script>alert(3)</script>",
    "javascript:alert(4)",
    "<a href=\"https://evil.example/steal\">x</a>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "pod\u{1b}[2J\u{1b}[31mred\u{1b}]0;title\u{7}",
    "csi\u{9b}2Jc1",
    "line\nbreak\rcarriage\ttab",
    "rtl\u{202e}gnp.exe",
    "&amp;&lt;already-escaped&gt;",
];

/// A scan in which every report string is hostile.
pub fn hostile() -> ReportList {
    let h = |i: usize| HOSTILE[i % HOSTILE.len()].to_string();
    let mut list = representative();
    list.target = Target {
        kind: h(0),
        name: h(1),
        ..Default::default()
    };
    list.version = h(7);
    list.tool = h(2);
    let mut n = 0;
    let mut next = || {
        n += 1;
        h(n)
    };
    for r in &mut list.reports {
        r.id = next();
        r.description = next();
        r.labels = vec![next(), next()];
        r.explanation = format!(
            "{} `{}` **{}**\n\n```\n{}\n```",
            next(),
            next(),
            next(),
            next()
        );
        r.solution = next();
        r.example = next();
        r.references = vec![next()];
        if let Some(e) = &mut r.error {
            *e = next();
        }
        for a in &mut r.attachment {
            a.description = next();
            a.data = serde_json::json!({ next(): next() });
        }
        if let Some(p) = &mut r.problem {
            p.description = next();
        }
        for f in &mut r.findings {
            f.message = next();
            f.evidence = vec![next(), next()];
            if f.suppressed.is_some() {
                f.suppressed = Some(next());
            }
            if let Some(o) = &mut f.object {
                o.kind = next();
                o.name = next();
                o.namespace = Some(next());
                o.container = Some(next());
                o.api_version = Some(next());
                if let Some(s) = &mut o.source {
                    s.file = next();
                }
            }
        }
    }
    for c in &mut list.collectors {
        c.id = next();
        if c.error.is_some() {
            c.error = Some(next());
        }
        c.failed_keys = c.failed_keys.values().map(|_| (next(), next())).collect();
        c.stats = c.stats.values().map(|v| (next(), *v)).collect();
        for d in &mut c.diagnostics {
            d.message = next();
            if let Some(s) = &mut d.source {
                s.file = next();
            }
        }
    }
    list.skipped = list.skipped.values().map(|_| (next(), next())).collect();
    list
}

/// Compare with a committed expected file under `tests/snapshots/`; `UPDATE_SNAPSHOTS=1`
/// rewrites it.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run `UPDATE_SNAPSHOTS=1 cargo test -p detek-render` and review it",
            path.display()
        )
    });
    if expected != actual {
        let new = path.with_extension(format!(
            "{}.new",
            path.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        let _ = std::fs::write(&new, actual);
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs from line {} on (actual written to {}); \
             if the change is intended, run `UPDATE_SNAPSHOTS=1 cargo test -p detek-render`\n\
             expected: {:?}\nactual:   {:?}",
            path.display(),
            first + 1,
            new.display(),
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

//! Restart forensics, table-driven: every case of `tests/fixtures/forensics/cases.yaml` yields
//! exactly its verdict and evidence, the causes it lists under `not` do not hold for it, and
//! every cause of the built-in table has a case it wins and a case it must not hold for. The
//! log signatures' own samples are checked in `forensics::signatures`' unit tests.

use detek_kubernetes::Input;
use detek_kubernetes::forensics::causes::Causes;
use detek_kubernetes::forensics::{Evidence, Options, Sources};
use detek_kubernetes::ingest;
use detek_kubernetes::model::ObjectSet;
use detek_kubernetes::testing::fixture_dir;
use detek_kubernetes_model::logs::PreviousLogs;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::SystemTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    /// `namespace/name`.
    pod: String,
    container: String,
    now: String,
    #[serde(default)]
    log: Option<Vec<String>>,
    verdict: Option<String>,
    evidence: Vec<String>,
    #[serde(default)]
    not: Vec<String>,
}

fn load(file: &str) -> ObjectSet {
    let mut set = ObjectSet::new();
    ingest::load(
        &[Input::Path(fixture_dir("forensics").join(file))],
        &mut set,
    );
    assert!(set.diagnostics.is_empty(), "{file}: {:?}", set.diagnostics);
    set.finish();
    set
}

#[test]
fn every_case_yields_exactly_its_verdict_and_every_cause_has_cases_both_ways() {
    let text = std::fs::read_to_string(fixture_dir("forensics").join("cases.yaml")).unwrap();
    let cases: Cases = serde_saphyr::from_str(&text).unwrap();
    let table = Causes::builtin();
    let mut problems = Vec::new();
    let (mut won, mut refused) = (BTreeSet::new(), BTreeSet::new());
    for case in &cases.cases {
        let set = load(&case.file);
        let (namespace, name) = case.pod.split_once('/').unwrap();
        let pod = set
            .pods
            .iter()
            .find(|p| p.namespace_or_default() == namespace && p.name() == name)
            .unwrap_or_else(|| panic!("{}: no Pod {}", case.file, case.pod));
        let status = pod
            .status
            .iter()
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .find(|cs| cs.name == case.container)
            .unwrap_or_else(|| panic!("{}: no container {}", case.file, case.container));
        let mut logs = PreviousLogs::default();
        if let Some(lines) = &case.log {
            logs.tails.insert(
                (namespace.into(), name.into(), case.container.clone()),
                lines.clone(),
            );
        }
        let evidence = Evidence::new(
            Sources {
                events: Ok(&set.events),
                nodes: Ok(&set.nodes),
                logs: Ok(&logs),
                history: Err("no Prometheus configured".to_string()),
            },
            Options::default(),
        );
        let now: jiff::Timestamp = case.now.parse().unwrap();
        let explained = evidence.explain(pod, status, "container", SystemTime::from(now));
        let label = format!("{} {}", case.file, case.pod);
        if explained.verdict.cause != case.verdict {
            problems.push(format!(
                "{label}: verdict {:?}, expected {:?}",
                explained.verdict.cause, case.verdict
            ));
        }
        if explained.verdict.evidence != case.evidence {
            problems.push(format!(
                "{label}: evidence {:?}, expected {:?}",
                explained.verdict.evidence, case.evidence
            ));
        }
        if let Some(id) = &case.verdict {
            won.insert(id.clone());
        }
        // Each listed cause judged alone, whatever wins.
        for id in &case.not {
            let cause = table
                .entries()
                .find(|c| &c.entry.id == id)
                .unwrap_or_else(|| panic!("{label}: unknown cause {id}"));
            if evidence.holds(cause, pod, status, SystemTime::from(now)) {
                problems.push(format!("{label}: cause {id} holds, and must not"));
            }
            refused.insert(id.clone());
        }
    }
    for cause in table.entries() {
        let id = &cause.entry.id;
        if !won.contains(id) {
            problems.push(format!("cause {id}: no case yields it"));
        }
        if !refused.contains(id) {
            problems.push(format!("cause {id}: no case it must not hold for"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_oom_verdict_names_the_limit_and_the_fix() {
    let set = load("troubleshoot-oomkill-pod.json");
    let pod = &set.pods[0];
    let status = &pod
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let evidence = Evidence::new(
        Sources {
            events: Ok(&set.events),
            nodes: Err("not in this scan".to_string()),
            logs: Err("not in this scan (only a live scan reads logs)".to_string()),
            history: Err("no Prometheus configured".to_string()),
        },
        Options::default(),
    );
    let now: jiff::Timestamp = "2023-07-11T05:00:00Z".parse().unwrap();
    let e = evidence.explain(pod, status, "container", SystemTime::from(now));
    assert_eq!(e.verdict.title, "killed at its memory limit");
    assert_eq!(
        e.verdict.explanation,
        "container memory-eater used all of its memory limit (100Mi) and the kernel's OOM killer \
         stopped it (exit code 137: killed by SIGKILL: the OOM killer, a kill after the grace \
         period, or the node stopping)."
    );
    assert_eq!(
        e.not_read,
        [
            "the Node: not in this scan",
            "the previous run's log: not in this scan (only a live scan reads logs)",
            "memory and CPU before the termination: no Prometheus configured",
        ]
    );
    let timeline: Vec<String> = e
        .timeline
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t.at.map(|t| t.to_string()).unwrap_or_default(),
                t.what
            )
        })
        .collect();
    assert_eq!(
        timeline,
        [
            "2023-07-11T04:43:25Z container memory-eater started",
            "2023-07-11T04:43:25Z container memory-eater terminated: exit code 137: killed by \
             SIGKILL: the OOM killer, a kill after the grace period, or the node stopping \
             (reason OOMKilled)",
            "2023-07-11T05:00:00Z scan: terminated, restarted 0 times",
        ]
    );
}

//! The shared pod-level keys seen through detectors: pod-spec views grouped per controller
//! revision (`kubernetes/pod-specs`), and Service selectors matched against every Pod
//! (`kubernetes/pods-by-label`).

use detek_kubernetes::testing::{finding_lines, run_fixture};

#[test]
fn mid_rollout_only_the_old_revision_is_reported() {
    let report = run_fixture("pod_without_limits", "fail-rollout.yaml");
    assert_eq!(
        finding_lines(&report),
        [
            "Deployment/shop/web [app]: container has no cpu or memory limit",
            "StatefulSet/shop/db [postgres]: container has no cpu or memory limit",
        ]
    );
    let evidence: Vec<&[String]> = report.findings.iter().map(|f| &f.evidence[..]).collect();
    assert_eq!(
        evidence,
        [
            &["Pods of ReplicaSet web-5d9f7c (pod-template-hash 5d9f7c), 2 Pod(s): Deployment web has Pods of 2 revisions, judged apart".to_string()][..],
            &["Pods of controller-revision-hash db-7b5c9d, 1 Pod(s): StatefulSet db has Pods of 2 revisions, judged apart".to_string()][..],
        ]
    );
    // One view per revision: the old and the new Pods of each controller.
    assert_eq!(report.evaluated, Some(4));
}

/// Three runs of a CronJob, each a Job with two Pods: the CronJob's pod spec is judged once,
/// on its newest run, not once per throwaway `Job/<cron>-<timestamp>`.
#[test]
fn cronjob_pods_are_judged_once_under_the_cronjob() {
    let report = run_fixture("pod_without_limits", "../job_failed/fail_cronjob_runs.yaml");
    assert_eq!(
        finding_lines(&report),
        ["CronJob/reports/nightly-report [report]: container has no cpu or memory limit"]
    );
    let source = report.findings[0]
        .object
        .as_ref()
        .unwrap()
        .source
        .as_ref()
        .unwrap();
    assert_eq!(source.line, 226, "the newest run's newest Pod: {source:?}");
    assert!(report.findings[0].evidence.is_empty());
    assert_eq!(report.evaluated, Some(1));
}

/// `kubectl debug` added a privileged ephemeral container to the second replica of a
/// revision: it is checked, on that Pod, though the first replica stands for the revision.
#[test]
fn an_ephemeral_container_on_any_replica_is_checked_on_its_pod() {
    let report = run_fixture("privileged_container", "fail_debug_on_replica.yaml");
    assert_eq!(
        finding_lines(&report),
        [
            "Pod/shop/web-5d9f7c-q7x2m [debugger-8xkz2]: ephemeral container \"debugger-8xkz2\": \
          securityContext.privileged is true"
        ]
    );
    // The revision's view and the debugged replica's.
    assert_eq!(report.evaluated, Some(2));
}

#[test]
fn a_service_selecting_one_statefulset_replica_by_pod_name_selects_it() {
    let report = run_fixture(
        "service_selector_matches_nothing",
        "fail-statefulset-pod-name.yaml",
    );
    assert_eq!(
        finding_lines(&report),
        [
            "Service/shop/web-2: selector app=web,statefulset.kubernetes.io/pod-name=web-2 matches no Pod in namespace shop"
        ]
    );
    assert_eq!(
        report.findings[0].evidence,
        [
            "Pods in shop have app=web",
            "Pods in shop have statefulset.kubernetes.io/pod-name=web-0 | web-1"
        ]
    );
    // The replicas' Services reach their Pod's ports too.
    let report = run_fixture(
        "service_target_port_mismatch",
        "../service_selector_matches_nothing/fail-statefulset-pod-name.yaml",
    );
    assert!(report.passed, "{:?}", report.findings);
    assert_eq!(report.evaluated, Some(2));
}

/// Patroni labels its current primary `role: master` at run time, here the second replica of
/// the StatefulSet (not the one standing for its revision): the primary Service selects it,
/// and reaches its port.
#[test]
fn a_service_selecting_one_replica_by_a_role_label_selects_it() {
    let fixture = "pass_patroni_role.yaml";
    let report = run_fixture("service_selector_matches_nothing", fixture);
    assert_eq!(finding_lines(&report), Vec::<String>::new());
    assert_eq!(report.evaluated, Some(1));
    let report = run_fixture(
        "service_target_port_mismatch",
        "../service_selector_matches_nothing/pass_patroni_role.yaml",
    );
    assert_eq!(finding_lines(&report), Vec::<String>::new());
    assert_eq!(report.evaluated, Some(1));
}

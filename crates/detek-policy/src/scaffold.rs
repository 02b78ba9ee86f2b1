//! `detek policy new NAME`: a policy with its metadata and a test, ready to edit — it flags
//! Deployments with a single replica, so `detek policy test` passes on the first run and the
//! newcomer changes one working thing at a time.

/// Whether `id` can name a policy: a detector id (snake_case, starting with a letter).
pub fn valid_id(id: &str) -> bool {
    detek_core::is_detector_id(id)
}

/// The policy file `<id>.rego`.
pub fn policy(id: &str) -> String {
    format!(
        r#"# METADATA
# title: Deployments running a single replica
# description: |
#   A Deployment with one replica is down while its Pod restarts, is rescheduled or its
#   Node is drained.
# related_resources:
#   - https://kubernetes.io/docs/concepts/workloads/controllers/deployment/
# custom:
#   id: {id}
#   level: Warn
#   solution: |
#     Run at least two replicas (`spec.replicas: 2`) and add a PodDisruptionBudget.
#   example: |
#     spec:
#       replicas: 1
#   labels: [reliability]
#   requires: [deployments]
package detek.{id}

findings contains {{
	"object": deployment,
	"message": sprintf("Deployment %s/%s runs a single replica", [namespace(deployment), deployment.metadata.name]),
	"evidence": "spec.replicas: 1",
}} if {{
	some deployment in input.kubernetes.deployments
	object.get(deployment.spec, "replicas", 1) == 1
}}

# Manifests may leave the namespace out: kubectl applies them to "default".
namespace(obj) := object.get(obj.metadata, "namespace", "default")
"#
    )
}

/// The test file `<id>_test.rego`.
pub fn test(id: &str) -> String {
    format!(
        r#"package detek.{id}_test

deployment(name, replicas) := {{
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {{"name": name, "namespace": "shop"}},
	"spec": {{"replicas": replicas}},
}}

test_one_replica_is_reported if {{
	findings := data.detek.{id}.findings with input as {{"kubernetes": {{"deployments": [deployment("web", 1)]}}}}
	count(findings) == 1
	some finding in findings
	finding.message == "Deployment shop/web runs a single replica"
}}

test_two_replicas_pass if {{
	findings := data.detek.{id}.findings with input as {{"kubernetes": {{"deployments": [deployment("web", 2)]}}}}
	count(findings) == 0
}}
"#
    )
}

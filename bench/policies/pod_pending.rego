# METADATA
# title: Pods pending
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_pending
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_pending

findings contains {"object": pod, "message": "pending"} if {
	some pod in input.kubernetes.pods
	pod.status.phase == "Pending"
}

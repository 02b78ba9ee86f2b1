# METADATA
# title: Pods without a controller
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_without_controller
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_without_controller

findings contains {"object": pod, "message": "no controller"} if {
	some i, pod in input.kubernetes.pods
	input.indexes.pod_controller[i] == null
}

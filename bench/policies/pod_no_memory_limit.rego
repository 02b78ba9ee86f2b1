# METADATA
# title: Containers without a memory limit
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_no_memory_limit
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_no_memory_limit

findings contains {"object": pod, "container": c.name, "message": "no memory limit"} if {
	some pod in input.kubernetes.pods
	some c in pod.spec.containers
	not c.resources.limits.memory
}

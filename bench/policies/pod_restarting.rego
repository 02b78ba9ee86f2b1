# METADATA
# title: Containers restarting
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_restarting
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_restarting

findings contains {"object": pod, "container": s.name, "message": sprintf("%d restarts", [s.restartCount])} if {
	some pod in input.kubernetes.pods
	some s in object.get(pod.status, "containerStatuses", [])
	s.restartCount > 3
}

# METADATA
# title: Containers OOMKilled
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_oomkilled
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_oomkilled

findings contains {"object": pod, "container": s.name, "message": "OOMKilled"} if {
	some pod in input.kubernetes.pods
	some s in object.get(pod.status, "containerStatuses", [])
	s.lastState.terminated.reason == "OOMKilled"
}

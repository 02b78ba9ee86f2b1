# METADATA
# title: Pods on the host network
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_host_network
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_host_network

findings contains {"object": pod, "message": "hostNetwork"} if {
	some pod in input.kubernetes.pods
	pod.spec.hostNetwork == true
}

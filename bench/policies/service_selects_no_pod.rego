# METADATA
# title: Services selecting no Pod
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: service_selects_no_pod
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods, services]
package detek.service_selects_no_pod

# A join through the shared index: linear in Pods + Services.
selected contains j if {
	some selecting in input.indexes.services_selecting_pod
	some j in selecting
}

findings contains {"object": svc, "message": "selects no Pod"} if {
	some j, svc in input.kubernetes.services
	count(object.get(svc.spec, "selector", {})) > 0
	not selected[j]
}

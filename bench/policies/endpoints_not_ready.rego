# METADATA
# title: Endpoints without a ready address
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: endpoints_not_ready
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [endpoints]
package detek.endpoints_not_ready

findings contains {"object": ep, "message": "no ready address"} if {
	some ep in input.kubernetes.endpoints
	count([a | some s in object.get(ep, "subsets", []); some a in object.get(s, "addresses", [])]) == 0
}

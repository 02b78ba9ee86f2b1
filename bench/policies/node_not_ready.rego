# METADATA
# title: Nodes not Ready
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: node_not_ready
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [nodes]
package detek.node_not_ready

findings contains {"object": node, "message": "not Ready"} if {
	some node in input.kubernetes.nodes
	some c in node.status.conditions
	c.type == "Ready"
	c.status != "True"
}

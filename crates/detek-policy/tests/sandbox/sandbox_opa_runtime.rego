# METADATA
# title: Test policy sandbox_opa_runtime
# description: A policy of the test suite.
# custom:
#   id: sandbox_opa_runtime
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.sandbox_opa_runtime

findings contains {"object": cm, "message": sprintf("%v", [opa.runtime().env])} if {
	some cm in input.kubernetes.configmaps
}

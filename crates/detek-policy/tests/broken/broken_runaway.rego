# METADATA
# title: Test policy broken_runaway
# description: A policy of the test suite.
# custom:
#   id: broken_runaway
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.broken_runaway

# Runs away only when there is a ConfigMap (the dry run at load has none): 900 million
# iterations, none of which keeps anything, so only the time budget stops it.
findings contains {"object": cm, "message": "never"} if {
	some cm in input.kubernetes.configmaps
	some i in numbers.range(1, 30000)
	some j in numbers.range(1, 30000)
	i * j == -1
}

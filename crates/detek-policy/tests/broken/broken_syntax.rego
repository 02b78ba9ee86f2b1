# METADATA
# title: Test policy broken_syntax
# description: A policy of the test suite.
# custom:
#   id: broken_syntax
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.broken_syntax

findings contains f if {
	some cm in input.kubernetes.configmaps
	f := {"object": cm, "message": "x"
}

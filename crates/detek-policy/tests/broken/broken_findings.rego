# METADATA
# title: Test policy broken_findings
# description: A policy of the test suite.
# custom:
#   id: broken_findings
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.broken_findings

findings contains "a string is not a finding" if {
	some cm in input.kubernetes.configmaps
}

# METADATA
# title: Test policy broken_unknown_builtin
# description: A policy of the test suite.
# custom:
#   id: broken_unknown_builtin
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.broken_unknown_builtin

findings contains {"object": cm, "message": msg} if {
	some cm in input.kubernetes.configmaps
	cm.metadata.name == "only-on-tuesdays"
	msg := strings.reverse_words(cm.metadata.name)
}

# METADATA
# title: Test policy sandbox_file_read
# description: A policy of the test suite.
# custom:
#   id: sandbox_file_read
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.sandbox_file_read

# Conftest's parse_config_file reads a file: detek has no such builtin.
findings contains {"object": cm, "message": sprintf("%v", [parse_config_file("/etc/passwd")])} if {
	some cm in input.kubernetes.configmaps
}

# METADATA
# title: Test policy sandbox_dns_lookup
# description: A policy of the test suite.
# custom:
#   id: sandbox_dns_lookup
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.sandbox_dns_lookup

findings contains {"object": cm, "message": sprintf("%v", [net.lookup_ip_addr("example.com")])} if {
	some cm in input.kubernetes.configmaps
}

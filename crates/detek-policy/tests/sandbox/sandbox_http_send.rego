# METADATA
# title: Test policy sandbox_http_send
# description: A policy of the test suite.
# custom:
#   id: sandbox_http_send
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.sandbox_http_send

findings contains {"object": cm, "message": resp.body} if {
	some cm in input.kubernetes.configmaps
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})
}

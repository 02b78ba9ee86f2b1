# METADATA
# title: Test policy configmap_without_data
# description: A policy of the test suite.
# custom:
#   id: configmap_without_data
#   level: Warn
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.configmap_without_data

findings contains {
	"object": cm,
	"message": sprintf("ConfigMap %s has no data", [cm.metadata.name]),
	"evidence": "data: {}",
} if {
	some cm in input.kubernetes.configmaps
	count(object.get(cm, "data", {})) == 0
}

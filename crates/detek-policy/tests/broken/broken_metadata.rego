# METADATA
# title: Test policy broken_metadata
# description: A policy of the test suite.
# custom:
#   id: broken_metadata
#   level: Critical
#   solution: Nothing to fix.
#   requires: [configmaps]
package detek.broken_metadata

findings contains {"object": cm, "message": "x"} if some cm in input.kubernetes.configmaps

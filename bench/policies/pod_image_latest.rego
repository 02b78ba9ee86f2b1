# METADATA
# title: Containers using the latest image tag (as a policy)
# description: Benchmark policy (bench/policies.sh).
# custom:
#   id: pod_image_latest
#   level: Warn
#   solution: Nothing; this measures evaluation.
#   requires: [pods]
package detek.pod_image_latest

# The same check as the built-in image_tag_latest, on every Pod.
findings contains {"object": pod, "container": c.name, "message": sprintf("image %q is not pinned", [c.image])} if {
	some pod in input.kubernetes.pods
	some c in pod.spec.containers
	latest(c.image)
}

latest(image) if endswith(image, ":latest")

latest(image) if {
	not contains(image, "@")
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}

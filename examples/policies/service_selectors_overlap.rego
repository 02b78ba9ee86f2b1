# METADATA
# title: Two Services with different selectors send traffic to the same Pods
# description: |
#   Reports pairs of Services in one namespace that select at least one common Pod although
#   their selectors differ, and neither selector is a refinement of the other. Such a Pod
#   receives the traffic of both Services: usually one selector is too broad (a shared label
#   such as `app.kubernetes.io/component: api` or `tier: backend` instead of the application's
#   own label), and requests meant for one application reach another one, now and then.
#
#   Only real Pods count (a live scan, or a `kubectl get pods -o yaml` dump): the selection
#   comes from detek's `services_selecting_pod` index, so the check is linear in the number of
#   Pods. Pods that have finished (`Succeeded`, `Failed`) are left out: they serve nothing.
#
#   Overlaps that are normal and therefore not reported:
#   - a headless Service (`clusterIP: None`), such as the governing Service of a StatefulSet
#     or prometheus-operator's `prometheus-operated`, beside a ClusterIP one;
#   - identical selectors (one Service per port or protocol, an internal and an external
#     Service, ingress-nginx's controller and admission Services);
#   - a selector that refines the other one, all its labels plus more: a role inside an
#     application (CloudNativePG's `-r` and `-rw` Services, a primary/replica split), or a
#     canary track selected on its own as well as with the stable Pods.
#
#   Each pair is reported once, on the Service whose name sorts first.
# related_resources:
#   - https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service
#   - https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
# custom:
#   id: service_selectors_overlap
#   level: Warn
#   solution: |
#     Make each Service select only the Pods of its application: add the application's own
#     label to the broader selector (`app.kubernetes.io/name`, `app.kubernetes.io/instance`).
#     A Service's selector cannot be patched partly; apply the full new selector, then check
#     with `kubectl get endpointslices -n NAMESPACE -l kubernetes.io/service-name=NAME` that
#     each Service now lists only the Pods it should.
#   example: |
#     kind: Service
#     metadata: {name: cart, namespace: shop}
#     spec:
#       selector: {app.kubernetes.io/component: api}   # fires: also matches the checkout Pods
#     ---
#     kind: Service
#     metadata: {name: checkout, namespace: shop}
#     spec:
#       selector: {app: checkout}
#   labels: [networking, service]
#   requires: [pods, services]
package detek.service_selectors_overlap

# Source: Kubernetes documentation, "Service" (https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service):
# a Service's endpoints are all the Pods its selector matches, whatever else selects them.

findings contains {
	"object": {"kind": "Service", "namespace": namespace_of(first), "name": first.metadata.name},
	"message": sprintf(
		"shares %s with Service %s although the selectors differ (%s vs %s): those Pods receive the traffic of both Services",
		[pods_phrase(shared), second.metadata.name, selector_text(first), selector_text(second)],
	),
	"evidence": sprintf("spec.selector of %s: {%s}; of %s: {%s}", [
		first.metadata.name, selector_text(first), second.metadata.name, selector_text(second),
	]),
} if {
	some pair in overlapping_pairs
	i := pair[0]
	j := pair[1]
	first := services[i]
	second := services[j]
	shared := shared_pods(i, j, namespace_of(first))
	count(shared) > 0
}

services := object.get(input.kubernetes, "services", [])

pods := object.get(input.kubernetes, "pods", [])

# Pairs [i, j] of Service indexes, the name of i sorting first, that select a common serving
# Pod. The index names, for each Pod, the Services of its namespace whose selector matches it.
candidate_pairs contains [i, j] if {
	some p, pod in pods
	serving(pod)
	selecting := input.indexes.services_selecting_pod[p]
	count(selecting) > 1
	some i in selecting
	some j in selecting
	services[i].metadata.name < services[j].metadata.name
}

overlapping_pairs contains [i, j] if {
	some pair in candidate_pairs
	i := pair[0]
	j := pair[1]
	judged(services[i])
	judged(services[j])
	a := services[i].spec.selector
	b := services[j].spec.selector
	not refines(a, b)
	not refines(b, a)
}

# Headless Services (clusterIP: None) are left out: they publish Pod addresses in DNS for
# StatefulSets and operators, next to the ClusterIP Service that carries the traffic.
judged(service) if {
	object.get(service.spec, "clusterIP", "") != "None"
	is_object(service.spec.selector)
	count(service.spec.selector) > 0
}

# small refines big (or equals it): every label of small is in big with the same value.
refines(small, big) if {
	every key, value in small {
		big[key] == value
	}
}

serving(pod) if not finished(pod)

finished(pod) if {
	status := object.get(pod, "status", {})
	is_object(status)
	status.phase in {"Succeeded", "Failed"}
}

# The names of the serving Pods of namespace ns that both Services select, sorted.
shared_pods(i, j, ns) := sort([pods[p].metadata.name |
	some p in object.get(input.indexes.pods_by_namespace, ns, [])
	serving(pods[p])
	selecting := input.indexes.services_selecting_pod[p]
	i in selecting
	j in selecting
])

# "1 Pod (web-0)", "2 Pods (web-0, web-1)", "7 Pods (web-0, web-1, web-2, ...)".
pods_phrase(names) := sprintf("1 Pod (%s)", [names[0]]) if count(names) == 1

pods_phrase(names) := sprintf("%d Pods (%s)", [count(names), concat(", ", names)]) if {
	count(names) > 1
	count(names) <= 3
}

pods_phrase(names) := sprintf("%d Pods (%s, ...)", [count(names), concat(", ", array.slice(names, 0, 3))]) if {
	count(names) > 3
}

# {"app": "web", "tier": "frontend"} -> "app=web,tier=frontend"
selector_text(service) := concat(",", sort([sprintf("%s=%s", [key, value]) | some key, value in service.spec.selector]))

# Objects written without a namespace are in "default".
namespace_of(obj) := object.get(obj.metadata, "namespace", "default")
